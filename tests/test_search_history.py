"""What happened in a search: ``--history`` (every trial, in order, with what the model expected
when it proposed it), ``--history-plot``, and ``flash-nas show`` on a state, also mid-run."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from flash_nas.errors import StateError
from flash_nas.search.engine import SearchEngine
from flash_nas_adapters.nasbench201.space import load_shipped_table
from tests.cli_helpers import run

NB201 = ["--space", "nasbench201", "--labels-from", "cifar10:c10_valid", "--seed", "2"]


def _history(path):
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_history_lists_every_trial_with_its_prediction_when_proposed(capsys, tmp_path):
    history = tmp_path / "history.csv"
    state = tmp_path / "state.json"
    code, _, err = run(capsys, "search", *NB201, "--hardware", "pi3b", "--budget", "13",
                       "--state", str(state), "--output", str(tmp_path / "best.csv"),
                       "--history", str(history))
    assert code == 0 and f"Wrote the history of 13 trials to {history}" in err
    rows = _history(history)
    assert [int(r["order"]) for r in rows] == list(range(1, 14))
    truth = load_shipped_table()
    for row in rows:
        assert float(row["label"]) == pytest.approx(truth["c10_valid"][truth.row_of(row["arch"])])
        assert float(row["latency_ms"]) > 0 and float(row["energy_mj"]) > 0
    # The initial design (10 for bo) had no model to predict with; the model's choices did.
    assert [r["source"] for r in rows] == ["initial"] * 10 + ["model"] * 3
    assert all(r["predicted"] == "" == r["predicted_sd"] for r in rows[:10])
    saved = json.loads(state.read_text())["trials"]
    for row, trial in zip(rows[10:], saved[10:]):
        assert 0 < float(row["predicted"]) < 100 and float(row["predicted_sd"]) > 0
        assert float(row["predicted"]) == pytest.approx(trial["predicted"])
    # The objective is acc/(latency*energy) and the best so far its running maximum.
    objective = np.array([float(r["objective"]) for r in rows])
    expected = np.array([float(r["label"]) / (float(r["latency_ms"]) * float(r["energy_mj"]))
                         for r in rows])
    np.testing.assert_allclose(objective, expected, rtol=1e-9)
    np.testing.assert_allclose([float(r["best_so_far"]) for r in rows],
                               np.maximum.accumulate(objective))


def test_history_without_hardware_is_the_best_label_so_far_and_plots(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--history-plot needs the [plot] extra")
    history, picture = tmp_path / "h.csv", tmp_path / "h.png"
    code, out, _ = run(capsys, "search", *NB201, "--objective", "acc", "--budget", "11",
                       "--top", "3", "--output", str(tmp_path / "best.csv"),
                       "--history", str(history), "--history-plot", str(picture))
    assert code == 0
    assert "Accuracy-cost front" not in out  # accuracy alone has no cost to trade
    rows = _history(history)
    labels = np.array([float(r["label"]) for r in rows])
    np.testing.assert_allclose([float(r["best_so_far"]) for r in rows], np.maximum.accumulate(labels))
    assert "latency_ms" not in rows[0]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_state_saved_before_predictions_were_recorded_still_loads(tmp_path):
    engine = SearchEngine("nasbench201", seed=1, initial_samples=3)
    proposals = engine.ask(4)
    engine.tell([p.arch for p in proposals[:3]], [80.0, 85.0, 90.0])
    engine.save(tmp_path / "new.json")
    data = json.loads((tmp_path / "new.json").read_text())
    for trial in data["trials"]:  # as flash-nas wrote states before this field existed
        trial.pop("predicted"), trial.pop("predicted_std")
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = SearchEngine.load(tmp_path / "old.json")
    assert [t.predicted for t in old.history] == [None] * 4
    assert [t.status for t in old.history] == ["succeeded"] * 3 + ["pending"]
    # and a state with them keeps them across a save and a load
    again = SearchEngine.load(tmp_path / "new.json")
    assert [t.predicted for t in again.history] == [t.predicted for t in engine.history]



@pytest.mark.parametrize("field", ["predicted", "predicted_std"])
def test_a_prediction_too_large_for_a_float_is_named_not_an_overflow(tmp_path, field):
    # JSON integers have no limit; one past a float's range is the file's fault, said so
    engine = SearchEngine("nasbench201", seed=1, initial_samples=3)
    engine.ask(2)
    engine.save(tmp_path / "state.json")
    data = json.loads((tmp_path / "state.json").read_text())
    data["trials"][1][field] = 10**400
    (tmp_path / "state.json").write_text(json.dumps(data))
    with pytest.raises(StateError, match=rf"trial 2: '{field}' is an integer of 401 digits; "
                       "expected a number a float can hold"):
        SearchEngine.load(tmp_path / "state.json")

def test_show_reads_a_state_while_the_search_still_runs(capsys, tmp_path, monkeypatch):
    from flash_nas.cli import search_run
    from flash_nas.cli.show import add_to  # noqa: F401 (the command exists)

    state = tmp_path / "state.json"
    label = search_run._label
    seen: dict[str, object] = {}

    def label_and_look(engine, table, column, text):
        told = sum(t.status != "pending" for t in engine.trials.values())
        if told == 12 and "out" not in seen:  # mid-run: the search holds the state
            before = state.read_bytes()
            outer = capsys.readouterr()
            seen["code"], seen["out"], _ = run(capsys, "show", str(state), "--top", "2")
            seen["unchanged"] = state.read_bytes() == before
            print(outer.out, end="")
        return label(engine, table, column, text)

    monkeypatch.setattr(search_run, "_label", label_and_look)
    code, _, _ = run(capsys, "search", *NB201, "--hardware", "pi3b", "--budget", "14",
                     "--state", str(state), "--output", str(tmp_path / "best.csv"))
    assert code == 0 and seen["code"] == 0 and seen["unchanged"]
    out = str(seen["out"])
    assert "Space: nasbench201" in out and "Method: bo, seed 2" in out
    assert "Hardware: pi3b; objective acc/(latency*energy)" in out
    assert "Trials: 12 (12 labelled, 0 failed, 0 pending)" in out
    saved = json.loads(state.read_text())["trials"][:12]
    best = max(saved, key=lambda t: t["value"])
    assert f"Best measured label: {best['value']:.4g} %" in out and best["arch"] in out
    assert "Model: Gaussian process" in out and "Recommended: |" in out
    assert "Accuracy-cost front:" in out
    # After the run, the finished state shows all 14.
    code, out, _ = run(capsys, "show", str(state))
    assert code == 0 and "Trials: 14 (14 labelled, 0 failed, 0 pending)" in out


def test_show_counts_pending_trials_and_refuses_what_is_not_a_state(capsys, tmp_path):
    engine = SearchEngine("nasbench201", seed=1, initial_samples=5)
    proposals = engine.ask(3)
    engine.tell([proposals[0].arch], [88.0])
    engine.fail([proposals[1].arch], "diverged")
    engine.save(tmp_path / "s.json")
    code, out, _ = run(capsys, "show", str(tmp_path / "s.json"))
    assert code == 0 and "Trials: 3 (1 labelled, 1 failed, 1 pending)" in out
    assert "Best measured label: 88 %" in out and "No model yet" in out
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(SystemExit) as exit_info:
        run(capsys, "show", str(tmp_path / "x.json"))
    assert exit_info.value.code == 1
    assert "not a flash-nas engine state" in capsys.readouterr().err
