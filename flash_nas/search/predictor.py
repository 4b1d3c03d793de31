"""FLASH's accuracy predictor: accuracy as a monotone, saturating function of NN-Degree.

FLASH fits accuracy on NN-Degree from as few as 25 trained architectures. The functional form
was not recovered, so :class:`AccuracyPredictor` fits three candidate forms of the primary
feature ``g`` and keeps the one with the lowest leave-one-out error:

* ``log``        -- ``a + b * log(1 + g)``
* ``quadratic``  -- ``a + b * g + c * g**2``
* ``saturating`` -- ``a - b * exp(-g / s)``, ``b, s > 0``: rises and levels off at ``a``

Predictions stay within the labelled range: a feature value beyond the labelled ones is read as
the nearest labelled extreme (no extrapolation of a fitted curve), so a search cannot be drawn
to an architecture by a curve's behaviour where no label is.

Further features (``params``, ``flops``...) may join as extra linear terms in ``log(1 + x)``;
each is kept only if it lowers the leave-one-out error by at least 5 % (greedy forward
selection), so a feature earns its place on data the fit did not see. The predictor is
scikit-learn shaped: ``__init__`` stores parameters, :meth:`fit` returns ``self`` and sets
attributes ending in ``_``, :meth:`predict` before :meth:`fit` raises :class:`NotFittedError`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from flash_nas.errors import FlashNasError, NotFittedError

__all__ = ["FORMS", "AccuracyPredictor", "NotFittedError", "Quality", "prediction_quality"]

FORMS = ("log", "quadratic", "saturating")


@dataclass(frozen=True)
class Quality:
    """How well predictions match the truth on rows the predictor was not fitted on."""

    rows: int
    r2: float
    rmse: float
    spearman: float
    kendall: float

    def line(self) -> str:
        return (
            f"R2 {self.r2:.3f}, RMSE {self.rmse:.3f}, Spearman {self.spearman:.3f}, "
            f"Kendall {self.kendall:.3f} ({self.rows} rows)"
        )


def prediction_quality(predicted: np.ndarray, truth: np.ndarray) -> Quality:
    """R2, RMSE, Spearman rho and Kendall tau of ``predicted`` against ``truth``."""
    from scipy import stats  # here, not at the top: importing it takes half a second

    predicted = np.asarray(predicted, dtype=float)
    truth = np.asarray(truth, dtype=float)
    residual = truth - predicted
    spread = float(((truth - truth.mean()) ** 2).sum())
    constant = np.ptp(predicted) == 0 or np.ptp(truth) == 0
    return Quality(
        rows=len(truth),
        r2=1.0 - float((residual**2).sum()) / spread if spread else 0.0,
        rmse=float(np.sqrt((residual**2).mean())),
        spearman=0.0 if constant else float(stats.spearmanr(predicted, truth).statistic),
        kendall=0.0 if constant else float(stats.kendalltau(predicted, truth).statistic),
    )


def _design(form: str, g: np.ndarray, extra: np.ndarray) -> np.ndarray:
    columns = [np.ones_like(g)]
    if form == "log":
        columns.append(np.log1p(g))
    elif form == "quadratic":
        scale = g.max() if g.max() > 0 else 1.0  # keep g**2 well conditioned
        columns += [g / scale, (g / scale) ** 2]
    columns += list(extra.T)
    return np.column_stack(columns)


@dataclass(frozen=True)
class _Model:
    form: str
    coefficients: np.ndarray
    g_scale: float
    rate: float  # saturating form only

    def predict(self, g: np.ndarray, extra: np.ndarray) -> np.ndarray:
        if self.form == "saturating":
            design = np.column_stack([np.ones_like(g), -np.exp(-g / self.rate), *extra.T])
        elif self.form == "quadratic":
            design = np.column_stack(
                [np.ones_like(g), g / self.g_scale, (g / self.g_scale) ** 2, *extra.T]
            )
        else:
            design = _design(self.form, g, extra)
        return design @ self.coefficients


def _fit_one(form: str, g: np.ndarray, extra: np.ndarray, y: np.ndarray) -> _Model:
    if form != "saturating":
        design = _design(form, g, extra)
        coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
        return _Model(form, coefficients, float(g.max() if g.max() > 0 else 1.0), 1.0)

    # For a fixed rate the saturating form is linear in (a, b, extras): search the rate on a
    # log grid, then refine it with a bounded scalar minimisation.
    def sse(log_rate: float) -> float:
        design = np.column_stack([np.ones_like(g), -np.exp(-g / math.exp(log_rate)), *extra.T])
        coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
        return float(((design @ coefficients - y) ** 2).sum())

    span = max(float(np.ptp(g)), 1e-9)
    grid = np.log(span) + np.linspace(-3, 3, 25)
    best = grid[int(np.argmin([sse(x) for x in grid]))]
    found = optimize.minimize_scalar(sse, bounds=(best - 0.5, best + 0.5), method="bounded")
    rate = math.exp(found.x)
    design = np.column_stack([np.ones_like(g), -np.exp(-g / rate), *extra.T])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return _Model(form, coefficients, 1.0, rate)


def _loo_predictions(form: str, g: np.ndarray, extra: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each label predicted by the form fitted on the others, within their feature range (as
    :meth:`AccuracyPredictor.predict` does: a held-out extreme is not extrapolated)."""
    held_out = np.empty(len(y))
    for held in range(len(y)):
        keep = np.arange(len(y)) != held
        model = _fit_one(form, g[keep], extra[keep], y[keep])
        g_in = np.clip(g[held : held + 1], g[keep].min(), g[keep].max())
        extra_in = np.clip(
            extra[held : held + 1], extra[keep].min(axis=0), extra[keep].max(axis=0)
        )
        held_out[held] = model.predict(g_in, extra_in)[0]
    return held_out


def _loo_rmse(form: str, g: np.ndarray, extra: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(_loo_predictions(form, g, extra, y) - y))))


class AccuracyPredictor:
    """Predict accuracy from NN-Degree (and, where they help, other training-free features).

    Parameters: ``forms`` to try (default all of :data:`FORMS`); at most ``max_extra`` extra
    features (columns after the first of ``X``) may join, each only if it lowers the
    leave-one-out RMSE by at least the fraction ``min_gain``; ``min_samples`` labels at least.
    """

    def __init__(
        self,
        forms: Sequence[str] = FORMS,
        *,
        max_extra: int = 2,
        min_gain: float = 0.05,
        min_samples: int = 5,
    ) -> None:
        self.forms = tuple(forms)
        self.max_extra = max_extra
        self.min_gain = min_gain
        self.min_samples = min_samples

    def _check_params(self) -> None:
        unknown = [form for form in self.forms if form not in FORMS]
        if unknown or not self.forms:
            raise FlashNasError(
                f"The 'forms' parameter must name forms from {', '.join(FORMS)}; got {self.forms}."
            )
        if not isinstance(self.min_samples, int) or self.min_samples < 4:
            raise FlashNasError(f"'min_samples' must be an int >= 4; got {self.min_samples!r}.")

    def fit(self, X: np.ndarray, y: np.ndarray) -> AccuracyPredictor:
        """Fit on ``X`` (n, k): column 0 is the primary feature (NN-Degree, >= 0), the others
        candidate extras (>= 0, used as ``log(1 + x)``); ``y`` (n,) the accuracies."""
        self._check_params()
        X, y = self._check_data(X, y)
        g, candidates = X[:, 0], np.log1p(X[:, 1:])
        chosen: list[int] = []
        form, error = min(
            ((f, _loo_rmse(f, g, candidates[:, chosen], y)) for f in self.forms),
            key=lambda item: item[1],
        )
        while len(chosen) < min(self.max_extra, candidates.shape[1]):
            trials = [
                (column, _loo_rmse(form, g, candidates[:, [*chosen, column]], y))
                for column in range(candidates.shape[1])
                if column not in chosen and len(y) > len(chosen) + 5
            ]
            if not trials:
                break
            column, trial_error = min(trials, key=lambda item: item[1])
            if trial_error >= error * (1.0 - self.min_gain):
                break
            chosen.append(column)
            error = trial_error
        self.form_ = form
        self.extra_columns_ = [column + 1 for column in chosen]
        #: Each label predicted by the chosen form fitted on the others, and their RMSE: the
        #: one leave-one-out figure of this predictor (what the engine reports and uses as the
        #: spread of a prediction).
        self.loo_predictions_ = _loo_predictions(form, g, candidates[:, chosen], y)
        self.loo_rmse_ = error
        # The range of the labelled features: predictions stay inside it (see predict()).
        self.feature_low_ = X.min(axis=0)
        self.feature_high_ = X.max(axis=0)
        self.model_ = _fit_one(form, g, candidates[:, chosen], y)
        self.n_features_in_ = X.shape[1]
        self.fit_quality_ = prediction_quality(self.predict(X), y)
        return self

    def _check_data(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or len(X) != len(y):
            raise FlashNasError(
                f"Expected X of shape (n, k) and y of shape (n,); got {X.shape} and {y.shape}."
            )
        if len(y) < self.min_samples:
            raise FlashNasError(
                f"The predictor needs at least {self.min_samples} labelled architectures; "
                f"got {len(y)}. Label more (FLASH uses 25)."
            )
        if not np.isfinite(X).all() or not np.isfinite(y).all():
            raise FlashNasError("Features and accuracies must be finite numbers (found NaN/inf).")
        if (X < 0).any():
            raise FlashNasError("Features must be >= 0 (they enter as log(1 + x)).")
        return X, y

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted accuracy of every row of ``X`` (same columns as in :meth:`fit`)."""
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This AccuracyPredictor is not fitted yet; call fit(X, y) with labelled "
                "architectures first."
            )
        X = np.asarray(X, dtype=float)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[1] != self.n_features_in_:
            raise FlashNasError(
                f"X has {X.shape[1]} columns; the predictor was fitted on {self.n_features_in_}."
            )
        # No extrapolation: a feature beyond the labelled range is read as the range's edge, so
        # the prediction stays what the labels support (a quadratic or saturating curve fitted
        # on NN-Degree 200..1100 can fall or rise without bound outside it; a search would pick
        # exactly that artefact).
        X = np.clip(X, self.feature_low_, self.feature_high_)
        g = X[:, 0]
        extra = np.log1p(np.clip(X[:, self.extra_columns_], 0, None))
        return self.model_.predict(g, extra)

    def score(self, X: np.ndarray, y: np.ndarray) -> Quality:
        """Quality of the predictions on ``(X, y)``: pass rows not used in :meth:`fit`."""
        return prediction_quality(self.predict(X), np.asarray(y, dtype=float))
