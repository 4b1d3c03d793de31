"""FLASH's own search space (Li, Mandal, Ogras, Marculescu, TECS 2021) as a flash-nas adapter.

Representations this module converts between:

* **text** -- ``dense:w=32,48,64;d=4,6,8;t=10,0,200``: the block kind, then one width ``w_c``,
  depth ``d_c`` (layers) and skip count ``t_c`` per cell, cells in order. ``t_c`` counts skip
  *channels* in the dense block and skip *links* in the resnet and mobilenet blocks, so the text
  names its block and :meth:`FlashSpaceAdapter.parse` refuses text written for another block.
* **arch** -- a tuple of :class:`CellConfig` ``(width, depth, skips)``, one per cell (hashable;
  equal to the plain tuple of triples).
* **configs** -- the same numbers as an int array of shape ``(n, n_cells, 3)``: the form
  :class:`FlashBatch` scores in closed form, without building graphs.
* **ArchGraph** -- the whole network, built by :meth:`FlashSpaceAdapter.to_graph`.
* **relaxed point** -- per cell a width index, a depth index and a skip density in [0, 1]: the
  box :class:`FlashRelaxation` gives SHGO.

The network: stem (3x3 conv from the image to ``w_1`` channels, BN), cell 1, transition, cell 2,
..., head (BN, ReLU, global average pooling, linear with bias). Only the outline of the space
survives in the paper's abstract; what is marked *ours* is our reconstruction.

* **dense** (FLASH's block): layer i of a cell is BN-ReLU-conv3x3 writing ``w_c`` channels. Layer
  0 reads the cell input; layer i >= 1 reads the concatenation (node ``c{c}.in{i}``) of layer
  i-1's output and the skip channels that layers 0..i-2 send it. The first layer of cells 2..n
  has stride 2.
* **transition** (ours, DenseNet's transition layer): BN-ReLU-conv1x1 from ``w_{c-1}`` to ``w_c``
  channels between cells, outside the cells. Every layer of a cell then sees ``w_c`` channels from
  its predecessor, which is what FLASH's ``g_c = w_c + t_c / d_c`` assumes. It is there even when
  the widths agree, so every architecture has the same outline.
* **skip layout** (ours): a cell has ``(d_c-1)(d_c-2)/2`` eligible (layer i, source j <= i-2)
  pairs. They are put in an order shuffled by ``skip_seed`` (mixed with the cell's position and
  depth), and ``t_c`` is spread over them as evenly as possible: every pair takes
  ``t_c // pairs``, the first ``t_c % pairs`` in that order one more. A dense pair carries at
  most ``w_c`` channels, a slice from channel 0 of its source; a resnet or mobilenet pair is one
  link or none. The layout is deterministic, so an arch and the adapter's parameters fix the graph.
* **resnet** (ours): BN-ReLU-conv3x3 layers whose outputs are sum nodes; a skip is a whole-tensor
  identity link from layer j <= i-2 into layer i's sum.
* **mobilenet** (ours): each layer is a MobileNetV2 inverted residual (1x1 expand conv-BN-ReLU6,
  3x3 depthwise conv-BN-ReLU6 with the layer's stride, 1x1 project conv-BN) on one edge, so that a
  layer is one node as in the other blocks and NN-Mass keeps its ``rho * w * d`` form; skips as in
  the resnet block. Consequences: its NN-Degree is ``e * w_c + t_c / d_c`` (the project conv reads
  ``e * w_c`` channels), and ``activations`` does not count the expanded tensors inside a layer.

Hardware costs of a batch (:meth:`FlashBatch.edge_sums`) are sums over the network's parts,
each distinct part built once with the same builders as :meth:`FlashSpaceAdapter.to_graph`.

The space is counted exactly: per cell, every allowed (width, depth) with every skip count
0..capacity; cells choose independently. The default ranges (widths 16..64 step 8, depths 2..6)
give 5,635 choices per cell and 5,635**3 = 178,929,422,875 architectures for the dense block, more
than the "63 billion" FLASH reports (its ranges were not recovered).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

import flash_nas
from flash_nas import (
    Adapter,
    ArchFormatError,
    ArchGraph,
    Cell,
    Edge,
    Layer,
    Op,
    Tensor,
    UnknownNameError,
)
from flash_nas.errors import ParameterError, quote
from flash_nas.hardware import EdgeShape
from flash_nas_adapters.flash_bulk import first_occurrences

if TYPE_CHECKING:
    from flash_nas_adapters.flash_batch import FlashBatch
    from flash_nas_adapters.flash_relaxation import FlashRelaxation

__all__ = [
    "BLOCKS",
    "DEFAULT_DEPTHS",
    "DEFAULT_WIDTHS",
    "CellConfig",
    "FlashBatch",
    "FlashRelaxation",
    "FlashSpaceAdapter",
    "register_adapters",
]

DEFAULT_WIDTHS = tuple(range(16, 65, 8))
DEFAULT_DEPTHS = tuple(range(2, 7))
_IMAGE_CHANNELS = 3
_TEXT = re.compile(r"(?P<block>\w+):w=(?P<w>[^;]*);d=(?P<d>[^;]*);t=(?P<t>[^;]*)")
_NUMBER = re.compile(r"\d+")


class CellConfig(NamedTuple):
    """One cell's choices: width (channels), depth (layers), skips (channels or links)."""

    width: int
    depth: int
    skips: int


FlashArch = tuple[CellConfig, ...]


# ---------------------------------------------------------------------------------- layers, ops
def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> Layer:
    return Layer("conv", cin, cout, kernel, stride, kernel // 2, groups)


def _keep(kind: str, channels: int) -> Layer:
    return Layer(kind, channels, channels)


# Ops are immutable, so graphs share them: building one is most of the cost of a cell.
@lru_cache(maxsize=4096)
def _preact_conv(cin: int, cout: int, kernel: int, stride: int, name: str) -> Op:
    """BN-ReLU-conv: DenseNet's pre-activation layer, also its transition (kernel 1)."""
    return Op(name, (_keep("bn", cin), _keep("relu", cin), _conv(cin, cout, kernel, stride)))


@lru_cache(maxsize=1024)
def _inverted_residual(width: int, expansion: int, stride: int) -> Op:
    hidden = width * expansion
    return Op(
        "inverted_residual",
        (
            _conv(width, hidden, 1),
            _keep("bn", hidden),
            _keep("relu6", hidden),
            _conv(hidden, hidden, 3, stride, groups=hidden),
            _keep("bn", hidden),
            _keep("relu6", hidden),
            _conv(hidden, width, 1),
            _keep("bn", width),
        ),
    )


@lru_cache(maxsize=256)
def _stem(width: int) -> Op:
    return Op("stem", (_conv(_IMAGE_CHANNELS, width, 3), _keep("bn", width)))


@lru_cache(maxsize=256)
def _head(width: int, classes: int) -> Op:
    return Op(
        "head",
        (
            _keep("bn", width),
            _keep("relu", width),
            _keep("global_avg_pool", width),
            Layer("linear", width, classes, bias=True),
        ),
    )


_PREVIOUS = Op.identity("previous")
_SKIP = Op.identity("skip")


def _spatial_sizes(input_size: int, n_cells: int) -> list[int]:
    """Spatial size of each cell's layers: the first cell keeps the input size, later ones halve.

    A 3x3 conv with padding 1 and stride 2 maps s to (s - 1) // 2 + 1 (torch's floor mode).
    """
    sizes = [input_size]
    for _ in range(n_cells - 1):
        sizes.append((sizes[-1] - 1) // 2 + 1)
    return sizes


# ------------------------------------------------------------------------------- skip layout
def _pair_count(depth: int) -> int:
    """Eligible (layer i, source j <= i-2) pairs in a cell of ``depth`` layers."""
    return (depth - 1) * (depth - 2) // 2


@lru_cache(maxsize=4096)
def _pair_order(skip_seed: int, cell: int, depth: int) -> tuple[tuple[int, int], ...]:
    """The eligible pairs in the order skips fill them; fixed by the seed, cell and depth."""
    pairs = [(layer, source) for layer in range(2, depth) for source in range(layer - 1)]
    order = np.random.default_rng([skip_seed, cell, depth]).permutation(len(pairs))
    return tuple(pairs[k] for k in order)


def _spread(total: int, order: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """``total`` skips over the pairs as evenly as possible, earlier pairs taking the remainder."""
    if not order:
        return {}
    base, extra = divmod(total, len(order))
    counts = {pair: base + (rank < extra) for rank, pair in enumerate(order)}
    return {pair: count for pair, count in sorted(counts.items()) if count}


# ------------------------------------------------------------------------------ cell builders
@dataclass(frozen=True)
class _CellPlan:
    """What a block builder needs to lay out one cell."""

    name: str
    source: Tensor  # the cell's input node: the stem or the transition's output
    width: int
    depth: int
    stride: int  # of the first layer
    skips: tuple[tuple[int, int, int], ...]  # (layer, source layer, channels or links)
    expansion: int

    @property
    def size(self) -> int:
        return (self.source.height - 1) // self.stride + 1

    def out(self, layer: int) -> str:
        return f"{self.name}.out{layer}"

    def out_node(self, layer: int) -> Tensor:
        """The node ``layer`` writes (a sum node in every block; it has one input in dense)."""
        return Tensor(self.out(layer), self.width, self.size, self.size)

    @property
    def output(self) -> Tensor:
        """The cell's output: its last layer's node."""
        return self.out_node(self.depth - 1)

    def stride_of(self, layer: int) -> int:
        return self.stride if layer == 0 else 1

    def skips_into(self, layer: int) -> list[tuple[int, int]]:
        """``(source layer, count)`` of the skips that enter ``layer``, by source."""
        return [(source, count) for into, source, count in self.skips if into == layer]


Built = tuple[list[Tensor], list[Edge]]


def _dense_layer(plan: _CellPlan, layer: int) -> Built:
    """Layer i >= 1 convolves a concat node of layer i-1's output and its skip slices."""
    size, width = plan.size, plan.width
    nodes: list[Tensor] = []
    edges: list[Edge] = []
    reads = plan.source
    if layer:
        sources = plan.skips_into(layer)
        channels = width + sum(count for _, count in sources)
        reads = Tensor(f"{plan.name}.in{layer}", channels, size, size, combine="concat")
        nodes.append(reads)
        edges.append(Edge(plan.out(layer - 1), reads.name, _PREVIOUS))
        edges.extend(
            Edge(plan.out(source), reads.name, _SKIP, channel_offset=0, channels=count)
            for source, count in sources
        )
    nodes.append(plan.out_node(layer))
    op = _preact_conv(reads.channels, width, 3, plan.stride_of(layer), "bn_relu_conv3x3")
    edges.append(Edge(reads.name, plan.out(layer), op))
    return nodes, edges


def _sum_layer(plan: _CellPlan, layer: int, op: Op) -> Built:
    """Layer i sums its op on layer i-1's output and whole-tensor skips from layers <= i-2."""
    previous = plan.out(layer - 1) if layer else plan.source.name
    edges = [Edge(previous, plan.out(layer), op)]
    edges += [
        Edge(plan.out(source), plan.out(layer), _SKIP) for source, _ in plan.skips_into(layer)
    ]
    return [plan.out_node(layer)], edges


def _resnet_layer(plan: _CellPlan, layer: int) -> Built:
    width = plan.width
    op = _preact_conv(width, width, 3, plan.stride_of(layer), "bn_relu_conv3x3")
    return _sum_layer(plan, layer, op)


def _mobilenet_layer(plan: _CellPlan, layer: int) -> Built:
    op = _inverted_residual(plan.width, plan.expansion, plan.stride_of(layer))
    return _sum_layer(plan, layer, op)


# ------------------------------------------------------------------------------ closed forms
@dataclass(frozen=True)
class _CellArrays:
    """Per architecture and cell, shape ``(n, n_cells)``, and per cell the spatial sizes."""

    width: np.ndarray
    depth: np.ndarray
    skips: np.ndarray
    size: np.ndarray  # (n_cells,): spatial size of the cell's layers
    size_in: np.ndarray  # (n_cells,): spatial size of the cell's input node
    expansion: int


#: A metric's formula, evaluated only when the metric is asked for.
_Thunk = Callable[[], np.ndarray]


def _dense_metrics(c: _CellArrays) -> dict[str, _Thunk]:
    """Layer i's conv reads ``w + s_i`` channels and the ``s_i`` sum to t: every total is linear
    in the ``s_i``, so it depends on t alone, not on how the seed laid the skips out."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    read = d * w + t  # input channels summed over the cell's convs
    return {
        # 3x3 weights, and BN's scale and shift per input channel
        "params": lambda: read * (9 * w + 2),
        "macs": lambda: 9 * w * area * read,
        # BN (2) and ReLU (1) per input value; layer 0 works at the input size, before its stride
        "elementwise": lambda: 3 * (w * c.size_in**2 + (read - w) * area),
        "activations": lambda: area * (read + (d - 1) * w),  # d outputs, d-1 concat nodes
        "nn_degree": lambda: w + t / d,
        "nn_degree_neuron": lambda: 9 * (w + t / d),
    }


def _resnet_metrics(c: _CellArrays) -> dict[str, _Thunk]:
    """Identity skips add no weights or MACs; each adds 1 to the in-degree of its sum node."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    return {
        "params": lambda: d * (9 * w * w + 2 * w),
        "macs": lambda: 9 * w * w * d * area,
        "elementwise": lambda: 3 * w * (c.size_in**2 + (d - 1) * area),  # BN-ReLU before each conv
        "activations": lambda: d * w * area,
        "nn_degree": lambda: w + t / d,
        "nn_degree_neuron": lambda: 9 * w + t / d,
    }


def _mobilenet_metrics(c: _CellArrays) -> dict[str, _Thunk]:
    """The first layer's expand conv runs at the cell's input size, everything else after the
    stride; the project conv (1x1, ``h = e * w`` inputs) sets the in-degree."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    h = c.expansion * w
    return {
        # two 1x1 convs, 3x3 depthwise, three BNs
        "params": lambda: d * (2 * h * w + 13 * h + 2 * w),
        "macs": lambda: h * w * (c.size_in**2 + (2 * d - 1) * area) + 9 * h * d * area,
        # BN-ReLU6 after the expand conv (before the stride) and the depthwise conv, BN at the end
        "elementwise": lambda: 3 * h * (c.size_in**2 + (2 * d - 1) * area) + 2 * w * d * area,
        "activations": lambda: d * w * area,
        "nn_degree": lambda: h + t / d,
        "nn_degree_neuron": lambda: h + t / d,
    }


def _skeleton_metrics(c: _CellArrays, classes: int) -> dict[str, _Thunk]:
    """Stem, transitions and head: the same for every block."""
    w = c.width
    first, last, before, after = w[:, 0], w[:, -1], w[:, :-1], w[:, 1:]
    stem = first * c.size_in[0] ** 2  # values the stem writes
    transition_area = c.size_in[1:] ** 2
    transition = before * transition_area  # values each transition reads
    pooled = last * c.size[-1] ** 2  # values the head reads
    return {
        "params": lambda: (
            29 * first + (before * (after + 2)).sum(axis=1) + (classes + 2) * last + classes
        ),
        "macs": lambda: 27 * stem + (transition * after).sum(axis=1) + classes * last,
        # the stem's BN; BN-ReLU before each transition; the head's BN-ReLU and pooling adds
        "elementwise": lambda: 2 * stem + 3 * transition.sum(axis=1) + 4 * pooled,
        "activations": lambda: stem + (after * transition_area).sum(axis=1) + classes,
    }


@dataclass(frozen=True)
class _Block:
    """One kind of cell: how to build a layer, what ``t`` counts, its closed-form metrics.

    A layer's builder reads from the plan only its name, source, width, stride, expansion and
    the skips into that layer (never the depth), and adds the layer's nodes and the edges into
    them: a cell is its layers, in order.
    """

    layer: Callable[[_CellPlan, int], Built]
    unit: str  # what t counts
    per_pair: Callable[[Any], Any]  # most skips one (layer, source) pair carries, given w
    capacity_formula: str
    metrics: Callable[[_CellArrays], dict[str, _Thunk]]

    def build(self, plan: _CellPlan) -> Built:
        nodes: list[Tensor] = []
        edges: list[Edge] = []
        for layer in range(plan.depth):
            built, wiring = self.layer(plan, layer)
            nodes += built
            edges += wiring
        return nodes, edges


_BLOCKS: dict[str, _Block] = {
    "dense": _Block(_dense_layer, "channels", lambda w: w, "w*(d-1)*(d-2)/2", _dense_metrics),
    "resnet": _Block(_resnet_layer, "links", lambda w: 1, "(d-1)*(d-2)/2", _resnet_metrics),
    "mobilenet": _Block(
        _mobilenet_layer, "links", lambda w: 1, "(d-1)*(d-2)/2", _mobilenet_metrics
    ),
}
#: The block kinds a FlashSpaceAdapter builds.
BLOCKS = tuple(_BLOCKS)


# ---------------------------------------------------------------------------- parameter checks
#: The space's stated limits. Metrics are computed in float64, so no size overflows; these bound
#: what one network may cost to build and keep numbers meaningful (a 10^8-pixel input is a typo).
LIMITS = {
    "input_size": 4096,
    "width": 8192,
    "depth": 1024,
    "n_cells": 64,
    "num_classes": 1_000_000,
    "expansion": 64,
    "skip_seed": 2**63 - 1,
}
#: Most architectures :meth:`FlashSpaceAdapter.enumerate` lists (larger spaces are sampled).
ENUMERATE_LIMIT = 10_000_000


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_int(
    name: str,
    value: Any,
    minimum: int,
    owner: str = "FlashSpaceAdapter",
    maximum: int | None = None,
) -> int:
    maximum = LIMITS.get(name) if maximum is None else maximum
    if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
        expected = f"an int >= {minimum}" if maximum is None else f"an int in {minimum}..{maximum}"
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be {expected}. Got {quote(value)} instead."
        )
    return int(value)


def _per_cell(name: str, values: Iterable[Any], n_cells: int) -> tuple[tuple[int, ...], ...]:
    """Allowed values per cell: ints shared by every cell, or ``n_cells`` sequences of ints."""
    items = list(values) if isinstance(values, Iterable) else []
    if items and all(_is_int(item) for item in items):
        groups = [items] * n_cells
    elif len(items) == n_cells and all(isinstance(item, Iterable) for item in items):
        groups = [list(item) for item in items]
    else:
        groups = []
    limit = LIMITS[name.rstrip("s")]
    if not groups or any(
        not g or not all(_is_int(v) and 1 <= v <= limit for v in g) for g in groups
    ):
        raise ParameterError(
            f"The {name!r} parameter of FlashSpaceAdapter must be a non-empty sequence of ints "
            f"in 1..{limit} shared by every cell, or {n_cells} such sequences (one per cell; "
            f"n_cells={n_cells}). Got {quote(values)} instead."
        )
    return tuple(tuple(sorted({int(v) for v in group})) for group in groups)


def _listing(values: Iterable[int]) -> str:
    return ", ".join(map(str, values))


# ------------------------------------------------------------------------------- part sums
#: What FlashBatch.edge_sums sums: events of one edge (a hardware model's ``edge_events``).
_EdgeCounter = Callable[[EdgeShape], Sequence[float]]
#: A part of the network: (kind, cell, numbers that fix its edges); see ``_part_keys``.
_PartKey = tuple[Any, ...]
#: Count functions whose part sums an adapter remembers (a hardware model or two in use).
_KEPT_MEMOS = 8


class _PartView:
    """Just enough of an ArchGraph for :meth:`EdgeShape.of`: one part's nodes, by name."""

    edge_input_channels = ArchGraph.edge_input_channels  # the whole graph's rule, shared

    def __init__(self, nodes: Iterable[Tensor]) -> None:
        self._nodes = {node.name: node for node in nodes}

    def node(self, name: str) -> Tensor:
        return self._nodes[name]


class _PartSums:
    """One count function's sums over the parts of one adapter's networks, built as needed."""

    def __init__(self, adapter: FlashSpaceAdapter, count: _EdgeCounter, size: int) -> None:
        self.adapter, self.count, self.size = adapter, count, size
        self.parts: dict[_PartKey, np.ndarray] = {}

    def part(self, key: _PartKey) -> np.ndarray:
        """The sum over the part's edges and its own parts (a cell's layers), built once."""
        total = self.parts.get(key)
        if total is None:
            nodes, edges, parts = self.adapter._part(key)
            view = _PartView(nodes)
            total = np.zeros(self.size)
            for edge in edges:
                shape = EdgeShape.of(view, edge)  # type: ignore[arg-type]
                total += np.asarray(self.count(shape), dtype=float)
            for part in parts:
                total += self.part(part)
            self.parts[key] = total
        return total

    def totals(self, groups: Sequence[Sequence[_PartKey]]) -> np.ndarray:
        """Per group of parts (one architecture's, all as many), the sum of their sums."""
        ids: dict[_PartKey, int] = {}
        rows = [[ids.setdefault(key, len(ids)) for key in group] for group in groups]
        if not rows:
            return np.zeros((0, self.size))
        table = np.array([self.part(key) for key in ids]).reshape(len(ids), self.size)
        return table[np.array(rows)].sum(axis=1)


# ---------------------------------------------------------------------------------- adapter
class FlashSpaceAdapter(Adapter):
    """FLASH's space: ``n_cells`` cells, each choosing a width, a depth and its skips.

    Parameters (all keyword, all with defaults):

    * ``block`` -- ``"dense"`` (FLASH's), ``"resnet"`` or ``"mobilenet"``; see the module docs.
    * ``widths``, ``depths`` -- allowed values, one sequence shared by every cell or one per cell.
    * ``n_cells`` (3), ``input_size`` (32: a 32x32 RGB image), ``num_classes`` (10).
    * ``skip_seed`` (0) -- fixes how each cell's skips are laid out over its layer pairs.
    * ``expansion`` (4) -- the mobilenet block's expansion ratio; the other blocks ignore it.

    Stated limits (:data:`LIMITS`): ``input_size`` <= 4096, widths <= 8192, depths <= 1024,
    ``n_cells`` <= 64, ``num_classes`` <= 10^6, ``expansion`` <= 64; a value beyond them raises
    :class:`~flash_nas.errors.ParameterError`. Metrics are computed in float64 (exact below
    2^53), so no value within the limits overflows.
    """

    description: ClassVar[str] = (
        "FLASH's own space: cells of DenseNet-, ResNet- or MobileNet-type layers choosing "
        "width, depth and skip connections (Li et al., TECS 2021)"
    )

    def __init__(
        self,
        *,
        block: str = "dense",
        widths: Sequence[int] | Sequence[Sequence[int]] = DEFAULT_WIDTHS,
        depths: Sequence[int] | Sequence[Sequence[int]] = DEFAULT_DEPTHS,
        n_cells: int = 3,
        input_size: int = 32,
        num_classes: int = 10,
        skip_seed: int = 0,
        expansion: int = 4,
    ) -> None:
        if block not in _BLOCKS:
            raise UnknownNameError(
                f"Unknown FLASH block {block!r}; expected one of {', '.join(BLOCKS)}."
            )
        self.block = block
        self.n_cells = _check_int("n_cells", n_cells, 1)
        self.widths = _per_cell("widths", widths, self.n_cells)
        self.depths = _per_cell("depths", depths, self.n_cells)
        self.input_size = _check_int("input_size", input_size, 1)
        self.num_classes = _check_int("num_classes", num_classes, 1)
        self.skip_seed = _check_int("skip_seed", skip_seed, 0)
        self.expansion = _check_int("expansion", expansion, 1)
        self._block = _BLOCKS[block]
        self._sizes = _spatial_sizes(self.input_size, self.n_cells)
        self._memos: dict[tuple[_EdgeCounter, int], _PartSums] = {}

    def __repr__(self) -> str:
        return (
            f"FlashSpaceAdapter(block={self.block!r}, n_cells={self.n_cells}, "
            f"input_size={self.input_size}, num_classes={self.num_classes}, "
            f"skip_seed={self.skip_seed}, expansion={self.expansion})"
        )

    # ------------------------------------------------------------------------ the space's rules
    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Per cell: width and depth as positions in their allowed ranges, and the skip density
        (skips over the cell's capacity), each in [0, 1] (the choices are ordered)."""
        rows = []
        for arch in archs:
            row: list[float] = []
            for cell, (width, depth, skips) in enumerate(self.check(arch)):
                widths, depths = self.widths[cell], self.depths[cell]
                row.append(widths.index(width) / max(len(widths) - 1, 1))
                row.append(depths.index(depth) / max(len(depths) - 1, 1))
                capacity = self.skip_capacity(width, depth)
                row.append(skips / capacity if capacity else 0.0)
            rows.append(row)
        return np.asarray(rows, dtype=float).reshape(len(rows), 3 * self.n_cells)

    def encoding_groups(self) -> list[int]:
        """Width, depth and skip density each share one length scale across cells."""
        return [0, 1, 2] * self.n_cells

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Never: every layer of a FLASH cell feeds the next, so no output is cut off."""
        return np.zeros(len(archs), dtype=bool)

    def skip_capacity(self, width: int, depth: int) -> int:
        """Most skips (in this block's unit: channels or links) a cell of this shape allows."""
        return _pair_count(depth) * self._block.per_pair(width)

    def _options(self, cell: int) -> list[tuple[int, int, int]]:
        """Every allowed ``(width, depth, capacity)`` of ``cell``."""
        return [
            (width, depth, self.skip_capacity(width, depth))
            for width in self.widths[cell]
            for depth in self.depths[cell]
        ]

    def size(self) -> int:
        """Exact count: per cell, every (width, depth) with each skip count 0..capacity."""
        total = 1
        for cell in range(self.n_cells):
            total *= sum(capacity + 1 for _, _, capacity in self._options(cell))
        return total

    def relaxation(self, densities: Sequence[float] | None = None) -> FlashRelaxation:
        """Widths and depths (level 1), then skip densities (level 2): see
        :class:`FlashRelaxation`; ``densities`` restricts the skips to a grid."""
        from flash_nas_adapters.flash_relaxation import FlashRelaxation

        return FlashRelaxation(self, densities)

    def skip_layout(self, arch: Hashable) -> tuple[dict[tuple[int, int], int], ...]:
        """Per cell, ``{(layer, source layer): skips}`` for the pairs that carry any."""
        return tuple(self._layout(cell, config) for cell, config in enumerate(self.check(arch)))

    def check(self, arch: Hashable) -> FlashArch:
        """``arch`` as a tuple of :class:`CellConfig`; ArchFormatError if it is not in the space."""
        rows: Any = arch
        try:
            cells = [tuple(map(operator.index, row)) for row in rows]
        except TypeError:
            cells = []
        if len(cells) != self.n_cells or any(len(cell) != 3 for cell in cells):
            raise ArchFormatError(
                f"Expected a FLASH architecture as {self.n_cells} (width, depth, skips) triples "
                f"of ints, one per cell (n_cells={self.n_cells}); got {quote(arch)}."
            )
        return tuple(self._check_cell(c, CellConfig(*cell)) for c, cell in enumerate(cells))

    def _check_cell(self, cell: int, config: CellConfig) -> CellConfig:
        width, depth, skips = config
        for name, value, allowed in (
            ("width", width, self.widths[cell]),
            ("depth", depth, self.depths[cell]),
        ):
            if value not in allowed:
                raise ArchFormatError(
                    f"Cell {cell + 1}: {name} {value} is not allowed; expected one of "
                    f"{_listing(allowed)}."
                )
        capacity = self.skip_capacity(width, depth)
        if not 0 <= skips <= capacity:
            raise ArchFormatError(
                f"Cell {cell + 1}: {skips} skip {self._block.unit} is out of range for a "
                f"{self.block} cell of width {width} and depth {depth}; expected 0..{capacity} "
                f"(capacity {self._block.capacity_formula})."
            )
        return config

    def check_configs(self, configs: Any) -> np.ndarray:
        """``configs`` as an int64 array ``(n, n_cells, 3)`` of architectures in the space."""
        array = np.asarray(configs)
        if array.ndim != 3 or array.shape[1:] != (self.n_cells, 3):
            raise ArchFormatError(
                f"Expected a config array of shape (n, {self.n_cells}, 3), (width, depth, skips) "
                f"per cell; got shape {array.shape}."
            )
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise ArchFormatError(f"Configs must be integers; got dtype {array.dtype}.")
        array = array.astype(np.int64, copy=False)
        bad = ~self._valid(array)
        if bad.any():
            row = int(np.argmax(bad))
            try:
                self.check(array[row].tolist())
            except ArchFormatError as exc:
                raise ArchFormatError(f"Row {row}: {exc}") from None
        return array

    def _valid(self, array: np.ndarray) -> np.ndarray:
        valid = np.ones(len(array), dtype=bool)
        for cell in range(self.n_cells):
            width, depth, skips = array[:, cell].T
            capacity = _pair_count(depth) * self._block.per_pair(width)
            valid &= np.isin(width, self.widths[cell]) & np.isin(depth, self.depths[cell])
            valid &= (skips >= 0) & (skips <= capacity)
        return valid

    # ---------------------------------------------------------------------------- text form
    @property
    def text_form(self) -> str:
        """The canonical text's shape, for error messages: ``dense:w=W1,W2,W3;d=...;t=...``."""
        w, d, t = (",".join(f"{key}{c + 1}" for c in range(self.n_cells)) for key in "WDT")
        return f"{self.block}:w={w};d={d};t={t}"

    def format(self, arch: Hashable) -> str:
        cells = self.check(arch)
        w, d, t = (",".join(map(str, column)) for column in zip(*cells, strict=True))
        return f"{self.block}:w={w};d={d};t={t}"

    def parse(self, text: str) -> FlashArch:
        match = _TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ArchFormatError(
                f"Malformed FLASH architecture {quote(text)}: expected the form {self.text_form} "
                f"(block, then per cell its width, depth and skips)."
            )
        if match["block"] != self.block:
            raise ArchFormatError(
                f"FLASH architecture {quote(text)} is written for the {match['block']!r} block, "
                f"but "
                f"this space builds {self.block!r} cells; pass block={match['block']!r} to the "
                f"adapter or use {self.block!r} text."
            )
        columns = [self._parse_numbers(text, key, match[key]) for key in "wdt"]
        return self.check(list(zip(*columns, strict=True)))

    def _parse_numbers(self, text: str, key: str, field: str) -> list[int]:
        parts = field.split(",")
        if not all(_NUMBER.fullmatch(part) for part in parts):
            raise ArchFormatError(
                f"Malformed FLASH architecture {quote(text)}: {key}= must list non-negative "
                f"integers "
                f"separated by commas, as in {self.text_form}; got {field!r}."
            )
        if len(parts) != self.n_cells:
            raise ArchFormatError(
                f"FLASH architecture {quote(text)} gives {len(parts)} values in {key}=; this space "
                f"has "
                f"{self.n_cells} cells (n_cells={self.n_cells}), one value per cell."
            )
        return [int(part) for part in parts]

    # ---------------------------------------------------------------------------------- graph
    # The network is a chain of parts -- stem, cell 1, transition, cell 2, ..., head -- and both
    # to_graph and FlashBatch.edge_sums build them with the methods below: one definition.
    def _image(self) -> Tensor:
        return Tensor("input", _IMAGE_CHANNELS, self.input_size, self.input_size)

    def _cell_input(self, cell: int, width: int) -> Tensor:
        """The node cell ``cell`` (0-based) reads: the stem's output, or the transition's."""
        size = self._sizes[max(cell - 1, 0)]
        return Tensor("stem" if cell == 0 else f"trans{cell + 1}", width, size, size)

    def _plan(
        self, cell: int, width: int, depth: int, skips: Iterable[tuple[int, int, int]] = ()
    ) -> _CellPlan:
        """Cell ``cell`` (0-based) with ``skips`` given as (layer, source layer, count)."""
        return _CellPlan(
            name=f"c{cell + 1}",
            source=self._cell_input(cell, width),
            width=width,
            depth=depth,
            stride=2 if cell else 1,
            skips=tuple(skips),
            expansion=self.expansion,
        )

    def _cell_plan(self, cell: int, config: CellConfig) -> _CellPlan:
        """Cell ``cell`` as ``config`` lays it out, its skips spread as the seed says."""
        layout = self._layout(cell, config).items()
        return self._plan(cell, config.width, config.depth, ((i, j, k) for (i, j), k in layout))

    def _layout(self, cell: int, config: CellConfig) -> dict[tuple[int, int], int]:
        return _spread(config.skips, _pair_order(self.skip_seed, cell, config.depth))

    def _feed(self, source: Tensor, previous: _CellPlan | None) -> Edge:
        """The edge writing a cell's input: the stem from the image (cell 1), otherwise the 1x1
        transition from the previous cell's output."""
        if previous is None:
            return Edge(self._image().name, source.name, _stem(source.channels))
        op = _preact_conv(previous.width, source.channels, 1, 1, "transition")
        return Edge(previous.output.name, source.name, op)

    def _head(self, last: _CellPlan) -> tuple[Tensor, Edge]:
        logits = Tensor("logits", self.num_classes, 1, 1)
        return logits, Edge(last.output.name, logits.name, _head(last.width, self.num_classes))

    def to_graph(self, arch: Hashable) -> ArchGraph:
        cells = self.check(arch)
        plans = [self._cell_plan(c, config) for c, config in enumerate(cells)]
        nodes = [self._image()]
        edges: list[Edge] = []
        groups: list[Cell] = []
        for c, plan in enumerate(plans):
            built, wiring = self._block.build(plan)
            nodes += [plan.source, *built]
            edges += [self._feed(plan.source, plans[c - 1] if c else None), *wiring]
            names = (plan.source.name, *(node.name for node in built))
            capacity = plan.width * _pair_count(plan.depth)  # in channels, as NN-Mass counts
            groups.append(Cell(plan.name, names, (plan.source.name,), names[-1], capacity))
        logits, head = self._head(plans[-1])
        return ArchGraph(
            (*nodes, logits),
            (*edges, head),
            nodes[0].name,
            logits.name,
            groups,
            name=self.format(cells),
        )

    def _part_keys(self, row: Sequence[Sequence[int]]) -> list[_PartKey]:
        """The parts of one architecture (rows of width, depth, skips), each named by what
        fixes its edges: the parts with equal keys are the same edges."""
        keys: list[_PartKey] = [("stem", 0, row[0][0])]
        for c, (width, depth, skips) in enumerate(row):
            if c:
                keys.append(("transition", c, row[c - 1][0], row[c - 1][1], width))
            keys.append(("cell", c, width, depth, skips))
        keys.append(("head", len(row) - 1, row[-1][0], row[-1][1]))
        return keys

    def _part(self, key: _PartKey) -> tuple[list[Tensor], list[Edge], list[_PartKey]]:
        """The part ``key``: its edges, every node they touch, and the parts it consists of.

        A cell consists of its layers, each keyed by its position, the cell's width and the
        skips entering it (what the block's layer builder reads): cells that differ only in
        some layers share the others.
        """
        kind, cell, *numbers = key
        if kind == "cell":
            plan = self._cell_plan(cell, CellConfig(*numbers))
            width, depth = plan.width, plan.depth
            layers = [("layer", cell, i, width, tuple(plan.skips_into(i))) for i in range(depth)]
            return [], [], layers
        if kind == "layer":
            layer, width, skips = numbers
            plan = self._plan(cell, width, layer + 1, ((layer, j, k) for j, k in skips))
            built, wiring = self._block.layer(plan, layer)
            earlier = [plan.out_node(j) for j in range(layer)]
            return [plan.source, *earlier, *built], wiring, []
        if kind == "stem":
            source = self._cell_input(0, numbers[0])
            return [self._image(), source], [self._feed(source, None)], []
        previous = self._plan(cell - (kind == "transition"), *numbers[:2])
        if kind == "transition":
            source = self._cell_input(cell, numbers[2])
            return [previous.output, source], [self._feed(source, previous)], []
        logits, head = self._head(previous)
        return [previous.output, logits], [head], []

    def _edge_sums(self, configs: np.ndarray, count: _EdgeCounter, size: int) -> np.ndarray:
        """:meth:`FlashBatch.edge_sums`: per row of checked ``configs``, the sum over the
        network's edges of ``count(edge)``, each distinct part counted once per ``count``."""
        memo = self._memos.pop((count, size), None) or _PartSums(self, count, size)
        self._memos[(count, size)] = memo  # most recently used last
        while len(self._memos) > _KEPT_MEMOS:
            del self._memos[next(iter(self._memos))]
        return memo.totals([self._part_keys(row) for row in configs.tolist()])

    # -------------------------------------------------------------------------------- batches
    def sample(self, n: int, seed: int, *, replace: bool = False) -> FlashBatch:
        """``n`` distinct architectures drawn uniformly from the space, without replacement
        (``replace=True``: independent draws, which may repeat).

        Per cell, one integer uniform over that cell's choices picks both the (width, depth) --
        so each is drawn in proportion to its capacity + 1 -- and the skip count within it;
        cells draw independently, so the whole space is uniform. A draw that repeats an earlier
        one is replaced by a fresh draw (rejection keeps the sample uniform among the sets of
        ``n`` distinct architectures); a sample without repeats is the same as before. Asking
        for more than :meth:`size` gives the whole space in random order.
        """
        n = _check_int("n", n, 0, owner="FlashSpaceAdapter.sample", maximum=10**8)
        if not replace:
            # a space smaller than the request gives all of it, shuffled (the random-search
            # baseline asks for batches larger than a tiny space); the CLI refuses such requests
            # with a message before it gets here
            n = min(n, self.size())
        rng = np.random.default_rng(seed)
        if not replace and 2 * n > self.size() and self.size() <= ENUMERATE_LIMIT:
            # most of a small space: rejection would redraw for ever; pick from the whole list
            whole = self.enumerate().configs
            return _flash_batch(self, whole[rng.choice(len(whole), size=n, replace=False)])
        ends = [
            np.cumsum(np.array(self._options(c), dtype=np.int64)[:, 2] + 1)
            for c in range(self.n_cells)
        ]
        draws = self._draw(rng, ends, n)
        while not replace:
            first = first_occurrences(draws, ends)
            if len(first) == len(draws):
                break
            draws = np.concatenate([draws[first], self._draw(rng, ends, n - len(first))])
        configs = np.empty((n, self.n_cells, 3), dtype=np.int64)
        for cell in range(self.n_cells):
            options = np.array(self._options(cell), dtype=np.int64)
            draw = draws[:, cell]
            choice = np.searchsorted(ends[cell], draw, side="right")
            configs[:, cell, :2] = options[choice, :2]
            configs[:, cell, 2] = draw - (ends[cell] - options[:, 2] - 1)[choice]
        return _flash_batch(self, configs)

    def _draw(self, rng: np.random.Generator, ends: list[np.ndarray], n: int) -> np.ndarray:
        """``(n, n_cells)`` uniform draws, cell after cell (the order earlier samples used)."""
        draws = np.empty((n, self.n_cells), dtype=np.int64)
        for cell in range(self.n_cells):
            draws[:, cell] = rng.integers(0, ends[cell][-1], size=n)
        return draws

    def enumerate(self) -> FlashBatch:
        """Every architecture, cell 1's choices slowest, where there are at most
        :data:`ENUMERATE_LIMIT` (a space narrowed by ``widths``/``depths``/``n_cells``)."""
        size = self.size()
        if size > ENUMERATE_LIMIT:
            return super().enumerate()
        choices = []
        for cell in range(self.n_cells):
            choices.append(
                np.array(
                    [
                        (w, d, t)
                        for w, d, capacity in self._options(cell)
                        for t in range(capacity + 1)
                    ],
                    dtype=np.int64,
                )
            )
        grids = np.meshgrid(*(np.arange(len(c)) for c in choices), indexing="ij")
        configs = np.stack([choice[grid.ravel()] for choice, grid in zip(choices, grids)], axis=1)
        return _flash_batch(self, configs.reshape(size, self.n_cells, 3))

    def batch(self, archs: Sequence[Hashable]) -> FlashBatch:
        rows = [self.check(arch) for arch in archs]
        return _flash_batch(self, np.array(rows, dtype=np.int64).reshape(-1, self.n_cells, 3))

    def _cell_arrays(self, configs: np.ndarray) -> _CellArrays:
        """Checked ``configs`` as the float arrays the closed forms take."""
        # float64 throughout: int64 products of a large input and wide cells overflow silently
        sizes = np.array(self._sizes, dtype=float)
        configs = configs.astype(float)
        return _CellArrays(
            width=configs[:, :, 0],
            depth=configs[:, :, 1],
            skips=configs[:, :, 2],
            size=sizes,
            size_in=np.concatenate([sizes[:1], sizes[:-1]]),
            expansion=self.expansion,
        )

    def _metric_arrays(
        self, configs: np.ndarray | _CellArrays, names: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """The metrics ``names`` (default: every one :class:`FlashBatch` knows) per row of
        checked ``configs``, as floats; only the formulas asked for are evaluated."""
        cells = configs if isinstance(configs, _CellArrays) else self._cell_arrays(configs)
        per_cell = self._block.metrics(cells)
        skeleton = _skeleton_metrics(cells, self.num_classes)

        def total(name: str) -> np.ndarray:
            value = per_cell[name]().sum(axis=1)
            return value + skeleton[name]() if name in skeleton else value

        known = [name for name in per_cell if name != "elementwise"] + ["flops", "nn_mass"]
        found: dict[str, np.ndarray] = {}
        for name in known if names is None else [n for n in names if n in known]:
            if name == "flops":
                # one MAC as one FLOP, plus the element-wise work (BN, activations, pooling)
                found[name] = total("macs") + total("elementwise")
            elif name == "nn_mass":
                capacity = _pair_count(cells.depth) * self._block.per_pair(cells.width)
                mass = np.divide(
                    cells.skips * cells.width * cells.depth,
                    capacity,
                    out=np.zeros(capacity.shape),
                    where=capacity > 0,
                )
                found[name] = mass.sum(axis=1)
            else:
                found[name] = total(name)
        return {name: np.asarray(value, dtype=float) for name, value in found.items()}


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("flash", FlashSpaceAdapter)


@flash_nas.hookimpl
def translate_search_space(adapter, search_space, build):  # type: ignore[no-untyped-def]
    """``width_{c}``, ``depth_{c}``, ``skips_{c}`` (:mod:`flash_nas_adapters.flash_params`)."""
    if isinstance(adapter, FlashSpaceAdapter):
        from flash_nas_adapters.flash_params import FlashTranslator

        return FlashTranslator(build, search_space)
    return None


def _flash_batch(adapter: FlashSpaceAdapter, configs: Any) -> FlashBatch:
    from flash_nas_adapters.flash_batch import FlashBatch

    return FlashBatch(adapter, configs)


def __getattr__(name: str) -> Any:
    # FlashBatch and FlashRelaxation live in modules of their own (this one was too long); they
    # import from here, so they load on first use.
    if name == "FlashBatch":
        from flash_nas_adapters.flash_batch import FlashBatch

        return FlashBatch
    if name == "FlashRelaxation":
        from flash_nas_adapters.flash_relaxation import FlashRelaxation

        return FlashRelaxation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
