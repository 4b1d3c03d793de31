from __future__ import annotations

import subprocess
import sys

import pytest

from flash_nas.errors import GraphError, MissingDependencyError
from flash_nas.graph import ArchGraph, Cell, Edge, Layer, Op, Tensor
from flash_nas.graph.metrics.graph_metrics import params
from flash_nas.train.torch_builder import build_module

torch = pytest.importorskip("torch", reason="the builder needs the [torch] extra")
F = torch.nn.functional


def conv(cin: int, cout: int, kernel: int = 3, *, bias: bool = False) -> Op:
    return Op("conv", (Layer("conv", cin, cout, kernel, padding=kernel // 2, bias=bias),))


def conv_bn_relu(cin: int, cout: int) -> Op:
    return Op(
        "stem",
        (
            Layer("conv", cin, cout, 3, padding=1),
            Layer("bn", cout, cout),
            Layer("relu", cout, cout),
        ),
    )


def pool(kind: str, channels: int) -> Op:
    return Op(kind, (Layer(kind, channels, channels, 3, padding=1, count_include_pad=False),))


def head(cin: int, classes: int) -> Op:
    return Op(
        "head",
        (Layer("global_avg_pool", cin, cin), Layer("linear", cin, classes, bias=True)),
    )


def sum_cell_graph() -> ArchGraph:
    """Stem, a sum cell (conv, identity, zero and pooling edges), a sliced concat, a head."""
    nodes = (
        Tensor("x", 3, 6, 6),
        Tensor("s", 4, 6, 6),
        Tensor("a", 4, 6, 6),
        Tensor("b", 4, 6, 6),
        Tensor("d", 9, 6, 6, combine="concat"),
        Tensor("out", 5, 1, 1),
    )
    edges = (
        Edge("x", "s", conv_bn_relu(3, 4)),  # 0
        Edge("s", "a", conv(4, 4, bias=True)),  # 1
        Edge("s", "a", Op.identity()),  # 2
        Edge("s", "b", pool("avg_pool", 4)),  # 3
        Edge("a", "b", Op.identity()),  # 4
        Edge("s", "b", Op.zero()),  # 5
        Edge("a", "b", pool("max_pool", 4)),  # 6
        Edge("b", "d", Op.identity(), channel_offset=0, channels=2),  # 7
        Edge("s", "d", Op.identity(), channel_offset=1, channels=3),  # 8
        Edge("b", "d", Op.zero()),  # 9: four channels of zeros
        Edge("d", "out", head(9, 5)),  # 10
    )
    cell = Cell("c0", nodes=("s", "a", "b"), inputs=("s",), output="b")
    return ArchGraph(nodes, edges, input="x", output="out", cells=(cell,), name="sum-cell")


def behind_none_graph(cut: bool) -> ArchGraph:
    """A cell whose conv s -> a is dead when ``cut``: a's only way out is a ``none`` edge."""
    nodes = (
        Tensor("x", 3, 6, 6),
        Tensor("s", 4, 6, 6),
        Tensor("a", 4, 6, 6),
        Tensor("b", 4, 6, 6),
        Tensor("out", 5, 1, 1),
    )
    edges = (
        Edge("x", "s", conv_bn_relu(3, 4)),
        Edge("s", "a", conv(4, 4)),
        Edge("a", "b", Op.zero() if cut else Op.identity()),
        Edge("s", "b", Op.identity()),
        Edge("b", "out", head(4, 5)),
    )
    cell = Cell("c0", nodes=("s", "a", "b"), inputs=("s",), output="b")
    return ArchGraph(nodes, edges, input="x", output="out", cells=(cell,), name="behind-none")


def cut_off_graph(cut: bool) -> ArchGraph:
    """A cell whose output receives only ``none`` edges when ``cut``."""
    nodes = (
        Tensor("x", 3, 6, 6),
        Tensor("s", 4, 6, 6),
        Tensor("a", 4, 6, 6),
        Tensor("b", 4, 6, 6),
        Tensor("out", 5, 1, 1),
    )
    edges = (
        Edge("x", "s", conv_bn_relu(3, 4)),
        Edge("s", "a", conv(4, 4)),
        Edge("s", "b", Op.zero()),
        Edge("a", "b", Op.zero() if cut else Op.identity()),
        Edge("b", "out", head(4, 5)),
    )
    cell = Cell("c0", nodes=("s", "a", "b"), inputs=("s",), output="b")
    return ArchGraph(nodes, edges, input="x", output="out", cells=(cell,), name="cut-off")


def dense_graph() -> ArchGraph:
    """A DenseNet-like cell: each node concatenates a channel slice of the last and a new conv."""
    nodes = (
        Tensor("x", 4, 5, 5),
        Tensor("h1", 6, 5, 5, combine="concat"),
        Tensor("h2", 6, 5, 5, combine="concat"),
    )
    edges = (
        Edge("x", "h1", Op.identity()),
        Edge("x", "h1", conv(4, 2)),
        Edge("h1", "h2", Op.identity(), channel_offset=2, channels=4),
        Edge("h1", "h2", conv(6, 2)),
    )
    cell = Cell("dense", nodes=("x", "h1", "h2"), inputs=("x",), output="h2")
    return ArchGraph(nodes, edges, input="x", output="h2", cells=(cell,), name="dense")


def module_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def randomize_batch_norms(module: torch.nn.Module) -> None:
    """Give every batch norm non-trivial statistics and affine terms, so eval mode tests them."""
    generator = torch.Generator().manual_seed(1)
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            size = layer.num_features
            layer.running_mean.copy_(torch.randn(size, generator=generator))
            layer.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            with torch.no_grad():
                layer.weight.copy_(torch.randn(size, generator=generator))
                layer.bias.copy_(torch.randn(size, generator=generator))


@pytest.mark.parametrize(
    "graph",
    [sum_cell_graph(), behind_none_graph(True), cut_off_graph(True), dense_graph()],
    ids=lambda graph: graph.name,
)
def test_parameter_count_equals_params_metric(graph: ArchGraph) -> None:
    assert module_params(build_module(graph)) == params(graph)


def test_conv_behind_none_edge_is_not_built() -> None:
    alive, dead = behind_none_graph(cut=False), behind_none_graph(cut=True)
    conv_params = alive.edges[1].op.params
    alive_module, dead_module = build_module(alive), build_module(dead)

    assert module_params(alive_module) - module_params(dead_module) == conv_params == 144
    assert module_params(dead_module) == params(dead)
    assert "1" in alive_module.edges
    assert "1" not in dead_module.edges


def test_forward_shapes() -> None:
    assert build_module(sum_cell_graph())(torch.randn(2, 3, 6, 6)).shape == (2, 5)
    assert build_module(dense_graph())(torch.randn(3, 4, 5, 5)).shape == (3, 6, 5, 5)


def test_forward_rejects_an_input_of_the_wrong_shape() -> None:
    with pytest.raises(
        ValueError, match=r"expects input of shape \(N, 3, 6, 6\); got \(2, 3, 7, 7\)"
    ):
        build_module(sum_cell_graph())(torch.randn(2, 3, 7, 7))


def test_sum_cell_matches_hand_written_computation() -> None:
    torch.manual_seed(0)
    module = build_module(sum_cell_graph()).eval()
    randomize_batch_norms(module)
    x = torch.randn(2, 3, 6, 6)

    stem_conv, stem_bn = module.edges["0"][0], module.edges["0"][1]
    cell_conv = module.edges["1"][0]
    linear = module.edges["10"][1]
    s = F.relu(
        F.batch_norm(
            F.conv2d(x, stem_conv.weight, padding=1),
            stem_bn.running_mean,
            stem_bn.running_var,
            stem_bn.weight,
            stem_bn.bias,
            eps=stem_bn.eps,
        )
    )
    a = F.conv2d(s, cell_conv.weight, cell_conv.bias, padding=1) + s
    b = F.avg_pool2d(s, 3, 1, 1, count_include_pad=False) + a + F.max_pool2d(a, 3, 1, 1)
    d = torch.cat([b[:, :2], s[:, 1:4], torch.zeros(2, 4, 6, 6)], dim=1)
    expected = F.linear(d.mean(dim=(2, 3)), linear.weight, linear.bias)

    torch.testing.assert_close(module(x), expected)


def test_dense_cell_matches_hand_written_computation() -> None:
    torch.manual_seed(0)
    module = build_module(dense_graph())
    x = torch.randn(2, 4, 5, 5)

    h1 = torch.cat([x, F.conv2d(x, module.edges["1"][0].weight, padding=1)], dim=1)
    h2 = torch.cat([h1[:, 2:6], F.conv2d(h1, module.edges["3"][0].weight, padding=1)], dim=1)

    torch.testing.assert_close(module(x), h2)


def test_cut_off_cell_output_is_zero_downstream() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 3, 6, 6)
    cut = build_module(cut_off_graph(cut=True))
    linear = cut.edges["4"][1]
    # b is zero, so the head's pooled input is zero and only the linear bias remains.
    torch.testing.assert_close(cut(x), linear.bias.expand(3, 5), rtol=0, atol=0)

    connected = build_module(cut_off_graph(cut=False))
    connected.load_state_dict(cut.state_dict(), strict=False)
    assert not torch.allclose(connected(x), linear.bias.expand(3, 5))


def test_runs_in_eval_mode_and_gradients_reach_live_convs() -> None:
    torch.manual_seed(0)
    module = build_module(sum_cell_graph())
    x = torch.randn(4, 3, 6, 6)
    with torch.no_grad():
        assert torch.isfinite(module.eval()(x)).all()

    module.train()
    loss = module(x).pow(2).mean()
    loss.backward()
    for key in ("0", "1"):
        grad = module.edges[key][0].weight.grad
        assert grad is not None
        assert grad.abs().sum() > 0


def test_state_dict_keys_name_live_edge_positions() -> None:
    graph = behind_none_graph(cut=True)
    first, second = build_module(graph), build_module(graph)
    keys = set(first.state_dict())
    assert keys == set(second.state_dict())
    assert {key.split(".")[1] for key in keys} == {"0", "4"}

    second.load_state_dict(first.state_dict())
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(first.eval()(x), second.eval()(x))


def test_repr_names_the_graph() -> None:
    assert "name='dense'" in repr(build_module(dense_graph()))


def test_linear_on_a_spatial_tensor_is_rejected() -> None:
    nodes = (Tensor("x", 3, 4, 4), Tensor("y", 2, 4, 4))
    edges = (Edge("x", "y", Op("fc", (Layer("linear", 3, 2),))),)
    graph = ArchGraph(nodes, edges, input="x", output="y", name="bad-linear")
    with pytest.raises(GraphError, match="linear layer acts on a 1x1 tensor but receives 4x4"):
        build_module(graph)


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'flash-nas\[torch\]'"):
        build_module(dense_graph())


def test_importing_the_builder_does_not_import_torch() -> None:
    code = "import sys, flash_nas.train.torch_builder; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
