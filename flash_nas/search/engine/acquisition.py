"""The default method's model and how it chooses: a Gaussian process and expected improvement.

The model (:class:`ArchitectureModel`) reads two blocks of inputs: the training-free metrics
(NN-Degree, its neuron-level form, log parameters, log FLOPs: each scaled to [0, 1] over the
space, each with its own length scale) and the adapter's encoding of the architecture's choices
(one length scale per choice, e.g. per NAS-Bench-201 edge, where the adapter says which columns
belong together). The kernel is a *sum* of one Matérn kernel per block:
far from every label in the encoding, the metrics still carry the prediction, so the model ranks
the whole space instead of reverting to the mean there.

Proposals maximise the expected improvement of the *objective*, ``acc**a * cost``: the cost is
known exactly (hardware model, metrics), the accuracy is Gaussian under the model, and the log
objective is approximated as Gaussian by the delta method (``log acc ~ N(log m, s / m)``).
Several proposals at once are chosen one after another, each added to the model with its own
predicted mean before the next ("kriging believer"), so a batch spreads out.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.special import ndtr  # the normal CDF, without importing scipy.stats (slow)

from flash_nas.search.gp import GaussianProcess

_SQRT_2PI = np.sqrt(2 * np.pi)

__all__ = [
    "ArchitectureModel",
    "choose",
    "expected_improvement",
    "log_objective",
    "log_value",
]

#: Accuracies below this (in %) are clipped before the logarithm: a model may predict <= 0.
_FLOOR = 1e-3


class ArchitectureModel:
    """A GP over ``[metrics | encoding]`` with an additive kernel, one block each.

    ``encoding_groups`` says which encoding columns describe one choice (one length scale
    each, e.g. an NAS-Bench-201 edge's five one-hot columns); None for one scale over all.
    """

    def __init__(
        self,
        n_metrics: int,
        n_encoding: int,
        *,
        encoding_groups: list[int] | None = None,
        seed: int = 0,
    ) -> None:
        if encoding_groups is None or len(encoding_groups) != n_encoding:
            encoding_groups = [0] * n_encoding
        _, codes = np.unique(np.asarray(encoding_groups, dtype=np.int64), return_inverse=True)
        groups = [*range(n_metrics), *(n_metrics + codes).tolist()]
        blocks = [*([0] * n_metrics), *([1] * n_encoding)]
        self.gp = GaussianProcess(groups, blocks=blocks, seed=seed)

    def fit(self, X: np.ndarray, y: np.ndarray) -> ArchitectureModel:
        self.gp.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.gp.predict(X)

    def believing(self, X: np.ndarray) -> ArchitectureModel:
        """A copy that takes the rows of ``X`` as labelled at its own predicted mean (pending
        proposals: the next ones then go elsewhere)."""
        copy = ArchitectureModel.__new__(ArchitectureModel)
        copy.gp = self.gp.condition_on(X, self.gp.predict(X)[0])
        return copy


def log_value(utility: Any, exponent: float, log_cost: Any) -> Any:
    """``exponent * log(acc) + log_cost`` for a known accuracy (a label, or a mean)."""
    return exponent * np.log(np.maximum(utility, _FLOOR)) + log_cost


def log_objective(
    mean: np.ndarray, std: np.ndarray, exponent: float, log_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``exponent * log(acc) + log_cost`` (delta method)."""
    return log_value(mean, exponent, log_cost), exponent * std / np.maximum(mean, _FLOOR)


def expected_improvement(mean: np.ndarray, std: np.ndarray, incumbent: float) -> np.ndarray:
    """``E[max(f - incumbent, 0)]`` for ``f ~ N(mean, std)``; ``mean + std`` (an optimistic
    bound) when nothing measured is feasible yet (``incumbent`` is ``-inf``)."""
    if not math.isfinite(incumbent):
        return mean + std
    std = np.maximum(std, 1e-12)
    gap = mean - incumbent
    z = gap / std
    density = np.exp(-(z**2) / 2.0) / _SQRT_2PI  # the normal PDF as scipy.stats computes it
    return gap * ndtr(z) + std * density


def choose(
    model: ArchitectureModel,
    X: np.ndarray,
    log_cost: np.ndarray,
    exponent: float,
    incumbent: float,
    count: int,
    p_feasible: np.ndarray | None = None,
) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Positions in ``X`` of ``count`` candidates, by expected improvement times the
    probability of meeting the limits (``p_feasible``; constrained EI, Gardner et al. 2014),
    one at a time, and the model's mean and standard deviation at every row before any was
    chosen."""
    gp = model.gp
    chosen: list[int] = []
    first: tuple[np.ndarray, np.ndarray] | None = None
    for _ in range(min(count, len(X))):
        mean, std = gp.predict(X)
        first = first or (mean, std)
        value, spread = log_objective(mean, std, exponent, log_cost)
        score = expected_improvement(value, spread, incumbent)
        if p_feasible is not None:
            # an optimistic bound (nothing feasible measured yet) may be negative: shift it
            # so that a likelier architecture never scores lower
            score = (score - min(float(score.min()), 0.0)) * p_feasible
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        if not np.isfinite(score[best]):
            break
        chosen.append(best)
        if len(chosen) < count:
            gp = gp.condition_on(X[best : best + 1], mean[best : best + 1])
    if first is None:
        first = (np.zeros(len(X)), np.zeros(len(X)))
    return chosen, *first
