"""``python -m benchmarks.constrained_oracle``: an accuracy oracle with the latency model
learned from the device's table."""

from __future__ import annotations

import csv
import json
import math

import numpy as np

from benchmarks import constrained_oracle
from benchmarks.constrained_oracle import main, oracle_pick
from benchmarks.suite.constrained_runs import load_space

# four timed cells, most accurate first, and one the device did not time
VALID = np.array([90.0, 89.0, 88.0, 87.0, 99.0])
TEST = np.array([93.0, 92.0, 91.0, 90.0, 99.0])
LATENCY = np.array([12.0, 11.0, 9.0, 8.0, np.nan])
# the model calls the first three 9 ms (a chance of 0.61 under 10 ms, its spread 0.36) and
# the last 12 ms (0.31); the untimed cell 5 ms
PREDICTED = np.array([9.0, 9.0, 9.0, 12.0, 5.0])


def test_the_oracle_recommends_the_most_accurate_training_that_held() -> None:
    test, threshold, held = oracle_pick(VALID, TEST, LATENCY, PREDICTED, 10.0)
    # every chance up to 0.61 trains all four timed cells: the third and fourth hold, the
    # third is the more accurate; the untimed cell is never trained, however likely
    assert (test, threshold, held) == (91.0, 0.02, 2)


def test_the_oracle_trains_no_more_than_its_budget(monkeypatch) -> None:
    monkeypatch.setattr(constrained_oracle, "TRAININGS", 2)
    # the two most accurate cells it may train break the limit at every chance: nothing held
    test, threshold, held = oracle_pick(VALID, TEST, LATENCY, PREDICTED, 10.0)
    assert math.isnan(test) and math.isnan(threshold) and held == 0
    monkeypatch.setattr(constrained_oracle, "TRAININGS", 3)
    assert oracle_pick(VALID, TEST, LATENCY, PREDICTED, 10.0) == (91.0, 0.02, 1)


def test_quick_writes_the_pi4s_rows_and_figures(few_rounds, tmp_path, capsys, monkeypatch) -> None:
    texts = list(load_space().texts)[::25]
    space = load_space()
    monkeypatch.setattr(
        constrained_oracle,
        "load_space",
        lambda: type("S", (), {"texts": texts, "valid": space.valid, "test": space.test}),
    )
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    with (tmp_path / "constrained_oracle.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["device"], r["quantile"]) for r in rows] == [("raspi4", "0.1"), ("raspi4", "0.25")]
    for row in rows:
        # the best cell under the limit is under it, and the table holds its accuracy
        assert float(row["table_best_ms"]) <= float(row["limit_ms"])
        assert float(row["table_best_test"]) == space.test[row["table_best"]]
        assert float(row["table_best_predicted_ms"]) > 0.0
        # the oracle's pick met the limit, one of its trainings at least
        assert 80.0 < float(row["oracle_test"]) < 95.0 and int(row["trainings_held"]) >= 1
    found = json.loads((tmp_path / "constrained_oracle.json").read_text())
    assert found["mode"] == "quick"
    assert set(found["results"]["raspi4"]["q25"]) == {
        "limit_ms",
        "table_best_ms",
        "table_best_predicted_ms",
        "table_best_test",
        "oracle_test",
        "threshold",
        "trainings_held",
    }
    assert "raspi4 | q10 (" in capsys.readouterr().out
