"""What the engine reports, the same for every method: the recommendation built from the
method's pick, the accuracy-cost front and the top architectures.

The front and the top read :meth:`Results.known`: the told labels where measured, the method's
predictions for the rest of the pool, kept until the labels change (the plot reads it too).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from flash_nas.errors import NoFeasibleArchitectureError
from flash_nas.plugins.method import Pick
from flash_nas.search.engine.acquisition import log_value
from flash_nas.search.engine.records import FrontPoint, Recommendation

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["Known", "Results"]

#: Row -> (utility, its std or None, measured?)
Known = dict[int, tuple[float, "float | None", bool]]


class Results:
    """The recommendation, front and top of one engine."""

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine
        self._known: tuple[int | None, Known] = (None, {})

    def best_measured(self) -> Pick:
        """The told architecture with the best objective among those that meet the limits:
        by their *measured* costs whenever one whose costs were measured does; else by
        predicted costs with the engine's confidence (the note says so, with the probability)."""
        engine = self.engine
        rows, utility = engine.labelled()
        c = engine.candidates
        exponent = engine.objective.exponents["acc"]
        measured = log_value(utility, exponent, c.column("log_cost")[rows])
        probability = c.column("p_feasible")[rows]
        limited = [q for q in engine.objective.limits if q in c.beliefs.quantities]
        on_device = (
            self.costs_measured(rows, limited) & (probability >= 1.0)
            if limited
            else np.zeros(len(rows), dtype=bool)
        )
        feasible = on_device if on_device.any() else c.column("feasible")[rows]
        if not feasible.any():
            raise NoFeasibleArchitectureError(self._none_meets(rows, probability))
        k = int(np.flatnonzero(feasible)[np.argmax(measured[feasible])])
        note = ""
        if not on_device.any() and c.beliefs.uncertain:
            note = (
                f"Its costs are predicted, not measured: it meets the limits with probability "
                f"{probability[k]:.2f}. Measure it on the device (tell() its costs) to be sure."
            )
        return Pick(int(rows[k]), float(utility[k]), note=note)

    def costs_measured(self, rows: np.ndarray, quantities: list[str] | None = None) -> np.ndarray:
        """Per row: whether every one of ``quantities`` was measured; by default the hardware
        quantities that have limits, or without any, those the objective reads."""
        engine = self.engine
        beliefs = engine.candidates.beliefs
        if quantities is None:
            limited = [q for q in engine.objective.limits if q in beliefs.quantities]
            quantities = limited or [
                q for q in engine.objective.columns if q in beliefs.quantities
            ]
        archs = [engine.candidates.archs[r] for r in rows]
        if not quantities:
            return np.zeros(len(rows), dtype=bool)
        return np.logical_and.reduce([beliefs.measured_mask(archs, q) for q in quantities])

    def _none_meets(self, rows: np.ndarray, probability: np.ndarray) -> str:
        engine = self.engine
        closest = np.argsort(-probability, kind="stable")[:3]
        limits = engine.objective.limits
        described = "; ".join(
            engine.adapter.format(engine.candidates.archs[rows[k]])
            + " ("
            + ", ".join(
                f"{name} {engine.candidates.column('value:' + name)[rows[k]]:.4g}"
                for name in limits
            )
            + f", P {probability[k]:.2f})"
            for k in closest
        )
        sure = (
            f" (measured, or predicted with probability {engine.confidence:g})"
            if engine.candidates.beliefs.uncertain
            else ""
        )
        return (
            f"No measured architecture meets the limits{sure}; closest: {described}. ask() "
            f"for more (it proposes architectures likely to meet them), measure costs on the "
            f"device, or relax a limit."
        )

    def recommendation(self, pick: Pick) -> Recommendation:
        """A method's pick as the user sees it, in the label's scale."""
        engine = self.engine
        c = engine.candidates
        exponent = engine.objective.exponents["acc"]
        value = float(log_value(pick.utility, exponent, float(c.column("log_cost")[pick.row])))
        row = np.array([pick.row])
        return Recommendation(
            c.archs[pick.row],
            engine.adapter.format(c.archs[pick.row]),
            float(engine.label(pick.utility)),
            None if pick.std is None else pick.std * engine.label_width,
            pick.measured,
            math.exp(value),
            c.values(pick.row),
            pick.note,
            bool(self.costs_measured(row)[0]),
            float(c.column("p_feasible")[pick.row]),
        )

    def known(self) -> Known:
        """Row -> (utility, its std or None, measured?) for every feasible, computing row the
        engine knows: told labels (measured) over the method's predictions for the pool."""
        key = hash((self.engine.labels_key, self.engine.candidates.beliefs.version))
        if self._known[0] != key:
            self._known = (key, self._compute_known())
        return dict(self._known[1])

    def _compute_known(self) -> Known:
        engine = self.engine
        c = engine.candidates
        rows, utility = engine.labelled()
        pool = engine.pool_rows
        pool = pool[c.column("feasible")[pool] & ~c.column("cut_off")[pool]]
        known: Known = {}
        if len(rows) >= engine.strategy.min_labels and pool.size:
            mean, std = engine.strategy.predict(pool)
            known = {int(r): (float(m), float(s), False) for r, m, s in zip(pool, mean, std)}
        for r, u in zip(rows.tolist(), utility.tolist()):
            if c.column("feasible")[r]:
                known[r] = (u, None, True)
        return known

    def point(self, row: int, utility: float, std: float | None, measured: bool) -> FrontPoint:
        engine = self.engine
        c = engine.candidates
        exponent = engine.objective.exponents["acc"]
        log_cost = float(c.column("log_cost")[row])
        return FrontPoint(
            c.archs[row],
            engine.adapter.format(c.archs[row]),
            float(engine.label(utility)),
            measured,
            math.exp(-log_cost),
            c.values(row),
            math.exp(float(log_value(utility, exponent, log_cost))),
            None if std is None else std * engine.label_width,
        )

    def front(self) -> list[FrontPoint]:
        known = self.known()
        log_cost = self.engine.candidates.column("log_cost")
        ordered = sorted(known, key=lambda r: (-log_cost[r], -known[r][0]))
        points: list[FrontPoint] = []
        best = -math.inf
        for row in ordered:
            utility, std, measured = known[row]
            if utility > best:
                best = utility
                points.append(self.point(row, utility, std, measured))
        return points

    def top(self, count: int) -> list[FrontPoint]:
        engine = self.engine
        chosen = engine.recommend()
        row = int(engine.candidates.add([chosen.arch])[0])
        first = self.point(
            row,
            float(engine.utility(chosen.accuracy)),
            None if chosen.std is None else chosen.std / engine.label_width,
            chosen.measured,
        )
        known = self.known()
        known.pop(row, None)
        exponent = engine.objective.exponents["acc"]
        log_cost = engine.candidates.column("log_cost")
        ranked = sorted(
            known, key=lambda r: -float(log_value(known[r][0], exponent, log_cost[r]))
        )
        return [first] + [self.point(r, *known[r]) for r in ranked[: count - 1]]
