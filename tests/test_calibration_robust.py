"""Calibration that one wrong measurement cannot capture, and that refuses a fit it cannot trust."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import flash_nas
from flash_nas.cost.calibration import calibrate
from flash_nas.cost.profile import load_profile
from flash_nas.cost.robust_fit import fit_relative, robust_fit
from flash_nas.errors import CalibrationError
from flash_nas_hardware.pi3b import Pi3BModel
from tests.cli_helpers import fail, run

#: The NAS-Bench-201 cell that issue 21 found timed at 0.137 ms on the Raspberry Pi 4: three
#: convolutions, which no device runs in a tenth of a convolution-free network's time.
WRONG_CELL = (
    "|skip_connect~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_3x3~0|nor_conv_3x3~1|skip_connect~2|"
)


@pytest.fixture(scope="module")
def cells():
    """29 NAS-Bench-201 cells that run work, then the wrong cell (30 rows, as in the issue)."""
    nb201 = flash_nas.get_adapter("nasbench201")
    wrong = nb201.parse(WRONG_CELL)
    sample = [tuple(map(int, row)) for row in nb201.sample(200, seed=3).choices]
    runs = [arch for arch, cut in zip(sample, nb201.cut_off(sample)) if not cut and arch != wrong]
    return nb201.batch([*runs[:29], wrong])


def _device(batch, noise: float = 0.03, seed: int = 0) -> np.ndarray:
    """A device 1.3x slower than the Pi-3B's defaults, with a few per cent of timing noise."""
    latency = Pi3BModel().estimate_batch(batch)["latency_ms"] * 1.3
    return latency * np.random.default_rng(seed).lognormal(0.0, noise, len(latency))


def _first(batch, n: int):
    return flash_nas.get_adapter("nasbench201").batch(
        [tuple(map(int, row)) for row in batch.choices[:n]]
    )


def _set_aside(profile) -> list[str]:
    return [note for note in profile.notes if "set aside" in note]


def test_a_clean_table_fits_exactly_as_the_plain_fit(cells):
    model = Pi3BModel()
    measured = _device(cells)[:29]
    clean = _first(cells, 29)
    events = model.events_batch(clean)
    mask = np.array([c.quantity == "latency_ms" for c in model.coefficients])
    used = mask & (np.abs(events).sum(axis=0) > 0)
    fitted = robust_fit(events[:, used], measured, model.costs[used])
    # no row is set aside, so the result is the relative non-negative least squares itself
    assert fitted.kept.all()
    np.testing.assert_array_equal(fitted.costs, fit_relative(events[:, used], measured))


def test_the_wrong_row_is_set_aside_and_named_and_the_fit_is_the_clean_one(cells):
    measured = _device(cells)
    measured[-1] = 0.137
    profile = calibrate(Pi3BModel(), cells, {"latency_ms": measured}, fit_samples="all")
    aside = _set_aside(profile)
    assert len(aside) == 1
    assert f"row 30 ({WRONG_CELL}): measured 0.137" in aside[0]
    # the fit and its leave-one-out quality are those of the 29 clean rows alone
    clean = _first(cells, 29)
    alone = calibrate(Pi3BModel(), clean, {"latency_ms": measured[:29]}, fit_samples="all")
    assert profile.costs == pytest.approx(alone.costs, rel=1e-9)
    assert profile.fit["latency_ms"].rows == 29
    assert profile.fit["latency_ms"].how == "leave-one-out"
    assert profile.fit["latency_ms"].mape == pytest.approx(alone.fit["latency_ms"].mape, rel=1e-9)
    assert profile.fit["latency_ms"].mape < 0.05  # 3 % noise, and nothing else, is left


def test_without_robustness_the_wrong_row_would_have_bent_the_fit(cells):
    # the reason for all of the above: the plain relative fit, given the wrong row, prices the
    # clean cells far worse than the robust one does
    model = Pi3BModel()
    measured = _device(cells)
    measured[-1] = 0.137
    events = model.events_batch(cells)
    mask = np.array([c.quantity == "latency_ms" for c in model.coefficients])
    used = mask & (np.abs(events).sum(axis=0) > 0)
    plain = events[:29][:, used] @ fit_relative(events[:, used], measured)
    robust = events[:29][:, used] @ robust_fit(events[:, used], measured, model.costs[used]).costs
    error = lambda predicted: np.mean(np.abs(predicted - measured[:29]) / measured[:29])  # noqa: E731
    assert error(robust) < 0.05 < error(plain)


def test_a_held_out_wrong_row_is_named_and_left_out_of_the_quality(cells):
    measured = _device(cells)
    measured[-1] = 0.137
    fitted_rows = list(range(25))  # the wrong row (30) is among the 5 held out
    profile = calibrate(
        Pi3BModel(), cells, {"latency_ms": measured}, fit_samples=25, fit_rows=fitted_rows
    )
    assert len(_set_aside(profile)) == 1 and "row 30" in _set_aside(profile)[0]
    assert profile.fit["latency_ms"].rows == 4
    assert profile.fit["latency_ms"].mape < 0.1


def test_a_fit_worse_than_the_model_s_own_costs_is_an_error_unless_accepted(cells):
    model = Pi3BModel()
    measured = model.estimate_batch(cells)["latency_ms"].copy()  # the defaults are exact...
    fitted_rows = list(range(20))
    measured[fitted_rows] *= 1.6  # ...but every fitted row was timed 1.6x too slow
    with pytest.raises(CalibrationError, match=r"worse than the model's own costs \(MAPE 60\.0% against 0\.0%\)"):
        calibrate(model, cells, {"latency_ms": measured}, fit_samples=20, fit_rows=fitted_rows)
    profile = calibrate(
        model, cells, {"latency_ms": measured}, fit_samples=20, fit_rows=fitted_rows,
        accept_worse=True,
    )
    assert any(note.endswith("accepted.") for note in profile.notes)


def test_fit_samples_must_be_all_or_a_count(cells):
    with pytest.raises(flash_nas.FlashNasError, match="fit_samples must be 'all' or an int"):
        calibrate(Pi3BModel(), cells, {"latency_ms": _device(cells)}, fit_samples="most")
    with pytest.raises(flash_nas.FlashNasError, match="fit_samples must be 'all' or an int"):
        calibrate(Pi3BModel(), cells, {"latency_ms": _device(cells)}, fit_samples=True)


def _write(path, cells, measured) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "latency_ms"])
        writer.writerows(zip(cells.texts(), measured))


def test_the_command_names_the_row_and_refuses_a_worse_fit(cells, tmp_path, capsys):
    measured = _device(cells)
    measured[-1] = 0.137
    table = tmp_path / "m.csv"
    _write(table, cells, measured)
    code, out, _ = run(
        capsys,
        "calibrate", "--hardware", "pi3b", "--space", "nasbench201", "--measurements", str(table),
        "--target", "latency_ms", "--fit-samples", "all", "--output", str(tmp_path / "p.json"),
    )
    assert code == 0
    assert "(29 leave-one-out rows)" in out
    assert f"set aside row 30 ({WRONG_CELL}): measured 0.137" in out

    # --fit-samples 25 --seed 0 fits on calibrate's seeded draw of 25 rows: make each of them wrong
    order = np.random.default_rng(0).permutation(len(cells))
    worse = Pi3BModel().estimate_batch(cells)["latency_ms"].copy()
    worse[order[:25]] *= 1.6
    _write(table, cells, worse)
    args = (
        "calibrate", "--hardware", "pi3b", "--space", "nasbench201", "--measurements", str(table),
        "--target", "latency_ms", "--fit-samples", "25", "--output", str(tmp_path / "q.json"),
    )
    code, err = fail(capsys, *args)
    assert code == 1
    assert "worse than the model's own costs" in err
    assert not (tmp_path / "q.json").exists()
    code, _, _ = run(capsys, *args, "--accept-worse-fit")
    assert code == 0
    assert (tmp_path / "q.json").exists()


def test_the_issue_s_pi4_table(cells, shared_data, tmp_path, capsys):
    """The real HW-NAS-Bench Raspberry Pi 4 latencies of 29 cells, and the wrong row."""
    nb201 = flash_nas.get_adapter("nasbench201")
    with open(shared_data / "hw_nas_bench" / "hw_cifar10.csv") as handle:
        pi4 = [float(row["raspi4_latency"]) for row in csv.DictReader(handle)]
    indices = [nb201.index(nb201.parse(text)) for text in cells.texts()[:29]]
    measured = np.array([pi4[i] for i in indices] + [0.137])
    table = tmp_path / "pi4.csv"
    _write(table, cells, measured)
    code, out, _ = run(
        capsys,
        "calibrate", "--hardware", "pi3b", "--space", "nasbench201", "--measurements", str(table),
        "--target", "latency_ms", "--fit-samples", "25", "--output", str(tmp_path / "p.json"),
    )
    assert code == 0
    assert f"({WRONG_CELL}): measured 0.137" in out


def test_a_terminal_gets_ten_set_aside_rows_per_quantity_and_the_profile_every_one():
    from flash_nas.cost.profile import Profile, profile_summary

    def aside(quantity: str, count: int) -> list[str]:
        return [
            f"{quantity}: set aside row {k} (c{k}): measured 1, the fit predicts 9"
            for k in range(count)
        ]

    latency, energy = aside("latency_ms", 13), aside("energy_mj", 2)
    profile = Profile("Pi3BModel", {}, notes=["latency_ms: rank note", *latency, *energy])
    everything = profile_summary(profile)
    assert [line for line in everything if "set aside row" in line] == [
        f"note: {note}" for note in latency + energy
    ]
    short = profile_summary(profile, most_set_aside=10)
    notes = [line for line in short if line.startswith("note:")]
    assert notes == [
        "note: latency_ms: rank note",
        *(f"note: {note}" for note in latency[:10]),
        "note: latency_ms: 3 more rows set aside (13 in all); the profile's \"notes\" name "
        "every one.",
        *(f"note: {note}" for note in energy),
    ]


def test_the_command_prints_ten_rows_set_aside_and_counts_the_rest(tmp_path, capsys):
    nb201 = flash_nas.get_adapter("nasbench201")
    sample = [tuple(map(int, row)) for row in nb201.sample(300, seed=5).choices]
    cells = nb201.batch([a for a, cut in zip(sample, nb201.cut_off(sample)) if not cut][:150])
    measured = _device(cells)
    measured[::10] *= 8.0  # 15 rows timed 8x slower than the rest say
    table = tmp_path / "m.csv"
    _write(table, cells, measured)
    profile_path = tmp_path / "p.json"
    code, out, _ = run(
        capsys,
        "calibrate", "--hardware", "pi3b", "--space", "nasbench201", "--measurements", str(table),
        "--target", "latency_ms", "--fit-samples", "all", "--output", str(profile_path),
    )  # fmt: skip
    assert code == 0
    assert out.count("latency_ms: set aside row") == 10
    assert "latency_ms: 5 more rows set aside (15 in all)" in out
    saved = load_profile(profile_path)
    assert len(_set_aside(saved)) == 15
