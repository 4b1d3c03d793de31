"""Part 14: search for the best accuracy under a latency limit, judged by the TRUE latency.

On NAS-Bench-201 (CIFAR-10) and the six HW-NAS-Bench devices, with limits at the 10 % and
25 % quantiles of each device's latencies over every cell it measured, each method gets the same
budget: 25 trained networks (label ``c10_valid``; each trained network's latency on the device
is measured too, a look-up in HW-NAS-Bench), plus, for the engine, M latency-only measurements.
Rows (:mod:`.constrained_runs` runs each):

* **FLASH-BO, M = 0 and M = 25**: the engine's default method with the Pi 3B model as its
  prior (``hardware="pi3b"``), told every measured latency, driven by the measured-costs loop
  (``measurements_before`` / ``ask_measure`` / ``measure``);
* **the ceiling**: the engine given the device's true table (``hwnasbench:DEVICE``);
* **TPE** and **NSGA-II** (Optuna, ``constraints_func`` on the measured latency) and **random
  search**: each recommends its best ``c10_valid`` among the trials measured within the limit;
* **FLASH as published**: Pi 3B calibrated on 25 random measured cells, method ``flash``; its
  recommendation is a prediction.

Every recommendation is judged by its architecture's true latency (does it break the limit?)
and its ``c10_test``. Beside it, a multi-objective table: the normalised hypervolume of the
(``c10_valid``, latency) points of 50 trained networks per method. ``--jobs N``
runs the runs in N processes.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.suite.constrained_report import markdown, plot, results
from benchmarks.suite.constrained_reuse import (
    FRONT_COLUMNS,
    Reused,
    read_reused,
    reuse_folders,
)
from benchmarks.suite.constrained_runs import (
    Outcome,
    engine_outcome,
    flash_outcome,
    front_trained,
    load_device,
    load_space,
    normalised_hypervolume,
    optuna_outcome,
    random_outcome,
)
from benchmarks.suite.options import Option, positive_int
from benchmarks.suite.report import Csv, Section

ALL_DEVICES = ("raspi4", "edgegpu", "pixel3", "eyeriss", "fpga", "edgetpu")
FRONT_METHODS = ("engine", "nsga2", "tpe", "random")

OPTIONS = (
    Option(
        "--jobs",
        "jobs",
        "processes running the constrained part's runs side by side (default 1)",
        type=positive_int,
        default=1,
        metavar="N",
    ),
    Option(
        "--constrained-reuse",
        "reuse",
        "folders (comma-separated) of earlier constrained runs of the same code: a device, "
        "limit and seed whose every row is in their CSVs is read from there, not run again "
        "(so a 20-seed run can be made of two 10-seed halves)",
        type=reuse_folders,
        default=None,
        metavar="DIR[,DIR]",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The part's sizes: full, or ``--quick``'s."""

    devices: tuple[str, ...]
    quantiles: tuple[float, ...]
    trainings: int
    measurements: int  # the engine's second row; the first has none
    calibration: int  # FLASH's measured cells
    front_trials: int

    @classmethod
    def of(cls, quick: bool) -> Settings:
        if quick:
            return cls(("raspi4",), (0.25,), 11, 2, 11, 11)
        return cls(ALL_DEVICES, (0.10, 0.25), 25, 25, 25, 50)

    def methods(self) -> dict[str, str]:
        """Each row's key (in the CSV and JSON) and its name in the report."""
        return {
            "bo_m0": "FLASH-BO, M = 0",
            f"bo_m{self.measurements}": f"FLASH-BO, M = {self.measurements}",
            "ceiling": "engine with the true table (ceiling)",
            "tpe": "TPE + constraints",
            "nsga2": "NSGA-II + constraints",
            "random": "random search",
            "flash": f"FLASH (paper), pi3b calibrated on {self.calibration} cells",
        }


def limit_name(quantile: float) -> str:
    return f"q{round(quantile * 100)}"


def run_limit(device: str, quantile: float, seed: int, settings: Settings) -> list[Outcome]:
    """Every row's run for one device, limit and seed."""
    space, hardware = load_space(), load_device(device)
    limit_ms = hardware.limit(quantile)
    budget = settings.trainings
    return [
        engine_outcome(space, hardware, limit_ms, seed, trainings=budget),
        engine_outcome(
            space, hardware, limit_ms, seed, trainings=budget, measurements=settings.measurements
        ),
        engine_outcome(space, hardware, limit_ms, seed, trainings=budget, ceiling=True),
        optuna_outcome("tpe", space, hardware, limit_ms, seed, trainings=budget),
        optuna_outcome("nsga2", space, hardware, limit_ms, seed, trainings=budget),
        random_outcome(space, hardware, limit_ms, seed, trainings=budget),
        flash_outcome(
            space, hardware, limit_ms, seed, trainings=budget, calibration=settings.calibration
        ),
    ]


def run_front(device: str, seed: int, settings: Settings) -> list[tuple[str, float]]:
    """Each multi-objective method's normalised hypervolume for one device and seed."""
    space, hardware = load_space(), load_device(device)
    return [
        (
            method,
            normalised_hypervolume(
                front_trained(method, space, hardware, seed, settings.front_trials),
                space,
                hardware,
            ),
        )
        for method in FRONT_METHODS
    ]


Job = tuple[Callable[..., Any], tuple[Any, ...]]


def _call(job: Job) -> Any:
    function, arguments = job
    return function(*arguments)


def execute(jobs: Sequence[Job], processes: int, progress: bool) -> list[Any]:
    """Every job's result, in order: in this process, or in ``processes`` fresh ones (spawned:
    a forked copy of a process holding threads is not safe)."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="constrained", unit="run", file=sys.stderr)
    found: Iterable[Any]
    pool = None
    if processes > 1:
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"))
        found = pool.map(_call, jobs)
    else:
        found = map(_call, jobs)
    try:
        done = []
        for value in found:
            done.append(value)
            if bar is not None:
                bar.update()
        return done
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if bar is not None:
            bar.close()


def _say_reused(section: Section, reused: Reused, count: int, total: int) -> None:
    if reused.folders:
        section.summary.append(
            f"constrained: {count} of {total} limit runs read from "
            f"{', '.join(map(str, reused.folders))} (--constrained-reuse), the rest run"
        )


def judge_rows(outcomes: Iterable[Outcome], device: str, quantile: float, runs: Csv) -> None:
    """Add each outcome to ``runs``, judged by the true latency and ``c10_test`` of what it
    recommends, with how many of the networks it trained break the true limit (trainings a
    user spends on networks that cannot be deployed; they still teach the accuracy model and,
    measured, the cost model). A run with nothing to recommend breaks the limit ("none" in its
    cells; its note says why: the engine's message where it found nothing it believes meets
    the limit)."""
    space, hardware = load_space(), load_device(device)
    limit_ms = hardware.limit(quantile)
    for outcome in outcomes:
        text = outcome.text
        true = hardware.latency[text] if text is not None else math.nan
        runs.add(
            device,
            limit_name(quantile),
            limit_ms,
            outcome.seed,
            outcome.method,
            text or "none",
            space.valid[text] if text else "none",
            space.test[text] if text else "none",
            true if math.isfinite(true) else "failed" if text else "none",
            outcome.told_ms if outcome.told_ms is not None else "none",
            int(outcome.measured),
            int(hardware.holds(text, limit_ms)),
            len(outcome.trained),
            sum(not hardware.holds(trained, limit_ms) for trained in outcome.trained),
            max(outcome.seconds, 1e-6),
            " ".join(outcome.note.split()) or "-",
        )


RUN_COLUMNS = (
    "device",
    "limit",
    "limit_ms",
    "seed",
    "method",
    "arch",
    "valid_accuracy",
    "test_accuracy",
    "true_latency_ms",
    "told_latency_ms",
    "measured",
    "feasible",
    "labels",
    "trained_over_limit",
    "seconds",
    "note",
)


def run(
    *,
    output: Path,
    seeds: int,
    quick: bool = False,
    first_seed: int = 0,
    jobs: int = 1,
    reuse: Sequence[Path] | None = None,
    **_: object,
) -> Section:
    from flash_nas.plugins.progress import progress_wanted

    settings = Settings.of(quick)
    seed_list = range(first_seed, first_seed + seeds)
    reused = read_reused(reuse or [], RUN_COLUMNS, settings.trainings, output)
    runs = Csv("constrained_runs", RUN_COLUMNS)
    front = Csv("constrained_front", FRONT_COLUMNS)
    limits = {(d, q): load_device(d).limit(q) for d in settings.devices for q in settings.quantiles}
    # Each run's place in the tables: the rows an earlier run wrote, or None to run it.
    limit_slots = [
        (d, q, seed, reused.limit_rows(d, limit_name(q), seed, settings.methods(), limits[d, q]))
        for d, q in limits
        for seed in seed_list
    ]
    front_slots = [
        (device, seed, reused.front_values(device, seed, FRONT_METHODS, settings.front_trials))
        for device in settings.devices
        for seed in seed_list
    ]
    limit_jobs: list[Job] = [
        (run_limit, (device, quantile, seed, settings))
        for device, quantile, seed, rows in limit_slots
        if rows is None
    ]
    front_jobs: list[Job] = [
        (run_front, (device, seed, settings))
        for device, seed, values in front_slots
        if values is None
    ]
    done = iter(execute(limit_jobs + front_jobs, jobs, progress_wanted()))
    for device, quantile, _seed, rows in limit_slots:
        if rows is None:
            judge_rows(next(done), device, quantile, runs)
        else:
            runs.rows.extend(rows)
    for device, seed, values in front_slots:
        for method, volume in values if values is not None else next(done):
            front.add(device, seed, method, settings.front_trials, volume)
    references = Csv(
        "constrained_limits",
        ("device", "limit", "limit_ms", "best_valid_accuracy", "best_test_accuracy"),
    )
    space = load_space()
    for (device, quantile), limit_ms in limits.items():
        hardware = load_device(device)
        best = max(
            (t for t in space.texts if hardware.holds(t, limit_ms)), key=space.valid.__getitem__
        )
        references.add(device, limit_name(quantile), limit_ms, space.valid[best], space.test[best])
    section = Section("constrained", "Search under a latency limit, judged by the true latency")
    _say_reused(section, reused, len(limit_slots) - len(limit_jobs), len(limit_slots))
    section.csvs = [runs, front, references]
    section.results = results(runs, front, references, settings.methods(), settings)
    section.blocks = markdown(section.results, settings, seed_list)
    plot(section.results, settings, output / "constrained.png")
    section.figures.append("constrained.png")
    for device, found in section.results["devices"].items():
        for limit, row in found["limits"].items():
            default = row["methods"]["bo_m0"]
            section.summary.append(
                f"constrained, {device} {limit}: FLASH-BO (M = 0) breaks the true limit in "
                f"{default['over_limit']} of {default['runs']} runs"
            )
    return section
