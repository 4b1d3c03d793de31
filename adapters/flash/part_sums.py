"""Hardware costs of a FLASH batch as sums over the network's parts, without building graphs.

The room of :meth:`FlashBatch.edge_sums`. A FLASH network is a chain of parts (stem, cells,
transitions, head) and a cell is its layers, so the sum of an edge counter (a hardware model's
``edge_events``) over a network is the sum of its parts' sums. Each distinct part is built once,
by :meth:`FlashNetwork.part <flash_nas_adapters.flash.network.FlashNetwork.part>` (the same
builders as the whole graph), and its sum is remembered per counter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from flash_nas import ArchGraph, Tensor
from flash_nas.graph.structure import EdgeCounter, EdgeShape
from flash_nas_adapters.flash.network import Part, PartKey

__all__ = ["EdgeCounter", "PartSumMemos", "PartSums"]

#: What FlashBatch.edge_sums sums: events of one edge (a hardware model's ``edge_events``).
#: Builds the part a key names (the adapter's ``_part``).
PartBuilder = Callable[[PartKey], Part]


class _PartView:
    """Just enough of an ArchGraph for :meth:`EdgeShape.of`: one part's nodes, by name."""

    edge_input_channels = ArchGraph.edge_input_channels  # the whole graph's rule, shared

    def __init__(self, nodes: Iterable[Tensor]) -> None:
        self._nodes = {node.name: node for node in nodes}

    def node(self, name: str) -> Tensor:
        return self._nodes[name]


class PartSums:
    """One count function's sums over the parts of one space's networks, built as needed."""

    def __init__(self, build: PartBuilder, count: EdgeCounter, size: int) -> None:
        self.build, self.count, self.size = build, count, size
        self.parts: dict[PartKey, np.ndarray] = {}

    def part(self, key: PartKey) -> np.ndarray:
        """The sum over the part's edges and its own parts (a cell's layers), built once."""
        total = self.parts.get(key)
        if total is None:
            nodes, edges, parts = self.build(key)
            view = _PartView(nodes)
            total = np.zeros(self.size)
            for edge in edges:
                shape = EdgeShape.of(view, edge)  # a view answers what a ShapeSource must
                total += np.asarray(self.count(shape), dtype=float)
            for part in parts:
                total += self.part(part)
            self.parts[key] = total
        return total

    def totals(self, groups: Sequence[Sequence[PartKey]]) -> np.ndarray:
        """Per group of parts (one architecture's, all as many), the sum of their sums."""
        ids: dict[PartKey, int] = {}
        rows = [[ids.setdefault(key, len(ids)) for key in group] for group in groups]
        if not rows:
            return np.zeros((0, self.size))
        table = np.array([self.part(key) for key in ids]).reshape(len(ids), self.size)
        return table[np.array(rows)].sum(axis=1)


class PartSumMemos:
    """The :class:`PartSums` of the last few count functions one space was asked for.

    ``kept`` bounds them: a hardware model or two are in use at a time, and each memo holds a
    sum per part it has seen.
    """

    def __init__(self, kept: int = 8) -> None:
        self.kept = kept
        self._memos: dict[tuple[EdgeCounter, int], PartSums] = {}

    def sums(self, build: PartBuilder, count: EdgeCounter, size: int) -> PartSums:
        """The sums for ``count`` (``size`` numbers per edge), parts built by ``build``."""
        memo = self._memos.pop((count, size), None) or PartSums(build, count, size)
        self._memos[(count, size)] = memo  # most recently used last
        while len(self._memos) > self.kept:
            del self._memos[next(iter(self._memos))]
        return memo
