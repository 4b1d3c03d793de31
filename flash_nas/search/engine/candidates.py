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

import numpy as np

from flash_nas.errors import NotSupportedError
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
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
    ) -> None:
        self.adapter = adapter
        self.objective = objective
        self.features = list(features)
        self.hardware = hardware
        self.scoring = Scoring(adapter, objective, hardware, features)
        self.archs: list[Hashable] = []
        self.rows: dict[Hashable, int] = {}
        self._has_encoding = True
        self._parts: dict[str, list[np.ndarray]] = {}
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
        columns = self.scoring.columns(self.adapter.batch(archs))
        features = np.column_stack(
            [
                np.log1p(np.maximum(columns[name], 0.0)) if name in _COUNTS else columns[name]
                for name in self.features
            ]
        )
        encoding = self._encode(archs)
        cut_off = self.scoring.cut_off(archs)
        log_cost = self.scoring.log_cost(columns, len(archs))
        # Feasible as to costs and limits; the engine rules cut-off cells out separately (a
        # told label of one stands, so "feasible" here leaves them in).
        feasible, violation = self.scoring.judge(columns, log_cost, np.zeros(len(archs), bool))
        new = {
            "features": features,
            "encoding": encoding,
            "cut_off": cut_off,
            "log_cost": log_cost,
            "feasible": feasible,
            "violation": violation,
            **{
                f"value:{name}": np.asarray(values, dtype=float) for name, values in columns.items()
            },
        }
        for name, values in new.items():
            self._parts.setdefault(name, []).append(values)
        self._cache.clear()
        for arch in archs:
            self.rows[arch] = len(self.archs)
            self.archs.append(arch)

    def _encode(self, archs: list[Hashable]) -> np.ndarray:
        if self._has_encoding:
            try:
                return np.asarray(self.adapter.encode(archs), dtype=float).reshape(len(archs), -1)
            except NotSupportedError:
                self._has_encoding = False
        return np.zeros((len(archs), 0))

    def column(self, name: str) -> np.ndarray:
        """One stored array over every row (``features``, ``encoding``, ``cut_off``,
        ``log_cost``, ``feasible``, ``violation``, or ``value:QUANTITY``)."""
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
