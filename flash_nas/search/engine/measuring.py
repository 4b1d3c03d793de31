"""Which architectures to *measure* (not train) next: :meth:`SearchEngine.ask_measure
<flash_nas.search.engine.SearchEngine.ask_measure>`.

A measurement costs seconds on the device, a training hours; measuring pays where it can
change a decision: an architecture the search would like to train but whose feasibility the
model is unsure of. Each untried, unmeasured, computing candidate whose probability ``p`` of
meeting the limits is neither negligible nor already enough (``0.02 <= p < confidence``) is
scored by ``p * (1 - p)`` (largest where the outcome is least certain) times how promising it
is: its expected improvement of the objective under the method's model once that is fitted
(were it feasible), before that its NN-Degree rank (larger networks are the accurate ones).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from flash_nas.errors import CostError, LabelError
from flash_nas.plugins.method import Choice
from flash_nas.search.engine.acquisition import expected_improvement, log_objective, log_value
from flash_nas.search.engine.records import SUCCEEDED, Proposal
from flash_nas.search.engine.told import check_costs
from flash_nas.validation import check_int

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["MeasuredCosts", "measure_choices"]

#: Below this probability of meeting the limits an architecture is not worth a measurement.
_NEGLIGIBLE = 0.02


class MeasuredCosts:
    """The search engine's measured-costs half: :meth:`measure`, :meth:`ask_measure` and what
    the engine knows of measured costs (the engine's :meth:`tell` takes ``costs=`` too)."""

    @property
    def _engine(self) -> SearchEngine:
        return self  # type: ignore[return-value]  # only SearchEngine inherits this

    def measure(
        self, archs: Sequence[Any], costs: Mapping[str, Sequence[float | None]]
    ) -> None:
        """Record costs measured on the device for architectures that were not trained (a
        latency needs no training): ``costs`` maps each quantity the hardware model reports to
        one value per architecture (None where not measured).

        Measured costs replace the model's predictions for those architectures everywhere
        (feasibility, front, recommendation), and the engine refits the model's costs and its
        spread on every measured row (:mod:`.cost_beliefs`). A cost for a quantity the model
        does not report, one that is not a positive number, or an architecture outside the
        space raises :class:`~flash_nas.errors.CostError` before anything is recorded.
        """
        if isinstance(archs, (str, bytes)):
            raise LabelError("measure() takes a list of architectures; got a string.")
        try:
            found = [self._engine._arch(a) for a in archs]
        except LabelError as exc:
            message = str(exc).replace("Cannot tell a result for", "Cannot record costs for")
            raise CostError(message) from None
        self._record_costs(found, self._checked_costs(found, costs))

    def _checked_costs(self, archs: list[Hashable], costs: Any) -> list[dict[str, float]]:
        engine = self._engine
        quantities = engine.hardware.quantities if engine.hardware is not None else ()
        units = {q: engine.vocabulary.quantities[q].unit for q in quantities}
        texts = [engine.adapter.format(a) for a in archs]
        return check_costs(costs, texts, quantities, units)

    def _record_costs(self, archs: list[Hashable], costs: list[dict[str, float]]) -> None:
        if not any(costs):
            return
        for arch, measured in zip(archs, costs):
            self._engine.candidates.beliefs.record(arch, measured)
        self._engine.candidates.learn()

    @property
    def measured(self) -> dict[Hashable, dict[str, float]]:
        """Every architecture whose costs were measured: quantity -> value, in the order told."""
        return {a: dict(v) for a, v in self._engine.candidates.beliefs.measured.items()}

    def measured_costs(self, arch: Any) -> dict[str, float]:
        """The measured costs of one architecture (empty when none was told)."""
        engine = self._engine
        return dict(engine.candidates.beliefs.measured.get(engine._arch(arch), {}))

    def feasibility(self, archs: Sequence[Any]) -> np.ndarray:
        """The probability that each architecture meets every limit (1 or 0 once measured)."""
        rows = self._engine.candidates.add([self._engine._arch(a) for a in archs])
        return self._engine.candidates.column("p_feasible")[rows].copy()

    def cost_profile(self) -> Any:
        """The hardware model's costs refitted on the measurements, as a profile
        (:class:`flash_nas.cost.profile.Profile`: ``.save(path)`` writes it, ``profile=path``
        loads it), or None when the model is not refittable or nothing was measured."""
        return self._engine.candidates.beliefs.profile()

    def ask_measure(self, n: int = 1) -> list[Proposal]:
        """Up to ``n`` architectures worth *measuring* (not training) next: untried ones whose
        feasibility is uncertain and that are promising (:mod:`.measuring`). Measure each on
        the device and :meth:`measure` the costs. Empty when nothing is uncertain (no limit on
        a quantity the model is unsure of, or all such candidates measured); asking again
        before measuring returns the same."""
        n = check_int(n, "n", owner="SearchEngine.ask_measure", low=1, high=10_000)
        return [self._engine._proposal(choice) for choice in measure_choices(self._engine, n)]


def measure_choices(engine: SearchEngine, count: int) -> list[Choice]:
    """Up to ``count`` rows worth measuring, best first."""
    c = engine.candidates
    if not c.beliefs.uncertain:
        return []
    rows = engine.pool_rows if engine.listable else np.arange(len(c))
    probability = c.column("p_feasible")[rows]
    keep = (
        (probability >= _NEGLIGIBLE)
        & (probability < engine.confidence)
        & ~c.column("cut_off")[rows]
        & np.array(
            [
                c.archs[r] not in engine.trials and c.archs[r] not in c.beliefs.measured
                for r in rows
            ],
            dtype=bool,
        )
    )
    rows, probability = rows[keep], probability[keep]
    if not rows.size:
        return []
    promise, mean, std = _promise(engine, rows)
    score = probability * (1.0 - probability) * promise
    order = np.argsort(-score, kind="stable")[:count]
    return [
        Choice(
            int(rows[k]),
            "measure",
            None if mean is None else float(mean[k]),
            None if std is None else float(std[k]),
        )
        for k in order
    ]


def _promise(
    engine: SearchEngine, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """How much each row would improve the search were it feasible, and the model's
    prediction (None before the method has its labels)."""
    labelled, utility = engine.labelled()
    if len(labelled) < engine.strategy.min_labels:
        degree = engine.candidates.column("value:" + engine.features[0])[rows]
        from scipy.stats import rankdata  # here: scipy.stats takes half a second to import

        return 1.0 + rankdata(degree) / len(degree), None, None
    mean, std = engine.strategy.predict(rows)
    exponent = engine.objective.exponents["acc"]
    log_cost = engine.candidates.column("log_cost")
    value, spread = log_objective(mean, std, exponent, log_cost[rows])
    told = [t for t in engine.trials.values() if t.status == SUCCEEDED]
    feasible = engine.candidates.column("feasible")[labelled]
    incumbent = (
        float(np.max(log_value(utility, exponent, log_cost[labelled])[feasible]))
        if told and feasible.any()
        else -math.inf
    )
    gain = expected_improvement(value, spread, incumbent)
    return np.maximum(gain, 0.0) + 1e-12, mean, std
