"""The ZigZag simulator plugin: workload conversion, caching, targets, side effects."""

from __future__ import annotations

import json
import logging
import math
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("zigzag")

import flash_nas
from flash_nas import (
    ArchGraph,
    Edge,
    Layer,
    MissingDependencyError,
    Op,
    Tensor,
    UnknownNameError,
)
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_hardware.zigzag import driver as zigzag_driver, sim as zigzag_sim
from flash_nas_hardware.zigzag.sim import ZigZagLayer, ZigZagModel, graph_layers


def conv_op(name: str, c_in: int, c_out: int, kernel: int = 3, groups: int = 1) -> Op:
    return Op(
        name,
        (
            Layer("conv", c_in, c_out, kernel=kernel, padding=kernel // 2, groups=groups),
            Layer("bn", c_out, c_out),
            Layer("relu", c_out, c_out),
        ),
    )


def chain(widths, *, size: int = 8, head: bool = False, name: str = "") -> ArchGraph:
    """Image (3 channels) -> one 3x3 conv per width -> optionally global pooling and a linear."""
    nodes, edges, previous, channels = [Tensor("in", 3, size, size)], [], "in", 3
    for position, width in enumerate(widths):
        node = f"n{position}"
        nodes.append(Tensor(node, width, size, size))
        edges.append(Edge(previous, node, conv_op(f"conv{position}", channels, width)))
        previous, channels = node, width
    if head:
        nodes.append(Tensor("logits", 10, 1, 1))
        pool_linear = (Layer("global_avg_pool", channels, channels), Layer("linear", channels, 10))
        edges.append(Edge(previous, "logits", Op("head", pool_linear)))
        previous = "logits"
    return ArchGraph(tuple(nodes), tuple(edges), "in", previous, name=name or str(widths))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One disk cache for the module: each layer shape is simulated once per hardware."""
    return tmp_path_factory.mktemp("zigzag-cache")


@pytest.fixture(scope="module")
def aimc(cache_dir: Path) -> ZigZagModel:
    return ZigZagModel("aimc", cache_dir=cache_dir, progress=False)


@pytest.fixture(scope="module")
def tpu(cache_dir: Path) -> ZigZagModel:
    return ZigZagModel("tpu_like", cache_dir=cache_dir, progress=False)


@pytest.fixture
def count_calls(monkeypatch: pytest.MonkeyPatch) -> list[ZigZagLayer]:
    """Every layer handed to the simulator from now on."""
    calls: list[ZigZagLayer] = []
    simulate = zigzag_driver.simulate_layer

    def counting(setup, layer):
        calls.append(layer)
        return simulate(setup, layer)

    monkeypatch.setattr(zigzag_driver, "simulate_layer", counting)
    return calls


# ---------------------------------------------------------------------------------- workload
def test_every_live_conv_and_linear_becomes_a_layer():
    layers = graph_layers(chain((8, 16), head=True))
    assert layers == [
        ZigZagLayer("Conv", 8, 3, 1, 8, 8, 3, 1, 1, 8, 8),
        ZigZagLayer("Conv", 16, 8, 1, 8, 8, 3, 1, 1, 8, 8),
        ZigZagLayer("Gemm", 10, 16),
    ]
    assert sum(layer.macs for layer in layers) == 8 * 27 * 64 + 16 * 72 * 64 + 160
    conv = layers[0].zigzag()
    assert conv["operator_type"] == "Conv"
    assert dict(zip(conv["loop_dims"], conv["loop_sizes"])) == {
        "B": 1, "K": 8, "G": 1, "OX": 8, "OY": 8, "C": 3, "FX": 3, "FY": 3,
    }  # fmt: skip
    assert layers[2].zigzag()["loop_sizes"] == [1, 10, 16]


def test_pooling_sums_and_zero_edges_are_not_costed():
    """A pooling edge into a sum node adds no layer, and neither does a conv behind a zero edge."""
    plain = chain((8, 8))
    nodes = (*plain.nodes[:2], Tensor("n1", 8, 8, 8, "sum"))
    pool = Op("avg_pool_3x3", (Layer("avg_pool", 8, 8, kernel=3, padding=1),))
    with_pool = ArchGraph(nodes, (*plain.edges, Edge("n0", "n1", pool)), "in", "n1")
    assert graph_layers(with_pool) == graph_layers(plain)
    zeroed = ArchGraph(plain.nodes, (plain.edges[0], Edge("n0", "n1", Op.zero())), "in", "n0")
    assert len(graph_layers(zeroed)) == 1


def test_depthwise_convs_are_stored_block_diagonally_on_imc(aimc):
    depthwise = ArchGraph(
        (Tensor("in", 32, 16, 16), Tensor("out", 32, 16, 16)),
        (Edge("in", "out", conv_op("dw", 32, 32, groups=32)),),
        "in",
        "out",
    )
    (native,) = graph_layers(depthwise)
    assert (native.k, native.c, native.groups) == (1, 1, 32)
    assert native.zigzag()["name"] == "flash_nas_depthwise"
    # 128 rows hold 14 channels of 3x3 weights: 32 channels take 3 arrays of 11.
    (stored,) = aimc.workload(depthwise)
    assert (stored.k, stored.c, stored.groups) == (11, 11, 3)
    as_zigzag = ZigZagModel("aimc", imc_groups="zigzag", progress=False)
    assert as_zigzag.workload(depthwise) == [native]


def test_depthwise_convs_unroll_over_groups_on_an_array(tpu):
    """Without the G mapping entry a depthwise conv runs on one PE, slower than a dense conv."""
    shape = {"out_height": 8, "out_width": 8, "kernel": 3, "padding": 1, "in_height": 8}
    depthwise = ZigZagLayer("Conv", 1, 1, 16, in_width=8, **shape)
    dense = ZigZagLayer("Conv", 16, 16, 1, in_width=8, **shape)
    assert tpu.layer_cost(depthwise)[1] < tpu.layer_cost(dense)[1]


# ---------------------------------------------------------------------------------- results
def test_results_are_positive_and_finite(aimc, tpu):
    graph = chain((8, 8), head=True)
    for model in (aimc, tpu):
        values = model.estimate(graph)
        assert set(values) == set(model.quantities)
        assert all(math.isfinite(value) and value > 0 for value in values.values()), values


def test_more_work_costs_more(aimc, tpu):
    small, deeper = chain((8, 8)), chain((8, 8, 8))
    wide, wider = chain((8, 32)), chain((8, 64))  # 64 output channels: two passes of 32 PEs
    for model, less, more in ((aimc, small, deeper), (tpu, small, deeper), (tpu, wide, wider)):
        cheap, costly = model.estimate(less), model.estimate(more)
        assert costly["latency_ms"] > cheap["latency_ms"], model.variant
        assert costly["energy_mj"] > cheap["energy_mj"], model.variant


def test_area_is_reported_on_imc_hardware_only(aimc, tpu):
    assert aimc.quantities == ("latency_ms", "energy_mj", "area_mm2")
    assert tpu.quantities == ("latency_ms", "energy_mj")
    assert ZigZagModel.quantities == ("latency_ms", "energy_mj")  # the class is untouched
    graph = chain((8,))
    assert aimc.estimate(graph)["area_mm2"] == pytest.approx(aimc.area_mm2) and aimc.area_mm2 > 0
    assert "area_mm2" not in tpu.estimate(graph)


def test_latency_is_cycles_times_the_clock_period(tpu, cache_dir):
    graph = chain((8,))
    fast = ZigZagModel("tpu_like", clock_ghz=2.0, cache_dir=cache_dir, progress=False)
    assert fast.estimate(graph)["latency_ms"] == pytest.approx(
        tpu.estimate(graph)["latency_ms"] / 2
    )
    assert fast.estimate(graph)["energy_mj"] == tpu.estimate(graph)["energy_mj"]
    assert ZigZagModel("aimc", progress=False).clock_period_ns == pytest.approx(14.07, rel=1e-3)


# ---------------------------------------------------------------------------------- caching
def test_each_layer_shape_is_simulated_once(count_calls):
    model = ZigZagModel("aimc", progress=False)
    graph = chain((8, 8, 8, 8))  # the last three convs have the same shape
    first = model.estimate(graph)
    assert len(count_calls) == 2
    assert model.estimate(graph) == first
    model.estimate(chain((8, 8)))
    assert len(count_calls) == 2


def test_the_disk_cache_round_trips(tmp_path, count_calls, monkeypatch):
    graph = chain((8, 8))
    first = ZigZagModel("aimc", cache_dir=tmp_path, progress=False)
    values = first.estimate(graph)
    assert len(count_calls) == 2
    content = json.loads(first.cache_file.read_text())
    assert content["settings"]["zigzag"] == "3.9.1" and len(content["layers"]) == 2

    def refuse(setup, layer):
        raise AssertionError(f"simulated {layer} despite the disk cache")

    monkeypatch.setattr(zigzag_driver, "simulate_layer", refuse)
    assert ZigZagModel("aimc", cache_dir=tmp_path, progress=False).estimate(graph) == values
    other = ZigZagModel("aimc", cache_dir=tmp_path, lpf_limit=3, progress=False)
    assert other.cache_file != first.cache_file  # another search depth, another file


def test_a_damaged_disk_cache_says_how_to_recover(tmp_path):
    model = ZigZagModel("aimc", cache_dir=tmp_path, progress=False)
    model.cache_file.write_text("{not json")
    with pytest.raises(flash_nas.FlashNasError, match="damaged.*delete it"):
        model.estimate(chain((8,)))


@pytest.mark.slow
def test_a_process_pool_gives_the_same_numbers(aimc):
    graph = chain((8, 16, 8), head=True)
    pooled = ZigZagModel("aimc", processes=2, progress=False)
    assert pooled.estimate(graph) == aimc.estimate(graph)


# ---------------------------------------------------------------------------------- targets
def test_an_unknown_variant_lists_the_shipped_ones():
    with pytest.raises(UnknownNameError, match=r"'tpu_lik'; expected one of: aimc, .*tpu_like"):
        ZigZagModel("tpu_lik")


def test_a_users_hardware_file_is_accepted(tmp_path):
    own = tmp_path / "my_imc.yaml"
    shutil.copy(zigzag_driver.inputs_folder("hardware") / "aimc.yaml", own)
    model = ZigZagModel(hardware_yaml=own, progress=False)
    assert (model.variant, model.mapping_yaml.name) == ("my_imc", "default_imc.yaml")
    assert "area_mm2" in model.quantities
    with pytest.raises(FileNotFoundError, match="'hardware_yaml'.*does not exist"):
        ZigZagModel(hardware_yaml=tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lpf_limit": 0}, "'lpf_limit' parameter of ZigZagModel must be an int >= 1"),
        ({"processes": 0}, "'processes' parameter of ZigZagModel must be an int >= 1"),
        ({"clock_ghz": -1.0}, "'clock_ghz' parameter of ZigZagModel must be a finite number > 0"),
        ({"imc_groups": "dense"}, "'imc_groups' parameter .* 'block_diagonal', 'zigzag'"),
    ],
)
def test_bad_parameters_are_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        ZigZagModel("aimc", **options)


def test_registered_as_zigzag(add_plugin):
    if "zigzag" not in flash_nas.hardware_names():  # entry point not installed yet
        add_plugin(zigzag_sim, "zigzag_sim_under_test")
    model = flash_nas.get_hardware("zigzag:tpu_like")
    assert isinstance(model, ZigZagModel) and model.variant == "tpu_like"
    assert model.lpf_limit == 2 and model.mapping_yaml.name == "tpu_like.yaml"


# ---------------------------------------------------------------------------------- hygiene
def test_nothing_is_written_and_logging_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, zigzag_logger = logging.getLogger(), logging.getLogger("zigzag")
    levels = root.level, zigzag_logger.level
    handlers = list(root.handlers)
    ZigZagModel("aimc", progress=False).estimate(chain((4,)))
    assert list(tmp_path.iterdir()) == []
    assert (root.level, zigzag_logger.level) == levels
    assert root.handlers == handlers


def test_a_missing_zigzag_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "zigzag", None)
    zigzag_driver.import_zigzag.cache_clear()
    try:
        with pytest.raises(MissingDependencyError, match=r"pip install 'flash-nas\[zigzag\]'"):
            ZigZagModel("aimc")
    finally:
        monkeypatch.undo()
        zigzag_driver.import_zigzag.cache_clear()


def test_another_zigzag_version_warns(monkeypatch):
    import zigzag

    monkeypatch.setattr(zigzag, "__version__", "9.9.9")
    zigzag_driver.import_zigzag.cache_clear()
    try:
        with pytest.warns(UserWarning, match=r"checked against zigzag-dse 3\.9\.1, but 9\.9\.9"):
            zigzag_driver.import_zigzag()
    finally:
        monkeypatch.undo()
        zigzag_driver.import_zigzag.cache_clear()


class TestZigZagContract(HardwareModelContract):
    @pytest.fixture
    def model(self, aimc):
        return aimc

    @pytest.fixture
    def graphs(self):
        return [chain((8,)), chain((8, 8), head=True), chain((4, 8, 4))]
