"""Search strategies that hierarchical SHGO is compared against, at equal evaluation budgets.

Every strategy here is called by a benchmark (the ``search_flash`` part of ``benchmarks/suite``) or
a test, once per seed, with a fresh :class:`~flash_nas.search.evaluation.Evaluator` and a *budget*:
the number of distinct architectures it may ask the evaluator for (:attr:`Evaluator.evaluations`,
which hierarchical SHGO's result reports too, so that the strategies spend what SHGO spent).
Revisiting an architecture costs nothing. Each strategy is seeded, stops at the budget (or earlier
when it has nothing new to ask for) and returns a :class:`~flash_nas.search.shgo.SearchResult`
holding the best architecture it asked for: a feasible one whenever it saw any, since an infeasible
architecture's loss is a large penalty.

* :func:`random_search` -- uniform samples of the space, in batches.
* :func:`regularized_evolution` -- Real et al. (AAAI 2019): an aging population, tournament
  selection, mutation to a random integer neighbour of the relaxation.
* :func:`differential_evolution_search` -- ``scipy.optimize.differential_evolution`` over all
  relaxed variables at once (index variables kept integral), the one-level alternative to
  SHGO's hierarchy.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Hashable, Sequence

import numpy as np
from scipy import optimize

from flash_nas.errors import ParameterError
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.relaxation import Relaxation
from flash_nas.search.scoring import Scored, Scorer
from flash_nas.search.shgo import LevelTiming, SearchResult
from flash_nas.validation import check_int

__all__ = ["differential_evolution_search", "random_search", "regularized_evolution"]

#: Draws that bring nothing new, in a row, after which a strategy stops short of its budget
#: (a space smaller than the budget, or a population stuck where everything was seen).
PATIENCE = 100


def _check_budget(budget: int) -> int:
    return check_int(budget, "budget", owner="a baseline search (distinct architectures)", low=1)


def _result(
    name: str, asked: Sequence[Scored], evaluator: Scorer, started: float
) -> SearchResult:
    best = min(asked, key=lambda scored: scored.loss)
    seconds = time.perf_counter() - started
    return SearchResult(best, [LevelTiming(name, seconds, len(asked))], evaluator.evaluations)


class _Budget:
    """The architectures one search asked for, and how many distinct ones it may still ask."""

    def __init__(self, evaluator: Scorer, budget: int) -> None:
        self.evaluator = evaluator
        self.left = _check_budget(budget)
        self.asked: dict[Hashable, Scored] = {}

    def fresh(self, archs: Sequence[Hashable]) -> list[Hashable]:
        """The first of ``archs`` this search has not asked for, as many as the budget allows."""
        new = [arch for arch in dict.fromkeys(archs) if arch not in self.asked]
        return new[: self.left]

    def evaluate(self, archs: Sequence[Hashable]) -> list[Scored]:
        """Score ``archs``, spending budget on the new ones; the caller keeps within it."""
        scored = self.evaluator.evaluate(list(archs))
        for item in scored:
            if item.arch not in self.asked:
                self.asked[item.arch] = item
                self.left -= 1
        return scored


def random_search(
    adapter: Adapter, evaluator: Scorer, budget: int, seed: int, *, batch_size: int = 100
) -> SearchResult:
    """Evaluate uniformly drawn architectures (``adapter.sample``, ``batch_size`` at a time)
    until ``budget`` distinct ones are scored; return the best."""
    started = time.perf_counter()
    spend = _Budget(evaluator, budget)
    rng = np.random.default_rng(seed)
    idle = 0
    while spend.left > 0 and idle < PATIENCE:
        batch = adapter.sample(batch_size, int(rng.integers(2**63)))
        fresh = spend.fresh([adapter.parse(text) for text in batch.texts()])
        idle = 0 if fresh else idle + 1
        spend.evaluate(fresh)
    return _result("random search", list(spend.asked.values()), evaluator, started)


def regularized_evolution(
    adapter: Adapter,
    relaxation: Relaxation,
    evaluator: Scorer,
    budget: int,
    seed: int,
    *,
    population: int = 20,
    sample_size: int = 5,
) -> SearchResult:
    """Regularized ("aging") evolution, Real et al., AAAI 2019, within ``budget`` evaluations.

    ``population`` random architectures start it; then each cycle draws ``sample_size`` members
    at random, mutates the best of them to a random neighbour (:meth:`Relaxation.neighbours`),
    adds the child and removes the *oldest* member, not the worst. A child seen before costs no
    budget but still joins the population, as in the paper's cycle.
    """
    if population < 1 or not 1 <= sample_size <= population:
        raise ParameterError(
            f"Regularized evolution needs population >= 1 and 1 <= sample_size <= population; "
            f"got population={population}, sample_size={sample_size}."
        )
    started = time.perf_counter()
    spend = _Budget(evaluator, budget)
    rng = np.random.default_rng(seed)
    first = adapter.sample(population, int(rng.integers(2**63)))
    members = deque(spend.evaluate(spend.fresh([adapter.parse(t) for t in first.texts()])))
    idle = 0
    while members and spend.left > 0 and idle < PATIENCE:
        contenders = rng.choice(len(members), size=min(sample_size, len(members)), replace=False)
        parent = min((members[int(k)] for k in contenders), key=lambda scored: scored.loss)
        neighbours = list(relaxation.neighbours(parent.arch))
        if not neighbours:
            idle += 1
            continue
        child = neighbours[int(rng.integers(len(neighbours)))]
        idle = 0 if spend.fresh([child]) else idle + 1
        members.append(spend.evaluate([child])[0])
        if len(members) > population:
            members.popleft()
    return _result("regularized evolution", list(spend.asked.values()), evaluator, started)


def differential_evolution_search(
    relaxation: Relaxation,
    evaluator: Scorer,
    budget: int,
    seed: int,
    *,
    population: int | None = None,
) -> SearchResult:
    """``scipy.optimize.differential_evolution`` over every relaxed variable at once.

    Index variables are integral (``integrality``), fractions continuous; each generation is
    scored as one batch. ``population`` members in all (default: a tenth of the budget, at least
    5 and at most scipy's usual ``15 * dim``), so that the budget buys several generations;
    polishing is off (it would spend evaluations on a gradient method that a rounded objective
    defeats). Once the budget is spent, points that would need a new architecture score
    ``inf`` unevaluated and a callback stops the run after that generation.
    """
    started = time.perf_counter()
    spend = _Budget(evaluator, budget)
    variables = list(relaxation.variables)
    members = population or int(np.clip(spend.left // 10, 5, 15 * len(variables)))

    def archs_at(xs: np.ndarray) -> list[Hashable]:
        return [
            relaxation.decode({v.name: v.round(value) for v, value in zip(variables, x)})
            for x in xs.T
        ]

    def losses(xs: np.ndarray) -> np.ndarray:
        archs = archs_at(xs)
        allowed = set(spend.fresh(archs)) | spend.asked.keys()
        scored = {s.arch: s for s in spend.evaluate([a for a in archs if a in allowed])}
        return np.array([scored[a].loss if a in scored else np.inf for a in archs])

    def out_of_budget(intermediate_result: optimize.OptimizeResult) -> bool:
        return spend.left <= 0

    optimize.differential_evolution(
        losses,
        [variable.bounds for variable in variables],
        popsize=max(1, -(-members // len(variables))),  # scipy multiplies it by dim
        maxiter=spend.left,
        tol=0.0,
        polish=False,
        integrality=[variable.size is not None for variable in variables],
        vectorized=True,
        updating="deferred",
        callback=out_of_budget,
        seed=seed,
    )
    return _result("differential evolution", list(spend.asked.values()), evaluator, started)
