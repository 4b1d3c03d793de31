"""ArchGraph validates itself on construction; each error says what is wrong."""

from __future__ import annotations

import pytest

from flash_nas import ArchGraph, Cell, Edge, GraphError, Layer, Op, Tensor


def conv(c_in: int, c_out: int, kernel: int = 3, stride: int = 1) -> Op:
    return Op(
        "conv", (Layer("conv", c_in, c_out, kernel=kernel, stride=stride, padding=kernel // 2),)
    )


def small_graph(**changes) -> ArchGraph:
    parts = dict(
        nodes=(Tensor("x", 3, 8, 8), Tensor("a", 4, 8, 8), Tensor("b", 4, 8, 8)),
        edges=(
            Edge("x", "a", conv(3, 4)),
            Edge("a", "b", conv(4, 4)),
            Edge("a", "b", Op.identity()),
        ),
        input="x",
        output="b",
        cells=(Cell("c", ("a", "b"), ("a",), "b"),),
    )
    parts.update(changes)
    return ArchGraph(**parts)


def test_a_valid_graph_builds_and_orders_its_nodes():
    graph = small_graph()
    assert graph.topological_order == ("x", "a", "b")
    assert graph.incoming["b"] == (1, 2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"edges": (Edge("x", "a", conv(3, 5)),)}, "writes 5 channels into sum node 'a' of 4"),
        ({"edges": (Edge("x", "a", conv(3, 4, stride=2)),)}, "writes 4x4 but node 'a' is 8x8"),
        ({"edges": (Edge("x", "zz", conv(3, 4)),)}, "unknown node 'zz'"),
        ({"output": "nowhere"}, "'nowhere' is not a node"),
        ({"nodes": (Tensor("x", 3, 8, 8), Tensor("x", 4, 8, 8))}, "appears twice"),
        ({"edges": (Edge("x", "a", conv(4, 4)),)}, "reads 4 channels but receives 3"),
    ],
)
def test_inconsistent_graphs_are_rejected(changes, message):
    if "nodes" in changes or "edges" in changes:
        changes.setdefault("cells", ())
    with pytest.raises(GraphError, match=message):
        small_graph(**changes)


def test_a_node_without_input_is_rejected():
    with pytest.raises(GraphError, match="'b' has no incoming edge"):
        small_graph(edges=(Edge("x", "a", conv(3, 4)),), cells=())


def test_cycles_are_rejected():
    nodes = (Tensor("x", 4, 8, 8), Tensor("a", 4, 8, 8), Tensor("b", 4, 8, 8))
    edges = (
        Edge("x", "a", Op.identity()),
        Edge("a", "b", Op.identity()),
        Edge("b", "a", Op.identity()),
    )
    with pytest.raises(GraphError, match="cycle"):
        ArchGraph(nodes, edges, "x", "b")


def test_concat_nodes_check_the_channel_sum():
    nodes = (Tensor("x", 4, 8, 8), Tensor("cat", 7, 8, 8, combine="concat"))
    edges = (Edge("x", "cat", Op.identity()), Edge("x", "cat", Op.identity(), channels=2))
    with pytest.raises(
        GraphError, match="Concat node 'cat' has 7 channels but its incoming edges write 6"
    ):
        ArchGraph(nodes, edges, "x", "cat")
    fixed = (Tensor("x", 4, 8, 8), Tensor("cat", 6, 8, 8, combine="concat"))
    assert ArchGraph(fixed, edges, "x", "cat").node("cat").channels == 6


def test_channel_slices_must_fit_and_be_identity():
    nodes = (Tensor("x", 4, 8, 8), Tensor("cat", 3, 8, 8, combine="concat"))
    with pytest.raises(GraphError, match="lies outside the 4 channels"):
        ArchGraph(
            nodes, (Edge("x", "cat", Op.identity(), channel_offset=2, channels=3),), "x", "cat"
        )
    with pytest.raises(GraphError, match="only identity edges may read a channel slice"):
        ArchGraph(nodes, (Edge("x", "cat", conv(3, 3), channels=3),), "x", "cat")


def test_cells_must_be_closed_and_ordered():
    with pytest.raises(GraphError, match="must start with its inputs"):
        small_graph(cells=(Cell("c", ("b", "a"), ("a",), "b"),))
    with pytest.raises(
        GraphError, match="'b' receives an edge from 'a', which is outside the cell"
    ):
        small_graph(cells=(Cell("c", ("x", "b"), ("x",), "b"),))
    with pytest.raises(GraphError, match="names an unknown node 'y'"):
        small_graph(cells=(Cell("c", ("y", "b"), ("y",), "b"),))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "deconv", "in_channels": 1, "out_channels": 1}, "Unknown layer kind 'deconv'"),
        ({"kind": "conv", "in_channels": 6, "out_channels": 4, "groups": 4}, "divisible by groups"),
        ({"kind": "bn", "in_channels": 3, "out_channels": 4}, "keeps its channel count"),
        ({"kind": "conv", "in_channels": 0, "out_channels": 4}, "in_channels must be an int >= 1"),
    ],
)
def test_layers_check_themselves(kwargs, message):
    with pytest.raises(GraphError, match=message):
        Layer(**kwargs)


def test_ops_chain_their_layers():
    with pytest.raises(GraphError, match="writes 4 channels but the next layer 'bn' reads 5"):
        Op("bad", (Layer("conv", 3, 4), Layer("bn", 5, 5)))
    with pytest.raises(GraphError, match="a zero op has no layers"):
        Op("z", (Layer("relu", 3, 3),), is_zero=True)
    with pytest.raises(GraphError, match="shrinks the input to 0x0"):
        Op("pool", (Layer("avg_pool", 3, 3, kernel=3),)).output_shape(3, 2, 2)


def test_graphs_are_immutable_values():
    graph = small_graph()
    with pytest.raises(AttributeError):
        graph.input = "a"  # type: ignore[misc]  # writing to a frozen graph is the test
    assert small_graph() == graph
