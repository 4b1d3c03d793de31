"""``flash-nas search --costs-from``: measured costs looked up beside each label, latency-only
measurements (``--measure-budget``), ``--confidence``, ``--save-profile``, and what the outputs
(best.csv, the printed recommendation, ``--history``, ``flash-nas show``) say of them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from flash_nas.cli import main
from flash_nas.search.engine import SearchEngine
from flash_nas_adapters.nasbench201.space import load_shipped_table
from tests.cli_helpers import fail, rows, run

#: The measured latency stands in as the pi3b model's prediction times this factor (plus a
#: constant), so a measured cost never equals the predicted one.
FACTOR, OFFSET = 1.7, 0.25


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """A table as a device would give it: arch, the label (c10_valid), the latency measured
    (``latency_ms``) and the same figures under another name (``board_ms``)."""
    folder = tmp_path_factory.mktemp("costs")
    predicted = folder / "pi3b.csv"
    assert main(["hw", "--space", "nasbench201", "--hardware", "pi3b", "--quiet",
                 "--output", str(predicted)]) == 0  # fmt: skip
    hw = {r["arch"]: float(r["latency_ms"]) for r in rows(predicted.read_text())}
    labels = load_shipped_table()
    path = folder / "measured.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["arch", "c10_valid", "latency_ms", "board_ms"])
        for arch, label in zip(labels.archs, labels.column("c10_valid")):
            latency = FACTOR * hw[arch] + OFFSET
            writer.writerow([arch, repr(float(label)), repr(latency), repr(2 * latency)])
    return path, {a: FACTOR * v + OFFSET for a, v in hw.items()}


def search(table, *extra, costs="latency_ms"):
    return ["search", "--space", "nasbench201", "--hardware", "pi3b", "--objective",
            "acc/latency", "--labels-from", f"{table}:c10_valid", "--costs-from",
            f"{table}:{costs}", "--seed", "1", *extra]  # fmt: skip


def test_every_trained_proposal_is_told_its_measured_cost_and_best_csv_carries_it(
    capsys, tmp_path, measured
):
    table, latency = measured
    state, best = tmp_path / "state.json", tmp_path / "best.csv"
    code, out, _ = run(capsys, *search(table, "--initial-samples", "6", "--budget", "9", "--max-latency-ms", "40",
                                       "--top", "3", "--state", str(state), "--output", str(best)))
    assert code == 0
    engine = SearchEngine.load(state)
    trained = [t.arch for t in engine.history]
    assert len(trained) == 9 and list(engine.measured) == trained
    for trial in engine.history:
        assert engine.measured[trial.arch] == {"latency_ms": pytest.approx(latency[trial.text])}
    first = rows(best.read_text())[0]
    assert first["costs_measured"] == "1" and float(first["p_feasible"]) == 1.0
    # the measured latency, not the model's (which is FACTOR times smaller, less the offset)
    assert float(first["latency_ms"]) == pytest.approx(latency[first["arch"]])
    assert float(first["latency_ms"]) <= 40
    assert f"#1 {first['arch']}: " in out and "costs measured" in out.split("#1 ", 1)[1]
    unmeasured = [r for r in rows(best.read_text()) if r["costs_measured"] == "0"]
    for row in unmeasured:  # the model's prediction, said to be one, with its probability
        assert float(row["latency_ms"]) != pytest.approx(latency[row["arch"]])
        assert 0.0 <= float(row["p_feasible"]) <= 1.0
    if unmeasured:
        assert "costs predicted (P = " in out


def test_a_column_of_another_name_maps_onto_a_quantity(capsys, tmp_path, measured):
    table, latency = measured
    state = tmp_path / "state.json"
    code, _, _ = run(capsys, *search(table, "--n-labels", "7", "--state", str(state),
                                     "--output", "-", costs="latency_ms=board_ms"))  # fmt: skip
    assert code == 0
    engine = SearchEngine.load(state)
    assert len(engine.measured) == 7
    for trial in engine.history:
        assert engine.measured[trial.arch]["latency_ms"] == pytest.approx(2 * latency[trial.text])


def test_labels_from_every_row_of_the_table_carry_their_costs(capsys, tmp_path, measured):
    table, latency = measured
    small = tmp_path / "few.csv"
    small.write_text("".join(table.read_text().splitlines(keepends=True)[:13]))
    state = tmp_path / "state.json"
    code, _, _ = run(capsys, *search(small, "--state", str(state), "--output", "-"))
    assert code == 0
    engine = SearchEngine.load(state)
    assert len(engine.measured) == 12
    assert all(
        engine.measured[t.arch]["latency_ms"] == pytest.approx(latency[t.text])
        for t in engine.history
    )


def test_measure_budget_measures_more_architectures_than_it_trains(capsys, tmp_path, measured):
    table, latency = measured
    state, history = tmp_path / "state.json", tmp_path / "history.csv"
    code, _, _ = run(capsys, *search(table, "--initial-samples", "6", "--budget", "9", "--measure-budget", "4",
                                         "--max-latency-ms", "30", "--state", str(state),
                                         "--history", str(history), "--output", "-"))
    assert code == 0
    engine = SearchEngine.load(state)
    trained = {t.arch for t in engine.history if t.status == "succeeded"}
    only_measured = [a for a in engine.measured if a not in trained]
    assert len(trained) == 9 and 1 <= len(only_measured) <= 4
    for arch in only_measured:
        text = engine.adapter.format(arch)
        assert engine.measured[arch]["latency_ms"] == pytest.approx(latency[text])
    lines = list(csv.DictReader(io.StringIO(history.read_text())))
    measurement_rows = [r for r in lines if r["status"] == "measured"]
    assert len(measurement_rows) == len(only_measured)
    assert all(r["label"] == "" for r in measurement_rows)
    for row in lines:  # a trained trial's measured cost, and a measurement's, in its column
        assert float(row["measured_latency_ms"]) == pytest.approx(latency[row["arch"]])
    code, shown, _ = run(capsys, "show", str(state))
    assert code == 0
    assert (
        f"Measured costs: {len(engine.measured)} architecture(s) (9 trained, "
        f"{len(only_measured)} measured without training)" in shown
    )


def test_history_leaves_the_measured_cost_empty_where_nothing_was_measured(capsys, tmp_path):
    history = tmp_path / "history.csv"
    code, _, _ = run(capsys, "search", "--space", "nasbench201", "--hardware", "pi3b",
                     "--labels-from", "cifar10:c10_valid", "--budget", "7", "--initial-samples",
                     "5", "--history", str(history), "--output", "-")  # fmt: skip
    assert code == 0
    lines = list(csv.DictReader(io.StringIO(history.read_text())))
    assert len(lines) == 7 and all(r["measured_latency_ms"] == "" for r in lines)
    assert all(float(r["latency_ms"]) > 0 for r in lines)


def test_confidence_reaches_the_engine_and_a_resume_keeps_it(capsys, tmp_path, measured):
    table, _ = measured
    state = tmp_path / "state.json"
    argv = search(table, "--initial-samples", "6", "--budget", "7", "--state", str(state), "--output", "-")
    code, _, _ = run(capsys, *argv, "--confidence", "0.8")
    assert code == 0 and SearchEngine.load(state).confidence == 0.8
    status, err = fail(capsys, *argv, "--confidence", "0.9")
    assert status == 2 and "--confidence differs from the run saved in --state" in err
    code, _, _ = run(capsys, *search(table, "--initial-samples", "6", "--budget", "8", "--state", str(state),
                                     "--output", "-"))  # fmt: skip
    assert code == 0 and SearchEngine.load(state).confidence == 0.8


def test_save_profile_writes_the_costs_refitted_on_the_measurements(capsys, tmp_path, measured):
    table, latency = measured
    profile = tmp_path / "refitted.json"
    code, _, err = run(capsys, *search(table, "--initial-samples", "6", "--budget", "8", "--output", "-",
                                       "--save-profile", str(profile)))  # fmt: skip
    assert code == 0 and f"Wrote the refitted profile to {profile}" in err
    # the profile is the model's: its predictions of every architecture, measured or not, come
    # closer to the device's latencies than the model's own defaults
    errors = {}
    for name, extra in (("default", []), ("refitted", ["--profile", str(profile)])):
        out = tmp_path / f"{name}.csv"
        assert main(["hw", "--space", "nasbench201", "--hardware", "pi3b", "--quiet",
                     "--output", str(out), *extra]) == 0  # fmt: skip
        predicted = {r["arch"]: float(r["latency_ms"]) for r in rows(out.read_text())}
        errors[name] = np.median([abs(predicted[a] / latency[a] - 1) for a in latency])
    assert errors["refitted"] < 0.5 * errors["default"]


def test_save_profile_refuses_a_model_that_cannot_be_refitted(capsys, tmp_path, measured):
    table, _ = measured
    profile = tmp_path / "refitted.json"
    argv = ["search", "--space", "nasbench201", "--hardware", "hwnasbench:raspi4", "--objective",
            "acc/latency", "--labels-from", f"{table}:c10_valid", "--costs-from",
            f"{table}:latency_ms", "--n-labels", "7", "--output", "-", "--save-profile",
            str(profile)]  # fmt: skip
    code, err = fail(capsys, *argv)
    assert code == 1 and "cannot be refitted on measurements" in err
    assert not profile.exists()


@pytest.mark.parametrize(
    ("extra", "costs", "status", "message"),
    [
        ([], "speed_ms=latency_ms", 2, "'speed_ms' is not a quantity the pi3b model reports (latency_ms, "),
        ([], "latency_ms=top1", 2, "the table has no column 'top1'"),
        ([], "latency_ms,latency_ms", 2, "'latency_ms' is given twice"),
        ([], "latency_ms=", 2, "is not COLUMN or QUANTITY=COLUMN"),
        (["--measure-budget", "3"], None, 2, "--measure-budget needs --costs-from"),
        (["--save-profile", "p.json"], None, 2, "--save-profile needs --costs-from"),
        (["--measure-budget", "-1", "--budget", "5"], "latency_ms", 2,
         "--measure-budget must be >= 0; got -1"),
        (["--measure-budget", "3", "--n-labels", "7"], "latency_ms", 2,
         "--measure-budget goes with --budget"),
        (["--confidence", "1"], "latency_ms", 2, "in [0.5, 1) (how sure"),
        (["--confidence", "0.4"], "latency_ms", 2, "meet the limits); got 0.4"),
        (["--confidence", "nan"], "latency_ms", 2, "in [0.5, 1) (how sure"),
    ],
)
def test_bad_cost_options_are_one_line_errors(capsys, measured, extra, costs, status, message):
    table, _ = measured
    argv = search(table, "--output", "-", *extra, costs=costs or "latency_ms")
    if costs is None:
        position = argv.index("--costs-from")
        del argv[position : position + 2]
    if "--budget" not in extra and "--n-labels" not in extra:
        argv += ["--n-labels", "7"]
    code, err = fail(capsys, *argv)
    assert code == status and message in err


def test_costs_need_a_hardware_model(capsys, measured):
    table, _ = measured
    argv = ["search", "--space", "nasbench201", "--objective", "acc", "--labels-from",
            f"{table}:c10_valid", "--costs-from", f"{table}:latency_ms", "--n-labels", "7",
            "--output", "-"]  # fmt: skip
    code, err = fail(capsys, *argv)
    assert code == 2 and "measured costs need a hardware model" in err


def _table_with(tmp_path, measured, latency_of):
    """The measured table with each latency replaced by ``latency_of(arch, latency)``."""
    _, latency = measured
    path = tmp_path / "odd.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["arch", "c10_valid", "latency_ms"])
        labels = load_shipped_table()
        for arch, label in zip(labels.archs, labels.column("c10_valid")):
            value = latency_of(arch, latency[arch])
            writer.writerow([arch, repr(float(label)), value if isinstance(value, str) else repr(value)])
    return path


def test_a_negative_measured_cost_stops_the_search_before_anything_is_recorded(
    capsys, tmp_path, measured
):
    odd = _table_with(tmp_path, measured, lambda arch, value: -value)
    state = tmp_path / "state.json"
    argv = ["search", "--space", "nasbench201", "--hardware", "pi3b", "--labels-from",
            f"{odd}:c10_valid", "--costs-from", f"{odd}:latency_ms", "--budget", "5",
            "--state", str(state), "--output", "-"]  # fmt: skip
    code, err = fail(capsys, *argv)
    assert code == 1 and "expected a measured cost > 0" in err and "for latency_ms" in err
    assert not state.exists()  # nothing told, nothing saved


def test_a_network_that_does_not_run_is_told_as_such_and_never_recommended(
    capsys, tmp_path, measured
):
    # a device that cannot run any cell with an average pool (as HW-NAS-Bench's Edge TPU fails
    # on 30 % of NAS-Bench-201): the table says so in words
    def latency_of(arch, value):
        return "Does Not Run " if "avg_pool_3x3" in arch else value

    odd = _table_with(tmp_path, measured, latency_of)
    state, best, history = tmp_path / "state.json", tmp_path / "best.csv", tmp_path / "h.csv"
    argv = ["search", "--space", "nasbench201", "--hardware", "pi3b", "--labels-from",
            f"{odd}:c10_valid", "--costs-from", f"{odd}:latency_ms", "--initial-samples", "8",
            "--budget", "14", "--max-latency-ms", "40", "--state", str(state), "--output",
            str(best), "--history", str(history)]  # fmt: skip
    code, _, _ = run(capsys, *argv)
    assert code == 0
    engine = SearchEngine.load(state)
    failed = [t.text for t in engine.history if "avg_pool_3x3" in t.text]
    assert failed, "the seed's initial design holds a pool: the test needs one"
    for trial in engine.history:
        expected = float("inf") if "avg_pool_3x3" in trial.text else pytest.approx(
            measured[1][trial.text]
        )
        assert engine.measured[trial.arch]["latency_ms"] == expected
    assert "does not run" in state.read_text()
    first = rows(best.read_text())[0]
    assert "avg_pool_3x3" not in first["arch"] and float(first["latency_ms"]) <= 40
    cells = {r["arch"]: r["measured_latency_ms"] for r in rows(history.read_text())}
    assert all(cells[text] == "does not run" for text in failed)
    # the label file is read for its labels only: the words in the cost column do not stop it,
    # while a word where a label belongs still does
    lines = odd.read_text().splitlines()
    arch, _, rest = lines[1].split(",", 2)
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], f"{arch},does not run,{rest}", *lines[2:]]) + "\n")
    argv = ["search", "--space", "nasbench201", "--labels-from", f"{broken}:c10_valid",
            "--n-labels", "5", "--output", "-"]  # fmt: skip
    code, err = fail(capsys, *argv)
    assert code == 1 and "column 'c10_valid' is not a number" in err


def test_a_proposal_the_cost_table_lacks_is_a_data_error(capsys, tmp_path, measured):
    table, _ = measured
    few = tmp_path / "few.csv"
    few.write_text("".join(table.read_text().splitlines(keepends=True)[:4]))
    argv = ["search", "--space", "nasbench201", "--hardware", "pi3b", "--labels-from",
            "cifar10:c10_valid", "--costs-from", f"{few}:latency_ms", "--budget", "5",
            "--output", "-"]  # fmt: skip
    code, err = fail(capsys, *argv)
    assert code == 1 and f"--costs-from {few} has no row for " in err


def test_an_output_may_not_overwrite_the_cost_table(capsys, tmp_path, measured):
    table, _ = measured
    copy = tmp_path / "costs.csv"
    copy.write_text(table.read_text())
    labels = ["--labels-from", "cifar10:c10_valid", "--costs-from", f"{copy}:latency_ms"]
    for option, other in (("--output", []), ("--save-profile", ["--output", "-"])):
        argv = ["search", "--space", "nasbench201", "--hardware", "pi3b", *labels,
                "--n-labels", "7", *other, option, str(copy)]  # fmt: skip
        code, err = fail(capsys, *argv)
        assert code == 2 and "--costs-from" in err and option in err
    assert copy.read_text() == table.read_text()


def test_without_costs_the_outputs_say_the_costs_are_predicted(capsys):
    code, out, _ = run(capsys, "search", "--space", "nasbench201", "--hardware", "pi3b",
                       "--labels-from", "cifar10:c10_valid", "--n-labels", "7",
                       "--max-latency-ms", "30", "--output", "-")  # fmt: skip
    assert code == 0
    first = rows(out[out.index("arch,"):])[0]
    assert first["costs_measured"] == "0"
    p = float(first["p_feasible"])
    assert 0.0 < p <= 1.0 and np.isfinite(p)
    assert "costs predicted (P = " in out


def readme_example(name):
    """The Python block marked ``<!-- example: name -->`` in README.md."""
    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    return text.split(f"<!-- example: {name} -->\n```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_readmes_python_workflow_tells_measured_costs(tmp_path, monkeypatch, measured, capsys):
    table, latency = measured
    monkeypatch.chdir(tmp_path)
    (tmp_path / "measured.csv").write_text(table.read_text())
    example = {"__name__": "readme_measured_costs"}
    exec(compile(readme_example("measure-what-you-train"), "README.md", "exec"), example)
    engine, best = example["engine"], example["best"]
    trained = {t.arch for t in engine.history}
    assert len(trained) == 25 and trained <= set(engine.measured)
    for arch, costs in engine.measured.items():  # trained or measured only, as the board said
        assert costs == {"latency_ms": pytest.approx(latency[engine.adapter.format(arch)])}
    if best.costs_measured:
        assert best.values["latency_ms"] == pytest.approx(latency[best.text])
        assert f"{best.text} {best.values['latency_ms']} measured" in capsys.readouterr().out
