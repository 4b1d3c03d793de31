"""Measured inference: the host (CPU) and cuda hardware models."""

from __future__ import annotations

import math

import pytest

import flash_nas
from flash_nas import ArchGraph, Edge, Layer, NotSupportedError, Op, Tensor
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_hardware import host
from flash_nas_hardware.host import CudaModel, HostModel

torch = pytest.importorskip("torch", reason="timing inference needs the [torch] extra")

ALL_CONV3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def tiny_graph() -> ArchGraph:
    conv = Op("conv", (Layer("conv", 3, 4, kernel=3, padding=1), Layer("relu", 4, 4)))
    head = Op("head", (Layer("global_avg_pool", 4, 4), Layer("linear", 4, 2, bias=True)))
    return ArchGraph(
        (Tensor("image", 3, 8, 8), Tensor("features", 4, 8, 8), Tensor("logits", 2, 1, 1)),
        (Edge("image", "features", conv), Edge("features", "logits", head)),
        "image",
        "logits",
        name="tiny",
    )


def nb201_graph(text: str) -> ArchGraph:
    adapter = flash_nas.get_adapter("nasbench201")
    return adapter.to_graph(adapter.parse(text))


class TestHostContract(HardwareModelContract):
    @pytest.fixture
    def model(self) -> HostModel:
        return HostModel(warmup=1, repeats=2)

    @pytest.fixture
    def graphs(self) -> list[ArchGraph]:
        return [tiny_graph(), nb201_graph(ALL_NONE)]


def test_registered_as_host_and_cuda(add_plugin):
    if "host" not in flash_nas.hardware_names():  # until pyproject.toml names the entry point
        add_plugin(host, "host-under-test")
    assert {"host", "cuda"} <= set(flash_nas.hardware_names())
    assert isinstance(flash_nas.get_hardware("host", repeats=2), HostModel)


def test_tiny_graph_latency_is_positive_and_finite():
    latency = HostModel(batch_size=2, warmup=1, repeats=3).estimate(tiny_graph())["latency_ms"]
    assert math.isfinite(latency) and latency > 0


def test_many_more_macs_measure_slower():
    # 220 M MACs against 7.8 M (the all-none cell keeps only the stem, reductions and head).
    model = HostModel(repeats=5)
    slow = model.estimate(nb201_graph(ALL_CONV3X3))["latency_ms"]
    fast = model.estimate(nb201_graph(ALL_NONE))["latency_ms"]
    assert slow > 2 * fast, (slow, fast)


def test_reports_the_median_of_the_timed_repeats(monkeypatch):
    # Warm-up passes are not timed; three timed passes take 1 s, 3 s and 2 s.
    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])
    monkeypatch.setattr(host, "perf_counter", lambda: next(ticks))
    latency = HostModel(warmup=2, repeats=3).estimate(tiny_graph())["latency_ms"]
    assert latency == pytest.approx(2000.0)


def test_a_graph_is_measured_once_per_model():
    model = HostModel(warmup=1, repeats=2)
    graph = tiny_graph()
    assert model.estimate(graph) == model.estimate(graph)
    assert len(model._measured) == 1


def test_threads_are_set_for_the_measurement_and_restored(monkeypatch):
    seen = []
    real_build = host.build_module

    def spying_build(graph, **options):
        module = real_build(graph, **options)
        module.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
        return module

    monkeypatch.setattr(host, "build_module", spying_build)
    before = torch.get_num_threads()
    HostModel(threads=before + 1, warmup=1, repeats=2).estimate(tiny_graph())
    assert seen == [before + 1] * 3
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("name", "value"),
    [("threads", 0), ("batch_size", -2), ("warmup", 1.5), ("repeats", True), ("repeats", "10")],
)
def test_arguments_are_validated(name, value):
    message = f"The '{name}' parameter of HostModel must be an int >= 1. Got {value!r} instead."
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace('.', '[.]')}$"):
        HostModel(**{name: value})


def test_repr_names_the_settings():
    assert repr(HostModel(threads=2)) == (
        "HostModel(threads=2, batch_size=1, warmup=3, repeats=10, executed=True)"
    )


def test_cuda_without_a_gpu_says_so_and_points_to_host(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(
        NotSupportedError, match=r"no GPU is visible.*Use the 'host' hardware model"
    ):
        CudaModel()
    with pytest.raises(ValueError, match="'repeats' parameter of CudaModel"):
        CudaModel(repeats=0)


def test_cuda_estimate_checks_the_gpu_again(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    model = CudaModel(repeats=1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NotSupportedError, match="no GPU is visible"):
        model.estimate(tiny_graph())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
def test_cuda_measures_on_the_gpu():
    model = CudaModel(warmup=2, repeats=5)
    slow = model.estimate(nb201_graph(ALL_CONV3X3))["latency_ms"]
    tiny = model.estimate(tiny_graph())["latency_ms"]
    assert math.isfinite(tiny) and tiny > 0
    assert math.isfinite(slow) and slow > 0


def test_the_host_times_what_a_device_executes_unless_told_otherwise(monkeypatch):
    from flash_nas_hardware import host

    nb201 = flash_nas.get_adapter("nasbench201")
    # the conv 2 -> 3 reads a node fed by none edges only: executed, not live
    graph = nb201.to_graph(
        nb201.parse(
            "|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
        )
    )
    built = []
    real_build = host.build_module

    def counting_build(graph, **options):
        module = real_build(graph, **options)
        built.append(sum(p.numel() for p in module.parameters()))
        return module

    monkeypatch.setattr(host, "build_module", counting_build)
    HostModel(warmup=1, repeats=1).estimate(graph)
    HostModel(warmup=1, repeats=1, executed=False).estimate(graph)
    assert built[1] == flash_nas.score(graph, ["params"])["params"] < built[0]
    with pytest.raises(ValueError, match="'executed' parameter of HostModel must be true or false"):
        HostModel(executed="yes")
