"""FLASH as published, end to end: labels -> NN-Degree predictor -> hierarchical SHGO.

The search engine's ``flash`` method (:mod:`flash_nas.search.engine.methods`) runs these steps; they
stay here as plain functions because tests and benchmarks also call them directly.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from flash_nas.errors import NoFeasibleArchitectureError, NotSupportedError
from flash_nas.graph.metrics import score_batch
from flash_nas.io.tables import check_rows
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.domain import LISTABLE
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.search.evaluation import Evaluator
from flash_nas.search.objective import Objective
from flash_nas.search.predictor import AccuracyPredictor
from flash_nas.search.scoring import Scored
from flash_nas.search.shgo import SearchResult, hierarchical_shgo

__all__ = [
    "Labels",
    "check_accuracies",
    "fit_predictor",
    "run_search",
]


@dataclass(frozen=True)
class Labels:
    """Labelled architectures: what the predictor learns from."""

    archs: list[Hashable]
    accuracies: np.ndarray
    source: str


def check_accuracies(values: np.ndarray, archs: Sequence[str], source: str) -> np.ndarray:
    """Accuracies in %, each finite and in [0, 100]; otherwise an error naming the row."""
    return check_rows(
        values,
        archs,
        lambda array: (array < 0) | (array > 100),
        f"{source}: accuracies must be percentages in [0, 100]",
    )


def fit_predictor(adapter: Adapter, labels: Labels, features: Sequence[str]) -> AccuracyPredictor:
    """An accuracy predictor fitted on the labelled architectures' training-free features."""
    scores = score_batch(adapter.batch(labels.archs), list(features))
    X = np.column_stack([scores[name] for name in features])
    return AccuracyPredictor().fit(X, labels.accuracies)


def run_search(
    adapter: Adapter,
    predictor: AccuracyPredictor,
    features: Sequence[str],
    objective: Objective,
    hardware: HardwareModel | None,
    *,
    chance: float | None = None,
) -> tuple[SearchResult, Evaluator]:
    """Hierarchical SHGO over ``adapter``'s space; the evaluator keeps everything it scored.

    A space small enough to enumerate is evaluated whole first (not counted as search
    evaluations), so the search itself is lookups, and the Pareto front covers the whole space.
    """
    evaluator = Evaluator(adapter, objective, predictor, features, hardware, chance=chance)
    size = adapter.size()
    if size is not None and size <= LISTABLE:
        try:
            whole = adapter.enumerate()
        except NotSupportedError:
            pass
        else:
            evaluator.prefetch([adapter.parse(text) for text in whole.texts()])
    result = hierarchical_shgo(adapter.relaxation(), evaluator)
    if not result.best.feasible:
        closest = sorted(evaluator.cache.values(), key=lambda s: s.violation)[:3]
        described = "; ".join(
            f"{adapter.format(s.arch)} ({_limits_text(objective, s)})" for s in closest
        )
        raise NoFeasibleArchitectureError(
            f"No architecture meets the limits ({_bounds_text(objective)}). Closest: "
            f"{described}. Relax a limit."
        )
    return result, evaluator


def _bounds_text(objective: Objective) -> str:
    return ", ".join(f"{column} <= {bound:g}" for column, bound in objective.limits.items())


def _limits_text(objective: Objective, scored: Scored) -> str:
    return ", ".join(f"{column} {scored.values[column]:.4g}" for column in objective.limits)
