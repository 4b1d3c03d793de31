"""The constrained part (search under a latency limit, judged by the true latency): its quick
mode through ``python -m benchmarks``, how it judges a recommendation, what Optuna's constraint
sees, the hypervolume, and its named figures against its CSVs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import __main__ as bench_main
from benchmarks.suite import PARTS, constrained
from benchmarks.suite.constrained import RUN_COLUMNS, Settings, execute, judge_rows
from benchmarks.suite.constrained_report import results
from benchmarks.suite.constrained_runs import (
    Device,
    Outcome,
    Space,
    best_within,
    constraint_values,
    engine_outcome,
    hypervolume,
    load_device,
    load_space,
    normalised_hypervolume,
    optuna_outcome,
    optuna_study,
    trained_architectures,
)
from benchmarks.suite.report import Csv

FIRST_SEED = 3
ENGINE_ROWS = ("bo_m0", f"bo_m{Settings.of(True).measurements}", "ceiling")


def _quick(folder: Path) -> str:
    stdout = io.StringIO()
    argv = ["--suite", "constrained", "--quick", "--first-seed", str(FIRST_SEED)]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        status = bench_main.main([*argv, "--output", str(folder / "results")])
    assert status == 0
    return stdout.getvalue()


@pytest.fixture(scope="session")
def quick_constrained(once: Callable[..., Any]) -> tuple[str, Path]:
    """``python -m benchmarks --suite constrained --quick --first-seed 3``, run once."""
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    pytest.importorskip("optuna", reason="the part runs Optuna's samplers: the [optuna] extra")
    stdout, folder = once("quick-constrained", _quick)
    return stdout, folder / "results"


def _rows(output: Path, name: str) -> list[dict[str, str]]:
    with (output / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_part_is_registered_outside_all_with_its_own_seeds_and_jobs():
    part = PARTS["constrained"]
    assert part.run is constrained.run and not part.in_all and part.first_seed
    assert part.seeds == (2, 20)
    assert [option.flag for option in part.options] == ["--jobs", "--constrained-reuse"]


@pytest.mark.slow
def test_quick_mode_runs_every_row_on_every_seed(quick_constrained):
    stdout, output = quick_constrained
    runs = _rows(output, "constrained_runs")
    settings = Settings.of(True)
    assert {r["seed"] for r in runs} == {str(FIRST_SEED), str(FIRST_SEED + 1)}
    assert {r["method"] for r in runs} == set(settings.methods())
    assert len(runs) == len(settings.methods()) * 2 * len(settings.devices)
    assert {r["labels"] for r in runs} == {str(settings.trainings)}
    front = _rows(output, "constrained_front")
    assert {r["method"] for r in front} == set(constrained.FRONT_METHODS)
    assert "constrained, raspi4 q25: FLASH-BO (M = 0) breaks the true limit in" in stdout


@pytest.mark.slow
def test_every_engine_row_recommends_a_measured_architecture_within_the_limit(quick_constrained):
    _, output = quick_constrained
    runs = [r for r in _rows(output, "constrained_runs") if r["method"] in ENGINE_ROWS]
    assert runs
    for row in runs:
        assert row["measured"] == "1", row
        assert float(row["told_latency_ms"]) <= float(row["limit_ms"]), row
        # measured = the table's latency: what the engine holds is the truth
        assert float(row["told_latency_ms"]) == pytest.approx(float(row["true_latency_ms"]))
        assert row["feasible"] == "1", row


@pytest.mark.slow
def test_the_named_figures_are_the_csvs_values(quick_constrained):
    _, output = quick_constrained
    found = json.loads((output / "constrained.json").read_text())["results"]
    runs = _rows(output, "constrained_runs")
    for device, data in found["devices"].items():
        for limit, at in data["limits"].items():
            for method, row in at["methods"].items():
                mine = [
                    r
                    for r in runs
                    if (r["device"], r["limit"], r["method"]) == (device, limit, method)
                ]
                held = [float(r["test_accuracy"]) for r in mine if r["feasible"] == "1"]
                assert row["runs"] == len(mine) == 2
                assert row["over_limit"] == len(mine) - len(held)
                if held:
                    assert row["test"] == pytest.approx([np.mean(held), np.std(held)], abs=1e-4)
                else:
                    assert row["test"] is None
                over = [int(r["trained_over_limit"]) for r in mine]
                assert row["trained_over_limit"] == pytest.approx(np.mean(over))
                assert all(0 <= n <= int(r["labels"]) for n, r in zip(over, mine))
        front = _rows(output, "constrained_front")
        for method, (mean, std) in data["hypervolume"].items():
            values = [
                float(r["hypervolume"])
                for r in front
                if r["device"] == device and r["method"] == method
            ]
            assert [mean, std] == pytest.approx([np.mean(values), np.std(values)], abs=1e-5)
    # the overall gap: the ceiling's mean test accuracy minus the row's, over every device
    # and limit where both hold
    gaps = [
        at["methods"]["ceiling"]["test"][0] - at["methods"]["bo_m0"]["test"][0]
        for data in found["devices"].values()
        for at in data["limits"].values()
        if at["methods"]["ceiling"]["test"] and at["methods"]["bo_m0"]["test"]
    ]
    overall = found["overall"]["bo_m0"]["gap_to_ceiling"]
    assert overall == pytest.approx([np.mean(gaps), min(gaps), max(gaps)])
    assert found["overall"]["ceiling"]["gap_to_ceiling"] is None
    report = (output / "report.md").read_text()
    default = found["devices"]["raspi4"]["limits"]["q25"]["methods"]["bo_m0"]
    assert f"| FLASH-BO, M = 0 | {default['over_limit']}/2 |" in report


def _toy() -> tuple[Space, Device]:
    texts = ("a", "b", "c")
    space = Space(texts, {"a": 90.0, "b": 80.0, "c": 70.0}, {"a": 91.0, "b": 81.0, "c": 71.0})
    return space, Device("toy", {"a": 12.0, "b": 8.0, "c": math.nan})


def test_a_recommendation_is_judged_by_its_true_latency_not_what_its_method_believes(
    monkeypatch,
):
    space, device = _toy()
    monkeypatch.setattr(constrained, "load_space", lambda: space)
    monkeypatch.setattr(constrained, "load_device", lambda name: device)
    quantile = 0.5  # the toy device's median of 8 and 12 ms: a 10 ms limit
    assert device.limit(quantile) == 10.0
    outcomes = [
        Outcome("bo_m0", 0, "a", 9.5, False),  # predicted within, truly 12 ms: breaks
        Outcome("bo_m0", 1, "b", 11.0, False, ["a", "b", "c"]),  # predicted over, truly 8 ms
        Outcome("bo_m0", 2, "c", 1.0, True, ["c", "c"]),  # the device could not run it: breaks
        Outcome("bo_m0", 3, None, None, False, ["b"]),  # nothing to recommend: breaks
        Outcome("tpe", 1, "b", 8.0, True),
    ]
    runs = Csv("constrained_runs", RUN_COLUMNS)
    judge_rows(outcomes, "toy", quantile, runs)
    assert runs.column("feasible") == [0, 1, 0, 0, 1]
    # a trained network over the limit, or one the device could not run, counts against it
    assert runs.column("trained_over_limit") == [0, 2, 2, 0, 0]
    references = Csv(
        "r", ("device", "limit", "limit_ms", "best_valid_accuracy", "best_test_accuracy")
    )
    references.add("toy", "q50", 10.0, 80.0, 81.0)
    front = Csv("f", ("device", "seed", "method", "labels", "hypervolume"))
    settings = Settings(("toy",), (quantile,), 1, 0, 1, 1)
    found = results(runs, front, references, {"bo_m0": "x", "tpe": "y"}, settings)
    row = found["devices"]["toy"]["limits"]["q50"]["methods"]["bo_m0"]
    assert (row["runs"], row["over_limit"], row["none"]) == (4, 3, 1)
    assert row["test"] == [81.0, 0.0] and row["paired_tpe"] == [0.0]
    assert row["trained_over_limit"] == 1.0  # (0 + 2 + 2 + 0) / 4 runs
    # no ceiling row: no gap to it; TPE's difference to itself is not taken
    assert found["overall"]["bo_m0"] == {
        "gap_to_ceiling": None,
        "minus_tpe": 0.0,
        "trained_over_limit": 1.0,
    }
    assert found["overall"]["tpe"]["minus_tpe"] is None


def test_the_baselines_recommend_the_best_label_whose_measured_latency_holds():
    space, _ = _toy()
    assert best_within(["a", "b", "c"], [12.0, 8.0, None], space, 10.0) == ("b", 8.0)
    assert best_within(["a", "c"], [12.0, None], space, 10.0) == (None, None)


def test_optunas_constraint_is_the_measured_latency_minus_the_limit():
    pytest.importorskip("optuna", reason="the [optuna] extra")
    space = load_space()
    # a measurement unlike the true table, so a constraint read from the table would differ
    measured = {t: 1.0 + (len(t) % 7) for t in space.texts}
    seen: list[str] = []

    def measure(text: str) -> float | None:
        seen.append(text)
        return None if text.count("none") >= 2 else measured[text]  # the device failed

    for sampler in ("tpe", "nsga2"):
        study = optuna_study(sampler, 0, 12, space.valid.__getitem__, measure, 4.0)
        for trial in study.trials:
            text = trial.user_attrs["arch"]
            expected = math.inf if measure(text) is None else measured[text] - 4.0
            assert constraint_values(trial) == [expected]
        # two objectives: a network the device could not run is infeasible, not a failed
        # trial that the sampler would propose again
        study = optuna_study(sampler, 0, 12, space.valid.__getitem__, measure)
        for trial in study.trials:
            text = trial.user_attrs["arch"]
            failed = measure(text) is None
            assert constraint_values(trial) == [math.inf if failed else 0.0]
            assert trial.values == [space.valid[text], math.inf if failed else measured[text]]
        kinds = {measure(t.user_attrs["arch"]) is None for t in study.trials}
        assert kinds == {True, False}  # both cases seen
    device = Device("fake", {t: measured[t] for t in space.texts})
    outcome = optuna_outcome("tpe", space, device, 4.0, 0, trainings=12)
    assert outcome.text is not None and measured[outcome.text] <= 4.0 and outcome.measured
    best = max((t for t in outcome.trained if measured[t] <= 4.0), key=space.valid.__getitem__)
    assert outcome.text == best


def test_hypervolume_of_a_hand_computed_front():
    points = [
        (80.0, 1.0),
        (90.0, 2.0),
        (85.0, 3.0),  # dominated by (90, 2)
        (95.0, 5.0),  # slower than the reference: adds nothing
        (50.0, 0.5),  # less accurate than the reference: adds nothing
    ]
    # strips from the fastest: (4 - 1) x (80 - 60) + (4 - 2) x (90 - 80) = 60 + 20
    assert hypervolume(points, (60.0, 4.0)) == pytest.approx(80.0)
    assert hypervolume([], (60.0, 4.0)) == 0.0
    assert hypervolume([(90.0, 2.0), (90.0, 2.0)], (60.0, 4.0)) == pytest.approx(60.0)


def test_the_normalised_hypervolume_divides_by_the_box_the_space_spans():
    space, device = load_space(), load_device("fpga")
    valid = np.array(list(space.valid.values()))
    latency = np.array(list(device.latency.values()))
    best = max(space.texts, key=space.valid.__getitem__)
    box = np.ptp(valid) * np.ptp(latency)
    expected = (valid.max() - valid.min()) * (latency.max() - device.latency[best]) / box
    assert normalised_hypervolume([best, best], space, device) == pytest.approx(expected)
    assert 0 < expected < 1


def test_jobs_in_other_processes_come_back_in_order():
    jobs = [(math.pow, (2.0, float(k))) for k in range(5)]
    assert execute(jobs, 2, False) == execute(jobs, 1, False) == [1.0, 2.0, 4.0, 8.0, 16.0]


@pytest.mark.slow
def test_trained_architectures_are_the_default_rows_and_it_recommends_one(quick_constrained):
    _, output = quick_constrained
    settings = Settings.of(True)
    (row,) = [
        r
        for r in _rows(output, "constrained_runs")
        if r["method"] == "bo_m0" and r["seed"] == str(FIRST_SEED)
    ]
    device = load_device(row["device"])
    limit_ms = device.limit(settings.quantiles[0])
    trained = trained_architectures(row["device"], limit_ms, FIRST_SEED, settings.trainings)
    assert len(trained) == len(set(trained)) == settings.trainings
    # the default row recommends the best label among what it trained within the limit
    holding = [t for t in trained if device.latency[t] <= limit_ms]
    assert row["arch"] == max(holding, key=load_space().valid.__getitem__)


def test_an_engine_with_nothing_left_to_propose_recommends_from_what_it_trained(
    exhaust_after,
) -> None:
    exhaust_after(4)
    space, device = load_space(), load_device("edgegpu")
    outcome = engine_outcome(space, device, device.limit(0.25), 2, trainings=8)
    assert len(outcome.trained) == 4 and outcome.text in outcome.trained
    assert outcome.note.startswith("the search was exhausted after 4 of 8 trainings")
