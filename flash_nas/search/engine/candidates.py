"""Everything the engine knows about an architecture before it is trained, kept in arrays.

For each architecture it has seen (the whole space where it can be listed, else a random pool
plus whatever the search visits), a :class:`Candidates` table holds: the training-free metrics
(the accuracy model's inputs), the adapter's encoding, whether the cell is cut off (its output
does not depend on its input), the hardware model's quantities, the objective's cost term and
whether the architecture meets the hard limits, all through the one
:class:`~flash_nas.search.scoring.Scoring` pipeline (its rules for missing values and cut-off
cells). Rows are computed in batches (the adapter's batched form, the hardware model's
vectorised estimate) and never twice.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from flash_nas.cost.linear import LinearCostModel
from flash_nas.errors import NotSupportedError, PluginError
from flash_nas.graph.batch import GraphBatch
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.search.engine.cost_beliefs import CostBeliefs
from flash_nas.search.objective import Objective
from flash_nas.search.scoring import Scoring

__all__ = ["Candidates"]

#: Metrics that count things (parameters, operations, values): the model reads their logarithm,
#: so that doubling a network's size is one step whatever its size.
_COUNTS = ("params", "flops", "macs", "activations")


class Candidates:
    """Precomputed, training-free facts about architectures, one row each."""

    def __init__(
        self,
        adapter: Adapter,
        objective: Objective,
        features: Sequence[str],
        hardware: HardwareModel | None,
        confidence: float = 0.95,
    ) -> None:
        self.adapter = adapter
        self.objective = objective
        self.features = list(features)
        self.hardware = hardware
        self.scoring = Scoring(adapter, objective, hardware, features)
        #: Measured costs, the refitted model and its spread (set by the engine).
        self.beliefs = CostBeliefs(hardware, objective, confidence, describe=adapter.format)
        self.archs: list[Hashable] = []
        self.rows: dict[Hashable, int] = {}
        self._has_encoding = True
        self._parts: dict[str, list[np.ndarray]] = {}
        self._low: np.ndarray | None = None
        self._span: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.archs)

    def add(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Rows of ``archs``, computing those not seen before; returns their row positions."""
        fresh = [arch for arch in dict.fromkeys(archs) if arch not in self.rows]
        if fresh:
            self._compute(fresh)
        return np.array([self.rows[arch] for arch in archs], dtype=np.int64)

    def _compute(self, archs: list[Hashable]) -> None:
        batch = self.adapter.batch(archs)
        columns = self.scoring.columns(batch)
        features = np.column_stack(
            [
                np.log1p(np.maximum(columns[name], 0.0)) if name in _COUNTS else columns[name]
                for name in self.features
            ]
        )
        new: dict[str, np.ndarray] = {
            "features": features,
            "encoding": self._encode(archs),
            "cut_off": self.scoring.cut_off(archs),
        }
        if self._low is None:  # the first batch (the pool) sets the inputs' scale
            self._low = features.min(axis=0)
            span = np.ptp(features, axis=0)
            self._span = np.where(span > 0, span, 1.0)
        beliefs = self.beliefs
        spreads: dict[str, np.ndarray] = {}
        runs = None
        if beliefs.quantities:
            # The model's own predictions (and events) are kept: refits start from them.
            prior = {q: np.asarray(columns[q], dtype=float) for q in beliefs.quantities}
            events = self._events(batch)
            new.update({f"prior:{q}": values for q, values in prior.items()})
            if events is not None:
                new["events"] = events
            inputs = self._inputs(features, new["encoding"])
            believed, spreads = self._believed(archs, prior, events, inputs)
            columns.update(believed)
            runs = beliefs.chance_runs(inputs)
        new.update(self._judged(archs, columns, spreads, runs))
        for name, values in new.items():
            self._parts.setdefault(name, []).append(values)
        self._cache.clear()
        for arch in archs:
            self.rows[arch] = len(self.archs)
            self.archs.append(arch)

    def _events(self, batch: GraphBatch) -> np.ndarray | None:
        if not self.beliefs.linear:
            return None
        assert isinstance(self.hardware, LinearCostModel)
        return np.asarray(self.hardware.events_batch(batch), dtype=float)

    def _inputs(self, features: np.ndarray, encoding: np.ndarray) -> np.ndarray:
        """The accuracy model's inputs (scaled metrics, then the encoding): what the cost
        residuals are learned on too."""
        assert self._low is not None and self._span is not None
        return np.hstack([(features - self._low) / self._span, encoding])

    def _believed(
        self,
        archs: list[Hashable],
        prior: dict[str, np.ndarray],
        events: np.ndarray | None,
        inputs: np.ndarray,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The refitted predictions and spreads, with measured values where there are some."""
        values, spreads = self.beliefs.predict(prior, events, inputs)
        if not self.beliefs.measured:
            return values, spreads
        where = self.rows if archs is self.archs else {a: k for k, a in enumerate(archs)}
        for arch, measured in self.beliefs.measured.items():
            position = where.get(arch)
            if position is None:
                continue
            for quantity, value in measured.items():
                values[quantity][position] = value
                spreads[quantity][position] = 0.0
        return values, spreads

    def _judged(
        self,
        archs: list[Hashable],
        columns: dict[str, np.ndarray],
        spreads: dict[str, np.ndarray],
        runs: np.ndarray | None = None,
    ) -> dict[str, Any]:
        """The columns that follow from the values: cost term, feasibility, violation."""
        log_cost = self.scoring.log_cost(columns, len(archs))
        measured = {q: self.beliefs.measured_mask(archs, q) for q in self.objective.limits}
        # Feasible as to costs and limits; the engine rules cut-off cells out separately (a
        # told label of one stands, so "feasible" here leaves them in).
        feasible, violation, probability = self.beliefs.judge(
            columns, log_cost, measured, spreads, runs
        )
        reach = self.beliefs.reach(columns, spreads)
        return {
            # what eligibility reads: the probability, or before the first measurement of a
            # model whose scale is in doubt, the chance that measuring finds it within limits
            "p_reach": probability
            if reach is None
            else np.where(np.isfinite(log_cost), np.maximum(reach, probability), 0.0),
            **{f"spread:{q}": values for q, values in spreads.items()},
            "log_cost": log_cost,
            "feasible": feasible,
            "violation": violation,
            "p_feasible": probability,
            **{
                f"value:{name}": np.asarray(values, dtype=float) for name, values in columns.items()
            },
        }

    def _kinds(self, width: int) -> list[str] | None:
        """The adapter's kind of each encoding column (None without an encoding); a list of
        another length is the adapter's error, named as such."""
        kinds = self.adapter.encoding_kinds() if width else None
        if kinds is not None and len(kinds) != width:
            raise PluginError(
                f"{type(self.adapter).__name__}.encoding_kinds() names {len(kinds)} kinds for "
                f"an encoding of {width} columns (encode()); return one kind per column, or "
                f"None."
            )
        return kinds

    def learn(self) -> None:
        """Refit the cost model on every measured row and re-judge every row (after a
        measurement): the measured rows take their measured values."""
        beliefs = self.beliefs
        if not beliefs.quantities or not len(self.archs):
            return
        measured = list(beliefs.measured)
        self.add(measured)
        prior = {q: self.column(f"prior:{q}") for q in beliefs.quantities}
        events = self.column("events") if beliefs.linear else None
        inputs = self._inputs(self.column("features"), self.column("encoding"))
        beliefs.n_metrics = len(self.features)
        width = self.column("encoding").shape[1]
        beliefs.encoding_groups = self.adapter.encoding_groups() if width else None
        beliefs.encoding_kinds = self._kinds(width)
        beliefs.refit(prior, events, self.rows, inputs)
        columns = {
            name.split(":", 1)[1]: self.column(name)
            for name in self._parts
            if name.startswith("value:")
        }
        believed, spreads = self._believed(self.archs, prior, events, inputs)
        columns.update(believed)
        runs = beliefs.chance_runs(inputs)
        for name, values in self._judged(self.archs, columns, spreads, runs).items():
            self._parts[name] = [values]
        self._cache.clear()

    def _encode(self, archs: list[Hashable]) -> np.ndarray:
        if self._has_encoding:
            try:
                return np.asarray(self.adapter.encode(archs), dtype=float).reshape(len(archs), -1)
            except NotSupportedError:
                self._has_encoding = False
        return np.zeros((len(archs), 0))

    def column(self, name: str) -> np.ndarray:
        """One stored array over every row (``features``, ``encoding``, ``cut_off``,
        ``log_cost``, ``feasible``, ``violation``, ``p_feasible``, ``p_reach`` (what eligibility
        reads: :meth:`CostBeliefs.reach` before the first measurement), ``value:QUANTITY`` (measured
        where measured, else the refitted prediction), ``prior:QUANTITY`` (the model's own
        prediction) or ``events``)."""
        if name not in self._cache:
            parts = self._parts.get(name)
            if not parts:
                raise KeyError(name)
            self._cache[name] = np.concatenate(parts)
        return self._cache[name]

    def values(self, row: int) -> dict[str, float]:
        """The metric and hardware values of one row, by name."""
        return {
            name.split(":", 1)[1]: float(self.column(name)[row])
            for name in self._parts
            if name.startswith("value:")
        }
