"""The Raspberry Pi 3B analytical model: contract, magnitudes, monotonicity, calibration."""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import flash_nas
from flash_nas import ArchGraph, FlashNasError, ListBatch
from flash_nas.cost.calibration import calibrate
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_adapters.flash.space import (
    BLOCKS,
    DEFAULT_DEPTHS,
    DEFAULT_WIDTHS,
    CellConfig,
    FlashSpaceAdapter,
)
from flash_nas_hardware import pi3b
from flash_nas_hardware.pi3b import LOAD_POWER_W, Pi3BModel

ALL_CONV3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
SKIP_ONLY = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"  # the output is the input
LATENCY = [c.name for c in Pi3BModel.coefficients if c.quantity == "latency_ms"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def nb201(input_size: int = 32):
    return flash_nas.get_adapter("nasbench201", input_size=input_size)


@functools.cache
def flash(block: str, input_size: int = 32) -> FlashSpaceAdapter:
    return flash_nas.get_adapter("flash", block=block, input_size=input_size)


def nb201_graph(text: str, input_size: int = 32) -> ArchGraph:
    adapter = nb201(input_size)
    return adapter.to_graph(adapter.parse(text))


class TestPi3BContract(HardwareModelContract):
    @pytest.fixture
    def model(self) -> Pi3BModel:
        return Pi3BModel()

    @pytest.fixture
    def graphs(self) -> list[ArchGraph]:
        nb = nb201()
        texts = [ALL_NONE, ALL_CONV3X3, nb.format(nb.from_index(0))]
        flash_graphs = [flash(block).sample(1, seed=0).graph(0) for block in BLOCKS]
        return [nb201_graph(text) for text in texts] + flash_graphs


def test_registered_as_pi3b(add_plugin):
    if "pi3b" not in flash_nas.hardware_names():  # until pyproject.toml names the entry point
        add_plugin(pi3b, "pi3b-under-test")
    assert isinstance(flash_nas.get_hardware("pi3b"), Pi3BModel)


def test_coefficients_are_documented_and_energy_is_power_times_latency():
    names = Pi3BModel.coefficient_names()
    assert len(set(names)) == len(names) == 16
    for coefficient in Pi3BModel.coefficients:
        assert coefficient.source and coefficient.unit and coefficient.default > 0
        assert coefficient.quantity in Pi3BModel.quantities
    by_name = {c.name: c.default for c in Pi3BModel.coefficients}
    for name in LATENCY:
        energy = name.replace("ms_per_", "mj_per_")
        assert by_name[energy] == pytest.approx(LOAD_POWER_W * by_name[name], rel=1e-12)
    graph = nb201_graph(ALL_CONV3X3)
    values = Pi3BModel().estimate(graph)
    assert values["energy_mj"] == pytest.approx(LOAD_POWER_W * values["latency_ms"], rel=1e-12)


def named_events(graph: ArchGraph) -> dict[str, float]:
    model = Pi3BModel()
    return dict(zip(model.coefficient_names(), model.events(graph)))


def test_mac_events_add_up_to_the_macs_metric():
    kinds = ("conv", "pointwise", "depthwise", "linear")
    for graph in [nb201_graph(ALL_CONV3X3)] + [flash(b).sample(1, 3).graph(0) for b in BLOCKS]:
        events = named_events(graph)
        macs = sum(events[f"ms_per_{kind}_mac"] for kind in kinds)
        assert macs == flash_nas.score(graph, ["macs"])["macs"]
    assert named_events(flash("mobilenet").sample(1, 0).graph(0))["ms_per_depthwise_mac"] > 0
    assert named_events(flash("dense").sample(1, 0).graph(0))["ms_per_depthwise_mac"] == 0


def test_default_magnitudes_are_plausible():
    model = Pi3BModel()
    biggest = model.estimate(nb201_graph(ALL_CONV3X3))["latency_ms"]
    # NB201's biggest cell is ~220 M MACs (~223 M FLOPs). fp32 runtimes on in-order A53 cores
    # reach roughly 5-25 % of the 19.2 G MAC/s NEON peak, i.e. 1-5 G MAC/s: ~45-230 ms for the
    # MACs alone, plus memory traffic and per-layer overhead. So tens to a few hundred ms.
    assert 20 < biggest < 500
    # The all-none cell's output is a constant: a compiler folds the whole network, and the board
    # pays only the call itself (HW-NAS-Bench's Raspberry Pi 4 measures ~0.01 ms for such cells).
    smallest = model.estimate(nb201_graph(ALL_NONE))["latency_ms"]
    assert smallest == pytest.approx(model.cost("ms_per_inference"))
    # The cheapest cell that computes something still runs the stem, both reductions and the
    # head (~7.8 M MACs): a few ms; every cell lies between the extremes.
    skip_only = model.estimate(nb201_graph(SKIP_ONLY))["latency_ms"]
    assert 0.5 < skip_only < 30
    everything = model.estimate_batch(nb201().enumerate())["latency_ms"]
    assert everything.min() == pytest.approx(smallest)
    assert everything.max() == pytest.approx(biggest)
    assert np.sort(np.unique(everything.round(9)))[1] == pytest.approx(skip_only)


def test_whole_nb201_space_is_estimated_fast():
    batch = nb201().enumerate()
    start = time.perf_counter()
    values = Pi3BModel().estimate_batch(batch)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"15,625 cells took {elapsed:.3f} s"
    assert values["latency_ms"].shape == (15_625,)
    assert np.all(np.isfinite(values["energy_mj"]))


def test_choice_batch_agrees_with_graphs():
    model = Pi3BModel()
    batch = nb201().sample(30, seed=4)
    batched = model.estimate_batch(batch)
    for position in range(len(batch)):
        single = model.estimate(batch.graph(position))
        for quantity in model.quantities:
            assert batched[quantity][position] == pytest.approx(single[quantity], rel=1e-9)


# --------------------------------------------------------------------------------- monotonicity
def assert_not_cheaper(small: ArchGraph, large: ArchGraph) -> None:
    """Every event count grows (so any non-negative costs, calibrated ones too, agree), and so
    do the default latency and energy."""
    model = Pi3BModel()
    assert np.all(model.events(large) >= model.events(small))
    before, after = model.estimate(small), model.estimate(large)
    for quantity in model.quantities:
        assert after[quantity] >= before[quantity], (quantity, small.name, large.name)


@st.composite
def flash_archs(draw: st.DrawFn) -> tuple[str, tuple[CellConfig, ...]]:
    block = draw(st.sampled_from(BLOCKS))
    cells = []
    for _ in range(3):
        width = draw(st.sampled_from(DEFAULT_WIDTHS))
        depth = draw(st.sampled_from(DEFAULT_DEPTHS))
        skips = draw(st.integers(0, flash(block).skip_capacity(width, depth)))
        cells.append(CellConfig(width, depth, skips))
    return block, tuple(cells)


@SETTINGS
@given(flash_archs(), st.data())
def test_wider_or_deeper_flash_cells_never_cost_less(arch, data):
    block, cells = arch
    adapter = flash(block)
    growable = [
        (cell, field, value)
        for cell, config in enumerate(cells)
        for field, allowed in (("width", DEFAULT_WIDTHS), ("depth", DEFAULT_DEPTHS))
        for value in allowed
        if value > getattr(config, field)
    ]
    assume(growable)
    cell, field, value = data.draw(st.sampled_from(growable))
    old = cells[cell]
    grown = old._replace(**{field: value})
    if data.draw(st.booleans(), label="scale skips"):  # keep the same share of the capacity
        capacity = adapter.skip_capacity(old.width, old.depth)
        new_capacity = adapter.skip_capacity(grown.width, grown.depth)
        grown = grown._replace(skips=old.skips * new_capacity // capacity if capacity else 0)
    larger = (*cells[:cell], grown, *cells[cell + 1 :])
    assert_not_cheaper(adapter.to_graph(cells), adapter.to_graph(larger))


@SETTINGS
@given(flash_archs(), st.lists(st.integers(4, 64), min_size=2, max_size=2, unique=True))
def test_larger_flash_inputs_never_cost_less(arch, sizes):
    block, cells = arch
    small, large = sorted(sizes)
    assert_not_cheaper(flash(block, small).to_graph(cells), flash(block, large).to_graph(cells))


@SETTINGS
@given(
    st.tuples(*[st.integers(0, 4)] * 6),
    st.lists(st.sampled_from(range(8, 68, 4)), min_size=2, max_size=2, unique=True),
)
def test_larger_nb201_inputs_never_cost_less(ops, sizes):
    small, large = sorted(sizes)
    assert_not_cheaper(nb201(small).to_graph(ops), nb201(large).to_graph(ops))


def test_every_nb201_cell_costs_more_at_64_than_at_32():
    model = Pi3BModel()
    at_32 = model.events_batch(nb201(32).enumerate())
    at_64 = model.events_batch(nb201(64).enumerate())
    assert np.all(at_64 >= at_32)
    # a network whose output is constant runs nothing, whatever the input size: only the call
    whole = nb201(32).enumerate()
    executed, pattern = whole.skeleton.liveness(whole.choices, executed=True)
    constant = ~executed[pattern].any(axis=1)
    assert 0 < constant.sum() < len(constant)
    latency_32 = model.from_events(at_32)["latency_ms"]
    latency_64 = model.from_events(at_64)["latency_ms"]
    assert np.all(latency_64[~constant] > latency_32[~constant])
    np.testing.assert_allclose(latency_64[constant], model.cost("ms_per_inference"))


# ---------------------------------------------------------------------------------- calibration
@pytest.fixture(scope="module")
def mixed_batch() -> ListBatch:
    """Networks whose events vary independently: NB201 at two input sizes and every FLASH block
    (the mobilenet block brings depthwise MACs, FLASH's heads vary the linear layer)."""
    items = []
    for size in (16, 32):
        sample = nb201(size).sample(20, seed=size)
        items += [(f"nb201@{size}:{sample.arch_text(i)}", sample.graph(i)) for i in range(20)]
    for block in BLOCKS:
        sample = flash(block).sample(15, seed=1)
        items += [(sample.arch_text(i), sample.graph(i)) for i in range(15)]
    return ListBatch(items, lambda item: item[1], lambda item: item[0])


def test_calibration_recovers_known_costs(mixed_batch, tmp_path):
    truth = Pi3BModel()
    rng = np.random.default_rng(7)
    truth.set_costs({name: truth.cost(name) * rng.uniform(0.3, 3.0) for name in LATENCY})
    measured = truth.estimate_batch(mixed_batch)["latency_ms"]

    profile = calibrate(Pi3BModel(), mixed_batch, {"latency_ms": measured}, fit_samples=25)
    for name in LATENCY:
        assert profile.costs[name] == pytest.approx(truth.cost(name), rel=1e-6), name
    assert profile.fit["latency_ms"].mape < 1e-9

    path = tmp_path / "pi3b.json"
    profile.save(path)
    refitted = Pi3BModel(profile=path)
    predicted = refitted.estimate_batch(mixed_batch)["latency_ms"]
    np.testing.assert_allclose(predicted, measured, rtol=1e-9)
    # Only latency was measured; energy = board power x latency follows it (issue 10).
    refitted_energy = refitted.estimate_batch(mixed_batch)["energy_mj"]
    np.testing.assert_allclose(refitted_energy, LOAD_POWER_W * predicted, rtol=1e-9)
    assert not np.allclose(refitted_energy, Pi3BModel().estimate_batch(mixed_batch)["energy_mj"])


def test_a_profile_of_another_model_is_rejected(mixed_batch, tmp_path):
    class OtherModel(Pi3BModel):
        pass

    measured = OtherModel().estimate_batch(mixed_batch)["latency_ms"]
    path = tmp_path / "other.json"
    calibrate(OtherModel(), mixed_batch, {"latency_ms": measured}, fit_samples=25).save(path)
    with pytest.raises(FlashNasError, match="fitted for the OtherModel model, not Pi3BModel"):
        Pi3BModel(profile=path)
