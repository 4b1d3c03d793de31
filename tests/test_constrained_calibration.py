"""``python -m benchmarks.constrained_calibration``: the engine's probability of meeting a limit,
against what its proposals' true latencies did."""

from __future__ import annotations

import csv
import json

import pytest

from benchmarks.constrained_calibration import Proposed, bin_name, bins, main


def _proposed(phase: str, p: float, holds: bool, step: int = 0) -> Proposed:
    return Proposed("raspi4", 0.25, 100, step, phase, p, holds)


def test_each_bin_holds_its_low_end_and_the_last_its_high_end_too() -> None:
    records = [
        _proposed("design", 0.0, False),
        _proposed("design", 0.2, True),  # the low end of [0.2, 0.4)
        _proposed("model", 0.95, True),
        _proposed("model", 1.0, False),
        _proposed("model", 0.949, False),
    ]
    found = bins(records)
    assert set(found["design"]) == {"p00_20", "p20_40"}
    assert found["design"]["p20_40"]["proposals"] == 1
    assert set(found["model"]) == {"p80_95", "p95_100"}
    top = found["model"]["p95_100"]
    assert (top["proposals"], top["mean_p"], top["share_held"]) == (2, 0.975, 0.5)
    assert bin_name(0.0, 0.2) == "p00_20" and "." not in bin_name(0.95, 1.0)


def test_the_share_is_what_the_true_latencies_did_not_what_the_engine_believed() -> None:
    sure_but_wrong = [_proposed("model", 0.99, k < 3, step=k) for k in range(4)]
    assert bins(sure_but_wrong)["model"]["p95_100"]["share_held"] == 0.75


def test_quick_drives_the_engine_and_writes_every_proposal_and_the_bins(tmp_path, capsys) -> None:
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    with (tmp_path / "constrained_calibration.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == list(range(11))
    # the default method's design is 10 networks; the eleventh is the model's
    assert [r["phase"] for r in rows] == ["design"] * 10 + ["model"]
    assert all(0.0 <= float(r["p_feasible"]) <= 1.0 for r in rows)
    records = [
        Proposed(
            r["device"],
            float(r["quantile"]),
            int(r["seed"]),
            int(r["step"]),
            r["phase"],
            float(r["p_feasible"]),
            r["holds"] == "True",
        )
        for r in rows
    ]
    written = json.loads((tmp_path / "constrained_calibration.json").read_text())
    assert written["mode"] == "quick" and written["seeds"] == [100, 100]
    assert written["results"] == json.loads(json.dumps(bins(records)))
    assert "share that met the limit" in capsys.readouterr().out


def test_an_unknown_device_exits_2_naming_the_known_ones(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--devices", "tpu9"])
    assert stop.value.code == 2
    assert "unknown devices ['tpu9']; expected among raspi4" in capsys.readouterr().err
