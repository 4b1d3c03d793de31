"""When a search spends its latency-only measurements: the one schedule the command line and
the benchmarks share, so that both propose the same architectures.

``measure_budget`` measurements over ``budget`` trainings are spread evenly: before training
number ``step`` (0-based), ``measurements_before(step, budget, measure_budget)`` of them, each
chosen by :meth:`SearchEngine.ask_measure <flash_nas.search.engine.SearchEngine.ask_measure>`
with everything measured so far known. Spread, not spent up front: a measurement is worth most
once the model knows which architectures it would like to train.
"""

from __future__ import annotations

from flash_nas.validation import check_int

__all__ = ["measurements_before"]


def measurements_before(step: int, budget: int, measure_budget: int) -> int:
    """How many latency-only measurements to make right before training ``step`` of
    ``budget`` (their sum over every step is ``measure_budget``)."""
    budget = check_int(budget, "budget", owner="measurements_before", low=1)
    step = check_int(step, "step", owner="measurements_before", low=0, high=budget - 1)
    measure_budget = check_int(measure_budget, "measure_budget", owner="measurements_before", low=0)
    return measure_budget * (step + 1) // budget - measure_budget * step // budget
