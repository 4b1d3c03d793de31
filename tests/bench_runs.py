"""The benchmark suite's quick mode, run once per test run and shared by every test that checks
it (tests/test_bench_suite.py, test_bench_integrations.py, test_benchmarks.py,
test_bench_spaces.py).

Three runs of ``python -m benchmarks --quick --seeds 2`` cover every part of ``--suite all``
once (:data:`RUNS`): the parts that take ``--first-seed`` run with ``--first-seed 3`` (so each
is seen to honour it), the others in two runs of about the same length, one with a user accuracy
table (``--table``, for the ranking part). Each run is computed by the first pytest-xdist worker
that needs it (:func:`conftest.run_once`); a second worker that needs it meanwhile computes a
run nobody has started instead of waiting, so two run side by side.

A run also keeps what some parts measured before they wrote it up (:data:`MEASURED`), so that a
test of a part's measurements reads this run's instead of measuring the part a second time.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from benchmarks import __main__ as bench_main
from benchmarks.suite import PARTS, SuiteResult, nni_tuners, run_suite, search_flash
from benchmarks.suite.report import Section
from flash_nas_adapters.nasbench201.space import load_shipped_table

FIRST_SEED = 3
#: ``--seeds`` of every run.
SEEDS = 2
#: The parts that take ``--first-seed``, and those that do not.
SEEDED = [name for name, part in PARTS.items() if part.in_all and part.first_seed]
REST = [name for name, part in PARTS.items() if part.in_all and not part.first_seed]
#: The parts without ``--first-seed`` that run apart from the user table's run. Split so that
#: the two runs take about as long: alone, the seeded parts took 27 s, these 42 s and the rest
#: 42 s, where the rest with these took 84 s, and the worker that needed them waited a minute.
APART = ("search_flash", "nni_tuners")
#: The parts of each run, in the suite's order.
RUNS = {
    "seeded": SEEDED,
    "rest": [name for name in REST if name not in APART],
    "apart": [name for name in REST if name in APART],
}
USER_HEADER = ["arch", "index", "mydata_acc", "mydata_latency_ms"]


#: Parts whose measurements (the object their ``run`` writes up) a run keeps: part, module and
#: the module's function that measures.
MEASURED = {"search_flash": (search_flash, "measure"), "nni_tuners": (nni_tuners, "compare")}
#: The nni_tuners part's trials (``--nni-trials``; 12 by default with ``--quick``): its test
#: reads the FLASH tuner's lead at every budget from 20 trials on.
NNI_TRIALS = 22


@dataclass
class QuickRun:
    """One quick run: its output folder, what it printed, its sections by part, and what the
    parts of :data:`MEASURED` that it ran measured."""

    name: str
    parts: list[str]
    output: Path
    stdout: str
    sections: dict[str, Section]
    measured: dict[str, Any]


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def shipped_rows() -> list[list[object]]:
    """arch, index, an accuracy column and a latency column, for every cell."""
    shipped = load_shipped_table()
    accuracy = shipped.column("c10_valid_test")
    return [
        [arch, int(index), float(accuracy[row]), 1.0 + row % 7]
        for row, (arch, index) in enumerate(zip(shipped.archs, shipped.indices))
    ]


def _arguments(name: str, folder: Path) -> list[str]:
    common = ["--suite", ",".join(RUNS[name]), "--quick", "--seeds", str(SEEDS)]
    common += ["--output", str(folder / "results")]
    if name == "seeded":
        return [*common, "--first-seed", str(FIRST_SEED)]
    if name == "apart":
        return [*common, "--nni-trials", str(NNI_TRIALS)]
    user = write_rows(folder / "user_table.csv", USER_HEADER, shipped_rows()[::-1])  # any order
    return [*common, "--table", str(user)]


def _keeping(part: str, measure: Callable[..., Any], measured: dict[str, Any]) -> Any:
    def keep(*args: Any, **kwargs: Any) -> Any:
        measured[part] = measure(*args, **kwargs)
        return measured[part]

    return keep


def _run(name: str, folder: Path) -> tuple[str, dict[str, Section], dict[str, Any]]:
    """Run the suite as ``python -m benchmarks`` would, keeping the sections it returns and what
    the parts of :data:`MEASURED` measured."""
    results: list[SuiteResult] = []
    measured: dict[str, Any] = {}

    def keep(*args: Any, **kwargs: Any) -> SuiteResult:
        results.append(run_suite(*args, **kwargs))
        return results[-1]

    stdout = io.StringIO()
    with contextlib.ExitStack() as patches:
        patches.enter_context(mock.patch.object(bench_main, "run_suite", keep))
        for part, (module, function) in MEASURED.items():
            keeping = _keeping(part, getattr(module, function), measured)
            patches.enter_context(mock.patch.object(module, function, keeping))
        patches.enter_context(contextlib.redirect_stdout(stdout))
        patches.enter_context(contextlib.redirect_stderr(io.StringIO()))
        status = bench_main.main(_arguments(name, folder))
    assert status == 0
    sections = {section.part: section for section in results[0].sections}
    return stdout.getvalue(), sections, measured


def with_plots() -> bool:
    """Whether the suite can run here (it draws plots: the [plot] extra). Tests that read a part
    of the shared run measure that part themselves without it, as the core-only pass of CI
    runs them."""
    return importlib.util.find_spec("matplotlib") is not None


def quick_run(once: Callable[..., Any], name: str) -> QuickRun:
    """The quick run ``name`` (of :data:`RUNS`), computed once per test run."""
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    others = [other for other in RUNS if other != name]
    (stdout, sections, measured), folder = once(
        f"quick-{name}",
        lambda folder: _run(name, folder),
        # while another worker computes this run, compute one nobody has started
        [(f"quick-{other}", lambda folder, other=other: _run(other, folder)) for other in others],
    )
    return QuickRun(name, RUNS[name], folder / "results", stdout, sections, measured)
