"""Part 8: how fast the search engine answers, beside the command line's own start-up.

Measured in one run, so the ratios hold whatever the machine's load:

* ``python -c pass``, ``flash-nas --help`` and ``flash-nas plugins`` (fresh processes, median
  of repeats): the cost of starting the command line, which every figure below is compared
  with (issue 12's goals: ``--help`` at most 5x ``python -c pass``, ``plugins`` under 1 s);
* one ``ask`` of the default method on NAS-Bench-201 after 10 labels (the model is refitted on
  every new label, all 15,625 cells are predicted, expected improvement picks one);
* one ``ask(8)`` on FLASH's own space (179 billion architectures: a 20,000-architecture pool plus
  hierarchical SHGO on the relaxation by expected improvement), after 10 synthetic labels;
* FLASH's one-shot method (``method="flash"``) on its own space: the predictor fitted on 25
  labels and hierarchical SHGO, the whole search.

Labels on the FLASH space are synthetic (a saturating function of NN-Degree: no trained labels
exist here); they exercise the code, not the accuracy.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.suite.report import Csv, Section, caption, table
from flash_nas.search.engine import SearchEngine
from flash_nas_adapters.nasbench201.space import load_shipped_table


def _process_seconds(argv: list[str], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def _synthetic(values: dict[str, float]) -> float:
    return 60.0 + 30.0 * (1.0 - np.exp(-values["nn_degree"] / 150.0))


def _nb201_asks(repeats: int) -> list[float]:
    table = load_shipped_table()
    valid = dict(zip(table.archs, table.column("c10_valid").tolist()))
    engine = SearchEngine("nasbench201", objective="acc", seed=0)
    proposals = engine.ask(10)
    engine.tell([p.arch for p in proposals], [valid[p.text] for p in proposals])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        (proposal,) = engine.ask(1)
        times.append(time.perf_counter() - started)
        engine.tell([proposal.arch], [valid[proposal.text]])
    return times


def _flash_asks(repeats: int) -> list[float]:
    engine = SearchEngine("flash", seed=0)
    proposals = engine.ask(10)
    engine.tell([p.arch for p in proposals], [_synthetic(p.values) for p in proposals])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        batch = engine.ask(8)
        times.append(time.perf_counter() - started)
        engine.tell([p.arch for p in batch], [_synthetic(p.values) for p in batch])
    return times


def _flash_one_shot(repeats: int) -> list[float]:
    times = []
    for seed in range(repeats):
        engine = SearchEngine(
            "flash", hardware="imc", method="flash", initial_samples=25, seed=seed
        )
        proposals = engine.ask(25)
        engine.tell([p.arch for p in proposals], [_synthetic(p.values) for p in proposals])
        started = time.perf_counter()
        engine.recommend()  # fits the predictor and runs hierarchical SHGO
        times.append(time.perf_counter() - started)
    return times


#: Each timing's name in the part's results file (``engine.json``).
KEYS = {
    "python -c pass": "python_pass",
    "flash-nas --help": "help",
    "flash-nas plugins": "plugins",
    "ask() on NAS-Bench-201 (bo)": "nb201_ask",
    "ask(8) on the FLASH space (bo)": "flash_ask8",
    "FLASH's whole one-shot search, FLASH space (flash)": "flash_one_shot",
}


def results(measured: dict[str, list[float]]) -> dict[str, object]:
    """The part's headline numbers by name (``engine.json``): per timing (:data:`KEYS`), the
    median and slowest in ms and the repeats; ``help_ratio``, ``flash-nas --help``'s median over
    ``python -c pass``'s, as the report prints them."""
    timings: dict[str, object] = {
        KEYS[what]: {
            "ms": statistics.median(times) * 1e3,
            "slowest_ms": max(times) * 1e3,
            "repeats": len(times),
        }
        for what, times in measured.items()
    }
    bare = statistics.median(measured["python -c pass"])
    return {
        **timings,
        "help_ratio": statistics.median(measured["flash-nas --help"]) / bare,
    }


def run(*, output: Path, quick: bool = False, **_: object) -> Section:
    repeats = 3 if quick else 10
    rows = Csv("engine_speed", ("what", "repeat", "seconds"))
    measured = {
        "python -c pass": _process_seconds([sys.executable, "-c", "pass"], repeats),
        "flash-nas --help": _process_seconds(
            [sys.executable, "-m", "flash_nas", "--help"], repeats
        ),
        "flash-nas plugins": _process_seconds(
            [sys.executable, "-m", "flash_nas", "plugins"], repeats
        ),
        "ask() on NAS-Bench-201 (bo)": _nb201_asks(repeats),
        "ask(8) on the FLASH space (bo)": _flash_asks(2 if quick else 5),
        "FLASH's whole one-shot search, FLASH space (flash)": _flash_one_shot(2 if quick else 5),
    }
    for what, times in measured.items():
        for repeat, seconds in enumerate(times):
            rows.add(what, repeat, seconds)
    start_up = statistics.median(measured["flash-nas --help"])
    bare = statistics.median(measured["python -c pass"])
    section = Section("engine", "How fast the search engine answers")
    section.csvs = [rows]
    section.blocks = [
        caption(
            rows="what was timed",
            target="wall time (ms): median and slowest; the median over `flash-nas --help`'s",
            split="one run; the FLASH space's labels are synthetic",
            seeds=f"{repeats} repeats (FLASH space: fewer), median",
        ),
        table(
            ["what", "median (ms)", "slowest (ms)", "x `python -c pass`", "x `flash-nas --help`"],
            [
                [
                    what,
                    f"{statistics.median(times) * 1e3:.0f}",
                    f"{max(times) * 1e3:.0f}",
                    f"{statistics.median(times) / bare:.1f}",
                    f"{statistics.median(times) / start_up:.2f}",
                ]
                for what, times in measured.items()
            ],
        ),
    ]
    plugins = statistics.median(measured["flash-nas plugins"])
    section.summary.append(
        f"engine: start-up: flash-nas --help {start_up / bare:.1f}x python -c pass "
        f"(goal <= 5x: {'met' if start_up <= 5 * bare else 'NOT met'}); flash-nas plugins "
        f"{plugins * 1e3:.0f} ms (goal < 1 s: {'met' if plugins < 1 else 'NOT met'})"
    )
    for what, times in measured.items():
        section.summary.append(f"engine: {what}: {statistics.median(times) * 1e3:.0f} ms (median)")
    section.results = results(measured)
    return section
