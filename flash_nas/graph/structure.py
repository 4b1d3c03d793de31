"""What the metrics and the cost models share: which edges count, and what one edge contributes.

Two questions, two answers:

* **live** (:func:`live_edges`, for training-free metrics): an edge is live when it lies on a
  path of non-zero edges from its cell's inputs to its cell's output. Edges behind ``none``
  edges compute nothing that reaches the output, so no metric counts them. Edges outside every
  cell (stem, reduction blocks, head) are live unless they are zero.
* **executed** (:func:`executed_edges`, for hardware cost): what a deployed network runs. A
  ``none`` edge is a multiplication by zero. Compilers drop it from a sum with other terms, but
  a node fed by ``none`` edges only still holds a computed tensor of zeros, so a conv *behind*
  a ``none`` edge still runs. A cell whose output has no path of non-zero edges from its inputs
  computes a constant: its output is folded, and everything whose result reaches the network
  output only through it is dead code that compilers drop. HW-NAS-Bench's devices show both
  (issue 10).

The per-edge functions take an op and its input shape rather than a graph, so the one-graph path
and the batched path (:mod:`flash_nas.graph.batch`) compute exactly the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from flash_nas.graph import ArchGraph, Edge, Op, Tensor

_CONNECTING = ("conv", "linear")
_POOLING = ("avg_pool", "max_pool", "global_avg_pool")


def live_edges(graph: ArchGraph, zero: Sequence[bool] | np.ndarray | None = None) -> np.ndarray:
    """Boolean array over ``graph.edges``: which edges count.

    ``zero`` overrides which edges are zero (the batched path asks "what if these edges were
    ``none``" without building a graph per architecture).
    """
    is_zero = (
        np.array([edge.op.is_zero for edge in graph.edges], dtype=bool)
        if zero is None
        else np.asarray(zero, dtype=bool)
    )
    live = ~is_zero
    for cell in graph.cells:
        members = set(cell.nodes)
        inner = [
            position
            for position, edge in enumerate(graph.edges)
            if edge.dst in members and edge.dst not in cell.inputs
        ]
        forward = set(cell.inputs)
        for name in cell.nodes:  # topological order: one pass suffices
            for position in graph.incoming[name]:
                if not is_zero[position] and graph.edges[position].src in forward:
                    forward.add(name)
        backward = {cell.output}
        for name in reversed(cell.nodes):
            if name in backward:
                continue
            for position in inner:
                edge = graph.edges[position]
                if edge.src == name and not is_zero[position] and edge.dst in backward:
                    backward.add(name)
                    break
        for position in inner:
            edge = graph.edges[position]
            live[position] = not is_zero[position] and edge.src in forward and edge.dst in backward
    return live


def executed_edges(graph: ArchGraph, zero: Sequence[bool] | None = None) -> np.ndarray:
    """Boolean array over ``graph.edges``: which edges a device runs (see the module docstring).

    What a compiler does with a ``none`` edge, ``x * 0``: a sum that has a non-zero term drops
    the zero terms (``a + x * 0`` is ``a``), so work that reaches a node only through ``none``
    edges is not run; but a node whose every term is zero still gets a tensor of zeros, one
    multiplication by zero of its first incoming edge's source, and the convs that read that
    node run (the compiler does not fold ``x * 0`` into a constant). The output of a cut-off
    cell (no live edge into it) *is* a constant: nothing of that cell runs, nor anything whose
    only way to the network output is through it, and a network whose output is constant runs
    nothing.

    So an edge runs when its source varies with the input and it is *needed*: a non-zero edge
    into a needed node, or the first zero edge into a needed node that has no non-zero incoming
    edge; the network output is needed, and so is the source of every edge that runs.
    ``zero`` overrides which edges are zero, as in :func:`live_edges`.
    """
    is_zero = (
        np.array([edge.op.is_zero for edge in graph.edges], dtype=bool)
        if zero is None
        else np.asarray(zero, dtype=bool)
    )
    live = live_edges(graph, is_zero)
    constant = {
        cell.output
        for cell in graph.cells
        if not any(live[position] for position in graph.incoming[cell.output])
    }
    varies = {graph.input}
    for name in graph.topological_order:
        if name not in constant and any(
            graph.edges[position].src in varies for position in graph.incoming[name]
        ):
            varies.add(name)
    executed = np.zeros(len(graph.edges), dtype=bool)
    needed = {graph.output} & varies
    for name in reversed(graph.topological_order):  # every reader of ``name`` is settled
        if name not in needed:
            continue
        incoming = [p for p in graph.incoming[name] if graph.edges[p].src in varies]
        terms = [p for p in incoming if not is_zero[p]] or incoming[:1]
        for position in terms:
            executed[position] = True
            needed.add(graph.edges[position].src)
    return executed


class ShapeSource(Protocol):
    """What :meth:`EdgeShape.of` reads of a graph: an :class:`ArchGraph`, or a view of a part
    of one that answers the same two questions."""

    def node(self, name: str) -> Tensor: ...

    def edge_input_channels(self, edge: Edge) -> int: ...


@dataclass(frozen=True)
class EdgeShape:
    """What a per-edge cost sees: the op, the shape it reads, and the node it writes into."""

    op: Op
    channels: int
    height: int
    width: int
    dst: Tensor

    @classmethod
    def of(cls, graph: ShapeSource, edge: Edge) -> EdgeShape:
        src = graph.node(edge.src)
        return cls(
            edge.op, graph.edge_input_channels(edge), src.height, src.width, graph.node(edge.dst)
        )


EdgeCounter = Callable[[EdgeShape], "Sequence[float] | np.ndarray"]


def edge_sums(
    graph: ArchGraph, count: EdgeCounter, size: int, *, executed: bool = False
) -> np.ndarray:
    """Sum of ``count(edge)``, a vector of ``size`` numbers per edge, over the live edges, or
    with ``executed`` over the edges a device runs (:func:`executed_edges`)."""
    total = np.zeros(size)
    chosen = executed_edges(graph) if executed else live_edges(graph)
    for edge, alive in zip(graph.edges, chosen):
        if alive:
            total += np.asarray(count(EdgeShape.of(graph, edge)), dtype=float)
    return total


def output_cut_off(graph: ArchGraph) -> bool:
    """Whether some cell's output has no path of non-zero edges from the cell's inputs.

    Such a network computes a constant whatever its input, so it trains to chance accuracy.
    """
    live = live_edges(graph)
    return any(not any(live[p] for p in graph.incoming[cell.output]) for cell in graph.cells)


def classes(graph: ArchGraph) -> int | None:
    """Output channels of the last linear layer feeding the graph's output: the class count."""
    for edge in reversed(graph.edges):
        if edge.dst == graph.output and any(layer.kind == "linear" for layer in edge.op.layers):
            return graph.edge_output_channels(edge)
    return None


def live_nodes(graph: ArchGraph, live: np.ndarray) -> np.ndarray:
    """Boolean array over ``graph.nodes``: the input, and every node a live edge writes."""
    alive = np.zeros(len(graph.nodes), dtype=bool)
    names = [node.name for node in graph.nodes]
    alive[names.index(graph.input)] = True
    for position, edge in enumerate(graph.edges):
        if live[position]:
            alive[names.index(edge.dst)] = True
    return alive


def op_macs(op: Op, channels: int, height: int, width: int) -> int:
    """Multiply-accumulates of one op for one input (convolutions and linear layers only)."""
    macs = 0
    for layer in op.layers:
        height, width = layer.output_size(height, width)
        if layer.kind == "conv":
            fan_in = layer.kernel * layer.kernel * (layer.in_channels // layer.groups)
            macs += fan_in * layer.out_channels * height * width
        elif layer.kind == "linear":
            macs += layer.in_channels * layer.out_channels
    return macs


# Arithmetic per output value of element-wise layers, on top of MACs: batch norm scales and
# shifts (2), an activation or a global-pooling add costs 1 (the same convention for every
# activation, whatever its formula). ``flatten`` is a view: no arithmetic.
_ELEMENTWISE_FLOPS = {
    "bn": 2,
    "relu": 1,
    "relu6": 1,
    "hswish": 1,
    "hsigmoid": 1,
    "sigmoid": 1,
    "silu": 1,
}


def op_flops(op: Op, channels: int, height: int, width: int) -> int:
    """All arithmetic of one op for one input, one multiply-accumulate counting as one FLOP.

    MACs of convs and linear layers, plus ``k**2`` per pooled output value, plus the element-wise
    work of batch norm and activations, plus one add per value a global pooling reads.
    """
    flops = op_macs(op, channels, height, width)
    for layer in op.layers:
        out_height, out_width = layer.output_size(height, width)
        values = layer.out_channels * out_height * out_width
        if layer.kind in ("avg_pool", "max_pool"):
            flops += values * layer.kernel * layer.kernel
        elif layer.kind == "global_avg_pool":
            flops += layer.in_channels * height * width
        else:
            flops += values * _ELEMENTWISE_FLOPS.get(layer.kind, 0)
        height, width = out_height, out_width
    return flops


def op_in_degree(op: Op, channels: int, *, neuron: bool = False) -> float:
    """In-degree of one output channel (``neuron``: of one output activation) through ``op``.

    Channel level (FLASH): a conv or linear output channel connects to every input channel of its
    group, ``C_in / groups``; pooling and identity connect a channel to one channel; zero to none.
    Neuron level also counts the kernel window: ``C_in / groups * k**2`` for a conv and ``k**2``
    for pooling. An op with several layers is judged by its last connecting layer, the one whose
    outputs the edge writes.
    """
    if op.is_zero:
        return 0.0
    for layer in reversed(op.layers):
        if layer.kind in _CONNECTING:
            window = layer.kernel * layer.kernel if neuron else 1
            return float(layer.in_channels // layer.groups * window)
        if layer.kind in _POOLING and layer.kind != "global_avg_pool":
            return float(layer.kernel * layer.kernel if neuron else 1)
    return 1.0


def op_output_channels(op: Op, channels: int) -> int:
    """Channels an op writes when it reads ``channels`` (a zero op writes zeros of that width)."""
    return op.layers[-1].out_channels if op.layers else channels
