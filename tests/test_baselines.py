"""The baseline strategies: budgets, seeds, and that they actually search."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flash_nas.search.baselines import (
    differential_evolution_search,
    random_search,
    regularized_evolution,
)
from flash_nas.search.evaluation import Evaluator
from flash_nas.search.objective import parse_objective
from flash_nas.search.predictor import AccuracyPredictor
from flash_nas.search.shgo import SearchResult
from flash_nas_adapters.flash.space import FlashSpaceAdapter
from flash_nas_adapters.nasbench201.space import NasBench201Adapter
from flash_nas_hardware.imc.model import ImcModel

Strategy = Callable[..., SearchResult]


def random_(adapter, evaluator, budget, seed):
    return random_search(adapter, evaluator, budget, seed)


def evolution(adapter, evaluator, budget, seed):
    return regularized_evolution(adapter, adapter.relaxation(), evaluator, budget, seed)


def differential(adapter, evaluator, budget, seed):
    return differential_evolution_search(adapter.relaxation(), evaluator, budget, seed)


STRATEGIES = {"random": random_, "evolution": evolution, "differential": differential}


def predictor_on_nn_degree(low: float, high: float) -> AccuracyPredictor:
    """Accuracy rising with NN-Degree over ``[low, high]`` and levelling off."""
    g = [low + (high - low) * k / 24 for k in range(25)]
    return AccuracyPredictor(["log"]).fit([[x] for x in g], [70 + 5 * (x / high) ** 0.5 for x in g])


def flash_evaluator() -> tuple[FlashSpaceAdapter, Evaluator]:
    space = FlashSpaceAdapter()
    objective = parse_objective("acc/(latency*energy*area)**0.03")
    return space, Evaluator(
        space, objective, predictor_on_nn_degree(48, 512), ["nn_degree"], ImcModel()
    )


def nb201_evaluator() -> tuple[NasBench201Adapter, Evaluator]:
    space = NasBench201Adapter()
    objective = parse_objective("acc", {"max_params": 6e5})
    # Labelled over the space's whole NN-Degree range (0..1120): beyond its labels a predictor
    # predicts flat, and a plateau would let differential evolution converge before its budget.
    return space, Evaluator(space, objective, predictor_on_nn_degree(0, 1120), ["nn_degree"])


SPACES = {"flash": flash_evaluator, "nb201": nb201_evaluator}


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_baselines_keep_to_the_budget(space, strategy):
    adapter, evaluator = SPACES[space]()
    result = STRATEGIES[strategy](adapter, evaluator, 60, 0)
    assert result.evaluations == evaluator.evaluations <= 60
    if strategy == "random":
        assert result.evaluations == 60
    assert result.evaluations >= 40  # the budget is used, not left idle
    (stage,) = result.timings
    assert stage.seconds > 0 and stage.evaluations == result.evaluations
    assert result.best.arch in evaluator.requested
    assert result.best == min(
        (evaluator.cache[a] for a in evaluator.requested), key=lambda s: s.loss
    )


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_baselines_are_reproducible_by_seed(space, strategy):
    def asked(seed: int) -> tuple[SearchResult, list]:
        adapter, evaluator = SPACES[space]()
        result = STRATEGIES[strategy](adapter, evaluator, 40, seed)
        return result, list(evaluator.requested)

    first, first_asked = asked(1)
    again, again_asked = asked(1)
    _, other_asked = asked(2)
    assert first_asked == again_asked
    assert first.best.arch == again.best.arch and first.best.loss == again.best.loss
    assert first.evaluations == again.evaluations
    assert first_asked != other_asked


@pytest.mark.parametrize("space", SPACES)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_baselines_improve_on_the_start(space, strategy):
    """Better than the middle of the relaxed space (where SHGO starts) and feasible."""
    adapter, evaluator = SPACES[space]()
    start = adapter.relaxation().decode(adapter.relaxation().start())
    _, reference = SPACES[space]()
    result = STRATEGIES[strategy](adapter, evaluator, 150, 0)
    assert result.best.feasible
    assert result.best.loss < reference(start).loss


def test_random_search_stops_when_the_space_is_used_up():
    space = FlashSpaceAdapter(widths=(4, 8), depths=(1, 2), n_cells=1)  # 4 architectures
    evaluator = Evaluator(
        space, parse_objective("acc"), predictor_on_nn_degree(0, 10), ["nn_degree"]
    )
    result = random_search(space, evaluator, 10, 0, batch_size=8)
    assert result.evaluations == space.size() == 4


def test_regularized_evolution_stops_when_nothing_new_is_left():
    space = FlashSpaceAdapter(widths=(4, 8), depths=(1, 2), n_cells=2)  # 16 architectures
    evaluator = Evaluator(
        space, parse_objective("acc"), predictor_on_nn_degree(0, 20), ["nn_degree"]
    )
    result = regularized_evolution(
        space, space.relaxation(), evaluator, 50, 0, population=4, sample_size=2
    )
    assert result.evaluations <= space.size() == 16


def test_differential_evolution_stops_on_a_space_smaller_than_its_budget():
    space = FlashSpaceAdapter(widths=(4, 8), depths=(1, 2), n_cells=2)
    evaluator = Evaluator(
        space, parse_objective("acc"), predictor_on_nn_degree(0, 20), ["nn_degree"]
    )
    result = differential_evolution_search(space.relaxation(), evaluator, 50, 0)
    assert result.evaluations <= 16
    assert [cell.width for cell in result.best.arch] == [8, 8]  # the widest: highest NN-Degree


@pytest.mark.parametrize("budget", [0, -3, 2.5, True])
def test_baselines_refuse_a_bad_budget(budget):
    adapter, evaluator = flash_evaluator()
    for strategy in STRATEGIES.values():
        with pytest.raises(ValueError, match=r"'budget' parameter of .* must be an int >= 1"):
            strategy(adapter, evaluator, budget, 0)


def test_regularized_evolution_refuses_a_bad_tournament():
    adapter, evaluator = flash_evaluator()
    with pytest.raises(ValueError, match="1 <= sample_size <= population; got population=3"):
        regularized_evolution(
            adapter, adapter.relaxation(), evaluator, 10, 0, population=3, sample_size=5
        )
