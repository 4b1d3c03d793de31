"""The ``torch`` adapter: any nn.Module through torch.fx, counted as torch counts it."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

import flash_nas
from flash_nas import ArchFormatError, GraphError, NotSupportedError, UnknownNameError
from tests.cli_helpers import fail, rows, run

torch = pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
nn = torch.nn

from flash_nas.train.torch_builder import build_module  # noqa: E402
from flash_nas_adapters.torch.fx import graph_from_module  # noqa: E402
from flash_nas_adapters.torch.space import TorchAdapter as _TorchAdapter  # noqa: E402


def TorchAdapter(**options):
    """The adapter built with consent to import (as ``--space torch`` gives it)."""
    with flash_nas.allow_code_imports("torch"):
        return _TorchAdapter(**options)


def torchvision_or_skip():
    from flash_nas import MissingDependencyError
    from flash_nas.train.torchvision_compat import import_torchvision

    try:
        return import_torchvision()
    except MissingDependencyError:
        pytest.skip("torchvision models need the [torchvision] extra")


def torch_counts(model: nn.Module, size: int) -> tuple[int, int]:
    """Parameters (sum of numel) and MACs (forward hooks on conv and linear) as torch sees them."""
    macs = 0

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            window = module.kernel_size[0] * module.kernel_size[1]
            macs += output.numel() * module.in_channels // module.groups * window
        else:
            macs += output.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, nn.Conv2d | nn.Linear)
    ]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for handle in handles:
        handle.remove()
    return sum(p.numel() for p in model.parameters()), macs


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("resnet18", 224),
        ("mobilenet_v2", 224),
        ("squeezenet1_1", 227),  # ceil-mode max pools
        ("densenet121", 128),  # concatenations
        ("shufflenet_v2_x1_0", 224),  # chunk and channel shuffle
        ("mobilenet_v3_large", 160),  # squeeze-excitation, hard-swish
        ("efficientnet_b0", 224),  # SiLU, sigmoid gates, stochastic depth
        ("alexnet", 224),  # flatten of a 6x6 map into the classifier
    ],
)
def test_params_and_macs_equal_what_torch_counts(name, size):
    models = torchvision_or_skip().models
    graph = TorchAdapter(input_size=size).to_graph(f"torchvision.models:{name}")
    params, macs = torch_counts(getattr(models, name)(), size)
    scores = flash_nas.score(graph, ["params", "macs"])
    assert scores["params"] == params
    assert scores["macs"] == macs


class SqueezeExciteNet(nn.Module):
    """A small net with every construct the converter knows, to rebuild from its graph."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.BatchNorm2d(8), nn.Hardswish())
        self.left = nn.Conv2d(8, 8, 3, 1, 1, groups=8, bias=False)
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 4, 1), nn.SiLU(), nn.Conv2d(4, 8, 1), nn.Sigmoid()
        )
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(8 * 8 * 8 * 2, 10))

    def forward(self, x):
        x = self.stem(x)
        y = self.left(x) + x
        y = self.gate(y) * y
        z = torch.cat([y, torch.relu(x)], dim=1)
        return self.head(self.pool(z))


def test_a_users_own_model_becomes_a_graph_that_rebuilds_with_the_same_counts():
    model = SqueezeExciteNet()
    graph = graph_from_module(model, (3, 32, 32), name="mine")
    combines = {node.combine for node in graph.nodes}
    assert combines == {"sum", "concat", "mul"}
    kinds = {layer.kind for edge in graph.edges for layer in edge.op.layers}
    assert {"flatten", "silu", "sigmoid", "hswish", "max_pool", "global_avg_pool"} <= kinds
    params, _ = torch_counts(model, 32)
    assert flash_nas.score(graph, ["params"])["params"] == params
    rebuilt = build_module(graph)
    assert sum(p.numel() for p in rebuilt.parameters()) == params
    assert rebuilt(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_every_hardware_model_prices_the_new_layer_kinds():
    graph = graph_from_module(SqueezeExciteNet(), (3, 32, 32))
    stem = SqueezeExciteNet().stem  # a prefix of the same network: the rest must cost more
    plain = graph_from_module(stem, (3, 32, 32))
    for name in ("pi3b", "imc"):
        model = flash_nas.get_hardware(name)
        richer, simple = model.estimate(graph), model.estimate(plain)
        assert all(np.isfinite(v) and v > 0 for v in richer.values())
        assert richer["latency_ms"] > simple["latency_ms"]


def test_the_cli_scores_models_from_a_file_with_the_input_size(capsys, tmp_path):
    package = tmp_path / "mynets.py"
    package.write_text(
        textwrap.dedent(
            """
            import torch.nn as nn

            def build():
                return nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
                                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
            """
        )
    )
    archs = tmp_path / "models.txt"
    archs.write_text("# my models\nmynets:build\n")
    sys.path.insert(0, str(tmp_path))
    try:
        code, out, _ = run(
            capsys,
            "score",
            "--space",
            "torch",
            "--archs",
            str(archs),
            "-O",
            "input_size=64",
            "--metrics",
            "params,macs",
        )
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("mynets", None)
    assert code == 0
    (row,) = rows(out)
    assert row["arch"] == "mynets:build"
    assert float(row["params"]) == 3 * 16 * 9 + 16 + 16 * 10 + 10
    assert float(row["macs"]) == 64 * 64 * 16 * 27 + 160


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # torch.fx cannot trace a branch on a tensor value
            return x
        return -x


class WithLayerNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4))

    def forward(self, x):
        return self.body(x)


def test_a_module_fx_cannot_trace_is_one_clear_error():
    with pytest.raises(NotSupportedError, match=r"^torch.fx cannot trace DataDependent: .*"):
        graph_from_module(DataDependent(), (3, 8, 8))


def test_an_op_without_a_cost_rule_names_the_op_and_the_module_path():
    with pytest.raises(NotSupportedError, match=r"no cost rule for GroupNorm at body\.1"):
        graph_from_module(WithLayerNorm(), (3, 8, 8))


def test_arithmetic_with_a_constant_has_no_cost_rule():
    class Shift(nn.Module):
        def forward(self, x):
            return x + 1.0

    with pytest.raises(NotSupportedError, match="no cost rule for add.*constant"):
        graph_from_module(Shift(), (3, 8, 8))


def test_a_torchvision_name_that_does_not_exist_says_so_and_suggests():
    torchvision_or_skip()
    with pytest.raises(UnknownNameError, match="has no callable 'resnet19'. Did you mean resnet1"):
        TorchAdapter().to_graph("torchvision.models:resnet19")


def test_a_module_that_does_not_import_says_so():
    with pytest.raises(UnknownNameError, match="Cannot import module 'no_such_pkg_xyz.nets'"):
        TorchAdapter().to_graph("no_such_pkg_xyz.nets:build")


@pytest.mark.parametrize(
    "line", ["resnet18", "torchvision.models:", "a b:c", "torchvision.models:resnet18()", ":x"]
)
def test_a_malformed_line_is_an_arch_format_error(line):
    with pytest.raises(ArchFormatError, match="Expected module:callable"):
        TorchAdapter().parse(line)


def test_the_cli_reports_a_malformed_line_in_one_line(capsys, tmp_path):
    archs = tmp_path / "models.txt"
    archs.write_text("torchvision.models.resnet18\n")
    _, err = fail(capsys, "score", "--space", "torch", "--archs", str(archs))
    assert "Expected module:callable" in err and len(err.strip().splitlines()) == 1


def test_an_input_too_small_for_the_model_says_how_to_set_it():
    model = nn.Sequential(nn.Conv2d(3, 4, 7), nn.Conv2d(4, 4, 7))
    with pytest.raises(GraphError, match="-O input_size=N"):
        graph_from_module(model, (3, 8, 8))


def test_bad_adapter_options_are_refused():
    with pytest.raises(ValueError, match="input_size"):
        TorchAdapter(input_size=0)


def test_parameters_the_eval_forward_never_uses_are_named_in_a_warning():
    class WithAux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Conv2d(3, 4, 3)
            self.aux = nn.Linear(4, 2)  # used only in training, as GoogLeNet's aux heads

        def forward(self, x):
            y = self.body(x)
            if self.training:
                return self.aux(y.mean([2, 3]))
            return y

    with pytest.warns(UserWarning, match=r"10 parameters \(in aux\) are not used"):
        graph = graph_from_module(WithAux(), (3, 8, 8))
    assert flash_nas.score(graph, ["params"])["params"] == 3 * 4 * 9 + 4


def test_a_sequence_model_is_refused_at_its_first_non_image_tensor():
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(8, 8)

        def forward(self, x):
            return self.proj(x.flatten(2).transpose(1, 2))

    with pytest.raises(NotSupportedError, match="no cost rule for Tensor.flatten at flatten: a tensor of rank 3"):
        graph_from_module(Tokens(), (8, 4, 4))
