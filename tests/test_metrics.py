"""Metric definitions on small graphs whose values can be worked out by hand."""

from __future__ import annotations

import pytest

from flash_nas import ArchGraph, Cell, Edge, GraphError, Layer, Op, Tensor, UnknownNameError, score
from flash_nas.graph.metrics import get_metric, parse_metric_names


def conv(c: int, kernel: int = 3) -> Op:
    return Op("conv", (Layer("conv", c, c, kernel=kernel, padding=kernel // 2), Layer("bn", c, c)))


POOL = Op("pool", (Layer("avg_pool", 4, 4, kernel=3, padding=1),))
ID = Op.identity()
ZERO = Op.zero()


def cell_graph(e01=None, e02=None, e12=None, e13=None, e23=None, capacity=8) -> ArchGraph:
    """A 4-channel, 8x8 cell: n0 -> n1, n2 ; n1 -> n2, n3 ; n2 -> n3 (n3 is the output)."""
    nodes = tuple(Tensor(f"n{i}", 4, 8, 8) for i in range(4))
    spec = [
        ("n0", "n1", e01),
        ("n0", "n2", e02),
        ("n1", "n2", e12),
        ("n1", "n3", e13),
        ("n2", "n3", e23),
    ]
    edges = tuple(Edge(src, dst, op) for src, dst, op in spec if op is not None)
    return ArchGraph(
        nodes, edges, "n0", "n3", (Cell("c", ("n0", "n1", "n2", "n3"), ("n0",), "n3", capacity),)
    )


def test_nn_degree_counts_input_channels_per_edge_kind():
    graph = cell_graph(e01=conv(4), e02=conv(4), e12=ID, e13=POOL, e23=ID)
    # n1: conv (4) ; n2: conv + identity (5) ; n3: pool + identity (2)
    assert score(graph, ["nn_degree"])["nn_degree"] == pytest.approx((4 + 5 + 2) / 3)
    # neuron level: a 3x3 conv counts 4*9, a 3x3 pool 9
    assert score(graph, ["nn_degree_neuron"])["nn_degree_neuron"] == pytest.approx(
        (36 + 37 + 10) / 3
    )


def test_a_sum_of_identities_is_a_node_but_not_a_computing_one():
    graph = cell_graph(e01=conv(4), e02=conv(4), e12=ID, e13=ID, e23=ID)
    # n3 only adds identities: still a node of the network (in-degree 2), so NN-Degree averages
    # it; the computing-node rule (flash-nas 0.1's) leaves it out
    scores = score(graph, ["nn_degree", "nn_degree_computing"])
    assert scores["nn_degree"] == pytest.approx((4 + 5 + 2) / 3)
    assert scores["nn_degree_computing"] == pytest.approx((4 + 5) / 2)


def test_edges_behind_zero_edges_are_dead():
    # n1 has a conv in, but its only way out is a zero edge: neither n1 nor its conv counts.
    dead = cell_graph(e01=conv(4), e02=conv(4), e12=ZERO, e13=ZERO, e23=ID)
    alone = cell_graph(e01=ZERO, e02=conv(4), e12=ZERO, e13=ZERO, e23=ID)
    assert score(dead) == score(alone)
    assert score(alone, ["params"])["params"] == 4 * 4 * 9 + 8
    # n2 (the conv, 4) and n3 (a sum of one identity, 1); n1 is dead
    assert score(alone, ["nn_degree"])["nn_degree"] == pytest.approx((4 + 1) / 2)
    assert score(alone, ["nn_degree_computing"])["nn_degree_computing"] == 4


def test_params_macs_flops_and_activations():
    graph = cell_graph(e01=conv(4), e02=conv(4, kernel=1), e12=ID, e13=POOL, e23=ID)
    metrics = score(graph, ["params", "macs", "flops", "activations"])
    assert metrics["params"] == (144 + 8) + (16 + 8)
    assert metrics["macs"] == (144 + 16) * 64
    # flops add 2 per batch-norm value (two convs) and 9 per pooled value
    assert metrics["flops"] == (144 + 16) * 64 + 2 * 2 * 4 * 64 + 9 * 4 * 64
    assert metrics["activations"] == 3 * 4 * 64


def test_nn_mass_uses_live_skip_channels_over_capacity():
    # Skips jump at least one node: n0->n2 and n1->n3. Both live: t = 8 of a capacity of 8.
    graph = cell_graph(e01=conv(4), e02=ID, e12=conv(4), e13=ID, e23=conv(4), capacity=8)
    # rho = 8/8 ; width 4 ; three computing nodes
    assert score(graph, ["nn_mass"])["nn_mass"] == pytest.approx(1.0 * 4 * 3)
    no_skip = cell_graph(e01=conv(4), e02=ZERO, e12=conv(4), e13=ZERO, e23=conv(4), capacity=8)
    assert score(no_skip, ["nn_mass"])["nn_mass"] == 0


def test_nn_mass_needs_the_cells_capacity():
    graph = cell_graph(e01=conv(4), e02=ID, e12=conv(4), e13=ID, e23=conv(4), capacity=None)
    with pytest.raises(GraphError, match="skip capacity"):
        score(graph, ["nn_mass"])


def test_metric_names_are_checked():
    with pytest.raises(
        UnknownNameError, match="Unknown metric 'nn_degre'; expected one of nn_degree"
    ):
        get_metric("nn_degre")
    with pytest.raises(UnknownNameError, match="named twice"):
        parse_metric_names("params,params")
    with pytest.raises(UnknownNameError, match="comma-separated list"):
        parse_metric_names("params,,flops")
    assert parse_metric_names(" nn_degree , params") == ["nn_degree", "params"]
