"""Score architectures under an objective: predicted accuracy, hardware cost, limits.

An :class:`Evaluator` is what every search strategy calls. It evaluates architectures in batches
(the adapter's batched form, the hardware model's vectorised estimate) and remembers each one, so
that a search that revisits an architecture pays nothing and the number of distinct evaluations
is counted fairly when strategies are compared at equal budgets.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from flash_nas.errors import FlashNasError
from flash_nas.graph.batch import GraphBatch
from flash_nas.graph.metrics import score_batch
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.search.objective import Objective
from flash_nas.search.predictor import AccuracyPredictor

__all__ = ["Evaluator", "Scored"]

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


class Evaluator:
    """Predicted accuracy (from training-free features) and hardware cost of architectures."""

    def __init__(
        self,
        adapter: Adapter,
        objective: Objective,
        predictor: AccuracyPredictor | None,
        features: Sequence[str],
        hardware: HardwareModel | None = None,
        *,
        chance: float | None = None,
    ) -> None:
        if objective.needs_hardware() and hardware is None:
            raise FlashNasError(
                f"The objective {objective.text!r} uses hardware cost; choose a hardware model "
                f"(--hardware)."
            )
        if hardware is not None:
            missing = [
                c
                for c in objective.columns
                if c in ("latency_ms", "energy_mj", "area_mm2") and c not in hardware.quantities
            ]
            if missing:
                raise FlashNasError(
                    f"The objective needs {', '.join(missing)}, which the hardware model "
                    f"{type(hardware).__name__} does not report (it reports "
                    f"{', '.join(hardware.quantities)}); change the objective or the model."
                )
        self.adapter = adapter
        self.objective = objective
        self.predictor = predictor
        self.features = list(features)
        self.hardware = hardware
        # A cut-off cell (output independent of input) trains to chance accuracy whatever the
        # predictor extrapolates for it (FLASH's predictor would give it 40-50 %).
        self.chance = chance
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

    def _compute(self, archs: list[Hashable]) -> None:
        batch = self.adapter.batch(archs)
        columns = self.columns(batch)
        cut_off = np.zeros(len(archs), dtype=bool)
        if self.chance is not None and "accuracy" in columns:
            cut_off = np.asarray(self.adapter.cut_off(archs), dtype=bool)
            columns["accuracy"] = np.where(cut_off, self.chance, columns["accuracy"])
        log_value = self.objective.log_value(columns)
        # A missing measurement (NaN) makes an architecture infeasible, never attractive; so
        # does a cut-off cell: it runs almost nothing, so a cost in the denominator would
        # make its chance accuracy look like a bargain.
        feasible = self.objective.feasible(columns) & np.isfinite(log_value) & ~cut_off
        violation = cut_off.astype(float)
        for column, bound in self.objective.limits.items():
            violation += np.maximum(np.asarray(columns[column]) / bound - 1.0, 0.0)
        for row, arch in enumerate(archs):
            self.cache[arch] = Scored(
                arch,
                {name: float(values[row]) for name, values in columns.items()},
                float(log_value[row]),
                bool(feasible[row]),
                float(violation[row]),
            )

    def columns(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        """Every quantity the objective and its limits read, for a whole batch."""
        needed = set(self.objective.columns)
        metric_names: list[str] = [n for n in ("params", "flops") if n in needed]
        metric_names += [f for f in self.features if f not in metric_names]
        metrics = score_batch(batch, metric_names) if metric_names else {}
        columns: dict[str, np.ndarray] = {name: metrics[name] for name in metric_names}
        if self.predictor is not None:
            X = np.column_stack([metrics[name] for name in self.features])
            columns["accuracy"] = self.predictor.predict(X)
        elif "accuracy" in needed:
            raise FlashNasError("The objective uses accuracy but no predictor was given.")
        if self.hardware is not None:
            columns.update(self.hardware.estimate_batch(batch))
        return columns
