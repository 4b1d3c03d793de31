"""Turn an ArchGraph into a torch module, so a described architecture can be trained or timed.

The module computes exactly what the graph's metrics count. Only *live* edges (see
:func:`flash_nas.graph.structure.live_edges`) are built, which keeps the module's parameter
count equal to the ``params`` metric. Dropping the dead parts changes nothing that depends on the
input: an edge behind a ``none`` edge never reaches its cell's output, and a node cut off by
``none`` edges carries at most a learned constant (a bias or batch-norm shift), which the next
batch norm or the classifier's bias absorbs. So:

* a dead edge into a ``sum`` node is skipped;
* a dead edge into a ``concat`` node writes zeros of the width it stands for, so the channel
  layout stays the one the graph describes;
* a node with no live incoming edge holds zeros of its shape.

``build_module(graph, executed=True)`` builds what a device runs instead
(:func:`flash_nas.executed_edges`, the ``host`` hardware model's choice): every edge that reaches
its cell's output, ``none`` edges as a multiplication by zero and the convs behind them
included, and nothing of a cell whose output is cut off. Its parameters then exceed ``params``
by the convs behind ``none`` edges.

torch is imported only when :func:`build_module` runs; importing this module does not load it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from flash_nas._imports import require
from flash_nas.errors import GraphError
from flash_nas.graph.structure import executed_edges, live_edges

if TYPE_CHECKING:
    import torch
    from torch import nn

    from flash_nas.graph import ArchGraph, Layer, Op

__all__ = ["build_module"]


class _Read(NamedTuple):
    """One incoming edge of a node, as forward reads it."""

    position: int
    src: str
    start: int
    stop: int
    live: bool
    channels: int  # what the edge writes; a dead edge into a concat writes this many zeros


class _Step(NamedTuple):
    """One node to compute, in topological order."""

    node: str
    combine: str
    shape: tuple[int, int, int]
    reads: tuple[_Read, ...]


def build_module(graph: ArchGraph, *, executed: bool = False) -> nn.Module:
    """Build a torch module computing ``graph`` from its live edges, or with ``executed`` from
    the edges a device runs (see the module docstring).

    Its forward takes the graph input as ``(N, C, H, W)`` with the input node's exact shape and
    returns the output node's tensor, flattened to ``(N, C)`` when the output is 1x1 (a
    classifier head). ``module.edges[str(i)]`` is the module of ``graph.edges[i]``; dead edges
    have none, so ``state_dict`` keys name edge positions and stay stable across rebuilds.

    Raises GraphError when a ``linear`` layer would read a tensor larger than 1x1 (put a
    ``global_avg_pool`` before it), and MissingDependencyError when torch is not installed.
    """
    require("torch", "Building a torch model")
    return _graph_module_class()(graph, executed=executed)


def _plan(graph: ArchGraph, live: list[bool]) -> tuple[_Step, ...]:
    steps = []
    for name in graph.topological_order:
        if name == graph.input:
            continue
        node = graph.node(name)
        reads = []
        for position in graph.incoming[name]:
            edge = graph.edges[position]
            reads.append(
                _Read(
                    position=position,
                    src=edge.src,
                    start=edge.channel_offset,
                    stop=edge.channel_offset + graph.edge_input_channels(edge),
                    live=live[position],
                    channels=graph.edge_output_channels(edge),
                )
            )
        steps.append(
            _Step(name, node.combine, (node.channels, node.height, node.width), tuple(reads))
        )
    return tuple(steps)


def _check_linear_inputs(graph: ArchGraph, position: int) -> None:
    edge = graph.edges[position]
    src = graph.node(edge.src)
    height, width = src.height, src.width
    for layer in edge.op.layers:
        if layer.kind == "linear" and (height, width) != (1, 1):
            raise GraphError(
                f"Edge {edge.src!r} -> {edge.dst!r} ({edge.op.name}): a linear layer acts on a "
                f"1x1 tensor but receives {height}x{width}; put a global_avg_pool before it."
            )
        height, width = layer.output_size(height, width)


@functools.cache
def _graph_module_class() -> type[nn.Module]:
    """Define the module classes once, after torch is importable."""
    import torch
    from torch import nn

    class Linear4d(nn.Linear):
        """A linear layer on (N, C, 1, 1) tensors, so every tensor in the graph stays 4-D."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x.flatten(1))[:, :, None, None]

    class Flatten4d(nn.Module):
        """(N, C, H, W) to (N, C*H*W, 1, 1), so every tensor in the graph stays 4-D."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.flatten(1)[:, :, None, None]

    def layer_module(layer: Layer) -> nn.Module:
        kind = layer.kind
        if kind == "conv":
            return nn.Conv2d(
                layer.in_channels,
                layer.out_channels,
                layer.kernel,
                layer.stride,
                layer.padding,
                groups=layer.groups,
                bias=layer.bias,
            )
        if kind == "bn":
            return nn.BatchNorm2d(layer.out_channels, affine=layer.affine)
        if kind == "avg_pool":
            return nn.AvgPool2d(
                layer.kernel,
                layer.stride,
                layer.padding,
                count_include_pad=layer.count_include_pad,
            )
        if kind == "max_pool":
            return nn.MaxPool2d(layer.kernel, layer.stride, layer.padding)
        if kind == "linear":
            return Linear4d(layer.in_channels, layer.out_channels, bias=layer.bias)
        if kind == "flatten":
            return Flatten4d()
        activations: dict[str, Callable[[], nn.Module]] = {
            "relu": nn.ReLU,
            "relu6": nn.ReLU6,
            "hswish": nn.Hardswish,
            "hsigmoid": nn.Hardsigmoid,
            "sigmoid": nn.Sigmoid,
            "silu": nn.SiLU,
            "global_avg_pool": functools.partial(nn.AdaptiveAvgPool2d, 1),
        }
        return activations[kind]()

    class Zero(nn.Module):
        """A ``none`` edge as a device runs it: the input multiplied by zero, at the shape the
        edge writes (zeros of that shape when the edge changes the resolution)."""

        def __init__(self, shape: tuple[int, int, int]) -> None:
            super().__init__()
            self.shape = shape

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if tuple(x.shape[1:]) == self.shape:
                return x.mul(0.0)
            return x.new_zeros((x.shape[0], *self.shape))

    def op_module(op: Op, shape: tuple[int, int, int]) -> nn.Module:
        if op.is_zero:
            return Zero(shape)
        if op.is_identity:
            return nn.Identity()
        return nn.Sequential(*(layer_module(layer) for layer in op.layers))

    class ArchGraphModule(nn.Module):
        """The torch module of one ArchGraph; only the graph's live edges hold modules."""

        def __init__(self, graph: ArchGraph, *, executed: bool = False) -> None:
            super().__init__()
            self.graph = graph
            chosen = executed_edges(graph) if executed else live_edges(graph)
            live = [bool(alive) for alive in chosen]
            self.edges = nn.ModuleDict()
            for position, edge in enumerate(graph.edges):
                if live[position]:
                    _check_linear_inputs(graph, position)
                    dst = graph.node(edge.dst)
                    shape = (graph.edge_output_channels(edge), dst.height, dst.width)
                    self.edges[str(position)] = op_module(edge.op, shape)
            self._steps = _plan(graph, live)
            source = graph.node(graph.input)
            self._input_shape = (source.channels, source.height, source.width)
            output = graph.node(graph.output)
            self._flatten_output = (output.height, output.width) == (1, 1)

        def extra_repr(self) -> str:
            return (
                f"name={self.graph.name!r}, input={self.graph.input!r} "
                f"{self._input_shape}, output={self.graph.output!r}"
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.dim() != 4 or tuple(x.shape[1:]) != self._input_shape:
                raise ValueError(
                    f"Graph {self.graph.name!r} expects input of shape (N, "
                    f"{', '.join(map(str, self._input_shape))}); got {tuple(x.shape)}."
                )
            batch = x.shape[0]
            values = {self.graph.input: x}
            for step in self._steps:
                _, height, width = step.shape
                if not any(read.live for read in step.reads):
                    values[step.node] = x.new_zeros((batch, *step.shape))
                    continue
                parts = []
                for read in step.reads:
                    if read.live:
                        source = values[read.src][:, read.start : read.stop]
                        parts.append(self.edges[str(read.position)](source))
                    elif step.combine == "concat":
                        parts.append(x.new_zeros((batch, read.channels, height, width)))
                if step.combine == "concat":
                    values[step.node] = torch.cat(parts, dim=1)
                elif step.combine == "mul":  # 1x1 parts broadcast over the node
                    product = parts[0]
                    for part in parts[1:]:
                        product = product * part
                    values[step.node] = product.expand(batch, *step.shape)
                else:
                    values[step.node] = sum(parts[1:], parts[0])
            result = values[self.graph.output]
            return result.flatten(1) if self._flatten_output else result

    return ArchGraphModule
