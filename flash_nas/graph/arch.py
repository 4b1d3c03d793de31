"""ArchGraph: the one plain-data description of a network that every part of flash-nas reads.

Representations this module knows:

* **ArchGraph** -- nodes are tensors (channels, height, width), edges are operations. A node
  combines its incoming edges by ``"sum"`` (ResNet, NAS-Bench-201), ``"concat"`` (DenseNet) or
  ``"mul"`` (an element-wise product, a 1x1 edge broadcast over the node: squeeze-excitation).
  Nodes are grouped into cells, the unit NN-Degree sums over; everything outside a cell (stem,
  reduction blocks, head) is the skeleton.
* **Op** -- what an edge does: a short sequence of :class:`Layer` (conv, bn, relu, pooling,
  linear). An op with no layers is the identity; ``Op.zero()`` is the "none" edge that carries
  nothing.

The graph validates itself on construction (shapes agree along every edge, the graph is acyclic,
every cell is well formed), so every consumer can trust it. It has no torch or networkx base
class: :func:`flash_nas.train.torch_builder.build_module` turns it into a module when one is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from flash_nas.errors import GraphError

__all__ = [
    "LAYER_KINDS",
    "ArchGraph",
    "Cell",
    "Edge",
    "Layer",
    "Op",
    "Tensor",
    "conv_output_size",
]

Combine = Literal["sum", "concat", "mul"]

#: Layer kinds an Op may contain. ``linear`` acts on a 1x1 tensor (after global pooling);
#: ``flatten`` turns a C x H x W tensor into C*H*W channels of 1x1 (a classifier that reads a
#: whole feature map, as AlexNet and VGG do); its ``out_channels`` is C*H*W.
LAYER_KINDS = (
    "conv",
    "bn",
    "relu",
    "relu6",
    "hswish",
    "hsigmoid",
    "sigmoid",
    "silu",
    "avg_pool",
    "max_pool",
    "global_avg_pool",
    "flatten",
    "linear",
)
_COMPUTING = ("conv", "avg_pool", "max_pool", "global_avg_pool", "linear")


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Spatial output size of a convolution or pooling window (floor mode, as torch)."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class Layer:
    """One layer inside an op.

    ``in_channels``/``out_channels`` describe the tensor the layer reads and writes; for
    shape-preserving layers (bn, activations, pooling) they are equal. ``count_include_pad``
    matters for average pooling only (NAS-Bench-201 pools without counting the padding), ``affine``
    for batch norm only.
    """

    kind: str
    in_channels: int
    out_channels: int
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    groups: int = 1
    bias: bool = False
    count_include_pad: bool = False
    #: Batch norm only: whether it learns a scale and a shift (torch's ``affine``). NAS-Lib
    #: builds NAS-Bench-301's cell ops with ``affine=False``; the normalisation work is the same.
    affine: bool = True

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise GraphError(
                f"Unknown layer kind {self.kind!r}; expected one of {', '.join(LAYER_KINDS)}."
            )
        for name in ("in_channels", "out_channels", "kernel", "stride", "groups"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise GraphError(f"Layer {self.kind!r}: {name} must be an int >= 1, got {value!r}.")
        if self.padding < 0:
            raise GraphError(f"Layer {self.kind!r}: padding must be >= 0, got {self.padding}.")
        if self.kind == "conv":
            if self.in_channels % self.groups or self.out_channels % self.groups:
                raise GraphError(
                    f"conv: in_channels ({self.in_channels}) and out_channels "
                    f"({self.out_channels}) must both be divisible by groups ({self.groups})."
                )
        elif self.kind not in ("linear", "flatten") and self.in_channels != self.out_channels:
            raise GraphError(
                f"Layer {self.kind!r} keeps its channel count; got in_channels="
                f"{self.in_channels} and out_channels={self.out_channels}."
            )

    @property
    def params(self) -> int:
        """Trainable parameters (affine batch norm has a scale and a shift per channel)."""
        if self.kind == "conv":
            weights = self.kernel * self.kernel * (self.in_channels // self.groups)
            return weights * self.out_channels + (self.out_channels if self.bias else 0)
        if self.kind == "linear":
            return self.in_channels * self.out_channels + (self.out_channels if self.bias else 0)
        if self.kind == "bn":
            return 2 * self.out_channels if self.affine else 0
        return 0

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial size this layer writes for an input of ``height`` x ``width``."""
        if self.kind in ("conv", "avg_pool", "max_pool"):
            return (
                conv_output_size(height, self.kernel, self.stride, self.padding),
                conv_output_size(width, self.kernel, self.stride, self.padding),
            )
        if self.kind in ("global_avg_pool", "flatten"):
            return 1, 1
        return height, width


@dataclass(frozen=True)
class Op:
    """What an edge computes: a sequence of layers, the identity (no layers) or zero.

    ``name`` is the op's name in its search space (``nor_conv_3x3``, ``skip_connect``...), kept
    for display and for converting back.
    """

    name: str
    layers: tuple[Layer, ...] = ()
    is_zero: bool = False

    def __post_init__(self) -> None:
        if self.is_zero and self.layers:
            raise GraphError(f"Op {self.name!r}: a zero op has no layers.")
        for before, after in zip(self.layers, self.layers[1:]):
            if before.out_channels != after.in_channels:
                raise GraphError(
                    f"Op {self.name!r}: layer {before.kind!r} writes {before.out_channels} "
                    f"channels but the next layer {after.kind!r} reads {after.in_channels}."
                )

    @classmethod
    def zero(cls, name: str = "none") -> Op:
        """The edge that carries nothing (NAS-Bench-201's ``none``)."""
        return cls(name, is_zero=True)

    @classmethod
    def identity(cls, name: str = "skip_connect") -> Op:
        """The edge that passes its input through unchanged."""
        return cls(name)

    @property
    def is_identity(self) -> bool:
        return not self.is_zero and not self.layers

    @property
    def is_computing(self) -> bool:
        """True when the op computes new values (conv, pooling, linear), not mere wiring."""
        return any(layer.kind in _COMPUTING for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    def output_shape(self, channels: int, height: int, width: int) -> tuple[int, int, int]:
        """Shape (channels, height, width) this op writes for the given input shape."""
        for layer in self.layers:
            if layer.in_channels != channels:
                raise GraphError(
                    f"Op {self.name!r}: layer {layer.kind!r} reads {layer.in_channels} "
                    f"channels but receives {channels}."
                )
            if layer.kind == "flatten" and layer.out_channels != channels * height * width:
                raise GraphError(
                    f"Op {self.name!r}: flatten of {channels}x{height}x{width} writes "
                    f"{channels * height * width} channels, not {layer.out_channels}."
                )
            channels = layer.out_channels
            height, width = layer.output_size(height, width)
            if height < 1 or width < 1:
                raise GraphError(
                    f"Op {self.name!r}: layer {layer.kind!r} shrinks the input to "
                    f"{height}x{width}; use a larger input size."
                )
        return channels, height, width


@dataclass(frozen=True)
class Tensor:
    """A node: one tensor of ``channels`` x ``height`` x ``width`` per input image."""

    name: str
    channels: int
    height: int
    width: int
    combine: Combine = "sum"

    def __post_init__(self) -> None:
        for attr in ("channels", "height", "width"):
            value = getattr(self, attr)
            if not isinstance(value, int) or value < 1:
                raise GraphError(f"Node {self.name!r}: {attr} must be an int >= 1, got {value!r}.")
        if self.combine not in ("sum", "concat", "mul"):
            raise GraphError(
                f"Node {self.name!r}: combine must be 'sum', 'concat' or 'mul', got "
                f"{self.combine!r}."
            )

    @property
    def size(self) -> int:
        """Number of activation values in this tensor for one input."""
        return self.channels * self.height * self.width


@dataclass(frozen=True)
class Edge:
    """An op from node ``src`` to node ``dst``.

    An identity edge may read a slice of its source's channels,
    ``[channel_offset, channel_offset + channels)`` (DenseNet skip connections that forward only
    some channels); every other edge reads the whole source tensor.
    """

    src: str
    dst: str
    op: Op
    channel_offset: int = 0
    channels: int | None = None


@dataclass(frozen=True)
class Cell:
    """A group of nodes that NN-Degree treats as one unit.

    ``nodes`` lists every node of the cell in topological order, starting with its ``inputs``
    and ending with its ``output``. ``skip_capacity`` is how many skip-connection channels the
    search space allows in this cell (NN-Mass's density divides by it); None when the space does
    not say.
    """

    name: str
    nodes: tuple[str, ...]
    inputs: tuple[str, ...]
    output: str
    skip_capacity: int | None = None


@dataclass(frozen=True)
class ArchGraph:
    """A whole network: tensors, the ops between them, and the cells they form."""

    nodes: tuple[Tensor, ...]
    edges: tuple[Edge, ...]
    input: str
    output: str
    cells: tuple[Cell, ...] = ()
    name: str = ""
    _index: dict[str, int] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "edges", tuple(self.edges))
        object.__setattr__(self, "cells", tuple(self.cells))
        index: dict[str, int] = {}
        for position, node in enumerate(self.nodes):
            if node.name in index:
                raise GraphError(f"Node name {node.name!r} appears twice; names must be unique.")
            index[node.name] = position
        object.__setattr__(self, "_index", index)
        for name in (self.input, self.output):
            if name not in index:
                raise GraphError(f"Graph input/output {name!r} is not a node of the graph.")
        self._check_edges()
        self._check_acyclic()
        self._check_cells()

    # ----------------------------------------------------------------- lookups
    def node(self, name: str) -> Tensor:
        """The node called ``name``."""
        try:
            return self.nodes[self._index[name]]
        except KeyError:
            raise GraphError(f"No node named {name!r} in graph {self.name!r}.") from None

    @cached_property
    def incoming(self) -> dict[str, tuple[int, ...]]:
        """Edge positions entering each node, in edge order (the concatenation order)."""
        into: dict[str, list[int]] = {node.name: [] for node in self.nodes}
        for position, edge in enumerate(self.edges):
            into[edge.dst].append(position)
        return {name: tuple(positions) for name, positions in into.items()}

    @cached_property
    def topological_order(self) -> tuple[str, ...]:
        """Node names so that every edge goes forward."""
        return _topological_order(self)

    def edge_input_channels(self, edge: Edge) -> int:
        """How many channels of its source an edge reads."""
        return self.node(edge.src).channels if edge.channels is None else edge.channels

    # -------------------------------------------------------------- validation
    def check_edge(self, edge: Edge) -> None:
        """Raise GraphError unless ``edge`` fits between its nodes in this graph."""
        for end in (edge.src, edge.dst):
            if end not in self._index:
                raise GraphError(
                    f"Edge {edge.src!r} -> {edge.dst!r} ({edge.op.name}) names an unknown "
                    f"node {end!r}."
                )
        if edge.dst == self.input:
            raise GraphError(f"The graph input {self.input!r} cannot receive edges.")
        src = self.node(edge.src)
        read = self.edge_input_channels(edge)
        if edge.channels is not None or edge.channel_offset:
            if not edge.op.is_identity:
                raise GraphError(
                    f"Edge {edge.src!r} -> {edge.dst!r}: only identity edges may read a "
                    f"channel slice; {edge.op.name!r} is not one."
                )
            if read < 1 or edge.channel_offset < 0 or edge.channel_offset + read > src.channels:
                raise GraphError(
                    f"Edge {edge.src!r} -> {edge.dst!r}: channel slice "
                    f"[{edge.channel_offset}, {edge.channel_offset + read}) lies outside "
                    f"the {src.channels} channels of {src.name!r}."
                )
        if edge.op.is_zero:
            return
        channels, height, width = edge.op.output_shape(read, src.height, src.width)
        dst = self.node(edge.dst)
        broadcast = dst.combine == "mul" and (height, width) == (1, 1)
        if (height, width) != (dst.height, dst.width) and not broadcast:
            raise GraphError(
                f"Edge {edge.src!r} -> {edge.dst!r} ({edge.op.name}) writes "
                f"{height}x{width} but node {dst.name!r} is {dst.height}x{dst.width}."
            )
        if dst.combine in ("sum", "mul") and channels != dst.channels:
            raise GraphError(
                f"Edge {edge.src!r} -> {edge.dst!r} ({edge.op.name}) writes {channels} "
                f"channels into {dst.combine} node {dst.name!r} of {dst.channels} channels."
            )

    def edge_output_channels(self, edge: Edge) -> int:
        """Channels an edge writes. A zero edge stands for zeros: of its source's width into a
        concat, of the node's own shape into a sum (a ``none`` edge that would have changed the
        channels, as TransNAS-Bench-101's reduction edges do, still adds nothing)."""
        read = self.edge_input_channels(edge)
        if edge.op.is_zero:
            dst = self.node(edge.dst)
            return read if dst.combine == "concat" else dst.channels
        src = self.node(edge.src)
        return edge.op.output_shape(read, src.height, src.width)[0]

    def _check_edges(self) -> None:
        for edge in self.edges:
            self.check_edge(edge)
        for node in self.nodes:
            entering = self.incoming[node.name]
            if node.name != self.input and not entering:
                raise GraphError(f"Node {node.name!r} has no incoming edge and is not the input.")
            if node.combine == "concat":
                total = sum(self.edge_output_channels(self.edges[i]) for i in entering)
                if total != node.channels:
                    raise GraphError(
                        f"Concat node {node.name!r} has {node.channels} channels but its "
                        f"incoming edges write {total}."
                    )

    def _check_acyclic(self) -> None:
        _topological_order(self)

    def _check_cells(self) -> None:
        seen: set[str] = set()
        for cell in self.cells:
            if cell.name in seen:
                raise GraphError(f"Cell name {cell.name!r} appears twice.")
            seen.add(cell.name)
            if not cell.inputs or cell.nodes[: len(cell.inputs)] != cell.inputs:
                raise GraphError(
                    f"Cell {cell.name!r}: nodes must start with its inputs {cell.inputs}."
                )
            if cell.nodes[-1] != cell.output:
                raise GraphError(f"Cell {cell.name!r}: nodes must end with its output.")
            for name in cell.nodes:
                if name not in self._index:
                    raise GraphError(f"Cell {cell.name!r} names an unknown node {name!r}.")
            members = set(cell.nodes)
            if len(members) != len(cell.nodes):
                raise GraphError(f"Cell {cell.name!r} lists a node twice.")
            for name in cell.nodes[len(cell.inputs) :]:
                for position in self.incoming[name]:
                    if self.edges[position].src not in members:
                        raise GraphError(
                            f"Cell {cell.name!r}: node {name!r} receives an edge from "
                            f"{self.edges[position].src!r}, which is outside the cell."
                        )


def _topological_order(graph: ArchGraph) -> tuple[str, ...]:
    pending = {node.name: 0 for node in graph.nodes}
    successors: dict[str, list[str]] = {node.name: [] for node in graph.nodes}
    for edge in graph.edges:
        pending[edge.dst] += 1
        successors[edge.src].append(edge.dst)
    ready = [node.name for node in graph.nodes if pending[node.name] == 0]
    order: list[str] = []
    while ready:
        name = ready.pop()
        order.append(name)
        for nxt in successors[name]:
            pending[nxt] -= 1
            if pending[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(graph.nodes):
        stuck = sorted(name for name, count in pending.items() if count > 0)
        raise GraphError(f"The graph has a cycle through nodes {stuck[:5]}; it must be a DAG.")
    return tuple(order)
