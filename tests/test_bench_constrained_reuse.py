"""``--constrained-reuse``: the constrained part reads the runs an earlier run of it wrote
instead of running them again, runs only what they lack, and refuses tables that are not its
own."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_bench_constrained import FIRST_SEED, quick_constrained  # noqa: F401

from benchmarks import __main__ as bench_main
from benchmarks.suite import PARTS, constrained
from benchmarks.suite.constrained_reuse import reuse_folders
from flash_nas.errors import TableError, UsageError

#: Seeds the quick run of ``quick_constrained`` made (the part's quick default).
QUICK_SEEDS = PARTS["constrained"].seeds[0]


class _Stop(Exception):
    """Raised by the patched executor once it has seen which runs would run."""


def _rows(output: Path, name: str) -> list[dict[str, str]]:
    with (output / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _without_seconds(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def test_a_run_read_back_whole_runs_nothing_and_reports_the_same(
    quick_constrained, tmp_path, monkeypatch  # noqa: F811
):
    _, earlier = quick_constrained
    given: list[Any] = []

    def record(jobs, processes, progress):
        given.extend(jobs)
        return []

    monkeypatch.setattr(constrained, "execute", record)
    section = constrained.run(
        output=tmp_path, seeds=QUICK_SEEDS, quick=True, first_seed=FIRST_SEED, reuse=[earlier]
    )
    assert given == []
    runs, front = section.csvs[0], section.csvs[1]
    again = [dict(zip(runs.columns, map(str, row))) for row in runs.rows]
    assert _without_seconds(again) == _without_seconds(_rows(earlier, "constrained_runs"))
    volumes = [float(row[4]) for row in front.rows]
    assert volumes == [float(r["hypervolume"]) for r in _rows(earlier, "constrained_front")]
    assert any("limit runs read from" in line for line in section.summary)


def test_only_the_seeds_the_folders_lack_are_run(
    quick_constrained, tmp_path, monkeypatch  # noqa: F811
):
    _, earlier = quick_constrained

    def stop(jobs, processes, progress):
        stop.seeds = sorted({arguments[-2] for _, arguments in jobs})
        raise _Stop

    monkeypatch.setattr(constrained, "execute", stop)
    with pytest.raises(_Stop):
        constrained.run(
            output=tmp_path,
            seeds=QUICK_SEEDS + 1,
            quick=True,
            first_seed=FIRST_SEED,
            reuse=[earlier],
        )
    assert stop.seeds == [FIRST_SEED + QUICK_SEEDS]


def _copy(earlier: Path, folder: Path) -> Path:
    folder.mkdir()
    for name in ("constrained_runs.csv", "constrained_front.csv"):
        shutil.copy(earlier / name, folder / name)
    return folder


def _rewrite(path: Path, change) -> None:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_a_folder_without_the_tables_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no constrained_runs.csv there"):
        constrained.run(output=tmp_path, seeds=1, quick=True, reuse=[tmp_path / "empty"])


def test_a_corrupt_cell_is_named_with_its_file_and_line(quick_constrained, tmp_path):  # noqa: F811
    _, earlier = quick_constrained
    folder = _copy(earlier, tmp_path / "copy")
    feasible = list(constrained.RUN_COLUMNS).index("feasible")

    def corrupt(rows):
        rows[2][feasible] = "yes"

    _rewrite(folder / "constrained_runs.csv", corrupt)
    with pytest.raises(TableError, match=r"constrained_runs.csv:3: .*not 0 or 1"):
        constrained.run(output=tmp_path, seeds=1, quick=True, reuse=[folder])


def test_runs_under_another_limit_are_refused_not_mixed_in(
    quick_constrained, tmp_path  # noqa: F811
):
    _, earlier = quick_constrained
    folder = _copy(earlier, tmp_path / "copy")
    limit_ms = list(constrained.RUN_COLUMNS).index("limit_ms")

    def move(rows):
        for row in rows[1:]:
            row[limit_ms] = str(float(row[limit_ms]) * 1.5)

    _rewrite(folder / "constrained_runs.csv", move)
    with pytest.raises(TableError, match="other data or other code"):
        constrained.run(
            output=tmp_path, seeds=1, quick=True, first_seed=FIRST_SEED, reuse=[folder]
        )


def test_the_command_line_takes_comma_separated_folders_and_exits_2_on_a_missing_one(
    tmp_path, capsys
):
    assert reuse_folders("a,b/c") == [Path("a"), Path("b/c")]
    # without them the part stops first, at the missing package (exit 1)
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    pytest.importorskip("optuna", reason="the part runs Optuna's samplers: the [optuna] extra")
    with pytest.raises(SystemExit) as stopped:
        bench_main.main(
            [
                "--suite",
                "constrained",
                "--quick",
                "--constrained-reuse",
                str(tmp_path / "nowhere"),
                "--output",
                str(tmp_path / "out"),
            ]
        )
    assert stopped.value.code == 2
    assert "no constrained_runs.csv there" in capsys.readouterr().err


def test_the_report_quotes_the_folders_as_typed_and_hides_other_machines_paths():
    args = bench_main.build_parser().parse_args(
        ["--suite", "constrained", "--constrained-reuse", "results,/elsewhere/run", "-o", "r"]
    )
    assert "--constrained-reuse results,DIR" in bench_main.command_line(args)


def test_a_reused_folder_may_not_be_the_output(tmp_path):
    with pytest.raises(UsageError, match="is also the --output folder: the run would overwrite"):
        constrained.run(output=tmp_path, seeds=1, quick=True, reuse=[tmp_path / "."])
