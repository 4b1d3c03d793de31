"""The benchmark suite's quick mode, run once per test run and shared by every test that checks
it (tests/test_bench_suite.py, test_bench_integrations.py, test_benchmarks.py,
test_bench_spaces.py).

Two runs of ``python -m benchmarks --quick --seeds 2`` cover every part of ``--suite all`` once:
the parts that take ``--first-seed`` run with ``--first-seed 3`` (so each is seen to honour it),
the others with a user accuracy table (``--table``, for the ranking part). Each run is computed
by the first pytest-xdist worker that needs it (:func:`conftest.run_once`); a second worker that
needs it meanwhile computes the other run instead of waiting, so the two run side by side.
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
from benchmarks.suite import PARTS, SuiteResult, run_suite
from benchmarks.suite.report import Section
from flash_nas_adapters.nasbench201.space import load_shipped_table

FIRST_SEED = 3
SEEDED = [name for name, part in PARTS.items() if part.in_all and part.first_seed]
REST = [name for name, part in PARTS.items() if part.in_all and not part.first_seed]
USER_HEADER = ["arch", "index", "mydata_acc", "mydata_latency_ms"]


@dataclass
class QuickRun:
    """One quick run: its output folder, what it printed, and its sections by part."""

    name: str
    parts: list[str]
    output: Path
    stdout: str
    sections: dict[str, Section]


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
    common = ["--quick", "--seeds", "2", "--output", str(folder / "results")]
    if name == "seeded":
        return ["--suite", ",".join(SEEDED), "--first-seed", str(FIRST_SEED), *common]
    user = write_rows(folder / "user_table.csv", USER_HEADER, shipped_rows()[::-1])  # any order
    return ["--suite", ",".join(REST), *common, "--table", str(user)]


def _run(name: str, folder: Path) -> tuple[str, dict[str, Section]]:
    """Run the suite as ``python -m benchmarks`` would, keeping the sections it returns."""
    results: list[SuiteResult] = []

    def keep(*args: Any, **kwargs: Any) -> SuiteResult:
        results.append(run_suite(*args, **kwargs))
        return results[-1]

    stdout = io.StringIO()
    with (
        mock.patch.object(bench_main, "run_suite", keep),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        status = bench_main.main(_arguments(name, folder))
    assert status == 0
    return stdout.getvalue(), {section.part: section for section in results[0].sections}


def with_plots() -> bool:
    """Whether the suite can run here (it draws plots: the [plot] extra). Tests that read a part
    of the shared run measure that part themselves without it, as the core-only pass of CI
    runs them."""
    return importlib.util.find_spec("matplotlib") is not None


def quick_run(once: Callable[..., Any], name: str) -> QuickRun:
    """The quick run ``seeded`` or ``rest``, computed once per test run."""
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    other = "rest" if name == "seeded" else "seeded"
    (stdout, sections), folder = once(
        f"quick-{name}",
        lambda folder: _run(name, folder),
        [(f"quick-{other}", lambda folder: _run(other, folder))],  # both side by side
    )
    parts = SEEDED if name == "seeded" else REST
    return QuickRun(name, parts, folder / "results", stdout, sections)
