"""FLASH end to end: labels -> predictor -> hardware-aware search -> Pareto front.

The pieces (:mod:`~flash_nas.predictor`, :mod:`~flash_nas.sampling`,
:mod:`~flash_nas.objective`, :mod:`~flash_nas.search`) are independent; this module strings them
together the way ``flash-nas search``, the NNI tuner and the benchmarks use them, so that all
three run the same code.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from flash_nas.adapter import Adapter
from flash_nas.errors import NoFeasibleArchitectureError, NotSupportedError, TableError
from flash_nas.evaluation import Evaluator, Scored
from flash_nas.hardware import HardwareModel
from flash_nas.metrics import score_batch
from flash_nas.objective import QUANTITY_SOURCES, Objective
from flash_nas.predictor import AccuracyPredictor
from flash_nas.sampling import select_samples
from flash_nas.search import SearchResult, hierarchical_shgo
from flash_nas.tables import Table

__all__ = [
    "Labels",
    "NoFeasibleArchitecture",
    "check_accuracies",
    "choose_labels",
    "fit_predictor",
    "pareto_front",
    "run_search",
]

#: Spaces up to this size are evaluated whole, in one batch, before the search starts.
PREFETCH_LIMIT = 200_000


#: The old name, kept for code written against 0.1.
NoFeasibleArchitecture = NoFeasibleArchitectureError


@dataclass(frozen=True)
class Labels:
    """Labelled architectures: what the predictor learns from."""

    archs: list[Hashable]
    accuracies: np.ndarray
    source: str


def check_accuracies(values: np.ndarray, archs: Sequence[str], source: str) -> np.ndarray:
    """Accuracies in %, each finite and in [0, 100]; otherwise an error naming the row."""
    array = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(array) | (array < 0) | (array > 100))
    if len(bad):
        row = int(bad[0])
        raise TableError(
            f"{source}: accuracies must be percentages in [0, 100]; {len(bad)} are not, e.g. "
            f"{archs[row]!r} = {array[row]!r}."
        )
    return array


def choose_labels(
    adapter: Adapter,
    table: Table,
    column: str,
    *,
    n_labels: int | None,
    strategy: str = "stratified",
    seed: int = 0,
    feature: str = "nn_degree",
) -> Labels:
    """The labelled set: every row of ``table``, or ``n_labels`` of them chosen by ``strategy``.

    Choosing from a benchmark table stands in for training: the chosen architectures are the ones
    FLASH would train.
    """
    accuracies = check_accuracies(table.column(column), table.archs, table.source or "labels")
    archs = [adapter.parse(text) for text in table.archs]
    if n_labels is None:
        return Labels(archs, accuracies, f"{table.source}:{column}")
    values = score_batch(adapter.batch(archs), [feature])[feature]
    rows = select_samples(values, n_labels, strategy=strategy, seed=seed)
    return Labels([archs[r] for r in rows], accuracies[rows], f"{table.source}:{column}")


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
    if size is not None and size <= PREFETCH_LIMIT:
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


def cost(objective: Objective, scored: Scored) -> float:
    """The hardware side of the objective, ``prod(quantity ** -exponent)`` over non-accuracy
    terms: what the Pareto front trades accuracy against (1 when the objective is accuracy)."""
    log_cost = sum(
        -power * math.log(scored.values[QUANTITY_SOURCES[name]])
        for name, power in objective.exponents.items()
        if name != "acc"
    )
    return math.exp(log_cost)


def pareto_front(scored: Sequence[Scored], objective: Objective) -> list[Scored]:
    """Feasible architectures no other one beats on both predicted accuracy and cost."""
    feasible = sorted(
        (s for s in scored if s.feasible),
        key=lambda s: (cost(objective, s), -s.values["accuracy"]),
    )
    front: list[Scored] = []
    best_accuracy = -math.inf
    for candidate in feasible:
        if candidate.values["accuracy"] > best_accuracy:
            front.append(candidate)
            best_accuracy = candidate.values["accuracy"]
    return front
