"""The whole network of a FLASH architecture, built as one graph or part by part.

The room of the network's outline: stem (3x3 conv from the image to ``w_1`` channels, BN),
cell 1, transition, cell 2, ..., head (BN, ReLU, global average pooling, linear with bias).

* **transition** (ours, DenseNet's transition layer): BN-ReLU-conv1x1 from ``w_{c-1}`` to ``w_c``
  channels between cells, outside the cells. Every layer of a cell then sees ``w_c`` channels from
  its predecessor, which is what FLASH's ``g_c = w_c + t_c / d_c`` assumes. It is there even when
  the widths agree, so every architecture has the same outline.

:meth:`FlashNetwork.graph` builds the :class:`ArchGraph`; :meth:`FlashNetwork.part` builds one
part (the stem, a transition, the head, or one layer of a cell) with the same methods, so that
hardware costs can be summed part by part
(:mod:`flash_nas_adapters.flash.part_sums`) and agree with the graph: one definition.
The cells themselves come from :mod:`flash_nas_adapters.flash.blocks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flash_nas import ArchGraph, Cell, Edge, Tensor
from flash_nas_adapters.flash.blocks import (
    IMAGE_CHANNELS,
    Block,
    CellPlan,
    head_op,
    pair_order,
    preact_conv,
    spread,
    stem_op,
)
from flash_nas_adapters.flash.encoding import CellConfig
from flash_nas_adapters.flash.formulas import pair_count

__all__ = ["FlashNetwork", "Part", "PartKey", "spatial_sizes"]

#: A part of the network: (kind, cell, numbers that fix its edges); see ``part_keys``.
PartKey = tuple[Any, ...]
#: A part's edges, every node they touch, and the parts it consists of.
Part = tuple[list[Tensor], list[Edge], list[PartKey]]


def spatial_sizes(input_size: int, n_cells: int) -> list[int]:
    """Spatial size of each cell's layers: the first cell keeps the input size, later ones halve.

    A 3x3 conv with padding 1 and stride 2 maps s to (s - 1) // 2 + 1 (torch's floor mode).
    """
    sizes = [input_size]
    for _ in range(n_cells - 1):
        sizes.append((sizes[-1] - 1) // 2 + 1)
    return sizes


class FlashNetwork:
    """The networks of one FLASH space: its block kind and the options every network shares."""

    def __init__(
        self,
        block: Block,
        *,
        n_cells: int,
        input_size: int,
        num_classes: int,
        skip_seed: int,
        expansion: int,
    ) -> None:
        self.block = block
        self.input_size = input_size
        self.num_classes = num_classes
        self.skip_seed = skip_seed
        self.expansion = expansion
        self.sizes = spatial_sizes(input_size, n_cells)

    def image(self) -> Tensor:
        return Tensor("input", IMAGE_CHANNELS, self.input_size, self.input_size)

    def cell_input(self, cell: int, width: int) -> Tensor:
        """The node cell ``cell`` (0-based) reads: the stem's output, or the transition's."""
        size = self.sizes[max(cell - 1, 0)]
        return Tensor("stem" if cell == 0 else f"trans{cell + 1}", width, size, size)

    def plan(
        self, cell: int, width: int, depth: int, skips: Iterable[tuple[int, int, int]] = ()
    ) -> CellPlan:
        """Cell ``cell`` (0-based) with ``skips`` given as (layer, source layer, count)."""
        return CellPlan(
            name=f"c{cell + 1}",
            source=self.cell_input(cell, width),
            width=width,
            depth=depth,
            stride=2 if cell else 1,
            skips=tuple(skips),
            expansion=self.expansion,
        )

    def cell_plan(self, cell: int, config: CellConfig) -> CellPlan:
        """Cell ``cell`` as ``config`` lays it out, its skips spread as the seed says."""
        layout = self.layout(cell, config).items()
        return self.plan(cell, config.width, config.depth, ((i, j, k) for (i, j), k in layout))

    def layout(self, cell: int, config: CellConfig) -> dict[tuple[int, int], int]:
        """``{(layer, source layer): skips}`` of cell ``cell``, for the pairs that carry any."""
        return spread(config.skips, pair_order(self.skip_seed, cell, config.depth))

    def feed(self, source: Tensor, previous: CellPlan | None) -> Edge:
        """The edge writing a cell's input: the stem from the image (cell 1), otherwise the 1x1
        transition from the previous cell's output."""
        if previous is None:
            return Edge(self.image().name, source.name, stem_op(source.channels))
        op = preact_conv(previous.width, source.channels, 1, 1, "transition")
        return Edge(previous.output.name, source.name, op)

    def head(self, last: CellPlan) -> tuple[Tensor, Edge]:
        logits = Tensor("logits", self.num_classes, 1, 1)
        return logits, Edge(last.output.name, logits.name, head_op(last.width, self.num_classes))

    def graph(self, cells: Sequence[CellConfig], name: str) -> ArchGraph:
        """The network of checked ``cells`` as one graph, cells grouped as NN-Mass reads them."""
        plans = [self.cell_plan(c, config) for c, config in enumerate(cells)]
        nodes = [self.image()]
        edges: list[Edge] = []
        groups: list[Cell] = []
        for c, plan in enumerate(plans):
            built, wiring = self.block.build(plan)
            nodes += [plan.source, *built]
            edges += [self.feed(plan.source, plans[c - 1] if c else None), *wiring]
            names = (plan.source.name, *(node.name for node in built))
            capacity = plan.width * pair_count(plan.depth)  # in channels, as NN-Mass counts
            groups.append(Cell(plan.name, names, (plan.source.name,), names[-1], capacity))
        logits, head = self.head(plans[-1])
        return ArchGraph(
            (*nodes, logits), (*edges, head), nodes[0].name, logits.name, tuple(groups), name=name
        )

    def part_keys(self, row: Sequence[Sequence[int]]) -> list[PartKey]:
        """The parts of one architecture (rows of width, depth, skips), each named by what
        fixes its edges: the parts with equal keys are the same edges."""
        keys: list[PartKey] = [("stem", 0, row[0][0])]
        for c, (width, depth, skips) in enumerate(row):
            if c:
                keys.append(("transition", c, row[c - 1][0], row[c - 1][1], width))
            keys.append(("cell", c, width, depth, skips))
        keys.append(("head", len(row) - 1, row[-1][0], row[-1][1]))
        return keys

    def part(self, key: PartKey) -> Part:
        """The part ``key``: its edges, every node they touch, and the parts it consists of.

        A cell consists of its layers, each keyed by its position, the cell's width and the
        skips entering it (what the block's layer builder reads): cells that differ only in
        some layers share the others.
        """
        kind, cell, *numbers = key
        if kind == "cell":
            plan = self.cell_plan(cell, CellConfig(*numbers))
            width, depth = plan.width, plan.depth
            layers = [("layer", cell, i, width, tuple(plan.skips_into(i))) for i in range(depth)]
            return [], [], layers
        if kind == "layer":
            layer, width, skips = numbers
            plan = self.plan(cell, width, layer + 1, ((layer, j, k) for j, k in skips))
            built, wiring = self.block.layer(plan, layer)
            earlier = [plan.out_node(j) for j in range(layer)]
            return [plan.source, *earlier, *built], wiring, []
        if kind == "stem":
            source = self.cell_input(0, numbers[0])
            return [self.image(), source], [self.feed(source, None)], []
        previous = self.plan(cell - (kind == "transition"), *numbers[:2])
        if kind == "transition":
            source = self.cell_input(cell, numbers[2])
            return [previous.output, source], [self.feed(source, previous)], []
        logits, head = self.head(previous)
        return [previous.output, logits], [head], []
