"""One scoring pipeline: what every search (the engine, SHGO, the baselines) knows of an
architecture before it is trained, and how a score becomes feasible or not.

:class:`Scoring` computes, for a batch of architectures: the training-free metrics, the hardware
model's quantities, whether the cell is cut off, the objective's cost term and the limits. Its
two rules are the only ones in flash-nas:

* **A missing value** (a NaN metric or quantity, a cost <= 0 that the objective's logarithm
  cannot take) makes an architecture infeasible, never attractive: its cost term is ``-inf``
  and its limit violation ``inf``.
* **A cut-off cell** (its output does not depend on its input) is never a result: it is
  infeasible (violation + 1) wherever its accuracy is *predicted*, and a predicted accuracy is
  replaced by the space's chance accuracy; a *told* label stands as told. It runs almost nothing,
  so a cost in the objective's denominator would otherwise make its chance accuracy look like a
  bargain.

:class:`Scorer` is what a search strategy calls (SHGO, random search, evolution): it scores
architectures in batches, remembers each, and counts the distinct ones asked for, so that
strategies are compared at equal budgets. :class:`flash_nas.search.evaluation.Evaluator` is the
scorer over predicted accuracy; the engine's candidate table and its acquisition scorer use the
same :class:`Scoring`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from flash_nas.graph.batch import GraphBatch
from flash_nas.graph.metrics import METRICS, score_batch
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.quantities import ACCURACY_COLUMN, Vocabulary
from flash_nas.search.objective import Objective

__all__ = ["INFEASIBLE", "Scored", "Scorer", "Scoring"]

#: Value an infeasible architecture gets, plus its relative violation, when minimising.
INFEASIBLE = 1e6


@dataclass(frozen=True)
class Scored:
    """One evaluated architecture."""

    arch: Hashable
    values: dict[str, float]
    log_objective: float
    feasible: bool
    violation: float

    @property
    def loss(self) -> float:
        """What a minimiser sees: minus the log objective, or a penalty when infeasible."""
        return -self.log_objective if self.feasible else INFEASIBLE + self.violation


class Scoring:
    """Metrics, hardware quantities, cut-off, cost term and limits of architectures.

    ``features`` are metrics computed beside those the objective names. The objective's names
    are checked against the hardware model's declared quantities here, once.
    """

    def __init__(
        self,
        adapter: Adapter,
        objective: Objective,
        hardware: HardwareModel | None = None,
        features: Sequence[str] = (),
    ) -> None:
        vocabulary = Vocabulary(hardware)
        for column in objective.columns:
            if column != ACCURACY_COLUMN and column not in vocabulary.quantities:
                vocabulary.column(column, objective.text)  # raises, listing what there is
        self.adapter = adapter
        self.objective = objective
        self.hardware = hardware
        self.features = list(features)
        needed = [c for c in objective.columns if c in METRICS]
        self.metric_names = list(dict.fromkeys([*self.features, *needed]))

    def columns(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        """Every metric and hardware quantity of a batch, by name."""
        columns = score_batch(batch, self.metric_names) if self.metric_names else {}
        if self.hardware is not None:
            columns.update(self.hardware.estimate_batch(batch))
        return columns

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        return np.asarray(self.adapter.cut_off(list(archs)), dtype=bool)

    def log_cost(self, columns: dict[str, np.ndarray], rows: int) -> np.ndarray:
        """The objective's cost term (the objective at accuracy 1); ``-inf`` where missing."""
        ones = {**columns, ACCURACY_COLUMN: np.ones(rows)}
        log_cost = np.asarray(self.objective.log_value(ones), dtype=float)
        log_cost[~np.isfinite(log_cost)] = -math.inf
        return log_cost

    def judge(
        self, columns: dict[str, np.ndarray], log_value: np.ndarray, cut_off: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feasibility and relative limit violation under the two rules above (``cut_off``
        marks the cells to rule out: those whose accuracy is predicted)."""
        feasible = self.objective.feasible(columns) & np.isfinite(log_value) & ~cut_off
        violation = cut_off.astype(float)
        for column, bound in self.objective.limits.items():
            with np.errstate(invalid="ignore"):
                violation = violation + np.nan_to_num(
                    np.maximum(np.asarray(columns[column], dtype=float) / bound - 1.0, 0.0),
                    nan=math.inf,
                )
        return feasible, violation


class Scorer(ABC):
    """Scores architectures in batches for a search, remembering each one."""

    def __init__(self, scoring: Scoring) -> None:
        self.scoring = scoring
        self.adapter = scoring.adapter
        self.objective = scoring.objective
        self.hardware = scoring.hardware
        self.cache: dict[Hashable, Scored] = {}
        self.requested: dict[Hashable, None] = {}

    @property
    def evaluations(self) -> int:
        """Distinct architectures a search has asked for (prefetched ones not counted)."""
        return len(self.requested)

    def prefetch(self, archs: Sequence[Hashable]) -> None:
        """Compute many architectures in one batch ahead of a search, without counting them.

        For a space small enough to enumerate this turns every later evaluation into a lookup.
        """
        fresh = list(dict.fromkeys(arch for arch in archs if arch not in self.cache))
        if fresh:
            self._compute(fresh)

    def evaluate(self, archs: Sequence[Hashable]) -> list[Scored]:
        """Score every architecture, computing only those not seen before."""
        self.prefetch(archs)
        self.requested.update(dict.fromkeys(archs))
        return [self.cache[arch] for arch in archs]

    def best_requested(self, count: int) -> list[Scored]:
        """The ``count`` best distinct architectures the search has asked for."""
        scored = sorted((self.cache[arch] for arch in self.requested), key=lambda s: s.loss)
        return scored[:count]

    def __call__(self, arch: Hashable) -> Scored:
        return self.evaluate([arch])[0]

    @abstractmethod
    def _compute(self, archs: list[Hashable]) -> None:
        """Score ``archs`` (none seen before) into :attr:`cache`."""
