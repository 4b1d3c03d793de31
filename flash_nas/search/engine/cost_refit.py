"""How the engine refits an analytical hardware model on measured rows, and how wide it takes
the error of what it predicts (:mod:`.cost_beliefs` holds the beliefs and uses these).

A :class:`~flash_nas.cost.linear.LinearCostModel` prices a network as its events times costs
per event. :func:`refit_linear` refits those costs on the measured rows, pulled towards the
model's own (:func:`~flash_nas.cost.robust_fit.robust_fit_toward`), and may add each column of
the space's encoding (a choice: an operation on an edge) as one more non-negative event with a
cost of its own, pulled towards zero; leave-one-out error over the measured rows decides how
strongly, or that the model's form alone predicts better. :func:`pooled_spread` turns
leave-one-out residuals into the log-space spread of a prediction.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from flash_nas.cost.robust_fit import OUTLIER_FACTOR, fit_toward, robust_fit_toward

__all__ = [
    "CHOICE_ROWS",
    "CHOICE_STRENGTHS",
    "MAD_TO_SD",
    "OUTLIER_ROWS",
    "PRIOR_ROWS",
    "PRIOR_STRENGTH",
    "ROBUST_ROWS",
    "LinearRefit",
    "design_of",
    "extra_designs",
    "pooled_spread",
    "refit_linear",
]

#: How many measured rows the model's own spread counts as when pooled with measured residuals.
PRIOR_ROWS = 2.0
#: How strongly a refit is pulled towards the model's own costs (rescaled), in units of one
#: measured row's squared relative error per cost: enough to keep the shape the rows cannot
#: tell apart (one row, or costs whose events always come together), weak enough that rows
#: that do tell them apart win (with 1.0, forty exact rows of three correlated events still
#: left the costs 30 % towards the prior).
PRIOR_STRENGTH = 0.1
#: Pulls towards zero tried for each choice's own cost (the encoding's columns as further
#: events), in the units of :data:`PRIOR_STRENGTH`; leave-one-out error picks one, or none.
#: A device's latency is a sum over the layers it runs, so a choice the model's form prices
#: wrongly (HW-NAS-Bench's Eyeriss runs a 3x3 average pool as slowly as a 3x3 convolution)
#: is one more cost per choice, which a few rows holding that choice can fit.
CHOICE_STRENGTHS = (1.0, 0.1, 0.01)
#: Measured rows from which per-choice costs are tried.
CHOICE_ROWS = 5
#: Measured rows from which a refit may set a row aside as wrong (the outlier rule of
#: calibration). The first rows of a search are drawn to differ (a design spans the space),
#: and until per-choice costs are tried (:data:`CHOICE_ROWS`) the model's form alone must
#: explain them: a row of another kind then looks wrong to a fit on the rest. Judged from 3
#: rows, a Raspberry Pi 4 search set its one cheap cell aside (timed at a 3.6th of what the
#: form fitted to its two convolution cells predicts); its residual left the spread with it,
#: and every untried cheap cell was priced 3-5x too high, with under 1 % chance of meeting the
#: limit (tests/test_refit_outliers.py holds those three rows).
OUTLIER_ROWS = CHOICE_ROWS
#: Residuals from which their spread is taken robustly (their median absolute value).
ROBUST_ROWS = 3
#: A normal distribution's standard deviation over its median absolute deviation.
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class LinearRefit:
    """A refit: the model's costs, each choice's own (empty: the form alone won), which rows
    were kept, their leave-one-out log residuals, and every row's fitted value."""

    costs: np.ndarray
    choice_costs: np.ndarray
    kept: np.ndarray
    residuals: np.ndarray
    fitted: np.ndarray


def refit_linear(
    events: np.ndarray,
    encoding: np.ndarray,
    y: np.ndarray,
    prior: np.ndarray,
    kinds: Sequence[Hashable] | None = None,
) -> LinearRefit:
    """Refit the costs of ``events`` (``prior``: the model's own), and each choice's own cost
    beside them (:data:`CHOICE_STRENGTHS`), on the measured values ``y``.

    ``kinds`` names what each encoding column is (NAS-Bench-201: the op, whichever edge it is
    on): then one cost per kind, shared by its columns, is tried as well. A device that prices
    an operation the same wherever it runs (HW-NAS-Bench's FPGA and Eyeriss: latency is exactly
    a sum of per-op costs) needs as many rows as kinds to learn that, not as many as columns.
    """
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    for basis, strength in extra_designs(encoding, len(y), kinds):
        design, target, pull = design_of(events, encoding @ basis, prior, strength)
        fit = robust_fit_toward(design, y, target, pull, judge_from=OUTLIER_ROWS)
        kept_rows = np.flatnonzero(fit.kept)
        held_out = np.empty(len(y))
        for row in range(len(y)):
            others = kept_rows[kept_rows != row]
            costs = fit_toward(design[others], y[others], target, pull)
            held_out[row] = log_ratio(design[row] @ costs, y[row])
        # Every row judged, a set-aside one at most as a factor OUTLIER_FACTOR off: a fit may
        # not win by setting aside the rows it cannot explain, nor lose by one wrong row.
        error = float(np.mean(np.minimum(held_out**2, math.log(OUTLIER_FACTOR) ** 2)))
        if best is None or error < best[0] - 1e-12:  # ties keep the simpler fit
            best = (error, held_out[fit.kept], fit.kept, fit.costs, design @ fit.costs, basis)
    assert best is not None
    _, residuals, kept, costs, fitted, basis = best
    size = events.shape[1]
    # a kind's cost is each of its columns' cost: predictions read per-column costs
    choice_costs = basis @ costs[size:] if costs.size > size else np.zeros(0)
    return LinearRefit(costs[:size], choice_costs, kept, residuals, fitted)


def extra_designs(
    encoding: np.ndarray, rows: int, kinds: Sequence[Hashable] | None = None
) -> list[tuple[np.ndarray, float | None]]:
    """The further cost columns tried beside the model's, each as a basis over the encoding's
    columns and a pull towards zero: none (the model's form alone), one cost per column
    (choice) and, with ``kinds``, one cost per kind, at each of :data:`CHOICE_STRENGTHS`. A
    space without an encoding, or too few rows to judge a fit on, gets none."""
    width = encoding.shape[1]
    alone: list[tuple[np.ndarray, float | None]] = [(np.zeros((width, 0)), None)]
    if not width or rows < CHOICE_ROWS:
        return alone
    bases = [np.eye(width)]
    if kinds is not None:
        if len(kinds) != width:
            raise ValueError(f"{len(kinds)} kinds for an encoding of {width} columns")
        names = list(dict.fromkeys(kinds))
        bases.insert(0, np.array([[kind == name for name in names] for kind in kinds], float))
    return alone + [(basis, s) for basis in bases for s in CHOICE_STRENGTHS]


def design_of(
    events: np.ndarray, extra: np.ndarray, prior: np.ndarray, strength: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The fit's columns (the model's events, then the ``extra`` ones), the costs it is pulled
    towards (the prior's; zero for each extra one) and how strongly."""
    if strength is None:
        return events, prior, np.full(len(prior), PRIOR_STRENGTH)
    return (
        np.hstack([events, extra]),
        np.concatenate([prior, np.zeros(extra.shape[1])]),
        np.concatenate([np.full(len(prior), PRIOR_STRENGTH), np.full(extra.shape[1], strength)]),
    )


def pooled_spread(prior: float, residuals: np.ndarray) -> float:
    """The log-space spread of ``residuals`` (robustly, from :data:`ROBUST_ROWS` of them) pooled
    with the model's own ``prior`` spread counted as :data:`PRIOR_ROWS` rows."""
    if len(residuals) >= ROBUST_ROWS:
        # Measured errors are heavy-tailed: most rows within a few per cent, a few off by a
        # factor (HW-NAS-Bench's Pi 4 and Pixel 3 time 2-3 % of the cells at a fraction of
        # their neighbours). A mean of squares would let those few widen every row's spread;
        # the median absolute residual, scaled to a normal's standard deviation, does not.
        total = len(residuals) * (MAD_TO_SD * float(np.median(np.abs(residuals)))) ** 2
    else:
        total = float(np.sum(residuals**2))
    return math.sqrt((PRIOR_ROWS * prior**2 + total) / (PRIOR_ROWS + len(residuals)))


def log_ratio(predicted: float, measured: float) -> float:
    return math.log(max(float(predicted), 1e-300)) - math.log(measured)
