"""Refit an analytical hardware model to measurements, and keep the result as a profile.

FLASH fine-tunes its analytical models on inference measured on the target. Here:

1. :func:`calibrate` takes a :class:`~flash_nas.cost.linear.LinearCostModel`, a batch of
   architectures and their measured quantities, fits the costs per event on ``fit_samples`` rows
   chosen at random (seeded), and predicts every other row.
2. The fit minimises the *relative* squared error, ``sum(((E @ c - y) / y) ** 2)``, subject to
   ``c >= 0`` (scipy's non-negative least squares): a negative seconds-per-MAC has no physical
   meaning, and relative error keeps the many small networks from being ignored.
3. Quality is reported on the held-out rows only: Spearman rho, Kendall tau, MAPE and the share
   of architectures within +-10 %.
4. The fitted costs and their quality are saved as a :class:`Profile` (JSON), which the model
   loads again with ``Model(profile=path)``.
5. A model stays consistent: a quantity the model defines through a calibrated one (the Pi-3B's
   energy = power x latency) is recomputed from the fitted costs, and the profile says, per
   quantity, whether it was fitted, carried from another, or left at the model's defaults
   (:attr:`Profile.calibrated`; ``flash-nas hw --profile`` prints it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from scipy import stats

from flash_nas.cost.linear import LinearCostModel
from flash_nas.cost.profile import Fit, Profile
from flash_nas.cost.robust_fit import robust_fit
from flash_nas.errors import CalibrationError, FlashNasError, TableError
from flash_nas.graph.batch import GraphBatch
from flash_nas.io.tables import check_rows

__all__ = [
    "WORSE_MAPE_MARGIN",
    "calibrate",
    "check_measurements",
    "fit_quality",
]

#: A fit is "worse than the model's own costs" when its MAPE on the judged rows exceeds theirs by
#: more than this: a difference below a point is noise on 5-25 judged rows, and a model whose
#: defaults already match the device must not fail to calibrate by rounding.
WORSE_MAPE_MARGIN = 0.01


def fit_quality(predicted: np.ndarray, measured: np.ndarray, how: str = "held-out") -> Fit:
    """Spearman, Kendall, MAPE and share within +-10 % of ``predicted`` against ``measured``.

    ``how`` says how the predicted rows were kept out of the fit (``held-out`` or
    ``leave-one-out``)."""
    predicted = np.asarray(predicted, dtype=float)
    measured = np.asarray(measured, dtype=float)
    relative = np.abs(predicted - measured) / measured
    constant = np.ptp(predicted) == 0 or np.ptp(measured) == 0
    return Fit(
        rows=len(measured),
        spearman=0.0 if constant else float(stats.spearmanr(predicted, measured).statistic),
        kendall=0.0 if constant else float(stats.kendalltau(predicted, measured).statistic),
        mape=float(relative.mean()),
        within_10pct=float((relative <= 0.10).mean()),
        how=how,
    )


def check_measurements(values: np.ndarray, quantity: str, archs: Sequence[str]) -> np.ndarray:
    """``values`` as floats, every one finite and > 0; otherwise an error naming the row."""
    return check_rows(
        values,
        archs,
        lambda array: array <= 0,
        f"Measured {quantity} must be finite and > 0",
        advice="Remove or re-measure them.",
    )


def calibrate(
    model: LinearCostModel,
    batch: GraphBatch,
    measured: Mapping[str, np.ndarray],
    *,
    fit_samples: int | Literal["all"],
    seed: int = 0,
    source: str = "",
    fit_rows: Sequence[int] | None = None,
    accept_worse: bool = False,
) -> Profile:
    """Fit ``model``'s costs for each measured quantity on ``fit_samples`` random rows.

    ``fit_samples="all"`` fits on every row and judges the fit by leave-one-out instead (a user
    with 25 measurements wants all 25 used). ``fit_rows`` names the rows to fit on instead
    (positions in ``batch``; planned splits), and ``fit_samples`` must then equal its length.

    Rows the fit finds to be outliers (:mod:`flash_nas.cost.robust_fit`) are set aside, fitted
    or held out, and each is named in ``profile.notes`` with its measured and predicted value;
    quality is reported on the rest. A fit that predicts those rows worse than the model's own
    costs did is a :class:`~flash_nas.errors.CalibrationError` unless ``accept_worse``.

    Returns the profile; ``profile.fit`` holds the quality. The model itself is left unchanged:
    load the profile to use it.
    """
    texts = batch.texts()
    _check_inputs(model, batch, measured, texts)
    leave_one_out = fit_samples == "all"
    if leave_one_out:
        fit_samples = len(batch)
    every_row = leave_one_out or (fit_rows is not None and fit_samples == len(batch))
    if isinstance(fit_samples, bool) or not isinstance(fit_samples, int) or not (
        1 <= fit_samples < len(batch) + every_row
    ):
        raise FlashNasError(
            f"fit_samples must be 'all' or an int in 1..{len(batch) - 1} (some rows must be "
            f"held out to report quality); got {fit_samples!r}."
        )
    events = model.events_batch(batch)
    fit_positions, held_out = _split(len(batch), fit_samples, seed, fit_rows)
    costs = dict(zip(model.coefficient_names(), map(float, model.costs)))
    fits = {}
    notes = []
    for quantity, values in measured.items():
        y = np.asarray(values, dtype=float)
        mask = np.array([c.quantity == quantity for c in model.coefficients])
        used = mask & (np.abs(events[fit_positions]).sum(axis=0) > 0)
        if fit_samples < used.sum():
            raise FlashNasError(
                f"Fitting {quantity} needs at least {used.sum()} rows (one per cost it fits); "
                f"got fit_samples={fit_samples}. Measure more architectures."
            )
        names = np.array(model.coefficient_names())[used]
        design = events[fit_positions][:, used]
        rank = np.linalg.matrix_rank(design / np.abs(design).max(axis=0))
        if rank < used.sum():
            notes.append(
                f"{quantity}: the measurements determine only {rank} independent combinations of "
                f"the {used.sum()} costs ({', '.join(names)}); how the fit splits them is "
                f"arbitrary, though its predictions are not."
            )
        fitted = robust_fit(design, y[fit_positions], model.costs[used])
        costs.update(zip(map(str, names), map(float, fitted.costs)))
        predicted = events[:, mask] @ np.array(
            [costs[c.name] for c in model.coefficients if c.quantity == quantity]
        )
        aside = np.zeros(len(batch), dtype=bool)
        aside[fit_positions[~fitted.kept]] = True
        aside[held_out] = fitted.outliers(predicted[held_out], y[held_out])
        notes.extend(_set_aside_notes(quantity, texts, y, predicted, aside))
        if leave_one_out:
            judged = np.flatnonzero(~aside)
            judged_prediction = _leave_one_out(events[:, used], y, model.costs[used])[judged]
        else:
            judged = held_out[~aside[held_out]]
            judged_prediction = predicted[judged]
        if not len(judged):
            continue
        how = "leave-one-out" if leave_one_out else "held-out"
        fits[quantity] = fit_quality(judged_prediction, y[judged], how=how)
        default = fit_quality(events[judged][:, mask] @ model.costs[mask], y[judged], how=how)
        if fits[quantity].mape > default.mape + WORSE_MAPE_MARGIN:
            message = (
                f"{quantity}: the fitted costs predict the {len(judged)} {how} rows worse than "
                f"the model's own costs (MAPE {fits[quantity].mape:.1%} against "
                f"{default.mape:.1%})"
            )
            if not accept_worse:
                raise CalibrationError(
                    f"{message}. Check the measurements (and the rows set aside), measure more "
                    f"architectures, or accept the fit knowingly (accept_worse=True, "
                    f"--accept-worse-fit)."
                )
            notes.append(f"{message}; accepted.")
    calibrated = {}
    for quantity in model.quantities:
        derived_from, how = model.derived_quantities.get(quantity, ("", ""))
        if quantity in measured:
            calibrated[quantity] = f"fitted to {fit_samples} measured rows"
        elif derived_from in measured:
            costs.update(model.derive_costs(quantity, costs))
            calibrated[quantity] = f"carried from the fitted {derived_from} ({how})"
        else:
            calibrated[quantity] = "NOT calibrated: the model's default costs"
    return Profile(
        model=type(model).__name__,
        costs=costs,
        fit=fits,
        fit_rows=fit_samples,
        seed=seed,
        source=source,
        structure=model.structure_parameters(),
        notes=notes,
        calibrated=calibrated,
    )


def _check_inputs(
    model: LinearCostModel,
    batch: GraphBatch,
    measured: Mapping[str, np.ndarray],
    texts: Sequence[str],
) -> None:
    for quantity, values in measured.items():
        if quantity not in model.quantities:
            raise FlashNasError(
                f"{type(model).__name__} does not model {quantity!r}; it models "
                f"{', '.join(model.quantities)}."
            )
        if len(values) != len(batch):
            raise TableError(f"{quantity}: {len(values)} measurements for {len(batch)} archs.")
        check_measurements(values, quantity, texts)
    if len(set(texts)) != len(texts):
        raise TableError("The measurements list an architecture twice; keep one row per arch.")


def _split(
    rows: int, fit_samples: int, seed: int, fit_rows: Sequence[int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """The positions fitted on and the positions held out."""
    if fit_rows is None:
        order = np.random.default_rng(seed).permutation(rows)
        return np.sort(order[:fit_samples]), np.sort(order[fit_samples:])
    chosen = np.unique(np.asarray(fit_rows, dtype=int))
    if len(chosen) != fit_samples or chosen.min() < 0 or chosen.max() >= rows:
        raise FlashNasError(
            f"fit_rows must be {fit_samples} distinct positions in 0..{rows - 1}; got "
            f"{list(fit_rows)!r}."
        )
    return chosen, np.setdiff1d(np.arange(rows), chosen)


def _leave_one_out(events: np.ndarray, measured: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Each row predicted by the robust fit on every other row."""
    predicted = np.empty(len(measured))
    for row in range(len(measured)):
        others = np.arange(len(measured)) != row
        predicted[row] = events[row] @ robust_fit(events[others], measured[others], prior).costs
    return predicted


def _set_aside_notes(
    quantity: str,
    texts: Sequence[str],
    measured: np.ndarray,
    predicted: np.ndarray,
    aside: np.ndarray,
) -> list[str]:
    return [
        f"{quantity}: set aside row {row + 1} ({texts[row]}): measured {measured[row]:.4g}, "
        f"the fit predicts {predicted[row]:.4g} ({_how_far(predicted[row], measured[row])})"
        for row in map(int, np.flatnonzero(aside))
    ]


def _how_far(predicted: float, measured: float) -> str:
    if predicted <= 0:
        return "the fit prices it at nothing"
    ratio = predicted / measured
    return f"{ratio:.1f}x the measurement" if ratio >= 1 else f"1/{1 / ratio:.1f} of it"
