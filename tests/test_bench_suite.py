"""The benchmark suite's quick mode writes a well-formed report (structure and ranges, not
values); a user table with missing rows or a mismatched index is refused, naming the rows."""

from __future__ import annotations

import contextlib
import csv
import inspect
import io
import itertools
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as bench_main
from benchmarks.suite import PARTS, Part, check_options, parse_parts, run_suite
from benchmarks.suite.options import Option, positive_int
from benchmarks.suite.report import Section
from benchmarks.suite.targets import load_targets
from flash_nas import FlashNasError, TableError, get_adapter
from tests.bench_runs import (
    FIRST_SEED,
    RUNS,
    SEEDED,
    USER_HEADER,
    QuickRun,
    shipped_rows,
    write_rows,
)

COUNTS = {
    "seed",
    "repeat",
    "trial",
    "labels",
    "n_rows",
    "n_archs",
    "n_cells",
    "evaluations",
    "threads",
    "input_size",
    "macs",
}
FLAGS = {"cold", "measured", "feasible"}


def possible_range(column: str) -> tuple[float, float, bool]:
    """(low, high, low excluded) of a numeric column, by what its name says it holds."""
    if column in COUNTS or column in FLAGS:
        return (0.0, 1.0 if column in FLAGS else math.inf, False)
    if column.endswith(("spearman", "kendall")):
        return (-1.0, 1.0, False)
    if column.endswith("accuracy"):
        return (0.0, 100.0, False)
    if column.endswith(("seconds", "_mb", "ratio", "space_size")):
        return (0.0, math.inf, True)
    if column.endswith("_ms"):
        return (0.0, math.inf, True)
    if column.endswith(("within_10pct", "within_20pct")):
        return (0.0, 1.0, False)
    if column.endswith("mape"):
        return (0.0, math.inf, False)
    if column.endswith("log_objective"):
        return (-math.inf, math.inf, False)
    raise AssertionError(f"numeric column {column!r} has no known range")


@pytest.fixture(params=list(RUNS))
def quick(request: pytest.FixtureRequest) -> QuickRun:
    """Each of the suite's quick runs (tests/bench_runs.py), together every part once."""
    run: QuickRun = request.getfixturevalue(f"quick_{request.param}")
    return run


def read_csvs(output: Path) -> dict[str, list[dict[str, str]]]:
    tables = {}
    for path in sorted(output.glob("*.csv")):
        with path.open(newline="") as handle:
            tables[path.name] = list(csv.DictReader(handle))
    return tables


def test_the_two_quick_runs_are_every_part_of_all_once():
    every = [part for parts in RUNS.values() for part in parts]
    assert sorted(every) == sorted(parse_parts("all")) and len(set(every)) == len(every)
    assert {"predictor", "search", "search_spaces", "integrations"} <= set(SEEDED)
    assert RUNS["seeded"] == SEEDED


@pytest.mark.slow
def test_quick_report_has_every_part_and_captions_every_table(quick):
    text = (quick.output / "report.md").read_text()
    assert "Machine: " in text and "No GPU" in text
    assert list(quick.sections) == quick.parts
    headings = re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, len(quick.parts) + 1)]
    body = text[text.index("## 1. ") :]
    blocks = body.split("\n\n")
    for previous, block in itertools.pairwise(blocks):
        if block.startswith("| "):
            for word in ("*Rows:*", "*Target:*", "*Split:*", "*Seeds:*"):
                assert word in previous, (word, block[:80])
    assert "mean ± std" in body


@pytest.mark.slow
def test_quick_report_names_only_files_it_wrote(quick):
    output = quick.output
    text = (output / "report.md").read_text()
    raw = " ".join(re.findall(r"^Raw data: (.*)$", text, flags=re.MULTILINE))
    named = set(re.findall(r"`([\w.]+\.(?:csv|json))`", raw))
    named |= set(re.findall(r"^!\[[^]]*\]\(([\w.]+\.png)\)", text, flags=re.MULTILINE))
    written = {p.name for p in output.iterdir() if p.suffix in (".csv", ".png", ".json")}
    assert named == written
    assert {f"{part}.json" for part in quick.parts} <= written
    for png in output.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_every_part_writes_its_results_file(quick):
    for part in quick.parts:
        data = json.loads((quick.output / f"{part}.json").read_text())
        assert data["part"] == part and data["mode"] == "quick" and data["seeds"] == 2
        assert data["command"].startswith("python -m benchmarks --suite ")
        assert data["seconds"] >= 0 and data["machine"] and data["load_average"]["end"] >= 0
        assert data["results"] == json.loads(json.dumps(quick.sections[part].results))


@pytest.mark.slow
def test_every_number_in_the_csvs_is_finite_and_possible(quick):
    tables = read_csvs(quick.output)
    expected = {
        "seeded": {"predictor.csv", "search_curves.csv"},
        "rest": {"ranking.csv", "scoring_ranking.csv", "speed_ratio.csv"},
        "apart": {"search_flash_runs.csv", "nni_tuners.csv"},
    }
    assert expected[quick.name] <= set(tables)
    checked = 0
    for name, rows in tables.items():
        assert rows, name
        for row in rows:
            for column, cell in row.items():
                assert cell != "", (name, column)
                try:
                    value = float(cell)
                except ValueError:
                    continue  # a label: a score's, a method's, a device's name
                low, high, open_low = possible_range(column)
                assert math.isfinite(value), (name, column, cell)
                assert (value > low if open_low else value >= low) and value <= high, (
                    name,
                    column,
                    cell,
                )
                checked += 1
    assert checked > 1000


@pytest.mark.slow
def test_seeds_start_at_first_seed_where_a_part_takes_it(quick_seeded):
    tables = read_csvs(quick_seeded.output)
    seeds = {str(FIRST_SEED), str(FIRST_SEED + 1)}
    for name in ("predictor.csv", "search_curves.csv", "integrations_curves.csv"):
        assert {row["seed"] for row in tables[name]} == seeds, name
    methods = {row["method"] for row in tables["search_curves.csv"]}
    assert {
        "FLASH-BO (bo)",
        "FLASH (paper, flash)",
        "random search",
        "regularized evolution",
        "differential evolution",
    } <= methods
    summary = quick_seeded.stdout
    assert "Report: " in summary and "search, 12 labels, FLASH-BO (bo)" in summary


@pytest.mark.slow
def test_seeds_start_at_0_for_the_other_parts(quick_rest, quick_apart):
    tables = {**read_csvs(quick_rest.output), **read_csvs(quick_apart.output)}
    for name in ("hardware_fidelity.csv", "nni_tuners.csv"):
        assert {row["seed"] for row in tables[name]} == {"0", "1"}, name
    # --nni-trials reaches the part (tests/bench_runs.py: the nni_tuners test reads its lead)
    assert {row["trial"] for row in tables["nni_tuners.csv"]} == set(map(str, range(1, 23)))
    assert "Report: " in quick_rest.stdout


@pytest.mark.slow
def test_the_scale_part_ran_the_command_at_each_size(quick_rest):
    rows = read_csvs(quick_rest.output)["scale_cli.csv"]
    assert sorted({int(row["n_archs"]) for row in rows}) == [1_000, 10_000]
    # a fresh process holds numpy and the package: tens of MB at least, and a bigger sample more
    peaks = {int(row["n_archs"]): float(row["peak_mb"]) for row in rows}
    assert 20 < peaks[1_000] <= peaks[10_000]
    assert "scale: flash-nas score of 10,000 FLASH-space samples in " in quick_rest.stdout


@pytest.mark.slow
def test_a_user_table_adds_its_accuracy_columns_as_targets(quick_rest):
    ranking = read_csvs(quick_rest.output)["ranking.csv"]
    mine = [row for row in ranking if row["table"] == "user_table.csv"]
    assert {row["target"] for row in mine} == {"mydata_acc"}
    assert {row["row_set"] for row in mine} == {"all", "nbsuitezero", "iso_reps"}
    shipped = {
        (r["row_set"], r["score"], r["source"]) for r in ranking if r["target"] == "c10_test"
    }
    assert {(r["row_set"], r["score"], r["source"]) for r in mine} == shipped
    assert "mydata_latency_ms" in (quick_rest.output / "report.md").read_text()  # ignored


@pytest.fixture(scope="module")
def nb201():
    return get_adapter("nasbench201")


def test_a_user_table_missing_architectures_names_them(tmp_path, nb201):
    rows = [row for row in shipped_rows() if row[1] not in (7, 42, 15624)]
    path = write_rows(tmp_path / "short.csv", USER_HEADER, rows)
    with pytest.raises(
        TableError,
        match=r"short\.csv: 3 of the 15,625 architectures are missing: index 7 \(\|.*\|\); "
        r"index 42 .*; index 15624 .*Every architecture needs a row",
    ):
        load_targets(path, nb201)


def test_a_user_table_whose_index_disagrees_with_its_arch_names_the_rows(tmp_path, nb201):
    rows = shipped_rows()
    rows[0][1], rows[1][1] = 1, 0
    path = write_rows(tmp_path / "swapped.csv", USER_HEADER, rows)
    with pytest.raises(
        TableError,
        match=r"swapped\.csv: the index column disagrees with the arch column on 2 row\(s\): "
        r"row 1 says index 1 but '\|avg_pool_3x3~0\|.*' is index 0; row 2 says index 0",
    ):
        load_targets(path, nb201)


@pytest.mark.parametrize(
    ("header", "edit", "message"),
    [
        (["index", "acc"], lambda rows: rows[:-1], r"1 of the 15,625 architectures are missing"),
        (["index", "acc"], lambda rows: [*rows, [15625, 50.0]], r"outside 0\.\.15624: row 15626"),
        (
            ["index", "acc"],
            lambda rows: [*rows[:-1], [3, 50.0]],
            r"'3' is listed twice \(rows 4 and 15625\)",
        ),
        (["index", "latency"], lambda rows: rows, r"no accuracy column"),
        (["net", "acc"], lambda rows: rows, r"needs an 'arch' column .* or an 'index' column"),
        (["index", "acc"], lambda rows: [[i, 150.0] for i, _ in rows], r"\[0, 100\]"),
    ],
)
def test_an_index_only_table_is_checked_row_by_row(tmp_path, nb201, header, edit, message):
    rows = [[index, 50.0 + index % 3] for index in range(15625)]
    path = write_rows(tmp_path / "table.csv", header, edit(rows))
    with pytest.raises(TableError, match=message):
        load_targets(path, nb201)


def test_the_command_reports_a_bad_table_and_exits_1(tmp_path, capsys):
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    path = write_rows(tmp_path / "bad.csv", ["index", "acc"], [[0, 90.0]])
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--suite", "ranking", "--output", str(tmp_path), "--table", str(path)])
    assert exit_info.value.code == 1
    assert "15,624 of the 15,625 architectures are missing: index 1" in capsys.readouterr().err


def test_suite_names_are_checked():
    everything = [name for name, part in PARTS.items() if part.in_all]
    assert parse_parts("all") == everything
    assert "imc_zigzag" not in everything and "constrained" not in everything
    # named, a part outside all runs
    assert parse_parts("imc_zigzag, constrained, all") == list(PARTS)
    assert parse_parts("speed, ranking") == ["ranking", "speed"]
    with pytest.raises(FlashNasError, match=r"Unknown suite part\(s\) 'rankings'; expected all"):
        parse_parts("ranking,rankings")
    with pytest.raises(FlashNasError, match="add ranking to --suite"):
        run_suite(["speed"], output=Path("unused"), tables=["user.csv"])


def test_a_part_option_needs_its_part():
    check_options(["pi3"], {"write_profile": Path("p.json")})
    with pytest.raises(
        FlashNasError, match=r"--write-profile is an option of the pi3 part; add pi3"
    ):
        check_options(["ranking"], {"write_profile": Path("p.json")})
    with pytest.raises(FlashNasError, match=r"No suite part has an option 'profile'"):
        check_options(["pi3"], {"profile": Path("p.json")})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--suite", "ranking", "--write-profile", "p.json"], "add pi3 to --suite"),
        (["--suite", "nni_tuners", "--nni-trials", "0"], "expected a whole number >= 1, got 0"),
        (["--suite", "rankin"], "Unknown suite part(s) 'rankin'"),
        (["--seeds", "0"], "--seeds must be >= 1, got 0"),
    ],
)
def test_the_runner_refuses_bad_arguments_with_status_2(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main([*argv, "--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_the_runner_refuses_an_output_that_is_a_file(tmp_path, capsys):
    existing = tmp_path / "report.md"
    existing.write_text("old")
    with pytest.raises(SystemExit) as exit_info:
        bench_main.main(["--suite", "speed", "--output", str(existing)])
    assert exit_info.value.code == 2
    assert "is a file; expected a folder for the report" in capsys.readouterr().err
    assert existing.read_text() == "old"


def test_the_runner_hands_each_part_its_own_options_and_seeds(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the suite draws plots: the [plot] extra")
    calls: dict[str, dict[str, object]] = {}

    def recorder(name: str):
        def run(**kwargs: object) -> Section:
            calls[name] = kwargs
            return Section(name, name)

        return run

    first = Part(recorder("first"), (Option("--first-size", "size", "x", type=positive_int),))
    second = Part(recorder("second"), (Option("--second-size", "size2", "x", default=7),), (2, 20))
    monkeypatch.setattr("benchmarks.suite.PARTS", {"first": first, "second": second})
    monkeypatch.setattr("benchmarks.__main__.PARTS", {"first": first, "second": second})
    output = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        status = bench_main.main(["--quick", "--first-size", "5", "--output", str(output)])
    assert status == 0
    assert calls["first"]["size"] == 5 and "size2" not in calls["first"]
    assert "size" not in calls["second"] and "size2" not in calls["second"]  # left at default
    assert calls["first"]["seeds"] == 3 and calls["second"]["seeds"] == 2  # each part's default
    text = (output / "report.md").read_text()
    assert "--first-size 5" in text and "quick, 3 seeds (second 2) where a part" in text


def test_part_options_reach_one_part_each():
    # a dest shared by two parts would hand one part's value to the other
    dests = [option.dest for part in PARTS.values() for option in part.options]
    flags = [option.flag for part in PARTS.values() for option in part.options]
    assert len(dests) == len(set(dests)) and len(flags) == len(set(flags))
    core = {"suite", "first_seed", "seeds", "quick", "output", "table"}
    assert not core & set(dests)


def test_bench_help_lists_every_part_and_its_options():
    text = " ".join(bench_main.build_parser().format_help().split())
    for name, part in PARTS.items():
        assert name in text
        for option in part.options:
            assert option.flag in text
    assert "imc_zigzag (not in all)" in text


def test_flash_nas_bench_names_the_runner_and_imports_no_benchmarks(tmp_path):
    probe = (
        "import sys\n"
        "from flash_nas.cli import main\n"
        "path = list(sys.path)\n"
        "try:\n"
        "    main(['bench', '--suite', 'ranking', '--quick'])\n"
        "except SystemExit as exc:\n"
        "    print('status', exc.code)\n"
        "print('imported', any(m.split('.')[0] == 'benchmarks' for m in sys.modules))\n"
        "print('path changed', sys.path != path)\n"
    )
    (tmp_path / "benchmarks").mkdir()  # a folder of that name here must not be picked up
    (tmp_path / "benchmarks" / "__init__.py").write_text("raise SystemExit('imported')\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.stdout.split("\n")[:3] == ["status 2", "imported False", "path changed False"]
    assert "python -m benchmarks --suite PART" in done.stderr
    assert "run it from a clone of the repository" in done.stderr


def test_first_seed_is_refused_for_a_part_that_would_ignore_it(tmp_path):
    with pytest.raises(FlashNasError, match="--first-seed 5 would be ignored by hardware"):
        run_suite(["search", "hardware"], output=tmp_path, first_seed=5)
    assert not any(tmp_path.iterdir())  # refused before anything ran or was written


def test_a_part_says_it_takes_first_seed_exactly_when_its_run_does():
    for name, part in PARTS.items():
        takes = "first_seed" in inspect.signature(part.run).parameters
        assert takes == part.first_seed, name
