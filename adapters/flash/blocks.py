"""The FLASH space's cells: the ops of its layers, how skips are laid out, and the block kinds.

The room of one cell's graph. A cell is ``d_c`` layers of ``w_c`` channels each, with ``t_c``
skips; what a layer is and what ``t_c`` counts depend on the block kind. Only the outline of
the space survives in FLASH's abstract; what is marked *ours* is our reconstruction.

* **dense** (FLASH's block): layer i of a cell is BN-ReLU-conv3x3 writing ``w_c`` channels. Layer
  0 reads the cell input; layer i >= 1 reads the concatenation (node ``c{c}.in{i}``) of layer
  i-1's output and the skip channels that layers 0..i-2 send it. The first layer of cells 2..n
  has stride 2.
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

The network around the cells (stem, transitions, head) is put together in
:mod:`flash_nas_adapters.flash.network`, from the ops defined here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from flash_nas import Edge, Layer, Op, Tensor
from flash_nas_adapters.flash.formulas import (
    Formulas,
    dense_metrics,
    mobilenet_metrics,
    pair_count,
    resnet_metrics,
)

__all__ = [
    "BLOCKS",
    "BLOCK_KINDS",
    "IMAGE_CHANNELS",
    "Block",
    "Built",
    "CellPlan",
    "head_op",
    "pair_order",
    "preact_conv",
    "spread",
    "stem_op",
]

IMAGE_CHANNELS = 3


# ---------------------------------------------------------------------------------- layers, ops
def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> Layer:
    return Layer("conv", cin, cout, kernel, stride, kernel // 2, groups)


def _keep(kind: str, channels: int) -> Layer:
    return Layer(kind, channels, channels)


# Ops are immutable, so graphs share them: building one is most of the cost of a cell.
@lru_cache(maxsize=4096)
def preact_conv(cin: int, cout: int, kernel: int, stride: int, name: str) -> Op:
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
def stem_op(width: int) -> Op:
    """3x3 conv from the image to the first cell's width, then BN."""
    return Op("stem", (_conv(IMAGE_CHANNELS, width, 3), _keep("bn", width)))


@lru_cache(maxsize=256)
def head_op(width: int, classes: int) -> Op:
    """BN, ReLU, global average pooling, linear with bias."""
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


# ------------------------------------------------------------------------------- skip layout
@lru_cache(maxsize=4096)
def pair_order(skip_seed: int, cell: int, depth: int) -> tuple[tuple[int, int], ...]:
    """The eligible pairs in the order skips fill them; fixed by the seed, cell and depth."""
    pairs = [(layer, source) for layer in range(2, depth) for source in range(layer - 1)]
    order = np.random.default_rng([skip_seed, cell, depth]).permutation(len(pairs))
    return tuple(pairs[k] for k in order)


def spread(total: int, order: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """``total`` skips over the pairs as evenly as possible, earlier pairs taking the remainder."""
    if not order:
        return {}
    base, extra = divmod(total, len(order))
    counts = {pair: base + (rank < extra) for rank, pair in enumerate(order)}
    return {pair: count for pair, count in sorted(counts.items()) if count}


# ------------------------------------------------------------------------------ cell builders
@dataclass(frozen=True)
class CellPlan:
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


#: A layer's or a cell's new nodes and the edges into them.
Built = tuple[list[Tensor], list[Edge]]


def _dense_layer(plan: CellPlan, layer: int) -> Built:
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
    op = preact_conv(reads.channels, width, 3, plan.stride_of(layer), "bn_relu_conv3x3")
    edges.append(Edge(reads.name, plan.out(layer), op))
    return nodes, edges


def _sum_layer(plan: CellPlan, layer: int, op: Op) -> Built:
    """Layer i sums its op on layer i-1's output and whole-tensor skips from layers <= i-2."""
    previous = plan.out(layer - 1) if layer else plan.source.name
    edges = [Edge(previous, plan.out(layer), op)]
    edges += [
        Edge(plan.out(source), plan.out(layer), _SKIP) for source, _ in plan.skips_into(layer)
    ]
    return [plan.out_node(layer)], edges


def _resnet_layer(plan: CellPlan, layer: int) -> Built:
    width = plan.width
    op = preact_conv(width, width, 3, plan.stride_of(layer), "bn_relu_conv3x3")
    return _sum_layer(plan, layer, op)


def _mobilenet_layer(plan: CellPlan, layer: int) -> Built:
    op = _inverted_residual(plan.width, plan.expansion, plan.stride_of(layer))
    return _sum_layer(plan, layer, op)


# ----------------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Block:
    """One kind of cell: how to build a layer, what ``t`` counts, its closed-form metrics.

    A layer's builder reads from the plan only its name, source, width, stride, expansion and
    the skips into that layer (never the depth), and adds the layer's nodes and the edges into
    them: a cell is its layers, in order.
    """

    layer: Callable[[CellPlan, int], Built]
    unit: str  # what t counts
    per_pair: Callable[[Any], Any]  # most skips one (layer, source) pair carries, given w
    capacity_formula: str
    metrics: Formulas

    def capacity(self, width: int, depth: int) -> int:
        """Most skips (in this block's unit) a cell of this shape allows."""
        return int(pair_count(depth) * self.per_pair(width))

    def build(self, plan: CellPlan) -> Built:
        nodes: list[Tensor] = []
        edges: list[Edge] = []
        for layer in range(plan.depth):
            built, wiring = self.layer(plan, layer)
            nodes += built
            edges += wiring
        return nodes, edges


#: Every block kind by name.
BLOCK_KINDS: dict[str, Block] = {
    "dense": Block(_dense_layer, "channels", lambda w: w, "w*(d-1)*(d-2)/2", dense_metrics),
    "resnet": Block(_resnet_layer, "links", lambda w: 1, "(d-1)*(d-2)/2", resnet_metrics),
    "mobilenet": Block(_mobilenet_layer, "links", lambda w: 1, "(d-1)*(d-2)/2", mobilenet_metrics),
}
#: The block kinds a FlashSpaceAdapter builds.
BLOCKS = tuple(BLOCK_KINDS)
