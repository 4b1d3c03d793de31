"""Non-negative cost fits that a few wrong measurements cannot capture.

A measurement table can hold a row that is simply wrong: HW-NAS-Bench's Raspberry Pi 4 column
times some live NAS-Bench-201 cells with convolutions at 0.137 ms, a tenth of the cheapest
convolution-free network. :func:`calibration <flash_nas.cost.calibration.calibrate>` fits the
*relative* squared error, which such a row dominates: over-predicting it by a factor of 70 costs
as much as 4,900 exact rows gain, so the fit bends every cost towards it.

The robust fit here works in three steps:

1. **A robust start.** The model's own costs (its defaults, or the profile it was built with) times
   one scale factor, the median ratio of measured to predicted: one number, which one bad row
   cannot move far.
2. **A robust fit in log space.** From that start, ``scipy.optimize.least_squares`` with the
   ``soft_l1`` loss minimises ``log(E @ c) - log(y)`` over ``c >= 0``. In log space being 70x too
   high and 70x too low weigh the same, and the loss grows only linearly in the tails, so a wrong
   row stands out by its residual instead of hiding in the fit.
3. **Set aside, then refit as before.** A row whose log residual is an outlier by the
   Iglewicz-Hoaglin rule (modified z-score above 3.5, using the median absolute deviation) *and*
   off by more than a factor of 2 is set aside; the relative non-negative least squares that
   calibration always used then refits on the rest, and the rule is applied again to the new fit
   until the set stops changing. With no row set aside the result is exactly the plain fit.

The factor 2 keeps well-fitted tables intact: with residuals of a few per cent the MAD is tiny,
and the z-score alone would set aside rows that are merely 10 % off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

__all__ = [
    "OUTLIER_FACTOR",
    "OUTLIER_Z",
    "RobustFit",
    "fit_relative",
    "fit_toward",
    "outlying",
    "robust_fit",
    "robust_fit_toward",
]

#: Modified z-score above which a log residual is an outlier (Iglewicz and Hoaglin, 1993).
OUTLIER_Z = 3.5
#: A row is set aside only if it is also this many times off (either way).
OUTLIER_FACTOR = 2.0
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class RobustFit:
    """Fitted costs, which rows they rest on, and the residual spread used to judge other rows."""

    costs: np.ndarray
    kept: np.ndarray  # bool per fitted row
    center: float  # median log residual of the kept rows
    spread: float  # their median absolute deviation (log space)

    def outliers(self, predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
        """Which of these rows (fitted or not) the rule sets aside, judged against this fit."""
        return _outliers(_log_residuals(predicted, measured), self.center, self.spread)


def fit_relative(events: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Costs ``c >= 0`` minimising ``sum(((events @ c - measured) / measured) ** 2)``."""
    scale = 1.0 / measured
    column_scale = np.abs(events).max(axis=0)
    column_scale[column_scale == 0] = 1.0  # an event that never happens keeps a zero column
    solution, _ = optimize.nnls((events / column_scale) * scale[:, None], np.ones(len(measured)))
    return solution / column_scale


def robust_fit(events: np.ndarray, measured: np.ndarray, prior: np.ndarray) -> RobustFit:
    """Fit ``events @ c ~ measured`` with ``c >= 0``, setting aside rows that are outliers.

    ``prior`` (the model's current costs for these columns) only seeds the fit; the result does
    not lean towards it.
    """
    events = np.asarray(events, dtype=float)
    measured = np.asarray(measured, dtype=float)
    start = _log_fit(events, measured, _scaled_prior(events, measured, prior))
    residuals = _log_residuals(events @ start, measured)
    kept = ~_outliers(residuals, *_center_spread(residuals))
    for _ in range(_MAX_ROUNDS):
        costs = fit_relative(events[kept], measured[kept])
        residuals = _log_residuals(events @ costs, measured)
        center, spread = _center_spread(residuals[kept])
        now_kept = ~_outliers(residuals, center, spread)
        if np.array_equal(now_kept, kept) or now_kept.sum() < events.shape[1]:
            break
        kept = now_kept
    return RobustFit(costs=costs, kept=kept, center=center, spread=spread)


def fit_toward(
    events: np.ndarray, measured: np.ndarray, prior: np.ndarray, strength: float | np.ndarray
) -> np.ndarray:
    """Costs ``c >= 0`` minimising the relative squared error plus ``strength`` times the
    squared relative distance of each cost from the prior rescaled to the measurements
    (``strength`` is one number, or one per cost).

    What a search refits as measurements arrive one by one: with one row the result is the
    prior's shape at the measured scale (one row cannot tell the costs apart); as rows
    accumulate they outweigh the prior, whose pull stays the same. A cost the prior sets to
    zero is pulled towards zero on the scale of the measurements.
    """
    events = np.asarray(events, dtype=float)
    measured = np.asarray(measured, dtype=float)
    if not len(measured):
        return np.maximum(np.asarray(prior, dtype=float), 0.0)
    target = _scaled_prior(events, measured, prior)
    # Each cost in units of its target (or, for a zero target, of a cost that alone would
    # explain a typical measurement), so that the pull treats every cost alike.
    typical = np.abs(events).max(axis=0)
    natural = np.where(typical > 0, float(np.median(measured)) / np.maximum(typical, 1e-300), 1.0)
    unit = np.where(target > 0, target, natural)
    design = events * unit / measured[:, None]
    weight = np.sqrt(np.broadcast_to(np.asarray(strength, dtype=float), unit.shape))
    stacked = np.vstack([design, np.diag(weight)])
    goal = np.concatenate([np.ones(len(measured)), weight * target / unit])
    solution, _ = optimize.nnls(stacked, goal)
    return solution * unit


def robust_fit_toward(
    events: np.ndarray,
    measured: np.ndarray,
    prior: np.ndarray,
    strength: float | np.ndarray,
    judge_from: int = 3,
) -> RobustFit:
    """:func:`fit_toward`, setting aside rows that are outliers by the rule of
    :func:`robust_fit` (judged against the fit on the other rows, until the set settles).

    With fewer than ``judge_from`` rows (at least 3: two rows cannot tell an outlier from the
    rest) every row is kept. A caller whose first rows may differ in kind, not in accuracy,
    asks for more before any row is called wrong.
    """
    if judge_from < 3:
        raise ValueError(f"judge_from must be at least 3 (two rows cannot judge), got {judge_from}")
    events = np.asarray(events, dtype=float)
    measured = np.asarray(measured, dtype=float)
    kept = np.ones(len(measured), dtype=bool)
    if len(measured) < judge_from:
        costs = fit_toward(events, measured, prior, strength)
        center, spread = _center_spread(_log_residuals(events @ costs, measured))
        return RobustFit(costs=costs, kept=kept, center=center, spread=spread)
    start = _log_fit(events, measured, _scaled_prior(events, measured, prior))
    residuals = _log_residuals(events @ start, measured)
    kept = ~_outliers(residuals, *_center_spread(residuals))
    for _ in range(_MAX_ROUNDS):
        costs = fit_toward(events[kept], measured[kept], prior, strength)
        residuals = _log_residuals(events @ costs, measured)
        center, spread = _center_spread(residuals[kept])
        now_kept = ~_outliers(residuals, center, spread)
        if np.array_equal(now_kept, kept) or now_kept.sum() < 2:
            break
        kept = now_kept
    return RobustFit(costs=costs, kept=kept, center=center, spread=spread)


def _scaled_prior(events: np.ndarray, measured: np.ndarray, prior: np.ndarray) -> np.ndarray:
    start = np.maximum(np.asarray(prior, dtype=float), 0.0)
    predicted = events @ start
    usable = predicted > 0
    if not usable.any():
        # the prior prices none of these rows: start from the plain fit instead
        return fit_relative(events, measured)
    return start * float(np.median(measured[usable] / predicted[usable]))


def _log_fit(events: np.ndarray, measured: np.ndarray, start: np.ndarray) -> np.ndarray:
    # Columns scaled so that every parameter is of the order of the measurements: the costs per
    # event span ten orders of magnitude (per MAC against per network).
    column_scale = np.abs(events).max(axis=0)
    column_scale[column_scale == 0] = 1.0
    scaled = events / column_scale
    floor = 1e-9 * float(measured.min())
    log_measured = np.log(measured)

    def residuals(x: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(scaled @ x, floor)) - log_measured

    def jacobian(x: np.ndarray) -> np.ndarray:
        return scaled / np.maximum(scaled @ x, floor)[:, None]

    x0 = start * column_scale
    if not np.any(scaled @ x0 > 0):
        return start
    result = optimize.least_squares(
        residuals,
        x0,
        jac=jacobian,
        bounds=(0.0, np.inf),
        loss="soft_l1",
        f_scale=0.1,  # residuals beyond ~10 % count linearly, not quadratically
        x_scale="jac",
    )
    return np.asarray(result.x) / column_scale


def _log_residuals(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    predicted = np.asarray(predicted, dtype=float)
    if not len(measured):
        return np.zeros(0)
    tiny = 1e-12 * float(np.min(measured))
    return np.log(np.maximum(predicted, tiny)) - np.log(measured)


def _center_spread(residuals: np.ndarray) -> tuple[float, float]:
    center = float(np.median(residuals))
    return center, float(np.median(np.abs(residuals - center)))


def outlying(residuals: np.ndarray) -> np.ndarray:
    """Which log residuals the rule sets aside, judged against their own median and median
    absolute deviation: for a fit that is one number (a scale, whose best value is the median
    log ratio) the residuals from that fit are these less their median."""
    residuals = np.asarray(residuals, dtype=float)
    center, spread = _center_spread(residuals)
    return _outliers(residuals - center, 0.0, spread)


def _outliers(residuals: np.ndarray, center: float, spread: float) -> np.ndarray:
    off = np.abs(residuals - center)
    # 0.6745 * deviation / MAD is the modified z-score; a zero MAD (an exact fit) leaves only
    # the factor to decide.
    z = np.where(spread > 0, 0.6745 * off / max(spread, 1e-300), np.inf)
    return (z > OUTLIER_Z) & (np.abs(residuals) > np.log(OUTLIER_FACTOR))
