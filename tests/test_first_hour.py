"""What a new user meets in the first hour (issue 14): help texts, one-line errors, warnings,
packaging, the files the README's commands leave behind."""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import fail, run

from flash_nas.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _parsers(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_no_option_is_read_as_an_abbreviation(capsys):
    parsers = list(_parsers(build_parser()))
    assert len(parsers) > 10 and all(not parser.allow_abbrev for parser in parsers)
    # measure has -H/--hardware-option but no --hardware: a mistake, not an abbreviation
    with pytest.raises(SystemExit) as exit_info:
        main(["measure", "--space", "nasbench201", "--sample", "2", "--hardware", "cuda"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --hardware cuda" in capsys.readouterr().err


def test_search_help_says_the_objective_follows_the_hardware(capsys):
    with pytest.raises(SystemExit):
        main(["search", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "Without --objective the objective follows the hardware" in text
    assert "accuracy alone without --hardware" in text
    assert "pi3b: acc/(latency*energy)" in text and "imc: acc/(latency*energy*area)" in text


def test_the_readme_search_without_objective_runs_with_pi3b(capsys, tmp_path):
    # issue 14, item 1: the default objective asked pi3b for an area it does not report
    best = tmp_path / "best.csv"
    code, _, _ = run(
        capsys,
        "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid",
        "--n-labels", "25", "--method", "flash", "--hardware", "pi3b", "--seed", "0",
        "--output", str(best),
    )  # fmt: skip
    assert code == 0 and best.is_file()
    header = next(csv.reader(best.open()))
    assert "latency_ms" in header and "energy_mj" in header and "area_mm2" not in header


def test_labels_of_another_space_name_the_file_and_row(capsys, tmp_path):
    labels = tmp_path / "flash_labels.csv"
    labels.write_text('arch,valid_accuracy\n"dense:w=32,48,64;d=4,6,8;t=10,0,200",71.0\n')
    _, err = fail(
        capsys,
        "search", "--space", "nasbench201", "--labels-from", f"{labels}:valid_accuracy",
        "--output", str(tmp_path / "best.csv"),
    )  # fmt: skip
    assert "flash_labels.csv, row 2:" in err and "nasbench201 space?" in err


def _labels(path: Path, accuracies: dict[str, float]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "accuracy"])
        writer.writerows(accuracies.items())
    return path


def test_a_poor_predictor_fit_is_warned_about_and_a_good_one_is_not(capsys, tmp_path):
    from flash_nas_adapters.nasbench201.space import load_shipped_table

    table = load_shipped_table()
    rng = np.random.default_rng(0)
    rows = rng.choice(len(table.archs), 30, replace=False)
    archs = [table.archs[row] for row in rows]
    truth = table.column("c10_valid")[rows]
    noise = _labels(tmp_path / "noise.csv", dict(zip(archs, rng.uniform(10, 90, 30))))
    real = _labels(tmp_path / "real.csv", dict(zip(archs, truth)))
    warnings = {}
    # FLASH's NN-Degree predictor on labels that are noise; the default model on real labels.
    # (The default Gaussian process reaches a leave-one-out R2 of 0.15-0.39 even on noise, so
    # noise alone does not show the warning through it.)
    for name, labels, method in (("noise", noise, "flash"), ("real", real, "bo")):
        code, out, _ = run(
            capsys,
            "search", "--space", "nasbench201", "--objective", "acc", "--method", method,
            "--labels-from", f"{labels}:accuracy", "--output", str(tmp_path / f"{name}_best.csv"),
        )  # fmt: skip
        assert code == 0
        warnings[name] = [line for line in out.splitlines() if line.startswith("Warning:")]
        r2 = float(re.search(r"R2 (-?[\d.]+)", out).group(1))
        assert (r2 < 0.1) == (name == "noise"), (name, r2)
    assert "explains little of the labels" in warnings["noise"][0]
    assert warnings["real"] == []


def test_the_readme_outputs_are_ignored_by_git():
    from test_readme import ALL_BLOCKS, _named_outputs

    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing for .gitignore to do")
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(
            output
            for block in ALL_BLOCKS
            for command in block.commands
            for output in _named_outputs(command)
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    outputs = {o for b in ALL_BLOCKS for c in b.commands for o in _named_outputs(c)}
    assert "scores.csv" in outputs
    assert outputs == set(ignored), sorted(outputs - set(ignored))


def test_every_package_and_data_folder_is_listed_for_setuptools():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in Python >= 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {name: ROOT / path for name, path in config["package-dir"].items()}
    found = set()
    for name, folder in folders.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((name, *parts)))
        for data in folder.rglob("*.gz"):
            found.add(".".join((name, *data.parent.relative_to(folder).parts)))
    assert "flash_nas.search.engine" in found and "flash_nas_adapters.data" in found
    assert set(config["packages"]) == found


def test_quick_suite_timing_is_stated_alike():
    readme = " ".join((ROOT / "README.md").read_text().split())
    help_text = " ".join(
        subprocess.run(
            [sys.executable, "-m", "benchmarks", "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    stated = re.search(r"`--quick` in (about [\w ]+?)\)", readme).group(1)
    assert f"--quick few seeds and small sizes: {stated}" in help_text


def test_nnictl_runs_of_flash_nas_hide_the_pkg_resources_warning(tmp_path, monkeypatch):
    pytest.importorskip("nni", reason="needs the [nni] extra")
    from flash_nas.cli import nni

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NNI_CONFIG_DIR", str(tmp_path / "nni-config"))
    monkeypatch.setenv("PYTHONWARNINGS", "default::DeprecationWarning")
    raw = subprocess.run(
        [*nni.nnictl(), "algo", "list"], capture_output=True, text=True, check=False
    )
    assert raw.returncode == 0, raw.stderr
    if "pkg_resources is deprecated" not in raw.stderr:
        pytest.skip("this NNI and setuptools do not warn about pkg_resources")
    listed = nni._nnictl("algo", "list")
    assert "pkg_resources" not in listed and "Class Name" in listed
    assert nni.nnictl_environment()["PYTHONWARNINGS"].startswith("default::DeprecationWarning,")
