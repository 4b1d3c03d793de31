"""Calibration and profiles: fits that can be trusted, and profiles that refuse to be misused."""

from __future__ import annotations

import json

import numpy as np
import pytest

import flash_nas
from flash_nas import FlashNasError, TableError
from flash_nas.cost.calibration import calibrate
from flash_nas.cost.profile import Profile, load_profile
from flash_nas_hardware.imc.model import ImcModel
from flash_nas_hardware.pi3b import Pi3BModel


@pytest.fixture(scope="module")
def batch():
    nb201 = flash_nas.get_adapter("nasbench201")
    sample = nb201.sample(120, seed=5)
    # cells whose output is cut off run nothing (zero cost on imc): not measurable, left out
    archs = [tuple(map(int, row)) for row in sample.choices]
    runs = ~nb201.cut_off(archs)
    return nb201.batch([arch for arch, kept in zip(archs, runs) if kept][:80])


def test_a_profile_remembers_the_structure_it_was_fitted_under(batch, tmp_path):
    model = ImcModel(xbar_rows=256, xbar_cols=256)
    before = model.estimate_batch(batch)
    truth = before["area_mm2"] * 1.3
    profile = calibrate(model, batch, {"area_mm2": truth}, fit_samples=25)
    assert profile.structure["xbar_rows"] == 256
    # the fit is judged on the 55 cells it did not see, which a linear model of the same terms
    # scaled by 1.3 predicts exactly
    assert profile.fit["area_mm2"].rows == len(batch) - 25
    assert profile.fit["area_mm2"].mape < 1e-9
    path = tmp_path / "imc.json"
    profile.save(path)
    after = ImcModel(profile=path, xbar_rows=256, xbar_cols=256).estimate_batch(batch)
    # the saved profile reproduces the measurements on every cell, fitted or held out, and
    # leaves the quantities that were not measured as the model had them
    assert after["area_mm2"] == pytest.approx(truth, rel=1e-9)
    for quantity in ("latency_ms", "energy_mj"):
        assert after[quantity] == pytest.approx(before[quantity], rel=1e-12)
    with pytest.raises(FlashNasError, match="fitted with other structure parameters \\(xbar_cols, xbar_rows"):
        ImcModel(profile=path)


def test_costs_the_data_cannot_separate_are_reported(batch):
    model = ImcModel()
    truth = model.estimate_batch(batch)["area_mm2"]
    profile = calibrate(model, batch, {"area_mm2": truth}, fit_samples=25)
    assert any("area_mm2: the measurements determine only" in note for note in profile.notes)
    # the split is arbitrary, the predictions are not
    assert profile.fit["area_mm2"].mape < 1e-6


def test_measurements_are_checked(batch):
    model = Pi3BModel()
    good = model.estimate_batch(batch)["latency_ms"]
    for bad, message in ((np.nan, "finite and > 0"), (0.0, "finite and > 0"), (-2.0, "finite and > 0")):
        values = good.copy()
        values[3] = bad
        with pytest.raises(TableError, match=message):
            calibrate(model, batch, {"latency_ms": values}, fit_samples=25)
    with pytest.raises(TableError, match="79 measurements for 80 archs"):
        calibrate(model, batch, {"latency_ms": good[:-1]}, fit_samples=25)
    with pytest.raises(FlashNasError, match="fit_samples must be .all. or an int in 1..79"):
        calibrate(model, batch, {"latency_ms": good}, fit_samples=80)
    with pytest.raises(FlashNasError, match="does not model 'area_mm2'"):
        calibrate(model, batch, {"area_mm2": good}, fit_samples=25)


def test_profiles_on_disk_are_validated(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"model": "Pi3BModel", "costs": {}}))
    with pytest.raises(FlashNasError, match="is not a flash-nas profile"):
        load_profile(path)
    path.write_text(json.dumps({"format": "flash-nas-profile/1", "model": "Pi3BModel",
                                "costs": {"ms_per_byte": -1}}))
    with pytest.raises(FlashNasError, match="'ms_per_byte' cost of .* must be a finite number >= 0"):
        load_profile(path)
    path.write_text(json.dumps({"format": "flash-nas-profile/1", "model": "Pi3BModel"}))
    with pytest.raises(FlashNasError, match="is damaged"):
        load_profile(path)
    with pytest.raises(FlashNasError, match="does not exist"):
        load_profile(tmp_path / "missing.json")
    unknown = Profile("Pi3BModel", {"ms_per_warp": 1.0})
    with pytest.raises(FlashNasError, match="names costs \\['ms_per_warp'\\]"):
        Pi3BModel(profile=unknown)


def test_explicit_costs_are_checked():
    with pytest.raises(FlashNasError, match="has no cost coefficient 'ms_per_warp'"):
        Pi3BModel(ms_per_warp=1.0)
    with pytest.raises(FlashNasError, match="must be a finite number >= 0"):
        Pi3BModel(ms_per_byte=-1.0)


def test_calibrate_on_chosen_rows_holds_out_exactly_the_others():
    fit = calibrate
    nb = flash_nas.get_adapter("nasbench201")
    batch = nb.sample(12, 0)
    truth = Pi3BModel(profile=None, ms_per_layer=0.2)
    measured = truth.estimate_batch(batch)["latency_ms"]
    # only a fit that uses row 3 is pulled by it (1.5x: off, but not the 2x of an outlier that
    # calibration would set aside)
    measured[3] *= 1.5
    rows = [i for i in range(12) if i != 3]
    profile = fit(Pi3BModel(), batch, {"latency_ms": measured}, fit_samples=11, fit_rows=rows)
    assert profile.fit["latency_ms"].rows == 1
    assert profile.fit["latency_ms"].mape == pytest.approx(1 / 3, abs=0.02)  # 1/1.5 of it
    whole = fit(Pi3BModel(), batch, {"latency_ms": measured}, fit_samples=12,
                fit_rows=list(range(12)))
    assert whole.fit == {}
    with pytest.raises(FlashNasError, match="fit_rows must be 3 distinct positions"):
        fit(Pi3BModel(), batch, {"latency_ms": measured}, fit_samples=3, fit_rows=[0, 0, 1])


def test_calibrating_latency_carries_into_the_energy_the_model_derives_from_it(batch, tmp_path):
    model = Pi3BModel()
    before = model.estimate_batch(batch)
    # a device twice as fast as the defaults say: latency halves, and so must energy
    profile = calibrate(model, batch, {"latency_ms": before["latency_ms"] / 2}, fit_samples=25)
    assert profile.calibrated["latency_ms"].startswith("fitted")
    assert profile.calibrated["energy_mj"].startswith("carried from the fitted latency_ms")
    path = tmp_path / "pi3b.json"
    profile.save(path)
    after = Pi3BModel(profile=path).estimate_batch(batch)
    np.testing.assert_allclose(after["latency_ms"], before["latency_ms"] / 2, rtol=1e-6)
    np.testing.assert_allclose(after["energy_mj"], 3.7 * after["latency_ms"], rtol=1e-9)
    assert load_profile(path).calibrated == profile.calibrated


def test_measured_energy_is_fitted_not_carried(batch):
    model = Pi3BModel()
    truth = model.estimate_batch(batch)
    measured = {"latency_ms": truth["latency_ms"] / 2, "energy_mj": truth["energy_mj"] * 3}
    profile = calibrate(model, batch, measured, fit_samples=25)
    assert all(status.startswith("fitted") for status in profile.calibrated.values())
    after = Pi3BModel(profile=profile).estimate_batch(batch)
    np.testing.assert_allclose(after["energy_mj"], truth["energy_mj"] * 3, rtol=1e-6)


def test_a_profile_says_which_quantities_it_left_at_the_defaults(batch):
    from flash_nas.cost.profile import profile_status, profile_summary

    model = ImcModel()
    truth = model.estimate_batch(batch)["latency_ms"] * 2
    profile = calibrate(model, batch, {"latency_ms": truth}, fit_samples=25)
    status = profile_status(profile)
    assert status == [
        "energy_mj: NOT calibrated: the model's default costs",
        "area_mm2: NOT calibrated: the model's default costs",
    ]
    assert all(line in profile_summary(profile) for line in status)
