"""FLASH's hierarchical SHGO search, and the exhaustive search that checks it.

:func:`hierarchical_shgo` runs ``scipy.optimize.shgo`` once per level of a
:class:`~flash_nas.plugins.relaxation.Relaxation` (level 1: width and depth of every cell;
level 2: skip connections given the rounded level-1 result), then an *integer repair*: from
the rounded point it moves to the best feasible neighbour until none is better. Every level
is timed.

Why this shape: SHGO's initial sampling grows as ``2**dim``, so each level stays low-dimensional,
and a level with more than ``max_dimensions`` variables (level 1 of a 5-cell FLASH space has 10)
is searched in blocks of at most that many, one after another, twice over (block coordinate
descent): the cost then grows linearly with the number of cells instead of exponentially;
the objective is piecewise constant in the relaxed variables (each point rounds to an
architecture), so SHGO's simplicial sampling gives the global view, a derivative-free local
minimiser (COBYLA) refines its minima, and the repair step finishes on the integer lattice.
Hard limits are handled by a feasibility check (an infeasible architecture scores a large
penalty plus its relative violation), not by SHGO's own constraint machinery.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from flash_nas.plugins.relaxation import Relaxation, Variable
from flash_nas.search.scoring import Scored, Scorer

__all__ = ["LevelTiming", "SearchResult", "exhaustive_search", "hierarchical_shgo"]


@dataclass(frozen=True)
class LevelTiming:
    """One stage of a search: its name, wall time and the evaluations it added."""

    name: str
    seconds: float
    evaluations: int


@dataclass
class SearchResult:
    """The best feasible architecture found, and how the search got there."""

    best: Scored
    timings: list[LevelTiming] = field(default_factory=list)
    evaluations: int = 0

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.timings)


class _Level:
    """One level's view of the search: its variables, with the others held at ``point``."""

    def __init__(
        self,
        relaxation: Relaxation,
        evaluator: Scorer,
        point: dict[str, float],
        variables: Sequence[Variable],
    ) -> None:
        self.relaxation, self.evaluator = relaxation, evaluator
        self.point, self.variables = point, variables

    def arch_at(self, x: np.ndarray) -> Hashable:
        values = dict(self.point)
        for variable, value in zip(self.variables, np.atleast_1d(x)):
            values[variable.name] = variable.round(value)
        return self.relaxation.decode(values)

    def loss(self, x: np.ndarray) -> float:
        return self.evaluator(self.arch_at(x)).loss

    def batched_map(self, func: Callable[[Any], float], xs: Iterable[Any]) -> list[float]:
        """SHGO's ``workers``: it hands its samples over together, so score them as one batch."""
        xs = list(xs)
        self.evaluator.evaluate([self.arch_at(np.asarray(x)) for x in xs])
        return [func(x) for x in xs]

    def search(
        self, iterations: int, local_evaluations: int, local_method: str
    ) -> dict[str, float]:
        """Run SHGO on this level; return the point with this level's variables set."""
        found = optimize.shgo(
            self.loss,
            [variable.bounds for variable in self.variables],
            iters=iterations,
            sampling_method="simplicial",
            workers=self.batched_map,
            minimizer_kwargs={"method": local_method, "options": {"maxiter": local_evaluations}},
        )
        minima = getattr(found, "xl", None)
        if minima is None or not len(minima):
            return self.point
        best = min(self.evaluator.evaluate([self.arch_at(x) for x in minima]), key=_loss)
        names = {variable.name for variable in self.variables}
        encoded = self.relaxation.encode(best.arch)
        return {**self.point, **{name: encoded[name] for name in names}}


def _loss(scored: Scored) -> float:
    return scored.loss


def hierarchical_shgo(
    relaxation: Relaxation,
    evaluator: Scorer,
    *,
    iterations: int = 2,
    local_evaluations: int = 20,
    repair_starts: int = 10,
    local_method: str = "COBYLA",
    max_dimensions: int = 6,
    sweeps: int = 2,
) -> SearchResult:
    """Search level by level with SHGO, then repair on the integer lattice.

    ``iterations`` is SHGO's number of simplicial refinements (its first triangulation of a
    ``dim``-dimensional box samples ``2**dim + 1`` vertices), ``local_evaluations`` caps each
    local refinement by ``local_method`` (default COBYLA: derivative-free, as the rounded
    objective has no gradient; any ``scipy.optimize.minimize`` method that takes ``maxiter``), the
    repair climbs from the rounded SHGO result and from the next best architectures seen, up to
    ``repair_starts`` starts in all (0 skips the repair). A level of more than
    ``max_dimensions`` variables is searched in consecutive blocks of at most that many (the
    variables of one cell stay together where the relaxation lists them together), ``sweeps``
    times over.
    """
    point = relaxation.start()
    timings: list[LevelTiming] = []
    for number, variables in enumerate(relaxation.levels, start=1):
        started, before = time.perf_counter(), evaluator.evaluations
        blocks = [
            variables[k : k + max_dimensions] for k in range(0, len(variables), max_dimensions)
        ]
        for _ in range(sweeps if len(blocks) > 1 else 1):
            for block in blocks:
                point = _Level(relaxation, evaluator, point, block).search(
                    iterations, local_evaluations, local_method
                )
        names = ", ".join(variable.name for variable in variables)
        timings.append(
            LevelTiming(
                f"level {number} ({names})",
                time.perf_counter() - started,
                evaluator.evaluations - before,
            )
        )
    current = evaluator(relaxation.decode(point))
    if repair_starts > 0:
        started, before = time.perf_counter(), evaluator.evaluations
        starts: dict[Hashable, Scored] = {current.arch: current}
        for scored in evaluator.best_requested(repair_starts):
            if len(starts) < repair_starts:
                starts.setdefault(scored.arch, scored)
        for start in starts.values():
            climbed = _repair(relaxation, evaluator, start)
            if climbed.loss < current.loss:
                current = climbed
        timings.append(
            LevelTiming(
                "integer repair", time.perf_counter() - started, evaluator.evaluations - before
            )
        )
    return SearchResult(current, timings, evaluator.evaluations)


def _repair(relaxation: Relaxation, evaluator: Scorer, current: Scored) -> Scored:
    """Move to the best neighbour while it improves the objective."""
    while True:
        neighbours = list(relaxation.neighbours(current.arch))
        if not neighbours:
            return current
        best = min(evaluator.evaluate(neighbours), key=_loss)
        if best.loss >= current.loss:
            return current
        current = best


def exhaustive_search(evaluator: Scorer, archs: Sequence[Hashable]) -> Scored:
    """The best feasible architecture of ``archs`` (all of a space, or a coarsened grid)."""
    scored = evaluator.evaluate(list(archs))
    return min(scored, key=_loss)
