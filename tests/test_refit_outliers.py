"""When the engine's online cost refit may call a measured row wrong.

The first rows a search measures are drawn to differ; a row of another kind must not be set
aside as an outlier before the fit has the rows (and the per-choice costs) to explain it.
"""

from __future__ import annotations

import numpy as np
import pytest

from flash_nas.cost.robust_fit import robust_fit_toward
from flash_nas.search.engine import cost_refit
from flash_nas.search.engine.cost_refit import OUTLIER_ROWS, pooled_spread, refit_linear

# The first three rows of a Raspberry Pi 4 search (HW-NAS-Bench, limit at the 10 % quantile,
# seed 119 of the tuning benchmark, the design_floor variant): pi3b's events of each cell
# (those it prices here: 3x3, 1x1 and linear MACs, bytes, element-wise ops, layers, one call),
# pi3b's costs per event, and the latencies the device measured. The first and third cells
# are convolution cells timed 4.4x over pi3b's prediction, the second a cheap cell only 1.2x.
EVENTS = np.array(
    [
        [7.5202560e06, 4.1943040e06, 640.0, 1.1232096e07, 2.5068260e06, 41.0, 1.0],
        [7.5202560e06, 2.6214400e05, 640.0, 3.0919360e06, 3.5642600e05, 11.0, 1.0],
        [4.2909696e07, 2.6214400e05, 640.0, 7.5047360e06, 7.8650600e05, 26.0, 1.0],
    ]
)
PRIOR = np.array([1.4056e-07, 1.0542e-07, 2.1084e-07, 2.8112e-07, 2.1084e-07, 1.2144e-02, 0.20240])
MEASURED = np.array([26.130, 2.8791, 38.998])


def test_three_rows_of_different_kinds_are_all_kept_and_all_widen_the_spread() -> None:
    fit = refit_linear(EVENTS, np.zeros((3, 0)), MEASURED, PRIOR)
    assert fit.kept.all()
    assert len(fit.residuals) == 3
    # the cheap cell's error is evidence that the model's form is wrong for this device
    assert pooled_spread(0.3, fit.residuals) > 1.0


def test_judged_from_three_rows_the_refit_set_the_identity_cell_aside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The rule this replaces: the form fitted to the two convolution cells explains
    # neither the cheap cell nor its error, which then left the spread.
    monkeypatch.setattr(cost_refit, "OUTLIER_ROWS", 3)
    fit = refit_linear(EVENTS, np.zeros((3, 0)), MEASURED, PRIOR)
    assert fit.kept.tolist() == [True, False, True]
    assert pooled_spread(0.3, fit.residuals) < 0.3
    # and the cheap cell, priced 3.6x what the device took, was the search's evidence
    assert fit.fitted[1] > 3 * MEASURED[1]


def test_a_row_seventy_times_off_is_set_aside_once_there_are_enough_rows() -> None:
    rng = np.random.default_rng(3)
    events = rng.uniform(1.0, 10.0, size=(12, 3))
    measured = events @ np.array([1.0, 2.0, 0.5])
    measured[1] /= 70
    for rows in range(3, 13):
        fit = robust_fit_toward(
            events[:rows], measured[:rows], np.ones(3), 0.1, judge_from=OUTLIER_ROWS
        )
        expected = [1] if rows >= OUTLIER_ROWS else []
        assert np.flatnonzero(~fit.kept).tolist() == expected, rows
    # before judge_from every row counts in the fit: it is the plain fit of them all
    few = robust_fit_toward(events[:4], measured[:4], np.ones(3), 0.1, judge_from=5)
    assert few.kept.all()
    assert few.spread > 0.1


def test_fewer_than_three_rows_cannot_judge() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        robust_fit_toward(EVENTS, MEASURED, PRIOR, 0.1, judge_from=2)
