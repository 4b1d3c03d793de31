"""``flash-nas sample`` and ``flash-nas search`` end to end, and their bad input."""

from __future__ import annotations

import numpy as np
import pytest

import flash_nas
from flash_nas_adapters.nasbench201.space import load_shipped_table
from tests.cli_helpers import fail, rows, run


def test_sample_spans_nn_degree_over_the_whole_nb201_space(capsys):
    code, out, _ = run(capsys, "sample", "--space", "nasbench201", "--n", "25", "--seed", "0")
    table = rows(out)
    assert code == 0 and len(table) == 25 and len({r["arch"] for r in table}) == 25
    degrees = np.array([float(r["nn_degree"]) for r in table])
    space = flash_nas.score_batch(flash_nas.get_adapter("nasbench201").enumerate(), ["nn_degree"])
    low, high = space["nn_degree"].min(), space["nn_degree"].max()
    # one draw per 25th of the range: the lowest and highest bins are both represented
    assert degrees.min() <= low + (high - low) / 25
    assert degrees.max() >= high - (high - low) / 25


def test_sample_draws_a_pool_when_the_space_is_too_big(capsys):
    code, out, _ = run(capsys, "sample", "--space", "flash", "--n", "5", "--pool", "200",
                       "--strategy", "quantile")
    assert code == 0 and len(rows(out)) == 5
    assert all(r["arch"].startswith("dense:") for r in rows(out))


def test_search_flash_method_with_labels_from_the_shipped_table(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs the [plot] extra")
    best = tmp_path / "best.csv"
    plot = tmp_path / "front.png"
    code, out, _ = run(capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid",
                       "--n-labels", "25", "--method", "flash", "--hardware", "pi3b",
                       "--objective", "acc/latency", "--top", "3", "--output", str(best),
                       "--plot", str(plot))
    assert code == 0
    assert "fitted on 25 labels" in out and "level 1" in out and "integer repair" in out
    assert "Leave-one-out on the labels" in out
    table = rows(best.read_text())
    assert len(table) == 3
    first = table[0]
    if first["measured"] == "0":  # FLASH's pick is a prediction, and says so
        assert "not measured" in out and float(first["accuracy_sd"]) > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_search_budget_loop_recommends_the_best_measured_and_resumes(capsys, tmp_path):
    state = tmp_path / "state.json"
    argv = ["search", "--space", "nasbench201", "--objective", "acc", "--labels-from",
            "cifar10:c10_valid", "--seed", "4", "--state", str(state), "--output"]
    code, _, _ = run(capsys, *argv, str(tmp_path / "a.csv"), "--budget", "11")
    assert code == 0 and state.is_file()
    code, _out, err = run(capsys, *argv, str(tmp_path / "b.csv"), "--budget", "12")
    assert code == 0 and "Resuming from" in err and "11 trial(s)" in err
    straight = tmp_path / "c.csv"
    code, _, _ = run(capsys, *argv[:-3], "--output", str(straight), "--budget", "12")
    resumed, uninterrupted = rows((tmp_path / "b.csv").read_text()), rows(straight.read_text())
    assert resumed[0]["arch"] == uninterrupted[0]["arch"]
    assert resumed[0]["measured"] == "1"
    table = load_shipped_table()
    engine = flash_nas.SearchEngine.load(state)
    told = [t.value for t in engine.history]
    assert len(told) == 12 and float(resumed[0]["accuracy"]) == max(told)
    assert table.column("c10_valid")[table.row_of(resumed[0]["arch"])] == max(told)


def test_search_budget_and_n_labels_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid",
            "--budget", "5", "--n-labels", "5", "--output", "-")
    assert exit_info.value.code == 2
    assert "argument --n-labels: not allowed with argument --budget" in capsys.readouterr().err


def test_search_on_accuracy_alone_needs_no_hardware(capsys):
    code, out, _ = run(capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid",
                       "--n-labels", "25", "--objective", "acc", "--output", "-")
    assert code == 0
    pick = rows(out[out.index("arch,"):])[0]
    # the predictor rises with NN-Degree, so the pick is among the architectures with the most
    table = load_shipped_table()
    assert pick["arch"] in table


def test_search_flash_space_with_labels_from_a_csv(capsys, tmp_path):
    adapter = flash_nas.get_adapter("flash")
    batch = adapter.sample(30, 0)
    degree = flash_nas.score_batch(batch, ["nn_degree"])["nn_degree"]
    labels = tmp_path / "labels.csv"
    with labels.open("w") as handle:
        handle.write("arch,accuracy\n")
        for text, g in zip(batch.texts(), degree):
            handle.write(f'"{text}",{94 - 30 * np.exp(-g / 150):.3f}\n')
    code, out, _ = run(capsys, "search", "--space", "flash", "--labels-from", f"{labels}:accuracy",
                       "--hardware", "pi3b", "--objective", "acc/latency", "--max-latency-ms", "200",
                       "--output", "-")
    assert code == 0 and "fitted on 30 labels" in out
    pick = rows(out[out.index("arch,"):])[0]
    assert float(pick["latency_ms"]) <= 200
    adapter.parse(pick["arch"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--labels-from", "cifar100:c100_test"], "neither a file nor a table this space ships (shipped: cifar10)"),
        (["--labels-from", "cifar10:top1"], "no column 'top1'"),
        (["--labels-from", "cifar10"], "expects TABLE:COLUMN"),
        (["--objective", "acc+latency"], "may only multiply"),
        (["--objective", "acc/latency"], "names 'latency', which the search without a hardware"),
        (["--n-labels", "0"], "--n-labels must be >= 1; got 0"),
        (["--hardware", "pi3b", "--objective", "acc/area"], "'area', which the hardware model Pi3B"),
        (["--max", "speed_ms=3"], "Unknown limit 'max_speed_ms': the search without a hardware"),
        (["--max", "params=3e5", "--max-params", "4e5"], "--max-params and --max params= set"),
        (["--max", "params"], "expected QUANTITY=NUMBER, e.g. latency_ms=20; got 'params'"),
    ],
)
def test_search_bad_input(capsys, extra, message):
    argv = ["search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid", "--n-labels",
            "25", "--objective", "acc", "--output", "-"]
    for position in range(0, len(extra), 2):
        flag = extra[position]
        if flag in argv:
            argv[argv.index(flag) + 1] = extra[position + 1]
        else:
            argv += extra[position : position + 2]
    _, err = fail(capsys, *argv)
    assert message in err


def test_labels_out_of_range_or_missing(capsys, tmp_path):
    a = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    labels = tmp_path / "labels.csv"
    labels.write_text(f"arch,acc\n{a},120\n")
    _, err = fail(capsys, "search", "--space", "nasbench201", "--labels-from", f"{labels}:acc",
                  "--objective", "acc", "--output", "-")
    assert "outside the label's range [0, 100]" in err
    labels.write_text(f"arch,acc\n{a},\n")
    _, err = fail(capsys, "search", "--space", "nasbench201", "--labels-from", f"{labels}:acc",
                  "--objective", "acc", "--output", "-")
    assert "not a number" in err


def test_limits_nothing_meets_name_the_closest(capsys):
    _, err = fail(capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid",
                  "--n-labels", "25", "--hardware", "pi3b", "--objective", "acc",
                  "--max-latency-ms", "0.01", "--output", "-")
    assert "No architecture of the space meets the limits (latency_ms <= 0.01)" in err
    assert "Closest: |" in err
    assert "Relax a limit" in err


def test_the_cli_budget_loop_is_the_benchmark_protocol(capsys):
    """``search --budget`` and the benchmark's FLASH-BO run pick the same architectures."""
    from benchmarks.suite.search import Truth, bo_trace

    adapter = flash_nas.get_adapter("nasbench201")
    trace, _, _ = bo_trace(adapter, Truth.load(), seed=3, budget=12)
    code, out, _ = run(capsys, "search", "--space", "nasbench201", "--objective", "acc",
                       "--labels-from", "cifar10:c10_valid", "--budget", "12", "--seed", "3",
                       "--output", "-")
    assert code == 0
    first = rows(out[out.index("arch,"):])[0]
    table = load_shipped_table()
    assert float(first["accuracy"]) == max(trace.valid)
    assert table.column("c10_test")[table.row_of(first["arch"])] == trace.curve()[0][-1]
