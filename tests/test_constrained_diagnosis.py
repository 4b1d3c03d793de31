"""``python -m benchmarks.constrained_diagnosis``: which ops a search's trained networks execute,
and what the engine believes of the ceiling's pick."""

from __future__ import annotations

import csv
import math

import pytest
from scipy.special import ndtr

from benchmarks import constrained_diagnosis
from benchmarks.constrained_diagnosis import OPS, diagnose, executed_ops, main
from benchmarks.suite.constrained_runs import load_device, load_space


def test_ops_behind_none_edges_are_not_executed() -> None:
    # node 3 reads node 0 only (its edges from nodes 1 and 2 are none): the convs into nodes 1
    # and 2 feed nothing that reaches the output, so a device runs only the skip
    dead = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|none~2|"
    assert executed_ops(dead) == {"skip_connect"}
    # the same convs, now read by node 3, all run
    live = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|skip_connect~1|skip_connect~2|"
    assert executed_ops(live) == {"nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect"}


def test_a_seed_is_diagnosed_from_the_engine_it_drove() -> None:
    space, device = load_space(), load_device("edgegpu")
    limit = device.limit(0.10)
    found = diagnose(space, device, limit, 0, trainings=6)
    # both recommendations are cells of the space, the ceiling's within the true limit
    assert found.recommended in space.test and found.ceiling in space.test
    assert found.ceiling_true_ms == device.reading(found.ceiling) <= limit
    assert found.ceiling_test == space.test[found.ceiling]
    # counts of trained networks, never more than were trained
    assert set(found.executing) == set(OPS)
    assert all(0 <= n <= 6 for n in found.executing.values())
    if found.ceiling_trained:  # measured: the chance is the measurement's verdict
        assert found.ceiling_chance == 1.0
    else:  # log-normal belief: the chance follows from the prediction and its spread
        z = (math.log(limit) - math.log(found.ceiling_predicted_ms)) / found.ceiling_spread
        assert found.ceiling_chance == pytest.approx(float(ndtr(z)), abs=1e-9)


def test_the_command_writes_one_row_per_seed(tmp_path, capsys, monkeypatch) -> None:
    seen = []
    real = constrained_diagnosis.diagnose

    def recorded(*args, **kwargs):
        seen.append((args[3], kwargs["trainings"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(constrained_diagnosis, "diagnose", recorded)
    assert main(["--seeds", "1-2", "--trainings", "5", "--output", str(tmp_path)]) == 0
    assert seen == [(1, 5), (2, 5)]
    with (tmp_path / "constrained_diagnosis.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["seed"] for row in rows] == ["1", "2"]
    assert all(int(row["trained_executing_nor_conv_3x3"]) <= 5 for row in rows)
    printed = capsys.readouterr().out
    assert "edgegpu, limit" in printed and printed.count(" of 5") == 2


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (["--seeds", "a-b"], "expected a seed or a range like 0-4"),
        (["--seeds", "4-1"], "(first <= last), got '4-1'"),
        (["--limit", "1.5"], "expected a quantile between 0 and 1"),
        (["--limit", "x"], "expected a quantile between 0 and 1, got 'x'"),
        (["--trainings", "0"], "expected a positive number of trainings, got '0'"),
        (["--device", "tpu9"], "invalid choice: 'tpu9'"),
    ],
)
def test_bad_arguments_exit_2_saying_what_was_expected(bad, expected, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(bad)
    assert stop.value.code == 2
    assert expected in capsys.readouterr().err
