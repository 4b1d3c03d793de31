"""``flash-nas hw``, ``measure`` and ``calibrate`` end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.cli_helpers import fail, rows, run


def test_hw_writes_every_quantity(capsys):
    code, out, _ = run(capsys, "hw", "--space", "nasbench201", "--sample", "4", "--hardware", "pi3b")
    table = rows(out)
    assert code == 0 and len(table) == 4
    assert list(table[0]) == ["arch", "index", "latency_ms", "energy_mj"]
    assert all(float(r["latency_ms"]) > 0 and float(r["energy_mj"]) > 0 for r in table)


def test_hw_on_the_flash_space(capsys):
    code, out, _ = run(capsys, "hw", "--space", "flash", "--sample", "3", "--seed", "1",
                       "--hardware", "pi3b")
    assert code == 0 and list(rows(out)[0]) == ["arch", "latency_ms", "energy_mj"]


def test_calibrate_on_hw_nas_bench_then_use_the_profile(capsys, tmp_path):
    measured = tmp_path / "raspi4.csv"
    code, _, _ = run(capsys, "hw", "--space", "nasbench201", "--sample", "60", "--seed", "2",
                     "--hardware", "hwnasbench:raspi4", "--output", str(measured))
    assert code == 0
    profile = tmp_path / "raspi4.json"
    code, out, _ = run(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(measured),
                       "--target", "latency_ms", "--fit-samples", "25", "--output", str(profile))
    assert code == 0
    assert "latency_ms: rho" in out and "(35 held-out rows)" in out
    saved = json.loads(profile.read_text())
    assert saved["model"] == "Pi3BModel" and saved["fit_rows"] == 25
    assert -1 <= saved["fit"]["latency_ms"]["spearman"] <= 1
    assert "energy_mj: carried from the fitted latency_ms" in out
    code, out, err = run(capsys, "hw", "--space", "nasbench201", "--archs", str(measured),
                         "--hardware", "pi3b", "--profile", str(profile))
    # the profile fitted latency only: hw says how it set energy, and energy follows latency
    assert "energy_mj: carried from the fitted latency_ms" in err
    predicted = np.array([float(r["latency_ms"]) for r in rows(out)])
    energy = np.array([float(r["energy_mj"]) for r in rows(out)])
    np.testing.assert_allclose(energy, 3.7 * predicted)
    truth = np.array([float(r["latency_ms"]) for r in rows(measured.read_text())])
    default = np.array([float(r["latency_ms"]) for r in rows(run(capsys, "hw", "--space",
        "nasbench201", "--archs", str(measured), "--hardware", "pi3b")[1])])
    # refitting to the Raspberry Pi 4 numbers must bring the model closer to them
    assert np.mean(np.abs(predicted / truth - 1)) < np.mean(np.abs(default / truth - 1))


def test_calibrate_reads_another_column_and_infers_the_space(capsys, tmp_path):
    measured = tmp_path / "m.csv"
    run(capsys, "hw", "--space", "nasbench201", "--sample", "40", "--hardware",
        "hwnasbench:edgegpu", "--output", str(measured))
    renamed = measured.read_text().replace("latency_ms", "tx2_ms", 1)
    measured.write_text(renamed)
    code, out, _ = run(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(measured),
                       "--target", "latency_ms=tx2_ms", "--fit-samples", "20",
                       "--output", str(tmp_path / "p.json"))
    assert code == 0 and "20 held-out rows" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("arch,latency_ms\n{a},nan\n{b},2\n", "is not a number; expected a finite number"),
        ("arch,latency_ms\n{a},-1\n{b},2\n", "must be finite and > 0"),
        ("arch,latency_ms\n{a},0\n{b},2\n", "must be finite and > 0"),
        ("arch,latency_ms\n{a},1\n{a},2\n", "listed twice"),
        ("arch,time\n{a},1\n{b},2\n", "missing column(s) 'latency_ms'"),
        ("arch,latency_ms\n|nope~0|,1\n{b},2\n", "Cannot tell the search space"),
    ],
)
def test_calibrate_rejects_bad_measurements(capsys, tmp_path, content, message):
    a = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    b = "|none~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
    path = tmp_path / "bad.csv"
    path.write_text(content.format(a=a, b=b))
    _, err = fail(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(path),
                  "--target", "latency_ms", "--fit-samples", "1", "--output", str(tmp_path / "p.json"))
    assert message in err


def test_calibrate_needs_enough_rows_and_an_analytical_model(capsys, tmp_path):
    measured = tmp_path / "m.csv"
    run(capsys, "hw", "--space", "nasbench201", "--sample", "10", "--hardware",
        "hwnasbench:raspi4", "--output", str(measured))
    out = str(tmp_path / "p.json")
    _, err = fail(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(measured),
                  "--target", "latency_ms", "--fit-samples", "5", "--output", out)
    assert "needs at least" in err and "rows" in err
    _, err = fail(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(measured),
                  "--target", "latency_ms", "--fit-samples", "10", "--output", out)
    assert "leaves no row to check the fit on" in err
    _, err = fail(capsys, "calibrate", "--hardware", "hwnasbench:raspi4", "--measurements",
                  str(measured), "--target", "latency_ms", "--output", out)
    assert "not an analytical model" in err
    _, err = fail(capsys, "calibrate", "--hardware", "pi3b", "--measurements", str(measured),
                  "--target", "area_mm2", "--output", out)
    assert "models latency_ms, energy_mj" in err


def test_profiles_for_another_model_or_corrupt_are_refused(capsys, tmp_path):
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    _, err = fail(capsys, "hw", "--space", "nasbench201", "--sample", "2", "--hardware", "pi3b",
                  "--profile", str(corrupt))
    assert "is not valid JSON" in err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "flash-nas-profile/1", "model": "ImcModel", "costs": {"mac": 1.0}}))
    _, err = fail(capsys, "hw", "--space", "nasbench201", "--sample", "2", "--hardware", "pi3b",
                  "--profile", str(other))
    assert "fitted for the ImcModel model, not Pi3BModel" in err


def test_measure_times_real_inference(capsys, tmp_path):
    pytest.importorskip("torch", reason="measuring runs torch inference: the [torch] extra")
    out = tmp_path / "host.csv"
    code, _, err = run(capsys, "measure", "--space", "nasbench201", "--sample", "2", "--seed", "0",
                       "-H", "repeats=2", "-H", "warmup=1", "--output", str(out))
    assert code == 0 and "Timing 2 architectures" in err
    table = rows(out.read_text())
    assert list(table[0]) == ["arch", "index", "latency_ms"] and len(table) == 2
    assert all(float(r["latency_ms"]) > 0 for r in table)
