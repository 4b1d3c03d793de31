"""Measured costs told to the engine (issue 21): recorded, used in place of predictions,
learned from (refit, spread), saved, and refused when malformed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flash_nas.cost.robust_fit import fit_toward, robust_fit_toward
from flash_nas.errors import CostError, NoFeasibleArchitectureError, ParameterError, StateError
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.engine import PROPOSE_FLOOR
from flash_nas.search.engine.schedule import measurements_before

LATENCY = "latency_ms"


def _engine(limit: float | None = 6.0, **settings: object) -> SearchEngine:
    limits = {} if limit is None else {"max_latency_ms": limit}
    return SearchEngine(
        "nasbench201", hardware="pi3b", objective="acc", seed=3, **limits, **settings
    )


def _prior(engine: SearchEngine, arch: object) -> float:
    row = engine.candidates.add([arch])[0]
    return float(engine.candidates.column(f"prior:{LATENCY}")[row])


def _computing(engine: SearchEngine, count: int, *, below: float = math.inf) -> list[object]:
    """Architectures of the pool that compute something, their model latency below ``below``."""
    c = engine.candidates
    rows = engine.pool_rows[~c.column("cut_off")[engine.pool_rows]]
    rows = rows[c.column(f"prior:{LATENCY}")[rows] < below]
    return [c.archs[r] for r in rows[:: max(1, len(rows) // count)][:count]]


def test_told_costs_are_recorded_and_replace_the_prediction() -> None:
    engine = _engine()
    (proposal,) = engine.ask()
    engine.tell([proposal.arch], [88.0], costs={LATENCY: [4.25]})
    assert engine.measured == {proposal.arch: {LATENCY: 4.25}}
    assert engine.measured_costs(proposal.text) == {LATENCY: 4.25}
    rec = engine.recommend()
    assert rec.arch == proposal.arch
    assert rec.values[LATENCY] == pytest.approx(4.25)
    assert rec.costs_measured and rec.p_feasible == 1.0
    # over the limit once measured: impossible, whatever the model said
    engine.measure([proposal.arch], {LATENCY: [60.0]})
    assert engine.feasibility([proposal.arch])[0] == 0.0


@pytest.fixture(scope="module")
def pending() -> tuple[SearchEngine, object]:
    """One engine with one pending proposal, shared by tests that record nothing."""
    engine = _engine()
    (proposal,) = engine.ask()
    return engine, proposal


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"memory_mb": [1.0]}, "does not report; it reports latency_ms, energy_mj"),
        ({LATENCY: [-1.0]}, "a positive number"),
        ({LATENCY: [float("nan")]}, "a positive number"),
        ({LATENCY: [0.0]}, "a positive number"),
        ({LATENCY: [True]}, "must be a number"),
        ({LATENCY: ["3"]}, "must be a number"),
        ({LATENCY: [1.0, 2.0]}, "2 values for 1 architecture"),
        ({LATENCY: 3.0}, "must be a list"),
        ([3.0], "must map each measured quantity"),
    ],
)
def test_bad_costs_are_refused_before_anything_is_recorded(
    costs: object, message: str, pending: tuple[SearchEngine, object]
) -> None:
    engine, proposal = pending
    with pytest.raises(CostError, match=message):
        engine.tell([proposal.arch], [88.0], costs=costs)  # type: ignore[arg-type]
    assert engine.trials[proposal.arch].status == "pending"  # the label was not recorded
    assert engine.measured == {}
    with pytest.raises(CostError, match=message):
        engine.measure([proposal.arch], costs)  # type: ignore[arg-type]
    assert engine.measured == {}


def test_a_cost_for_an_architecture_outside_the_space_is_refused(
    pending: tuple[SearchEngine, object],
) -> None:
    engine, _ = pending
    with pytest.raises(CostError, match="Cannot record costs for .*unknown op 'conv_7x7'"):
        engine.measure(["|conv_7x7~0|+|none~0|none~1|+|none~0|none~1|none~2|"], {LATENCY: [1.0]})
    with pytest.raises(CostError, match="not an architecture of the nasbench201"):
        engine.measure([("not", "a", "cell")], {LATENCY: [1.0]})
    assert engine.measured == {}


def test_a_cost_without_a_hardware_model_names_what_is_missing() -> None:
    engine = SearchEngine("nasbench201", objective="acc", seed=0)
    (proposal,) = engine.ask()
    with pytest.raises(CostError, match=r"reports nothing \(no hardware model\)"):
        engine.tell([proposal.arch], [80.0], costs={LATENCY: [2.0]})


def test_measurements_refit_the_model_for_the_architectures_not_measured() -> None:
    engine = _engine(limit=None)
    measured = _computing(engine, 8)
    # a device exactly twice as slow as the model everywhere
    engine.measure(measured, {LATENCY: [2.0 * _prior(engine, a) for a in measured]})
    others = [a for a in _computing(engine, 40) if a not in engine.measured][:10]
    rows = engine.candidates.add(others)
    predicted = engine.candidates.column(f"value:{LATENCY}")[rows]
    prior = engine.candidates.column(f"prior:{LATENCY}")[rows]
    np.testing.assert_allclose(predicted / prior, 2.0, rtol=0.05)
    profile = engine.cost_profile()
    assert profile is not None and profile.model == "Pi3BModel"
    assert profile.fit[LATENCY].how == "leave-one-out" and profile.fit[LATENCY].mape < 0.05
    # energy follows the refitted latency, as calibration carries it
    assert "carried from the fitted latency_ms" in profile.calibrated["energy_mj"]


def test_the_refit_profile_loads_into_the_model(tmp_path) -> None:
    from flash_nas_hardware.pi3b import Pi3BModel

    engine = _engine(limit=None)
    measured = _computing(engine, 6)
    engine.measure(measured, {LATENCY: [3.0 * _prior(engine, a) for a in measured]})
    path = tmp_path / "fitted.json"
    engine.cost_profile().save(path)
    model = Pi3BModel(profile=path)
    graph = engine.adapter.to_graph(measured[0])
    assert model.estimate(graph)[LATENCY] == pytest.approx(3.0 * _prior(engine, measured[0]), 0.05)


def test_an_outlier_measurement_is_set_aside_and_named() -> None:
    engine = _engine(limit=None)
    measured = _computing(engine, 12)
    values = [1.5 * _prior(engine, a) for a in measured]
    values[4] = values[4] / 70  # a row measured wrong, as HW-NAS-Bench's 0.137 ms Pi 4 cell
    engine.measure(measured, {LATENCY: values})
    aside = engine.candidates.beliefs.set_aside[LATENCY]
    assert [arch for arch, *_ in aside] == [measured[4]]
    profile = engine.cost_profile()
    assert any(engine.adapter.format(measured[4]) in note for note in profile.notes)
    # the clean rows decide the fit
    assert profile.fit[LATENCY].mape < 0.05


def test_spread_widens_with_disagreement_and_limits_are_judged_with_it() -> None:
    engine = _engine(limit=8.0)
    assert engine.candidates.beliefs.spread[LATENCY] == pytest.approx(
        engine.hardware.prior_log_spread(LATENCY)
    )
    rng = np.random.default_rng(0)
    measured = _computing(engine, 10)
    noisy = [_prior(engine, a) * math.exp(rng.normal(0.0, 0.4)) for a in measured]
    engine.measure(measured, {LATENCY: noisy})
    spread = engine.candidates.column(f"spread:{LATENCY}")
    unmeasured = ~np.isin(np.arange(len(spread)), engine.candidates.add(measured))
    assert spread[unmeasured].min() > 0.05  # the residuals are wide: so is the spread
    c = engine.candidates
    p = c.column("p_feasible")[engine.pool_rows]
    values = c.column(f"value:{LATENCY}")[engine.pool_rows]
    cut = c.column("cut_off")[engine.pool_rows]
    # probabilities strictly between 0 and 1 near the limit; feasible means >= confidence
    near = (~cut) & (np.abs(np.log(values / 8.0)) < 0.05)
    assert near.any() and ((p[near] > 0.05) & (p[near] < 0.95)).all()
    feasible = c.column("feasible")[engine.pool_rows]
    np.testing.assert_array_equal(feasible, p >= engine.confidence)


def test_an_exact_model_keeps_exact_limits() -> None:
    # the specification costs alone: the class's own spread, until something is measured
    engine = SearchEngine(
        "nasbench201",
        hardware="pi3b",
        hardware_options={"profile": "specs"},
        objective="acc",
        max_latency_ms=30.0,
        seed=0,
    )
    exact = SearchEngine(
        "nasbench201", hardware="hwnasbench:raspi4", objective="acc", max_latency_ms=8.0, seed=0
    )
    p = exact.candidates.column("p_feasible")
    assert set(np.unique(p)) <= {0.0, 1.0}
    values = exact.candidates.column(f"value:{LATENCY}")
    np.testing.assert_array_equal(exact.candidates.column("feasible"), (values <= 8.0) & (p > 0))
    assert engine.candidates.beliefs.spread[LATENCY] == pytest.approx(0.9)


def test_the_recommendation_is_measured_feasible_when_one_is() -> None:
    engine = _engine(limit=6.0)
    fits, breaks = _computing(engine, 2, below=3.0)
    engine.tell([fits, breaks], [80.0, 93.0], costs={LATENCY: [5.0, 7.5]})
    rec = engine.recommend()
    assert rec.arch == fits and rec.costs_measured and rec.values[LATENCY] == 5.0
    # a better label whose costs are only predicted does not displace the measured one
    (unmeasured,) = [a for a in _computing(engine, 30, below=2.6) if a not in (fits, breaks)][:1]
    engine.tell([unmeasured], [95.0])
    assert engine.recommend().arch == fits


def test_without_measurements_the_note_gives_the_probability() -> None:
    engine = _engine(limit=6.0)
    (arch,) = _computing(engine, 1, below=2.6)
    engine.tell([arch], [85.0])
    rec = engine.recommend()
    assert not rec.costs_measured
    assert f"probability {rec.p_feasible:.2f}" in rec.note and "predicted, not measured" in rec.note


def test_a_limit_nothing_meets_with_the_confidence_names_the_closest() -> None:
    engine = _engine(limit=6.0)
    archs = _computing(engine, 2, below=4.0)
    engine.tell(archs, [80.0, 82.0], costs={LATENCY: [9.0, 11.0]})
    with pytest.raises(NoFeasibleArchitectureError, match=r"closest: .*latency_ms 9.*P 0\.00"):
        engine.recommend()


def test_ask_measure_offers_uncertain_untried_architectures() -> None:
    engine = _engine(limit=6.0)
    offered = engine.ask_measure(5)
    assert 0 < len(offered) <= 5
    assert all(0.02 <= o.p_feasible < engine.confidence for o in offered)
    assert all(o.source == "measure" for o in offered)
    engine.measure([o.arch for o in offered], {LATENCY: [1.0] * len(offered)})
    again = engine.ask_measure(5)
    assert not {o.arch for o in again} & {o.arch for o in offered}
    assert _engine(limit=None).ask_measure(3) == []  # nothing limited: nothing uncertain


def test_measurements_survive_a_save_and_load(tmp_path) -> None:
    engine = _engine(limit=6.0)
    for _ in range(3):
        (p,) = engine.ask()
        engine.tell([p.arch], [85.0], costs={LATENCY: [1.7 * _prior(engine, p.arch)]})
    extra = engine.ask_measure(2)
    engine.measure([e.arch for e in extra], {LATENCY: [4.0, 5.0][: len(extra)]})
    path = tmp_path / "state.json"
    engine.save(path)
    loaded = SearchEngine.load(path)
    assert loaded.measured == engine.measured
    assert loaded.confidence == engine.confidence
    np.testing.assert_allclose(
        loaded.candidates.column("p_feasible"), engine.candidates.column("p_feasible")
    )
    assert [p.text for p in loaded.ask(2)] == [p.text for p in engine.ask(2)]


def test_a_malformed_measurement_in_a_state_is_refused(tmp_path) -> None:
    engine = _engine(limit=6.0)
    (p,) = engine.ask()
    engine.tell([p.arch], [85.0], costs={LATENCY: [3.0]})
    data = engine.to_dict()
    data["measurements"][0]["costs"][LATENCY] = -3.0
    with pytest.raises(StateError, match="a positive number"):
        SearchEngine.from_dict(data)
    data["measurements"][0]["costs"] = {LATENCY: "fast"}
    with pytest.raises(StateError, match="'costs' must be an object of quantity names"):
        SearchEngine.from_dict(data)


@pytest.mark.parametrize("confidence", [0.3, 1.0, True, "high"])
def test_confidence_must_be_a_probability(confidence: object) -> None:
    with pytest.raises(ParameterError, match=r"confidence must be a probability in \[0.5, 1\)"):
        _engine(confidence=confidence)


def test_the_schedule_spreads_measurements_over_the_trainings() -> None:
    for budget, extra in [(25, 25), (25, 7), (10, 0), (3, 10)]:
        spent = [measurements_before(step, budget, extra) for step in range(budget)]
        assert sum(spent) == extra
        assert max(spent) - min(spent) <= 1


def test_fit_toward_one_row_keeps_the_prior_shape_and_many_rows_find_the_costs() -> None:
    rng = np.random.default_rng(1)
    events = rng.uniform(0.0, 10.0, size=(40, 3))
    true = np.array([1.0, 2.0, 0.5])
    measured = events @ true
    prior = np.array([10.0, 10.0, 10.0])
    one = fit_toward(events[:1], measured[:1], prior, 0.1)
    np.testing.assert_allclose(one / one[0], [1.0, 1.0, 1.0], rtol=1e-6)
    assert events[0] @ one == pytest.approx(measured[0], rel=1e-6)
    np.testing.assert_allclose(fit_toward(events, measured, prior, 0.1), true, rtol=0.08)
    wrong = measured.copy()
    wrong[3] /= 70
    robust = robust_fit_toward(events, wrong, prior, 0.1)
    assert np.flatnonzero(~robust.kept).tolist() == [3]
    clean = np.arange(40) != 3
    np.testing.assert_allclose(robust.costs, fit_toward(events[clean], measured[clean], prior, 0.1))


def test_the_docs_measure_what_you_train_example_runs_as_written() -> None:
    """docs/engine.md's example, with the shipped NAS-Bench-201 labels and HW-NAS-Bench's
    Raspberry Pi 4 latencies standing in for training and for the device."""
    import re
    from pathlib import Path

    import flash_nas
    from flash_nas_adapters.nasbench201.space import load_shipped_table
    from flash_nas_hardware.hwnasbench import TableHardwareModel

    text = (Path(__file__).parents[1] / "docs" / "engine.md").read_text(encoding="utf-8")
    section = text.split("## Measured costs", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], flags=re.S)
    adapter = flash_nas.plugins.get_adapter("nasbench201")
    labels = load_shipped_table()["c10_valid"]
    device = TableHardwareModel("raspi4")
    index = {text: i for i, text in enumerate(adapter.enumerate().texts())}
    told: list[float] = []

    def train(text: str) -> float:
        return float(labels[index[text]])

    def time_on_device(text: str) -> float:
        told.append(device.estimate(adapter.to_graph(adapter.parse(text)))[LATENCY])
        return told[-1]

    scope = {"flash_nas": flash_nas, "train": train, "time_on_device": time_on_device}
    exec(compile(code, "docs/engine.md", "exec"), scope)
    best = scope["best"]
    assert len(told) == 25 and best.costs_measured
    assert best.values[LATENCY] in told and best.values[LATENCY] <= 8.0


def test_a_device_faster_than_the_models_scale_is_searched_not_refused() -> None:
    """HW-NAS-Bench's Edge TPU runs every NAS-Bench-201 cell several times faster than `pi3b`'s
    own costs say: a limit below the model's fastest cell is within reach once one measurement
    sets the scale, so the engine starts, trains the closest cells and then searches what the
    measurements put under the limit. A limit no plausible scale reaches is still refused."""
    plain = _engine(None)
    fastest = min(_prior(plain, a) for a in _computing(plain, 400))
    limit = fastest / 4
    engine = _engine(limit)
    assert engine.feasibility([engine.candidates.archs[engine.pool_rows[0]]])[0] < 0.01
    first = engine.ask(3)
    assert first and all(_prior(engine, p.arch) < 2 * fastest for p in first)
    # the device: every cell ten times faster than the model says
    engine.tell(
        [p.arch for p in first],
        [80.0] * len(first),
        costs={LATENCY: [_prior(engine, p.arch) / 10 for p in first]},
    )
    following = engine.ask(5)
    assert any(_prior(engine, p.arch) > 2 * fastest for p in following)
    # every one likely enough to meet the limit to be worth a training
    assert all(engine.feasibility([p.arch])[0] >= PROPOSE_FLOOR for p in following)
    with pytest.raises(NoFeasibleArchitectureError, match="Closest: "):
        _engine(fastest / 1000)


def test_only_a_models_own_costs_leave_its_scale_in_doubt(tmp_path) -> None:
    from flash_nas import get_hardware

    assert get_hardware("pi3b").prior_scale_spread(LATENCY) == pytest.approx(math.log(10) / 1.96)
    assert get_hardware("pi3b", profile="specs").prior_scale_spread(LATENCY) > 1.0
    engine = _engine(None)
    archs = _computing(engine, 8)
    engine.tell(archs, [80.0] * 8, costs={LATENCY: [_prior(engine, a) / 3 for a in archs]})
    profile = engine.cost_profile()
    assert profile is not None
    profile.save(tmp_path / "fitted.json")
    fitted = get_hardware("pi3b", profile=str(tmp_path / "fitted.json"))
    assert fitted.prior_scale_spread(LATENCY) == 0.0


def test_a_choice_the_models_form_misprices_is_learned_as_its_own_cost() -> None:
    # A device that runs every 3x3 average pool 2.5 ms slower than the model's form says (as
    # HW-NAS-Bench's Eyeriss runs pools as slowly as 3x3 convolutions): no rescaling of the
    # form's costs per MAC, byte or layer fits it, one cost per choice does.
    engine = _engine(limit=None)
    pools = {a: engine.adapter.format(a).count("avg_pool_3x3") for a in _computing(engine, 400)}

    def device(arch: object) -> float:
        return _prior(engine, arch) + 2.5 * pools[arch]

    archs = list(pools)
    measured, others = archs[::10][:30], [a for a in archs if a not in archs[::10]][:120]
    engine.measure(measured, {LATENCY: [device(a) for a in measured]})
    assert engine.candidates.beliefs.choice_costs[LATENCY].size  # the per-choice fit won
    rows = engine.candidates.add(others)
    predicted = engine.candidates.column(f"value:{LATENCY}")[rows]
    error = np.abs(np.log(predicted / np.array([device(a) for a in others])))
    assert np.median(error) < 0.05 and error.max() < 0.25
    # the form alone, refitted on the same rows, is far off on the pool-heavy cells
    prior = engine.candidates.column(f"prior:{LATENCY}")[rows]
    heavy = np.array([pools[a] >= 3 for a in others])
    assert heavy.any() and np.median(error[heavy]) < 0.05
    assert (
        np.median(
            np.abs(np.log(prior[heavy] / np.array([device(a) for a, h in zip(others, heavy) if h])))
        )
        > 0.3
    )


def test_per_choice_costs_stay_out_when_the_form_fits() -> None:
    engine = _engine(limit=None)
    measured = _computing(engine, 20)
    rng = np.random.default_rng(1)
    engine.measure(
        measured,
        {LATENCY: [2.0 * _prior(engine, a) * math.exp(rng.normal(0, 0.02)) for a in measured]},
    )
    costs = engine.candidates.beliefs.choice_costs[LATENCY]
    # no per-choice cost, or ones too small to matter beside a cell's latency
    assert not costs.size or costs.max() < 0.05 * float(
        np.median([_prior(engine, a) for a in measured])
    )


def test_an_architecture_that_does_not_run_meets_no_limit_and_is_saved_so(tmp_path) -> None:
    engine = _engine(limit=6.0)
    first, second = engine.ask(2)
    engine.tell([first.arch, second.arch], [91.0, 84.0], costs={LATENCY: [math.inf, 3.0]})
    assert engine.feasibility([first.arch])[0] == 0.0
    rec = engine.recommend()  # the better label does not run: the other one is recommended
    assert rec.arch == second.arch and rec.costs_measured
    # inf is no row of the refit: the model's costs stay finite
    assert np.isfinite(engine.candidates.beliefs.costs).all()
    path = tmp_path / "state.json"
    engine.save(path)
    assert '"does not run"' in path.read_text()
    loaded = SearchEngine.load(path)
    assert loaded.measured[first.arch] == {LATENCY: math.inf}
    assert loaded.recommend().arch == second.arch


def test_the_chance_to_run_is_learned_from_what_did_not() -> None:
    # a device that cannot run any cell with a 3x3 average pool, as the Edge TPU fails on
    # some cells: after a few measurements, pool cells are judged less likely to fit at all
    engine = _engine(limit=None)
    archs = _computing(engine, 300)
    pools = np.array(["avg_pool_3x3" in engine.adapter.format(a) for a in archs])
    measured = archs[:40:2]
    engine.measure(
        measured,
        {LATENCY: [math.inf if p else _prior(engine, a) for a, p in zip(measured, pools[:40:2])]},
    )
    beliefs = engine.candidates.beliefs
    rows = engine.candidates.add(archs[40:])
    inputs = engine.inputs(rows)
    chance = beliefs.chance_runs(inputs)
    assert chance[pools[40:]].mean() < 0.5 < chance[~pools[40:]].mean()
    # one failure among a few rows: a share, never certainty either way
    small = _engine(limit=None)
    few = _computing(small, 3)
    small.measure(few, {LATENCY: [math.inf, 2.0, 2.5]})
    assert small.candidates.beliefs.chance_runs(np.zeros((2, 1)))[0] == pytest.approx(3 / 5)
