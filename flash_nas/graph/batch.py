"""Batched forms: many architectures of one space, scored as numpy array operations.

Scoring a whole space one ``ArchGraph`` at a time means building every graph in Python. A space
that can be enumerated or sampled in bulk offers a :class:`GraphBatch` instead:

* :class:`ListBatch` -- the fallback: a list of architectures, one graph built per metric pass.
* :class:`ChoiceBatch` -- a shared :class:`ChoiceSkeleton` (one graph whose *slot* edges take
  one of several ops) plus an integer array of choices, one row per architecture. Metrics run on
  it without building graphs: which edges are live (metrics) or executed (hardware cost, see
  :func:`flash_nas.executed_edges`) depends only on which slots are zero, so it is computed
  once per distinct zero pattern, and each additive metric becomes a table lookup per column.
  NAS-Bench-201 and other cell spaces with categorical edge ops fit this form.

Spaces whose structure varies in other ways (the FLASH space's widths and depths) subclass
:class:`GraphBatch` and compute their metrics in closed form.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from flash_nas.errors import ArchFormatError, GraphError
from flash_nas.graph import ArchGraph, Op
from flash_nas.graph.structure import (
    EdgeCounter,
    EdgeShape,
    edge_sums,
    executed_edges,
    live_edges,
    live_nodes,
    op_flops,
    op_in_degree,
    op_macs,
    op_output_channels,
)

__all__ = ["ChoiceBatch", "ChoiceSkeleton", "GraphBatch", "ListBatch"]


class GraphBatch(ABC):
    """Architectures of one space, addressed by position."""

    @abstractmethod
    def __len__(self) -> int:
        """Number of architectures."""

    @abstractmethod
    def graph(self, position: int) -> ArchGraph:
        """The graph of the architecture at ``position``, named by its canonical text."""

    @abstractmethod
    def arch_text(self, position: int) -> str:
        """The space's canonical text form of the architecture at ``position``."""

    def texts(self) -> list[str]:
        """Canonical text of every architecture, in order."""
        return [self.arch_text(position) for position in range(len(self))]

    def indices(self) -> np.ndarray | None:
        """The space's official index of every architecture, or None if the space has none."""
        return None

    def fast_metric(self, name: str) -> np.ndarray | None:
        """The metric ``name`` for every architecture as an array, or None to score one by one.

        Called by :func:`flash_nas.graph.metrics.score_batch` before it falls back to graphs.
        """
        return None

    def edge_sums(self, count: EdgeCounter, size: int, *, executed: bool = False) -> np.ndarray:
        """Per architecture, the sum of ``count(edge)`` over its live edges, or with
        ``executed`` over the edges a device runs: shape ``(n, size)``.

        Hardware models express their costs this way (over executed edges); batches with a fast
        form override it.
        """
        sums = [edge_sums(graph, count, size, executed=executed) for graph in self.iter_graphs()]
        return np.array(sums).reshape(len(self), size)

    def slice(self, start: int, stop: int) -> GraphBatch | None:
        """The architectures at positions ``start:stop`` as a batch of the same kind, or None
        where the batch cannot be cut (callers then take it whole). Cutting lets a long job
        (hardware costs of 10^6 architectures) run in chunks behind a progress bar."""
        return None

    def iter_graphs(self, *, progress: bool = False) -> Iterator[ArchGraph]:
        """Every graph in order, with a progress bar on request."""
        positions: Any = range(len(self))
        if progress:
            from tqdm.auto import tqdm

            positions = tqdm(positions, desc="graphs", unit="arch")
        for position in positions:
            yield self.graph(position)


class ListBatch(GraphBatch):
    """A plain list of architectures with the functions that describe them."""

    def __init__(
        self,
        archs: Sequence[Any],
        to_graph: Callable[[Any], ArchGraph],
        to_text: Callable[[Any], str],
        to_index: Callable[[Any], int | None] | None = None,
    ) -> None:
        self.archs = list(archs)
        self._to_graph = to_graph
        self._to_text = to_text
        self._to_index = to_index

    def __len__(self) -> int:
        return len(self.archs)

    def graph(self, position: int) -> ArchGraph:
        return self._to_graph(self.archs[position])

    def arch_text(self, position: int) -> str:
        return self._to_text(self.archs[position])

    def indices(self) -> np.ndarray | None:
        if self._to_index is None:
            return None
        return np.array([self._to_index(arch) for arch in self.archs], dtype=np.int64)


@dataclass(frozen=True)
class _Slot:
    edge: int
    column: int
    options: tuple[Op, ...]


class ChoiceSkeleton:
    """One graph whose *slot* edges each take one op from a list, chosen per architecture.

    ``slots`` maps an edge position of ``skeleton`` to ``(column, options)``: the column of the
    choice array that picks the op, and the ops to pick from. Several slots may share a column
    (NAS-Bench-201 repeats one cell 15 times); they must then offer the same number of options.
    The skeleton's own ops on slot edges are placeholders.
    """

    def __init__(self, skeleton: ArchGraph, slots: dict[int, tuple[int, Sequence[Op]]]) -> None:
        self.skeleton = skeleton
        self.slots = tuple(
            _Slot(edge, column, tuple(options)) for edge, (column, options) in sorted(slots.items())
        )
        columns = sorted({slot.column for slot in self.slots})
        if columns != list(range(len(columns))):
            raise GraphError(f"Slot columns must be 0..n-1 without gaps; got {columns}.")
        self.n_columns = len(columns)
        self.n_options = [0] * self.n_columns
        for slot in self.slots:
            if not 0 <= slot.edge < len(skeleton.edges):
                raise GraphError(f"Slot edge {slot.edge} is not an edge of the skeleton.")
            if self.n_options[slot.column] not in (0, len(slot.options)):
                raise GraphError(f"Slots of column {slot.column} offer different option counts.")
            self.n_options[slot.column] = len(slot.options)
            placeholder = skeleton.edges[slot.edge]
            for op in slot.options:  # every option must fit its edge: validate once, up front
                candidate = replace(placeholder, op=op)
                skeleton.check_edge(candidate)
                if skeleton.edge_output_channels(candidate) != skeleton.edge_output_channels(
                    placeholder
                ):
                    raise GraphError(
                        f"Option {op.name!r} of slot edge {slot.edge} writes a different number "
                        f"of channels than the skeleton's op {placeholder.op.name!r}."
                    )
        self._slot_at = {slot.edge: slot for slot in self.slots}
        self._pattern_cache: dict[tuple[bool, int], np.ndarray] = {}

    def _with_ops(self, ops: dict[int, Op], name: str) -> ArchGraph:
        edges = list(self.skeleton.edges)
        for position, op in ops.items():
            edges[position] = replace(edges[position], op=op)
        return replace(self.skeleton, edges=tuple(edges), name=name)

    def check_choices(self, choices: np.ndarray) -> np.ndarray:
        """``choices`` as a 2-D int array, each entry a valid option index of its column."""
        array = np.asarray(choices)
        if array.ndim != 2 or array.shape[1] != self.n_columns:
            raise ArchFormatError(
                f"Expected a choice array of shape (n, {self.n_columns}); got {array.shape}."
            )
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise ArchFormatError(f"Choices must be integers; got dtype {array.dtype}.")
        bounds = np.asarray(self.n_options)
        bad = (array < 0) | (array >= bounds)
        if bad.any():
            row, column = map(int, np.argwhere(bad)[0])
            raise ArchFormatError(
                f"Choice {int(array[row, column])} in row {row}, column {column} is out of range "
                f"0..{bounds[column] - 1}."
            )
        return array.astype(np.int64, copy=False)

    def graph(self, row: Sequence[int], name: str = "") -> ArchGraph:
        """The graph for one row of choices, called ``name``."""
        ops = {slot.edge: slot.options[row[slot.column]] for slot in self.slots}
        return self._with_ops(ops, name or self.skeleton.name)

    # ------------------------------------------------------------------ batched metrics
    def _zero_table(self) -> list[np.ndarray]:
        """Per column, which slots each option makes zero, as a class id per option."""
        classes = []
        for column in range(self.n_columns):
            signatures: dict[tuple[bool, ...], int] = {}
            ids = []
            for option in range(self.n_options[column]):
                key = tuple(
                    slot.options[option].is_zero for slot in self.slots if slot.column == column
                )
                ids.append(signatures.setdefault(key, len(signatures)))
            classes.append(np.asarray(ids, dtype=np.int64))
        return classes

    def liveness(
        self, choices: np.ndarray, *, executed: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(live, pattern)``: live edges (with ``executed``: executed edges) per distinct zero
        pattern, and each row's pattern."""
        which = executed_edges if executed else live_edges
        classes = self._zero_table()
        code = np.zeros(len(choices), dtype=np.int64)
        for column, ids in enumerate(classes):
            code = code * (int(ids.max()) + 1) + ids[choices[:, column]]
        codes, first, pattern = np.unique(code, return_index=True, return_inverse=True)
        live = np.empty((len(codes), len(self.skeleton.edges)), dtype=bool)
        for position, (key, row) in enumerate(zip(codes, first)):
            cached = self._pattern_cache.get((executed, int(key)))
            if cached is None:
                zero = [edge.op.is_zero for edge in self.skeleton.edges]
                for slot in self.slots:
                    zero[slot.edge] = slot.options[choices[row, slot.column]].is_zero
                cached = self._pattern_cache[executed, int(key)] = which(self.skeleton, zero)
            live[position] = cached
        return live, pattern.reshape(-1)

    def edge_values(
        self, choices: np.ndarray, value: Callable[[Op, int, int, int], float]
    ) -> list[np.ndarray | float]:
        """``value(op, in_channels, height, width)`` of every edge for every row."""
        out: list[np.ndarray | float] = []
        for position, edge in enumerate(self.skeleton.edges):
            src = self.skeleton.node(edge.src)
            read = self.skeleton.edge_input_channels(edge)
            slot = self._slot_at.get(position)
            if slot is None:
                out.append(value(edge.op, read, src.height, src.width))
            else:
                table = np.array([value(op, read, src.height, src.width) for op in slot.options])
                out.append(table[choices[:, slot.column]])
        return out

    def edge_sums(
        self, choices: np.ndarray, count: EdgeCounter, size: int, *, executed: bool = False
    ) -> np.ndarray:
        """Sum over live (or ``executed``) edges of ``count(edge)`` (``size`` numbers), per row:
        ``(n, size)``.

        Which edges count depends only on the zero pattern and each slot's count only on its
        column's choice, so the sum is a per-pattern constant plus one table lookup per column.
        """
        live, pattern = self.liveness(choices, executed=executed)
        fixed = np.zeros((len(live), size))
        by_column = [np.zeros((len(live), n, size)) for n in self.n_options]
        for position, edge in enumerate(self.skeleton.edges):
            shape = EdgeShape.of(self.skeleton, edge)
            slot = self._slot_at.get(position)
            if slot is None:
                fixed += np.outer(live[:, position], np.asarray(count(shape), dtype=float))
            else:
                table = np.array(
                    [count(replace(shape, op=op)) for op in slot.options], dtype=float
                ).reshape(len(slot.options), size)
                by_column[slot.column] += live[:, position, None, None] * table[None]
        total: np.ndarray = fixed[pattern]
        for column, by_choice in enumerate(by_column):
            total = total + by_choice[pattern, choices[:, column]]
        return total

    def additive(
        self, choices: np.ndarray, value: Callable[[Op, int, int, int], float]
    ) -> np.ndarray:
        """Sum of ``value(op, in_channels, height, width)`` over live edges, per row."""
        return self.edge_sums(choices, lambda e: (value(e.op, e.channels, e.height, e.width),), 1)[
            :, 0
        ]

    def activations(self, choices: np.ndarray) -> np.ndarray:
        live, pattern = self.liveness(choices)
        sizes = np.array(
            [0 if node.name == self.skeleton.input else node.size for node in self.skeleton.nodes]
        )
        per_pattern = np.array([live_nodes(self.skeleton, row) @ sizes for row in live])
        return per_pattern[pattern].astype(float)

    def _cell_nodes(
        self, choices: np.ndarray, *, neuron: bool, sums_count: bool = False
    ) -> list[list[tuple[np.ndarray, np.ndarray, int]]]:
        """Per cell and node: (in-degree per row, counts per row, channels); a node counts
        when a live computing edge writes it, or (``sums_count``) when it is a live sum node
        (the rule of :func:`flash_nas.graph.metrics.graph_metrics.nn_degree`)."""
        live, pattern = self.liveness(choices)
        live_rows = live[pattern]
        degree = self.edge_values(
            choices, lambda op, read, h, w: op_in_degree(op, read, neuron=neuron)
        )
        out_channels = self.edge_values(
            choices, lambda op, read, h, w: op_output_channels(op, read)
        )
        computing = self.edge_values(choices, lambda op, read, h, w: float(op.is_computing))
        cells = []
        for cell in self.skeleton.cells:
            nodes = []
            for name in cell.nodes[len(cell.inputs) :]:
                node = self.skeleton.node(name)
                node_degree = np.zeros(len(choices))
                node_computing = np.zeros(len(choices), dtype=bool)
                for position in self.skeleton.incoming[name]:
                    alive = live_rows[:, position]
                    contribution = degree[position]
                    if node.combine == "concat":
                        contribution = (
                            contribution * np.asarray(out_channels[position]) / node.channels
                        )
                    node_degree += alive * contribution
                    node_computing |= alive & (np.asarray(computing[position]) > 0)
                    if sums_count and node.combine == "sum":
                        node_computing |= alive
                nodes.append((node_degree, node_computing, node.channels))
            cells.append(nodes)
        return cells

    def nn_degree(
        self, choices: np.ndarray, *, neuron: bool = False, sums_count: bool = True
    ) -> np.ndarray:
        total = np.zeros(len(choices))
        for nodes in self._cell_nodes(choices, neuron=neuron, sums_count=sums_count):
            degree_sum = sum(np.where(comp, deg, 0.0) for deg, comp, _ in nodes)
            count = sum(comp.astype(float) for _, comp, _ in nodes)
            total += np.divide(degree_sum, count, out=np.zeros(len(choices)), where=count > 0)
        return total

    def nn_mass(self, choices: np.ndarray) -> np.ndarray | None:
        if any(cell.skip_capacity is None for cell in self.skeleton.cells):
            return None  # the per-graph path raises the explanatory error
        live, pattern = self.liveness(choices)
        live_rows = live[pattern]
        out_channels = self.edge_values(
            choices, lambda op, read, h, w: op_output_channels(op, read)
        )
        total = np.zeros(len(choices))
        for cell, nodes in zip(self.skeleton.cells, self._cell_nodes(choices, neuron=False)):
            if not cell.skip_capacity:
                continue
            order = {name: rank for rank, name in enumerate(cell.nodes)}
            skips = np.zeros(len(choices))
            for name in cell.nodes[len(cell.inputs) :]:
                for position in self.skeleton.incoming[name]:
                    if order[name] - order[self.skeleton.edges[position].src] >= 2:
                        skips += live_rows[:, position] * out_channels[position]
            count = sum(comp.astype(float) for _, comp, _ in nodes)
            width_sum = sum(comp * channels for _, comp, channels in nodes)
            width = np.divide(width_sum, count, out=np.zeros(len(choices)), where=count > 0)
            total += skips / cell.skip_capacity * width * count
        return total


class ChoiceBatch(GraphBatch):
    """A :class:`ChoiceSkeleton` and one row of choices per architecture."""

    def __init__(
        self,
        skeleton: ChoiceSkeleton,
        choices: np.ndarray,
        to_text: Callable[[np.ndarray], str],
        indices: np.ndarray | None = None,
    ) -> None:
        self.skeleton = skeleton
        self.choices = skeleton.check_choices(choices)
        self._to_text = to_text
        self._indices = None if indices is None else np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.choices)

    def graph(self, position: int) -> ArchGraph:
        return self.skeleton.graph(self.choices[position], self.arch_text(position))

    def arch_text(self, position: int) -> str:
        return self._to_text(self.choices[position])

    def indices(self) -> np.ndarray | None:
        return self._indices

    def edge_sums(self, count: EdgeCounter, size: int, *, executed: bool = False) -> np.ndarray:
        return self.skeleton.edge_sums(self.choices, count, size, executed=executed)

    def fast_metric(self, name: str) -> np.ndarray | None:
        skeleton, choices = self.skeleton, self.choices
        if name == "params":
            return skeleton.additive(choices, lambda op, read, h, w: float(op.params))
        if name == "macs":
            return skeleton.additive(choices, lambda op, read, h, w: float(op_macs(op, read, h, w)))
        if name == "flops":
            return skeleton.additive(
                choices, lambda op, read, h, w: float(op_flops(op, read, h, w))
            )
        if name == "activations":
            return skeleton.activations(choices)
        if name == "nn_degree":
            return skeleton.nn_degree(choices)
        if name == "nn_degree_neuron":
            return skeleton.nn_degree(choices, neuron=True)
        if name == "nn_degree_computing":
            return skeleton.nn_degree(choices, sums_count=False)
        if name == "nn_mass":
            return skeleton.nn_mass(choices)
        return None
