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

import numpy as np
from scipy import optimize, stats

from flash_nas.cost.linear import LinearCostModel
from flash_nas.cost.profile import Fit, Profile
from flash_nas.errors import FlashNasError, TableError
from flash_nas.graph.batch import GraphBatch
from flash_nas.io.tables import check_rows

__all__ = [
    "calibrate",
    "check_measurements",
    "fit_quality",
]

def fit_quality(predicted: np.ndarray, measured: np.ndarray) -> Fit:
    """Spearman, Kendall, MAPE and share within +-10 % of ``predicted`` against ``measured``."""
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


def _fit_costs(events: np.ndarray, measured: np.ndarray) -> np.ndarray:
    scale = 1.0 / measured
    column_scale = np.abs(events).max(axis=0)
    column_scale[column_scale == 0] = 1.0  # an event that never happens keeps a zero column
    solution, _ = optimize.nnls((events / column_scale) * scale[:, None], np.ones(len(measured)))
    return solution / column_scale


def calibrate(
    model: LinearCostModel,
    batch: GraphBatch,
    measured: Mapping[str, np.ndarray],
    *,
    fit_samples: int,
    seed: int = 0,
    source: str = "",
    fit_rows: Sequence[int] | None = None,
) -> Profile:
    """Fit ``model``'s costs for each measured quantity on ``fit_samples`` random rows.

    ``fit_rows`` names the rows to fit on instead (positions in ``batch``; leave-one-out and
    other planned splits), and ``fit_samples`` must then equal its length. Returns the profile;
    ``profile.fit`` holds the quality on every other row. The model itself is left unchanged:
    load the profile to use it.
    """
    texts = batch.texts()
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
    every_row = fit_rows is not None and fit_samples == len(batch)  # a final fit, no quality
    if not isinstance(fit_samples, int) or not 1 <= fit_samples < len(batch) + every_row:
        raise FlashNasError(
            f"fit_samples must be an int in 1..{len(batch) - 1} (some rows must be held out to "
            f"report quality); got {fit_samples!r}."
        )
    events = model.events_batch(batch)
    if fit_rows is None:
        order = np.random.default_rng(seed).permutation(len(batch))
        fit_positions, held_out = order[:fit_samples], order[fit_samples:]
    else:
        chosen = np.unique(np.asarray(fit_rows, dtype=int))
        if len(chosen) != fit_samples or chosen.min() < 0 or chosen.max() >= len(batch):
            raise FlashNasError(
                f"fit_rows must be {fit_samples} distinct positions in 0..{len(batch) - 1}; got "
                f"{list(fit_rows)!r}."
            )
        fit_positions = chosen
        held_out = np.setdiff1d(np.arange(len(batch)), chosen)
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
        design = events[fit_positions][:, used]
        rank = np.linalg.matrix_rank(design / np.abs(design).max(axis=0))
        if rank < used.sum():
            names = np.array(model.coefficient_names())[used]
            notes.append(
                f"{quantity}: the measurements determine only {rank} independent combinations of "
                f"the {used.sum()} costs ({', '.join(names)}); how the fit splits them is "
                f"arbitrary, though its predictions are not."
            )
        fitted = _fit_costs(design, y[fit_positions])
        for name, value in zip(np.array(model.coefficient_names())[used], fitted):
            costs[str(name)] = float(value)
        predicted = events[:, mask] @ np.array(
            [costs[c.name] for c in model.coefficients if c.quantity == quantity]
        )
        if len(held_out):
            fits[quantity] = fit_quality(predicted[held_out], y[held_out])
    calibrated = {}
    for quantity in model.quantities:
        source, how = model.derived_quantities.get(quantity, ("", ""))
        if quantity in measured:
            calibrated[quantity] = f"fitted to {fit_samples} measured rows"
        elif source in measured:
            costs.update(model.derive_costs(quantity, costs))
            calibrated[quantity] = f"carried from the fitted {source} ({how})"
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
