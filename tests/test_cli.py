"""The flash-nas command line: output format, and one readable line for every bad input."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from flash_nas.cli import main
from flash_nas_adapters.nasbench201.space import load_shipped_table

INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_scores_the_whole_nasbench201_space(capsys, tmp_path):
    target = tmp_path / "scores.csv"
    code, _, err = run(
        capsys,
        "score",
        "--space",
        "nasbench201",
        "--metrics",
        "nn_degree,nn_mass,params,flops",
        "--output",
        str(target),
    )
    assert code == 0
    assert "15,625 architectures" in err
    table = rows(target.read_text())
    assert list(table[0]) == ["arch", "index", "nn_degree", "nn_mass", "params", "flops"]
    assert len(table) == 15625
    assert table[0]["arch"] == INDEX0 and table[0]["index"] == "0"
    assert [r["arch"] for r in table] == list(load_shipped_table().archs)


def test_scores_archs_from_a_file_to_stdout(capsys, tmp_path):
    archs = tmp_path / "my_archs.txt"
    archs.write_text(
        f"# two cells\n{INDEX0}\n\n|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|\n"
    )
    code, out, _ = run(
        capsys,
        "score",
        "--space",
        "nasbench201",
        "--archs",
        str(archs),
        "--metrics",
        "nn_degree",
        "--output",
        "-",
    )
    assert code == 0
    table = rows(out)
    assert table[0]["arch"] == INDEX0
    assert len(table) == 2
    assert float(table[1]["nn_degree"]) == 0  # the only conv sits behind none edges


def test_archs_can_come_from_a_csv(capsys, tmp_path):
    archs = tmp_path / "picked.csv"
    archs.write_text(f"arch,acc\n{INDEX0},85.8\n")
    code, out, _ = run(
        capsys, "score", "--space", "nasbench201", "--archs", str(archs), "--metrics", "params"
    )
    assert code == 0
    assert rows(out) == [{"arch": INDEX0, "index": "0", "params": "129306"}]


def test_sampling_is_seeded(capsys):
    _, first, _ = run(capsys, "score", "--space", "nasbench201", "--sample", "5", "--seed", "3")
    _, second, _ = run(capsys, "score", "--space", "nasbench201", "--sample", "5", "--seed", "3")
    _, third, _ = run(capsys, "score", "--space", "nasbench201", "--sample", "5", "--seed", "4")
    assert first == second != third
    assert len(rows(first)) == 5


def test_space_options_reach_the_adapter(capsys, tmp_path):
    archs = tmp_path / "one.txt"
    archs.write_text(INDEX0)
    code, out, _ = run(
        capsys,
        "score",
        "--space",
        "nasbench201",
        "-O",
        "num_classes=100",
        "--archs",
        str(archs),
        "--metrics",
        "params",
    )
    assert code == 0
    assert int(rows(out)[0]["params"]) == 129306 + 64 * 90 + 90  # a 100-way classifier


def test_plugins_and_metrics_are_listed(capsys):
    code, out, _ = run(capsys, "plugins")
    assert code == 0
    assert any(
        line.split()[:4] == ["adapter", "nasbench201", "nasbench201", "flash-nas"]
        for line in out.splitlines()
    )
    code, out, _ = run(capsys, "metrics")
    assert "nn_degree_neuron" in out and "MACs" in out


@pytest.mark.parametrize(
    ("argv", "status", "message"),
    [
        (["score", "--space", "nb201"], 2, "Unknown adapter 'nb201' (--space); expected one of:"),
        (
            ["score", "--space", "nasbench201", "--metrics", "nn_dgree"],
            2,
            "Unknown metric 'nn_dgree'",
        ),
        (
            ["score", "--space", "nasbench201", "--archs", "missing.txt"],
            2,
            "--archs: no file 'missing.txt'",
        ),
        (["score", "--space", "nasbench201", "--sample", "0"], 2, "--sample must be >= 1"),
        (["score", "--space", "nasbench201", "-O", "input_size=30"], 2, "divisible by 4"),
        (["score", "--space", "nasbench201", "--output", "no/such/dir/x.csv"], 2, "does not exist"),
    ],
)
def test_bad_input_is_one_readable_line(capsys, argv, status, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == status
    assert err.startswith("flash-nas: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_malformed_arch_in_a_file_names_the_line(capsys, tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text(f"{INDEX0}\n|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--space", "nasbench201", "--archs", str(archs)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert f"{archs}, line 2: " in err and "unknown op 'nor_conv_5x5'" in err


def test_an_empty_arch_file_is_refused(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing here\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["score", "--space", "nasbench201", "--archs", str(empty)])
    assert exit_info.value.code == 1  # the file's data, not the command line
    assert "lists no architecture" in capsys.readouterr().err


def test_the_console_script_exits_without_a_traceback():
    done = subprocess.run(
        [sys.executable, "-m", "flash_nas", "score", "--space", "nope"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2  # an unknown space: the command line is wrong
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("flash-nas: error: Unknown adapter 'nope'")
