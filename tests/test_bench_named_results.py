"""Every benchmark part the README quotes writes its figures by name into ``PART.json``
(``results``), which tests/test_readme_figures.py checks the README against: a part that loses a
named figure fails here, before the README's marker does.

Two kinds of test: each part's function that builds ``results`` on small synthetic inputs (fast,
no part is run), and the ``PART.json`` files of the suite's shared quick runs
(tests/bench_runs.py), which exist in any case for the other benchmark tests.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from benchmarks.suite import (
    engine,
    imc_zigzag,
    integrations,
    nni_tuners,
    pi3,
    scale,
    scoring,
    search_flash,
    search_spaces,
    speed,
)
from benchmarks.suite.report import Csv, plain
from flash_nas.search.shgo import LevelTiming

NAME = re.compile(r"^\w+$")


def paths(value: Any, prefix: str = "") -> set[str]:
    """Every dotted key of nested dicts (each dict's own keys and its leaves')."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            assert NAME.match(key), f"{prefix}{key!r} is not a README-markable name"
            found.add(prefix + key)
            found |= paths(item, f"{prefix}{key}.")
    return found


def lookup(results: dict[str, Any], key: str) -> Any:
    value: Any = results
    for name in key.split("."):
        value = value[name]
    return value


def checked(results: dict[str, Any], part: str) -> dict[str, Any]:
    """``results`` as the writer saves it (finite numbers, no bools), with markable names."""
    saved = json.loads(json.dumps(plain(results, part), allow_nan=False))
    paths(saved)
    return saved


def spread(value: Any, length: int = 2) -> bool:
    return (
        isinstance(value, list)
        and len(value) == length
        and all(isinstance(number, float) for number in value)
    )


# --------------------------------------------------------------------------- what each part names
def scoring_keys() -> set[str]:
    return {
        "n_archs",
        "repeats",
        "batched_ms",
        "batched_range_ms",
        "batched_us_per_arch",
        "per_graph_us",
        "per_graph_sample",
        "speedup",
        "peak_mb",
        "per_metric_ms.nn_degree",
        "per_metric_ms.params",
    }


def scale_keys(sizes: tuple[int, ...]) -> set[str]:
    each = ("n_archs", "seconds", "seconds_mean", "peak_mb", "us_per_arch")
    return {"repeats", "largest"} | {f"sizes.n{n}.{key}" for n in sizes for key in each}


ENGINE_TIMINGS = ("python_pass", "help", "plugins", "nb201_ask", "flash_ask8", "flash_one_shot")


def engine_keys() -> set[str]:
    each = ("ms", "slowest_ms", "repeats")
    return {"help_ratio"} | {f"{what}.{key}" for what in ENGINE_TIMINGS for key in each}


def speed_keys(sizes: tuple[int, ...]) -> set[str]:
    sized = ("ms", "us_per_arch", "peak_mb", "naswot_seconds", "naswot_measured", "naswot_ratio")
    cells = (
        "space_size",
        "evaluations",
        "cold_ms",
        "warm_ms",
        "objective_ratio",
        "better_than_random_pct",
    )
    return (
        {"naswot_seconds", "naswot_archs", "random_draws"}
        | {f"scoring.n{n}.{key}" for n in sizes for key in sized}
        | {f"shgo.cells{c}.{key}" for c in speed.CELLS for key in cells}
    )


def search_flash_keys() -> set[str]:
    strategy = (
        "runs",
        "evaluations",
        "objective",
        "gap_pct",
        "feasible",
        "ms",
        "worse_than_shgo_pct",
        "time_ratio",
    )
    found = {f"speed.{key}" for key in search_flash.SPEED_KEYS}
    for objective in search_flash.OBJECTIVE_KEYS.values():
        at = f"objectives.{objective}"
        found |= {f"{at}.{key}" for key in ("grid_points", "grid_ms", "grid_objective")}
        found |= {f"{at}.first_shgo_ms", f"{at}.levels.level1.ms", f"{at}.levels.repair.ms"}
        found |= {
            f"{at}.strategies.{name}.{key}"
            for name in search_flash.STRATEGY_KEYS.values()
            for key in strategy
        }
    return found


def search_spaces_keys() -> set[str]:
    found = {"labels"}
    for space in search_spaces.SPACE_KEYS.values():
        found.add(f"spaces.{space}.pool_best")
        for method in search_spaces.METHOD_KEYS.values():
            found |= {f"spaces.{space}.{method}.{key}" for key in ("test", "regret", "test_regret")}
    return found


def integrations_keys(checkpoints: tuple[int, ...]) -> set[str]:
    found = {"trials", "checkpoints"}
    for framework, methods in integrations.METHOD_KEYS.items():
        for method in methods.values():
            at = f"frameworks.{framework}.{method}"
            found.add(f"{at}.ms_per_trial")
            found |= {f"{at}.{kind}.t{c}" for c in checkpoints for kind in ("test", "paired")}
    return found


def nni_keys(checkpoints: tuple[int, ...]) -> set[str]:
    found = {"seeds", "trials", "checkpoints", "from_trial"}
    for tuner in nni_tuners.TUNER_KEYS.values():
        at = f"tuners.{tuner}"
        found |= {f"{at}.{key}" for key in ("proposal_ms", "proposal_seconds", "smallest_lead")}
        found |= {f"{at}.{key}" for key in ("paired", "lead", "lead_at", "proposal_slowest_ms")}
        for kind in ("incumbent", "best"):
            found |= {f"{at}.{kind}.t{c}" for c in checkpoints}
        if tuner.startswith("flash"):
            found |= {f"{at}.lead.best", f"{at}.lead_at.incumbent"}
        else:
            found |= {f"{at}.paired.t{c}" for c in checkpoints}
    return found


# --------------------------------------------------------------------------- synthetic inputs
def test_scoring_names_the_times_memory_and_speed_up():
    found = scoring.Scoring([40.0, 36.0, 38.0], 41.0, 0.74, 500, {"nn_degree": 30.0, "params": 3.0})
    results = checked(scoring.results(found), "scoring")
    assert scoring_keys() <= paths(results)
    assert results["batched_ms"] == 38.0 and results["batched_range_ms"] == [36.0, 40.0]
    assert results["batched_us_per_arch"] == pytest.approx(38.0 / 15625 * 1e3)
    assert results["per_graph_us"] == pytest.approx(740.0)
    assert results["speedup"] == pytest.approx(found.speedup) and results["peak_mb"] == 41.0


def test_pi3_names_each_way_of_predicting_each_network_and_the_factor():
    from flash_nas_hardware.pi3b import Pi3BModel

    report = pi3.Measured(seeds=2)
    for threads in pi3.THREADS:
        report.summaries += [
            pi3.Summary(method, threads, 0.9, 0.1 * threads, 0.5)
            for method in list(pi3.METHOD_KEYS)[:4]
        ]
    report.layers = [
        pi3.Summary("MACs alone (c = median over layers)", 0, 0.94, 0.29, 0.6),
        pi3.Summary("pi3b, refit on 25 layers (mean over seeds)", 2, 0.96, 0.25, 0.64),
    ]
    report.layer_count = (208, 220)
    report.networks = [
        {
            "network": "resnet18",
            "torchvision": "resnet18",
            "input": 224,
            "macs": 1_810_000_000,
            "measured_4": 270.0,
            "uncalibrated": 720.0,
            "calibrated_4": 290.0,
        },
        {
            "network": "alexnet",
            "torchvision": "alexnet",
            "input": 227,
            "macs": 720_000_000,
            "measured_4": 160.0,
            "uncalibrated": 320.0,
            "calibrated_4": 180.0,
        },
    ]
    report.profile = pi3.shipped_profile(Pi3BModel(profile=None), 0.4)
    results = checked(pi3.named_figures(report), "pi3")
    assert {
        "threads_4.factor.mape",
        "threads_1.refit.within",
        "convs.refit.rho",
        "networks.resnet18.calibrated_4",
        "factor",
        "specs_over_measured",
    } <= paths(results)
    assert results["threads_1"]["factor"]["mape"] == pytest.approx(10.0)  # in %
    assert results["convs"]["macs"]["within"] == pytest.approx(60.0)
    assert results["convs"]["refit"]["rho"] == 0.96 and results["convs"]["priced"] == 208
    assert results["networks"]["resnet18"]["gmacs"] == pytest.approx(1.81)
    assert results["specs_over_measured"] == [2.0, pytest.approx(720 / 270)]
    assert results["factor"] == pytest.approx(0.4)


def test_imc_zigzag_names_each_variant_space_and_quantity():
    from flash_nas.cost.profile import Fit

    def fit(rho: float, mape: float) -> Fit:
        return Fit(spearman=rho, kendall=rho, mape=mape, within_10pct=0.5, rows=100)

    found = imc_zigzag.Agreement(held_out=100, seeds=2)
    found.rows = [
        ("aimc", "flash", "latency_ms", [fit(0.99, 0.07), fit(0.97, 0.09)]),
        ("dimc", "flash", "energy_mj", [fit(0.95, 0.10), fit(0.95, 0.10)]),
        ("aimc", "nasbench201", "latency_ms", [fit(0.999, 0.01), fit(0.997, 0.015)]),
    ]
    found.timings = {"imc: all 15,625 NB201 cells": 0.2}
    results = checked(imc_zigzag.named_figures(found), "imc_zigzag")
    assert {
        "aimc.flash.latency_ms.mape",
        "dimc.flash.energy_mj.rho",
        "spaces.nasbench201.min_rho",
        "spaces.flash.max_mape",
    } <= paths(results)
    assert results["aimc"]["flash"]["latency_ms"]["rho"] == pytest.approx(0.98)
    assert results["aimc"]["flash"]["latency_ms"]["mape"] == pytest.approx(8.0)  # in %
    assert results["spaces"]["flash"] == {
        "min_rho": pytest.approx(0.95),
        "max_mape": pytest.approx(10.0),
    }
    assert results["spaces"]["nasbench201"]["max_mape"] == pytest.approx(1.25)


def test_scale_names_each_size():
    rows = Csv("scale_cli", ("n_archs", "repeat", "seconds", "peak_mb"))
    for size, seconds in ((10_000, (1.4, 1.5, 1.3)), (1_000_000, (4.4, 4.6, 4.3))):
        for repeat, value in enumerate(seconds):
            rows.add(size, repeat, value, 500.0 + repeat)
    results = checked(scale.results(rows, (10_000, 1_000_000), 3), "scale")
    assert scale_keys((10_000, 1_000_000)) <= paths(results)
    largest = results["sizes"]["n1000000"]
    assert largest["seconds"] == 4.4 and largest["peak_mb"] == 502.0
    assert spread(largest["seconds_mean"]) and results["largest"] == 1_000_000


def test_engine_names_every_timing_and_the_start_up_ratio():
    times = {what: [0.02, 0.03, 0.04] for what in engine.KEYS}
    times["flash-nas --help"] = [0.04, 0.05, 0.06]
    results = checked(engine.results(times), "engine")
    assert engine_keys() <= paths(results)
    assert results["help"]["ms"] == pytest.approx(50.0)
    assert results["help"]["slowest_ms"] == pytest.approx(60.0)
    assert results["help_ratio"] == pytest.approx(50 / 30)


def test_speed_names_each_size_and_cell_count():
    scoring_rows = Csv("speed_scoring", ("n_archs", "repeat", "seconds"))
    memory = Csv("speed_memory", ("n_archs", "peak_mb"))
    ratio = Csv("speed_ratio", speed.RATIO_COLUMNS)
    for size in (10, 100):
        for repeat in range(2):
            scoring_rows.add(size, repeat, 1e-5 * (repeat + 1))
        memory.add(size, 0.01 * size)
        ratio.add(size, int(size == 10), 2.0 * size, 1.5e-5, 2.0 * size / 1.5e-5)
    shgo = Csv("speed_shgo", speed.SHGO_COLUMNS)
    for cells in speed.CELLS:
        for repeat in range(3):
            shgo.add(cells, 10.0**cells, repeat, int(repeat == 0), 0.01 * cells, 100, 1.0, 0.99)
    results = checked(speed.results(scoring_rows, memory, ratio, shgo, [2.0, 2.2], 1000), "speed")
    assert speed_keys((10, 100)) <= paths(results)
    assert results["scoring"]["n10"]["ms"] == pytest.approx([0.015, 0.005])
    assert results["scoring"]["n10"]["naswot_measured"] == 1
    five = results["shgo"]["cells5"]
    assert five["warm_ms"] == pytest.approx([50.0, 0.0]) and five["cold_ms"] == pytest.approx(50.0)
    assert five["better_than_random_pct"] == pytest.approx((np.exp(0.01) - 1) * 100)


def _runs(strategy: str, space: str, logs: list[float], seconds: float) -> search_flash.Runs:
    runs = search_flash.Runs(strategy, space)
    runs.log_objective, runs.seconds = logs, [seconds] * len(logs)
    runs.evaluations, runs.feasible = [200] * len(logs), [True] * len(logs)
    runs.archs = ["arch"] * len(logs)
    return runs


def test_search_flash_names_every_objective_stage_and_strategy():
    found = search_flash.Results(seeds=2, speed={f"timing {n}": 0.001 * n for n in range(1, 5)})
    for name, text, limits in search_flash.OBJECTIVES:
        scenario = search_flash.Scenario(name, text, limits, 46656, 21952, 0.5, 0.0, "grid arch")
        scenario.levels = [
            LevelTiming("level 1 (widths, depths)", 0.044, 150),
            LevelTiming("level 2 (skips)", 0.001, 0),
            LevelTiming("integer repair", 0.012, 95),
        ]
        scenario.runs = [
            _runs(strategy, space, [0.0, 0.0] if space == "grid" else [0.001, 0.001], 0.05)
            for strategy, space in search_flash.STRATEGY_KEYS
        ]
        scenario.runs[3] = _runs("random search", "whole space", [-0.1, -0.2], 0.1)
        found.scenarios.append(scenario)
    results = checked(search_flash.results(found), "search_flash")
    assert search_flash_keys() <= paths(results)
    weighted = results["objectives"]["weighted"]
    assert weighted["levels"]["level1"] == {"ms": pytest.approx(44.0), "evaluations": 150}
    shgo, random = weighted["strategies"]["shgo"], weighted["strategies"]["random"]
    assert shgo["gap_pct"][0] == pytest.approx((1 - np.exp(0.001)) * 100)  # beats the grid
    assert shgo["worse_than_shgo_pct"] == [0.0, 0.0] and shgo["time_ratio"] == 1.0
    assert random["time_ratio"] == pytest.approx(2.0) and random["worse_than_shgo_pct"][0] > 9
    assert results["speed"]["estimate_cold_ms"] == pytest.approx(1.0)


def test_search_spaces_names_each_space_and_method():
    rows = Csv("search_spaces", ("space", "method", "seed", "judged_accuracy", "best_accuracy"))
    bests = {name: 95.0 for name in search_spaces.SPACE_KEYS}
    for name in bests:
        for method in search_spaces.METHOD_KEYS:
            for seed, value in enumerate((94.0, 94.5)):
                rows.add(name, method, seed, value, 95.0)
    results = checked(search_spaces.results(rows, bests, 25), "search_spaces")
    assert search_spaces_keys() <= paths(results)
    bo = results["spaces"]["nasbench201"]["bo"]
    assert bo["test"] == [94.25, 0.25] and bo["regret"] == 0.75
    assert bo["test_regret"] == [94.25, 0.25, 0.75]


def test_integrations_names_each_method_and_checkpoint():
    curves = Csv("integrations_curves", ("framework", "method", "seed", "labels", "test_accuracy"))
    timing = Csv("integrations_time", ("framework", "method", "seed", "per_trial_seconds"))
    for framework, methods in integrations.METHOD_KEYS.items():
        for offset, method in enumerate(methods):
            for seed in range(3):
                for labels in (20, 30):
                    curves.add(framework, method, seed, labels, 94.0 - offset * 0.5 + 0.1 * seed)
                timing.add(framework, method, seed, 0.001)
    results = checked(integrations.results(curves, timing, [20, 30], 30), "integrations")
    assert integrations_keys((20, 30)) <= paths(results)
    optuna = results["frameworks"]["optuna"]
    assert optuna["flash"]["paired"] == {"t20": None, "t30": None}
    assert optuna["tpe"]["paired"]["t30"] == pytest.approx([0.5, 0.5, 0.5])
    assert spread(optuna["random"]["test"]["t20"]) and optuna["random"]["ms_per_trial"] == 1.0


def _comparison(seeds: int, trials: int) -> nni_tuners.Comparison:
    rng = np.random.default_rng(0)
    comparison = nni_tuners.Comparison(seeds, trials)
    for name in nni_tuners.TUNERS:
        comparison.runs[name] = [
            nni_tuners.Run(
                list(rng.uniform(90, 91, trials)),
                list(rng.uniform(93, 94, trials)),
                list(rng.uniform(1e-4, 1e-3, trials)),
            )
            for _ in range(seeds)
        ]
    return comparison


@pytest.mark.parametrize(
    ("trials", "checkpoints"), [(30, (20, 25, 30)), (22, (20, 22)), (12, (12,))]
)
def test_nni_tuners_names_each_tuner_and_budget(trials, checkpoints):
    comparison = _comparison(3, trials)
    results = checked(nni_tuners.results(comparison), "nni_tuners")
    assert nni_keys(checkpoints) <= paths(results)
    assert tuple(results["checkpoints"]) == checkpoints
    mean, half = comparison.paired("TPE")
    last = checkpoints[-1] - 1
    tpe = results["tuners"]["tpe"]
    assert tpe["paired"][f"t{last + 1}"] == pytest.approx(
        [mean[last], mean[last] - half[last], mean[last] + half[last]]
    )
    flash = comparison.curves("incumbent_test")["FLASH"][:, last]
    assert results["tuners"]["flash"]["incumbent"][f"t{last + 1}"] == pytest.approx(
        [flash.mean(), flash.std()]
    )
    assert results["tuners"]["flash"]["paired"] is None


# --------------------------------------------------------------------------- the shared quick runs
#: Each part of the shared quick runs (tests/bench_runs.py: ``--quick --seeds 2``, nni_tuners
#: with ``--nni-trials 22``) and the named figures its ``PART.json`` must hold.
QUICK = {
    "scoring": ("rest", scoring_keys()),
    "scale": ("rest", scale_keys(scale.QUICK_SIZES)),
    "engine": ("rest", engine_keys()),
    "speed": ("rest", speed_keys((10, 100, 1_000, 10_000))),
    "search_flash": ("apart", search_flash_keys()),
    "nni_tuners": ("apart", nni_keys((20, 22))),
    "search_spaces": ("seeded", search_spaces_keys()),
    "integrations": ("seeded", integrations_keys((integrations.QUICK_BUDGET,))),
}
NEEDS = {"nni_tuners": ("nni",), "integrations": ("optuna", "ray.tune")}


@pytest.mark.slow
@pytest.mark.parametrize("part", list(QUICK))
def test_the_quick_run_writes_every_named_figure(part, request):
    for module in NEEDS.get(part, ()):
        pytest.importorskip(module, reason=f"the {part} part needs {module}")
    run, expected = QUICK[part]
    quick = request.getfixturevalue(f"quick_{run}")
    results = json.loads((quick.output / f"{part}.json").read_text())["results"]
    missing = expected - paths(results)
    assert not missing, f"{part}.json lacks {sorted(missing)}"
    for key in expected:  # [mean, std] and intervals are lists of numbers, the rest numbers
        value = lookup(results, key)
        assert value is None or isinstance(value, (int, float, list, dict)), (part, key)


@pytest.mark.slow
def test_the_quick_figures_are_the_reports_numbers(quick_rest, quick_seeded):
    """A few named figures against the CSVs the same runs wrote."""
    rest = {part: quick_rest.sections[part] for part in ("scoring", "engine", "scale")}
    found = json.loads((quick_rest.output / "scoring.json").read_text())["results"]
    batched = (
        rest["scoring"].csvs[0].select("seconds", path="batched", metrics="nn_degree,params,flops")
    )
    assert found["batched_ms"] == pytest.approx(np.median(batched) * 1e3)
    found = json.loads((quick_rest.output / "engine.json").read_text())["results"]
    plugins = rest["engine"].csvs[0].select("seconds", what="flash-nas plugins")
    assert found["plugins"]["ms"] == pytest.approx(np.median(plugins) * 1e3)
    found = json.loads((quick_rest.output / "scale.json").read_text())["results"]
    peak = rest["scale"].csvs[0].select("peak_mb", n_archs=10_000)
    assert found["sizes"]["n10000"]["peak_mb"] == pytest.approx(peak.max())
    found = json.loads((quick_seeded.output / "search_spaces.json").read_text())["results"]
    judged = (
        quick_seeded.sections["search_spaces"]
        .csvs[0]
        .select("judged_accuracy", space="NAS-Bench-201, CIFAR-10", method="FLASH-BO (bo)")
    )
    assert found["spaces"]["nasbench201"]["bo"]["test"] == pytest.approx(
        [judged.mean(), judged.std()]
    )
