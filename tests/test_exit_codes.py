"""One rule for every command's exit status: 2 when the command line is wrong (an unknown
name, a malformed option value, a named input file that is not there, an output that cannot be
written), 1 when the data inside a file is wrong or the work fails."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flash_nas.cli import EXIT_RULE, build_parser, main

NB201 = ["--space", "nasbench201"]
SEARCH = ["search", *NB201, "--labels-from", "cifar10:c10_valid", "--n-labels", "3", "-o", "-"]

CASES = [
    # -- 2: what was typed is wrong
    (["score", "--space", "nope"], 2, "Unknown adapter 'nope'"),
    (["hw", *NB201, "--sample", "2", "--hardware", "nope"], 2, "Unknown hardware 'nope'"),
    (["score", *NB201, "--sample", "2", "--metrics", "nope"], 2, "Unknown metric 'nope'"),
    (["score", *NB201, "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
    (["score", *NB201, "--sample", "abc"], 2, "invalid int value: 'abc'"),
    (["score", *NB201, "--sample", "0"], 2, "--sample must be >= 1"),
    ([*SEARCH, "--objective", "acc*foo"], 2, "names 'foo', which the search"),
    (["search", *NB201, "--labels-from", "cifar10:top1", "-o", "-"], 2, "no column 'top1'"),
    (["score", *NB201, "--archs", "{tmp}/missing.txt"], 2, "no file"),
    (
        ["hw", *NB201, "--sample", "2", "--hardware", "pi3b", "--profile", "{tmp}/no.json"],
        2,
        "argument --profile: no file",
    ),
    (
        [
            "calibrate",
            "--hardware",
            "pi3b",
            "--target",
            "latency_ms",
            "--measurements",
            "{tmp}/no.csv",
            "-o",
            "{tmp}/p.json",
        ],
        2,
        "argument --measurements: no file",
    ),
    (["search", *NB201, "--labels-from", "{tmp}/no.csv:acc", "-o", "-"], 2, "neither a file"),
    (["score", *NB201, "--sample", "2", "-o", "{tmp}/no/such/x.csv"], 2, "does not exist"),
    ([*SEARCH, "--state", "{tmp}/no/such/s.json"], 2, "--state: the folder"),
    # -- 1: the data inside a file is wrong
    (["score", *NB201, "--archs", "{tmp}/empty.txt"], 1, "lists no architecture"),
    (["score", *NB201, "--archs", "{tmp}/twice.txt"], 1, "again; expected each architecture once"),
    (["score", *NB201, "--archs", "{tmp}/bad.txt"], 1, "line 1: "),
    (["search", *NB201, "--labels-from", "{tmp}/labels.csv:acc", "-o", "-"], 1, "row 2: "),
    (
        ["hw", *NB201, "--sample", "2", "--hardware", "pi3b", "--profile", "{tmp}/bad.json"],
        1,
        "not valid JSON",
    ),
    (
        [
            "calibrate",
            "--hardware",
            "pi3b",
            "--target",
            "latency_ms",
            "--measurements",
            "{tmp}/bad.csv",
            "-o",
            "{tmp}/p.json",
        ],
        1,
        "not a number",
    ),
]

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|none~2|"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing\n")
    (tmp_path / "twice.txt").write_text(f"{ARCH}\n{ARCH}\n")
    (tmp_path / "bad.txt").write_text("|conv_9x9~0|\n")
    (tmp_path / "labels.csv").write_text("arch,acc\nfoo,1\n")
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "bad.csv").write_text(f"arch,latency_ms\n{ARCH},x\n")
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    CASES,
    ids=[" ".join(c[0][:3]) + f" {i}" for i, c in enumerate(CASES)],
)
def test_exit_status_follows_one_rule(capsys, files, argv, status, message):
    argv = [arg.replace("{tmp}", str(files)) for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert err.startswith("flash-nas: error: ") and len(err.strip().splitlines()) == 1
    assert message in err
    assert exit_info.value.code == status


def test_the_rule_is_in_the_help_and_the_readme():
    from pathlib import Path

    def words(text):
        return " ".join(text.split())

    assert words(EXIT_RULE) in words(build_parser().format_help())
    assert words(EXIT_RULE) in words((Path(__file__).parents[1] / "README.md").read_text())


def test_the_console_script_exits_2_for_an_unknown_space_without_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "flash_nas", "score", "--space", "nope"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
