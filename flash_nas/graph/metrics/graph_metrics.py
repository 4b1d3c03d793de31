"""Training-free metrics of one ArchGraph.

* ``nn_degree`` -- FLASH's NN-Degree, channel level: the sum over cells of the mean per-channel
  in-degree of the cell's computing nodes (Li et al., TECS 2021). On a DenseNet-type cell of
  ``d`` layers of width ``w`` with ``t`` skip channels it is exactly ``w + t / d``.
* ``nn_degree_neuron`` -- the same with each conv counting ``C_in * k**2`` inputs per output
  (a variant of ours, measured beside FLASH's form, not FLASH's definition).
* ``nn_mass`` -- NN-Mass (Bhardwaj, Li, Marculescu, CVPR 2021): ``sum_c rho_c * w_c * d_c``,
  with ``rho_c`` the live skip channels over the cell's skip capacity.
* ``params`` -- trainable parameters (conv, linear, affine batch norm).
* ``macs`` -- multiply-accumulates of convs and linear layers for one input.
* ``flops`` -- all arithmetic for one input with one multiply-accumulate counted as one FLOP (the
  convention of NAS-Bench-201's and NAS-Bench-Suite-Zero's published "FLOPs"): MACs, plus
  ``k**2`` per pooled value, 2 per batch-norm value, 1 per activation value and 1 per value a
  global pooling reads. For the 2 x MACs convention, use ``2 * macs``.
* ``activations`` -- values held by the live tensors (nodes) for one input, the graph input
  excluded; multiply by 4 for float32 bytes.

A *computing node* of a cell is a live, non-input node with at least one live incoming edge that
computes (conv, pooling, linear); nodes fed only by identity edges are wiring (a DenseNet
concatenation) and are not averaged over. A cell with no computing node adds 0.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flash_nas.errors import GraphError
from flash_nas.graph import ArchGraph, Op
from flash_nas.graph.structure import (
    live_edges,
    live_nodes,
    op_flops,
    op_in_degree,
    op_macs,
    op_output_channels,
)


def params(graph: ArchGraph) -> float:
    return _edge_sum(graph, lambda op, channels, height, width: op.params)


def _edge_sum(graph: ArchGraph, value: Callable[[Op, int, int, int], int]) -> float:
    live = live_edges(graph)
    total = 0
    for edge, alive in zip(graph.edges, live):
        if alive:
            src = graph.node(edge.src)
            total += value(edge.op, graph.edge_input_channels(edge), src.height, src.width)
    return float(total)


def macs(graph: ArchGraph) -> float:
    return _edge_sum(graph, op_macs)


def flops(graph: ArchGraph) -> float:
    return _edge_sum(graph, op_flops)


def activations(graph: ArchGraph) -> float:
    alive = live_nodes(graph, live_edges(graph))
    return float(
        sum(
            node.size for node, kept in zip(graph.nodes, alive) if kept and node.name != graph.input
        )
    )


def _cell_node_degrees(
    graph: ArchGraph, *, neuron: bool, sums_count: bool = False
) -> list[list[tuple[float, int]]]:
    """Per cell, ``(in-degree, channels)`` of each node NN-Degree averages over.

    A node counts when a live computing edge (conv, pooling) writes it; with ``sums_count``
    (NN-Degree's rule, see :func:`nn_degree`) also every live *sum* node, whatever its inputs:
    a sum of identities is still a node of the network. A concatenation fed by identities only
    re-indexes channels counted where they were computed: wiring, never counted.
    """
    live = live_edges(graph)
    cells = []
    for cell in graph.cells:
        found = []
        for name in cell.nodes[len(cell.inputs) :]:
            node = graph.node(name)
            degree = 0.0
            computing = False
            for position in graph.incoming[name]:
                edge = graph.edges[position]
                if not live[position]:
                    continue
                read = graph.edge_input_channels(edge)
                contribution = op_in_degree(edge.op, read, neuron=neuron)
                if node.combine == "concat":
                    contribution *= op_output_channels(edge.op, read) / node.channels
                degree += contribution
                computing = computing or edge.op.is_computing or (
                    sums_count and node.combine == "sum"
                )
            if computing:
                found.append((degree, node.channels))
        cells.append(found)
    return cells


def _nn_degree(graph: ArchGraph, *, neuron: bool, sums_count: bool = True) -> float:
    return float(
        sum(
            np.mean([degree for degree, _ in nodes]) if nodes else 0.0
            for nodes in _cell_node_degrees(graph, neuron=neuron, sums_count=sums_count)
        )
    )


def nn_degree(graph: ArchGraph) -> float:
    """FLASH's NN-Degree: per cell, the mean channel in-degree over the cell's nodes (every
    live sum node, and every node a conv or pooling writes), summed over cells."""
    return _nn_degree(graph, neuron=False)


def nn_degree_computing(graph: ArchGraph) -> float:
    """NN-Degree averaged over computing nodes only (flash-nas 0.1's rule): a sum node fed by
    identity edges alone does not count."""
    return _nn_degree(graph, neuron=False, sums_count=False)


def nn_degree_neuron(graph: ArchGraph) -> float:
    return _nn_degree(graph, neuron=True)


def skip_channels(graph: ArchGraph) -> list[int]:
    """Per cell, channels carried by live edges that jump over at least one node of the cell."""
    live = live_edges(graph)
    totals = []
    for cell in graph.cells:
        order = {name: rank for rank, name in enumerate(cell.nodes)}
        total = 0
        for name in cell.nodes[len(cell.inputs) :]:
            for position in graph.incoming[name]:
                edge = graph.edges[position]
                if live[position] and order[name] - order[edge.src] >= 2:
                    total += op_output_channels(edge.op, graph.edge_input_channels(edge))
        totals.append(total)
    return totals


def nn_mass(graph: ArchGraph) -> float:
    total = 0.0
    degrees = _cell_node_degrees(graph, neuron=False)
    for cell, nodes, skips in zip(graph.cells, degrees, skip_channels(graph)):
        if cell.skip_capacity is None:
            raise GraphError(
                f"NN-Mass needs each cell's skip capacity, the number of skip channels its "
                f"space allows; cell {cell.name!r} of {graph.name or 'this graph'} has none. "
                f"Set Cell.skip_capacity in the adapter."
            )
        if not nodes or cell.skip_capacity == 0:
            continue
        width = float(np.mean([channels for _, channels in nodes]))
        total += skips / cell.skip_capacity * width * len(nodes)
    return total
