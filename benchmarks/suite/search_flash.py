"""Part 5: hierarchical SHGO on FLASH's own space under the IMC model: speed, optimality,
baselines (``python -m benchmarks --suite search_flash``; ``--quick``: 3 repeats of SHGO).

**This benchmark measures the optimiser, not the predictor.** No trained architectures of the
FLASH space ship with flash-nas, so accuracy comes from an :class:`AccuracyPredictor` fitted,
as FLASH fits it, on 25 architectures chosen stratified over NN-Degree (from 2,000 uniform
samples), labelled by a synthetic saturating curve ``acc(g) = 95 - 25 exp(-g / 100)`` (%). The
curve's constants are an assumption, picked to span about 80 % (the smallest networks, g = 48) to
95 % (g = 512) as CIFAR-10 networks of this size do; nothing here says how accurate the picked
architectures would really be.

Setting: the default space (dense block, 3 cells, widths 16..64 step 8, depths 2..6, any skip
count: 1.8e11 architectures), hardware from ``ImcModel()`` with its documented defaults (ReRAM
crossbars, ISAAC/NeuroSim/SIAM costs; ``flash_nas_hardware.imc.model``), three objectives:

1. ``acc/(latency*energy*area)``, FLASH's default. Under these models the hardware terms span
   three orders of magnitude and the predicted accuracy only 80-95 %, so its optimum is the
   smallest network: an easy objective, kept because it is the default.
2. ``acc/(latency*energy*area)**0.03`` (ours): weighted so that accuracy and cost trade off and
   the optimum lies inside the space.
3. ``acc`` subject to latency <= 1.2 ms and area <= 6 mm^2 (ours): the best accuracy under a
   budget, the optimum on the boundary of the feasible region.

For each: hierarchical SHGO over the whole space (time per level, evaluations, best), SHGO
restricted to a coarse grid (widths 16/32/48/64, depths 2/4/6, skip densities 0, 1/2, 1 per
cell: 36**3 = 46,656 grid points, 21,952 distinct architectures as depth 2 holds no skips) and
exhaustive search of that grid in one batch; the optimality gap of each SHGO result against the
grid optimum (the whole-space search may beat the grid: a negative gap); then random search,
regularized evolution and differential evolution over the whole space with the evaluation
budget SHGO used, over seeds. Gap = ``1 - objective / grid optimum``.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.suite.report import Csv, Section, caption, table
from flash_nas import score_batch
from flash_nas.plugins.relaxation import Relaxation
from flash_nas.search.baselines import (
    differential_evolution_search,
    random_search,
    regularized_evolution,
)
from flash_nas.search.evaluation import Evaluator
from flash_nas.search.objective import parse_objective
from flash_nas.search.predictor import AccuracyPredictor
from flash_nas.search.sampling import select_samples
from flash_nas.search.shgo import LevelTiming, SearchResult, exhaustive_search, hierarchical_shgo
from flash_nas_adapters.flash.space import FlashSpaceAdapter
from flash_nas_hardware.imc.model import ImcModel

#: The synthetic accuracy curve's constants (an assumption, see the module docs).
CURVE = {"ceiling": 95.0, "drop": 25.0, "scale": 100.0}
#: (name, objective, hard limits)
OBJECTIVES = (
    ("FLASH default", "acc/(latency*energy*area)", {}),
    ("weighted cost", "acc/(latency*energy*area)**0.03", {}),
    ("accuracy under limits", "acc", {"max_latency_ms": 1.2, "max_area_mm2": 6.0}),
)
GRID_WIDTHS = (16, 32, 48, 64)
GRID_DEPTHS = (2, 4, 6)
GRID_DENSITIES = (0.0, 0.5, 1.0)
FEATURES = ["nn_degree"]
#: Each objective's name in the part's results file (``search_flash.json``).
OBJECTIVE_KEYS = {
    "FLASH default": "flash_default",
    "weighted cost": "weighted",
    "accuracy under limits": "limits",
}
#: Each (strategy, space)'s name in the results file.
STRATEGY_KEYS = {
    ("hierarchical SHGO", "whole space"): "shgo",
    ("hierarchical SHGO", "grid"): "shgo_grid",
    ("exhaustive search", "grid"): "exhaustive",
    ("random search", "whole space"): "random",
    ("regularized evolution", "whole space"): "regularized_evolution",
    ("differential evolution", "whole space"): "differential_evolution",
}
#: The hardware timings' names in the results file, in :func:`measure_speed`'s order.
SPEED_KEYS = ("estimate_cold_ms", "estimate_warm_ms", "evaluator_unseen_ms", "evaluator_seen_ms")


def synthetic_accuracy(nn_degree: np.ndarray) -> np.ndarray:
    """``ceiling - drop * exp(-g / scale)``: monotone in NN-Degree and saturating, as FLASH's."""
    return CURVE["ceiling"] - CURVE["drop"] * np.exp(-np.asarray(nn_degree) / CURVE["scale"])


@dataclass
class Runs:
    """One strategy on one space, once per seed (or repeat)."""

    strategy: str
    space: str
    log_objective: list[float] = field(default_factory=list)
    evaluations: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    feasible: list[bool] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    best_arch: str = ""

    def add(self, result: SearchResult, seconds: float, text: str) -> None:
        if not self.log_objective or result.best.log_objective > max(self.log_objective):
            self.best_arch = text
        self.archs.append(text)
        self.log_objective.append(result.best.log_objective)
        self.evaluations.append(result.evaluations)
        self.seconds.append(seconds)
        self.feasible.append(result.best.feasible)

    def gaps(self, optimum: float) -> np.ndarray:
        """``1 - objective / optimum`` per run (objectives compared in logs)."""
        return 1.0 - np.exp(np.array(self.log_objective) - optimum)


@dataclass
class Scenario:
    """One objective: the grid's exhaustive optimum, SHGO's stages, and every strategy's runs."""

    name: str
    objective: str
    limits: dict[str, float]
    grid_points: int = 0
    grid_archs: int = 0
    grid_seconds: float = 0.0
    grid_log_objective: float = float("nan")
    grid_arch: str = ""
    levels: list[LevelTiming] = field(default_factory=list)
    shgo_first_seconds: float = 0.0
    runs: list[Runs] = field(default_factory=list)


@dataclass
class Results:
    """Everything the part measured."""

    seeds: int
    predictor: str = ""
    speed: dict[str, float] = field(default_factory=dict)
    scenarios: list[Scenario] = field(default_factory=list)


def fit_synthetic_predictor(adapter: FlashSpaceAdapter) -> AccuracyPredictor:
    """FLASH's recipe on the synthetic curve: 25 labels stratified over NN-Degree."""
    pool = score_batch(adapter.sample(2000, 0), FEATURES)["nn_degree"]
    rows = select_samples(pool, 25, strategy="stratified", seed=0)
    return AccuracyPredictor().fit(pool[rows, None], synthetic_accuracy(pool[rows]))


def grid(adapter: FlashSpaceAdapter) -> list[Hashable]:
    """Every grid point (width, depth, density per cell) as an architecture, repeats kept."""
    per_cell = [
        (width, depth, round(density * adapter.skip_capacity(width, depth)))
        for width in GRID_WIDTHS
        for depth in GRID_DEPTHS
        for density in GRID_DENSITIES
    ]
    return list(itertools.product(per_cell, repeat=adapter.n_cells))


def measure_speed(found: Results, predictor: AccuracyPredictor) -> None:
    """Hardware estimates of 10,000 samples (new adapter, then again), and one at a time."""
    hardware = ImcModel()
    adapter = FlashSpaceAdapter()
    batch = adapter.sample(10_000, 0)
    for label in ("cold: parts never seen", "warm: same architectures again"):
        started = time.perf_counter()
        hardware.estimate_batch(batch)
        found.speed[f"`ImcModel.estimate_batch`, 10,000 samples ({label})"] = (
            time.perf_counter() - started
        )
    archs = [batch.arch(position) for position in range(200)]
    objective = parse_objective(OBJECTIVES[0][1])
    for label, space in (("parts never seen", FlashSpaceAdapter()), ("parts seen", adapter)):
        evaluator = Evaluator(space, objective, predictor, FEATURES, hardware)
        times = []
        for arch in archs:
            started = time.perf_counter()
            evaluator.evaluate([arch])
            times.append(time.perf_counter() - started)
        found.speed[f"one new architecture through the `Evaluator` ({label}; median)"] = (
            statistics.median(times)
        )


def _timed(search: Callable[..., SearchResult], *args: Any) -> tuple[SearchResult, float]:
    started = time.perf_counter()
    result = search(*args)
    return result, time.perf_counter() - started


def run_scenario(
    name: str,
    text: str,
    limits: dict[str, float],
    predictor: AccuracyPredictor,
    *,
    seeds: int,
    repeats: int,
) -> Scenario:
    scenario = Scenario(name, text, limits)
    objective = parse_objective(text, limits)
    hardware = ImcModel()
    space = FlashSpaceAdapter()
    coarse = FlashSpaceAdapter(widths=GRID_WIDTHS, depths=GRID_DEPTHS)

    def evaluator(adapter: FlashSpaceAdapter) -> Evaluator:
        return Evaluator(adapter, objective, predictor, FEATURES, hardware)

    points = grid(coarse)
    scenario.grid_points, scenario.grid_archs = len(points), len(set(points))
    started = time.perf_counter()
    best = exhaustive_search(evaluator(coarse), points)
    scenario.grid_seconds = time.perf_counter() - started
    scenario.grid_log_objective, scenario.grid_arch = best.log_objective, coarse.format(best.arch)

    searches: list[tuple[FlashSpaceAdapter, Relaxation, str]] = [
        (space, space.relaxation(), "whole space"),
        (coarse, coarse.relaxation(GRID_DENSITIES), "grid"),
    ]
    stages: list[list[LevelTiming]] = []
    for adapter, relaxation, label in searches:
        runs = Runs("hierarchical SHGO", label)
        for _ in range(repeats):
            result, seconds = _timed(hierarchical_shgo, relaxation, evaluator(adapter))
            runs.add(result, seconds, adapter.format(result.best.arch))
            if adapter is space:
                stages.append(result.timings)
        scenario.runs.append(runs)
    scenario.levels = [
        LevelTiming(same[0].name, statistics.median(t.seconds for t in same), same[0].evaluations)
        for same in zip(*stages)
    ]
    shgo = scenario.runs[0]
    scenario.shgo_first_seconds = shgo.seconds[0]
    exhaustive = Runs("exhaustive search", "grid")
    exhaustive.add(
        SearchResult(best, [], len(set(points))), scenario.grid_seconds, scenario.grid_arch
    )
    scenario.runs.append(exhaustive)

    budget = shgo.evaluations[0]
    baselines: list[tuple[str, Callable[[int], SearchResult]]] = [
        ("random search", lambda seed: random_search(space, evaluator(space), budget, seed)),
        (
            "regularized evolution",
            lambda seed: regularized_evolution(
                space, space.relaxation(), evaluator(space), budget, seed
            ),
        ),
        (
            "differential evolution",
            lambda seed: differential_evolution_search(
                space.relaxation(), evaluator(space), budget, seed
            ),
        ),
    ]
    for strategy, search in baselines:
        runs = Runs(strategy, "whole space")
        for seed in range(seeds):
            result, seconds = _timed(search, seed)
            runs.add(result, seconds, space.format(result.best.arch))
        scenario.runs.append(runs)
    return scenario


def measure(*, quick: bool, seeds: int) -> Results:
    found = Results(seeds)
    predictor = fit_synthetic_predictor(FlashSpaceAdapter())
    found.predictor = f"form {predictor.form_}, leave-one-out RMSE {predictor.loo_rmse_:.3f} points"
    measure_speed(found, predictor)
    for name, text, limits in OBJECTIVES:
        found.scenarios.append(
            run_scenario(name, text, limits, predictor, seeds=seeds, repeats=3 if quick else 10)
        )
    return found


def run(*, seeds: int, quick: bool = False, **_: object) -> Section:
    found = measure(quick=quick, seeds=seeds)
    speed = Csv("search_flash_speed", ("what", "seconds"))
    for what, seconds in found.speed.items():
        speed.add(what.replace("`", ""), seconds)
    stages = Csv("search_flash_stages", ("objective", "stage", "evaluations", "seconds"))
    runs = Csv(
        "search_flash_runs",
        (
            "objective",
            "strategy",
            "space",
            "repeat",
            "evaluations",
            "log_objective",
            "feasible",
            "seconds",
            "arch",
        ),
    )
    for scenario in found.scenarios:
        for level in scenario.levels:
            stages.add(scenario.objective, level.name, level.evaluations, level.seconds)
        for group in scenario.runs:
            for repeat, values in enumerate(
                zip(
                    group.evaluations,
                    group.log_objective,
                    group.feasible,
                    group.seconds,
                    group.archs,
                )
            ):
                evaluations, log_objective, feasible, seconds, arch = values
                runs.add(
                    scenario.objective,
                    group.strategy,
                    group.space,
                    repeat,
                    evaluations,
                    log_objective,
                    int(feasible),
                    seconds,
                    arch,
                )
    section = Section(
        "search_flash", "Hierarchical SHGO on the FLASH space", csvs=[speed, stages, runs]
    )
    section.blocks = _markdown(found)
    for scenario in found.scenarios:
        shgo = scenario.runs[0]
        gap = shgo.gaps(scenario.grid_log_objective).mean() * 100
        milliseconds = statistics.median(shgo.seconds) * 1e3
        section.summary.append(
            f"search_flash, {scenario.name}: hierarchical SHGO {milliseconds:.0f} ms, "
            f"{shgo.evaluations[0]} evaluations, gap to the grid optimum {gap:+.2f} %"
        )
    section.results = results(found)
    return section


def _stage_key(name: str) -> str:
    """``level 1 (...)`` -> ``level1``; ``integer repair`` -> ``repair``."""
    words = name.split(" (")[0].split()
    return f"level{words[1]}" if words[0] == "level" else words[-1]


def _strategy(runs: Runs, optimum: float, shgo: Runs) -> dict[str, object]:
    """One row of a scenario's strategy table by name, and how it compares with SHGO over the
    whole space: ``worse_than_shgo_pct``, ``1 - objective / SHGO's`` per run (%, [mean, std]),
    and ``time_ratio``, its median time over SHGO's."""
    values = np.exp(np.array(runs.log_objective))
    spread = values.std() if values.std() > 1e-9 * values.mean() else 0.0
    gaps = runs.gaps(optimum) * 100
    behind = runs.gaps(max(shgo.log_objective)) * 100
    return {
        "runs": len(runs.log_objective),
        "evaluations": float(np.mean(runs.evaluations)),
        "objective": [float(values.mean()), float(spread)],
        "gap_pct": [float(gaps.mean()), float(gaps.std())],
        "feasible": sum(runs.feasible),
        "ms": statistics.median(runs.seconds) * 1e3,
        "worse_than_shgo_pct": [float(behind.mean()), float(behind.std())],
        "time_ratio": statistics.median(runs.seconds) / statistics.median(shgo.seconds),
    }


def results(found: Results) -> dict[str, object]:
    """The part's headline numbers by name (``search_flash.json``), as the report prints them:
    the hardware timings (ms, :data:`SPEED_KEYS`), and per objective (:data:`OBJECTIVE_KEYS`)
    the grid (points, distinct architectures, ms, its optimum), the first SHGO run's ms, SHGO's
    stages (``levels.level1``.., ``levels.repair``: median ms and evaluations) and every
    strategy's row (:data:`STRATEGY_KEYS`; gaps in %, against the grid optimum)."""
    if len(found.speed) != len(SPEED_KEYS):
        raise ValueError(f"expected {len(SPEED_KEYS)} hardware timings, got {len(found.speed)}")
    objectives: dict[str, object] = {}
    for s in found.scenarios:
        shgo = s.runs[0]
        objectives[OBJECTIVE_KEYS[s.name]] = {
            "grid_points": s.grid_points,
            "grid_archs": s.grid_archs,
            "grid_ms": s.grid_seconds * 1e3,
            "grid_objective": float(np.exp(s.grid_log_objective)),
            "first_shgo_ms": s.shgo_first_seconds * 1e3,
            "levels": {
                _stage_key(t.name): {"ms": t.seconds * 1e3, "evaluations": t.evaluations}
                for t in s.levels
            },
            "strategies": {
                STRATEGY_KEYS[runs.strategy, runs.space]: _strategy(
                    runs, s.grid_log_objective, shgo
                )
                for runs in s.runs
            },
        }
    return {
        "seeds": found.seeds,
        "speed": {key: seconds * 1e3 for key, seconds in zip(SPEED_KEYS, found.speed.values())},
        "objectives": objectives,
    }


def _markdown(found: Results) -> list[str]:
    blocks = [
        "Space: dense block, 3 cells, widths 16..64 step 8, depths 2..6 (1.8e11 "
        "architectures); hardware `ImcModel()` defaults. **The benchmark measures the "
        "optimiser, not the predictor**: accuracy is a predictor fitted on 25 architectures "
        "labelled by the synthetic curve 95 - 25 exp(-g / 100) (assumed constants): "
        f"{found.predictor}. Gap = 1 - objective / optimum of the exhaustive grid search "
        "(negative: better than the grid).",
        caption(
            rows="whole-network hardware estimates without building graphs",
            target="wall time",
            split="none",
            seeds="one run each (the Evaluator rows: median over 200 architectures)",
        ),
        table(
            ["what", "time"],
            [[what, f"{seconds * 1e3:.3g} ms"] for what, seconds in found.speed.items()],
        ),
    ]
    for s in found.scenarios:
        limits = ", ".join(f"{k} = {v:g}" for k, v in s.limits.items()) or "none"
        repeats = len(s.runs[0].seconds)
        blocks += [
            f"**{s.name}**: `{s.objective}`, limits: {limits}. Grid optimum "
            f"{np.exp(s.grid_log_objective):.5g} at `{s.grid_arch}` ({s.grid_points:,} grid "
            f"points, {s.grid_archs:,} distinct architectures, evaluated in "
            f"{s.grid_seconds * 1e3:.0f} ms). The first SHGO run, with the adapter's part sums "
            f"still cold, took {s.shgo_first_seconds * 1e3:.1f} ms.",
            caption(
                rows="the stages of hierarchical SHGO over the whole space",
                target="wall time (ms) and evaluations",
                split="none",
                seeds=f"median of {repeats} runs",
            ),
            table(
                ["stage", "time (ms)", "evaluations"],
                [[t.name, f"{t.seconds * 1e3:.1f}", str(t.evaluations)] for t in s.levels],
            ),
            caption(
                rows="search strategies (baselines at SHGO's evaluation budget, in distinct "
                "architectures)",
                target=f"the objective `{s.objective}`; gap to the grid optimum",
                split="none",
                seeds=f"{found.seeds} seeds for the baselines, {repeats} repeats of SHGO "
                "(deterministic), mean ± std; time: median",
            ),
            table(
                [
                    "strategy",
                    "space",
                    "evaluations",
                    "best objective",
                    "gap vs grid optimum",
                    "feasible",
                    "time (ms)",
                    "best architecture",
                ],
                [_strategy_row(runs, s.grid_log_objective) for runs in s.runs],
            ),
        ]
    return blocks


def _strategy_row(runs: Runs, optimum: float) -> list[str]:
    values = np.exp(np.array(runs.log_objective))
    spread = values.std() if values.std() > 1e-9 * values.mean() else 0.0
    gaps = runs.gaps(optimum) * 100
    return [
        runs.strategy,
        runs.space,
        f"{np.mean(runs.evaluations):.0f}",
        f"{values.mean():.5g} ± {spread:.2g}",
        f"{gaps.mean():+.2f} % ± {gaps.std():.2f}",
        f"{sum(runs.feasible)}/{len(runs.feasible)}",
        f"{statistics.median(runs.seconds) * 1e3:.1f}",
        f"`{runs.best_arch}`",
    ]
