"""Score architectures under an objective by *predicted* accuracy: :class:`Evaluator`.

An :class:`Evaluator` is the :class:`~flash_nas.search.scoring.Scorer` FLASH's search and the
baselines call: the accuracy predictor on training-free features, the hardware model's costs
and the limits, all through the one :class:`~flash_nas.search.scoring.Scoring` pipeline (its
rules for missing values and cut-off cells apply here as everywhere).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from flash_nas.errors import FlashNasError
from flash_nas.graph.batch import GraphBatch
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.quantities import ACCURACY_COLUMN
from flash_nas.search.objective import Objective
from flash_nas.search.predictor import AccuracyPredictor
from flash_nas.search.scoring import INFEASIBLE, Scored, Scorer, Scoring

__all__ = ["INFEASIBLE", "Evaluator", "Scored"]


class Evaluator(Scorer):
    """Predicted accuracy (from training-free features) and hardware cost of architectures.

    ``chance``: the accuracy a cut-off cell trains to; given, cut-off cells are predicted at it
    and ruled out as results. Without it (an evaluator whose :meth:`columns` reads true
    labels, as the benchmarks' is) every cell keeps its accuracy.
    """

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
        super().__init__(Scoring(adapter, objective, hardware, features))
        self.predictor = predictor
        self.features = list(features)
        # A cut-off cell (output independent of input) trains to chance accuracy whatever the
        # predictor extrapolates for it (FLASH's predictor would give it 40-50 %).
        self.chance = chance

    def _compute(self, archs: list[Hashable]) -> None:
        batch = self.adapter.batch(archs)
        columns = self.columns(batch)
        cut_off = np.zeros(len(archs), dtype=bool)
        if self.chance is not None and ACCURACY_COLUMN in columns:
            cut_off = self.scoring.cut_off(archs)
            columns[ACCURACY_COLUMN] = np.where(cut_off, self.chance, columns[ACCURACY_COLUMN])
        log_value = self.objective.log_value(columns)
        feasible, violation = self.scoring.judge(columns, log_value, cut_off)
        for row, arch in enumerate(archs):
            self.cache[arch] = Scored(
                arch,
                {name: float(values[row]) for name, values in columns.items()},
                float(log_value[row]),
                bool(feasible[row]),
                float(violation[row]),
            )

    def columns(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        """Every quantity the objective and its limits read, and the predicted accuracy."""
        columns = self.scoring.columns(batch)
        if self.predictor is not None:
            X = np.column_stack([columns[name] for name in self.features])
            columns[ACCURACY_COLUMN] = self.predictor.predict(X)
        elif ACCURACY_COLUMN in self.objective.columns:
            raise FlashNasError("The objective uses accuracy but no predictor was given.")
        return columns
