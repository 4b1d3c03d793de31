"""The FLASH sampler in real Optuna studies (in-memory storage) on the NAS-Bench-201 table:
what trials receive comes from ``engine.ask``, what they return reaches ``engine.tell``."""

from __future__ import annotations

import math
import sys

import pytest

optuna = pytest.importorskip("optuna", reason="the [optuna] extra is not installed")

from flash_nas import MissingDependencyError  # noqa: E402
from flash_nas.integrations.optuna import FlashSampler, distributions  # noqa: E402
from flash_nas.integrations.params import SearchSpaceError, TunerConfigError  # noqa: E402
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string  # noqa: E402
from flash_nas_adapters.nasbench201.space import load_shipped_table  # noqa: E402

NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
SPACE = {f"cell/{j}_{i}": {"_type": "choice", "_value": NNI_OPS} for j, i in EDGES}
TOP_1_PERCENT = 93.77  # NB201's 157th best c10_test of 15,625 is 93.775

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def table():
    t = load_shipped_table()
    rows = {arch: row for row, arch in enumerate(t.archs)}
    return rows, t.column("c10_test")


def ask_arch(trial):
    return {name: trial.suggest_categorical(name, spec["_value"]) for name, spec in SPACE.items()}


def lookup(table, params):
    rows, test = table
    return float(test[rows[ops_to_string(ops_from_nni(params))]])


def test_a_30_trial_study_finds_a_top_1_percent_cell_and_tells_every_result(table):
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=30)
    engine = sampler.engine
    assert len(engine.trials) == 30
    assert all(t.status == "succeeded" for t in engine.trials.values())
    for trial in study.trials:
        told = engine.trials[sampler.proposals[trial.number].arch]
        assert told.value == trial.value
        assert told.text == ops_to_string(ops_from_nni(trial.params))
    assert len({t.text for t in engine.trials.values()}) == 30  # no architecture twice
    assert study.best_value >= TOP_1_PERCENT


def test_the_same_seed_proposes_the_same_architectures(table):
    def run(seed):
        sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=12)
        return [t.params for t in study.trials]

    assert run(3) == run(3)


def test_failed_nan_and_pruned_trials_are_recorded_as_failures(table):
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=1)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial):
        params = ask_arch(trial)
        if trial.number == 0:
            raise RuntimeError("out of memory")
        if trial.number == 1:
            return math.nan
        if trial.number == 2:
            raise optuna.TrialPruned()
        return lookup(table, params)

    study.optimize(objective, n_trials=6, catch=(RuntimeError,))
    statuses = [sampler.engine.trials[sampler.proposals[k].arch] for k in range(6)]
    assert [t.status for t in statuses[:3]] == ["failed"] * 3
    assert "pruned" in statuses[2].reason
    assert [t.status for t in statuses[3:]] == ["succeeded"] * 3


def test_a_value_outside_the_percent_range_is_a_recorded_failure_with_a_warning(table):
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with pytest.warns(Warning, match="outside the label's range"):
        study.optimize(lambda trial: (ask_arch(trial), 250.0)[1], n_trials=1)
    (trial,) = sampler.engine.trials.values()
    assert trial.status == "failed"


def test_a_direction_that_contradicts_the_label_stops_the_study_at_once():
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    with pytest.raises(TunerConfigError, match="direction='maximize'"):
        study.optimize(lambda trial: lookup(None, ask_arch(trial)), n_trials=5)
    assert len(study.trials) == 1 and not sampler.engine.trials


def test_an_error_label_is_minimised():
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0, label="error")
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda trial: (ask_arch(trial), 12.5)[1], n_trials=2)
    assert [t.value for t in sampler.engine.trials.values()] == [12.5, 12.5]


def test_multi_objective_studies_need_hardware_terms_and_minimised_costs(table):
    plain = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=plain)
    with pytest.raises(TunerConfigError, match="hardware terms"):
        study.optimize(lambda trial: (lookup(table, ask_arch(trial)), 1.0), n_trials=1)

    def objective(trial):
        accuracy = lookup(table, ask_arch(trial))
        return accuracy, sampler.proposal(trial).values["latency_ms"]

    sampler = FlashSampler(
        space="nasbench201", search_space=SPACE, hardware="hwnasbench:edgegpu", seed=0
    )
    wrong = optuna.create_study(directions=["maximize", "maximize"], sampler=sampler)
    with pytest.raises(TunerConfigError, match="must be minimised"):
        wrong.optimize(objective, n_trials=1)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=12)
    assert sum(t.status == "succeeded" for t in sampler.engine.trials.values()) == 12
    assert study.best_trials  # a Pareto front of (accuracy, latency)


def test_unknown_names_and_choices_are_clear_errors():
    with pytest.raises(SearchSpaceError):
        FlashSampler(
            space="nasbench201",
            search_space={**SPACE, "cell/0_1": {"_type": "choice", "_value": ["conv_9x9"]}},
        )
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def asks_lr(trial):
        ask_arch(trial)
        return trial.suggest_float("lr", 1e-3, 1e-1)

    with pytest.raises(SearchSpaceError, match="'lr'.*independent_sampler"):
        study.optimize(asks_lr, n_trials=1)
    with_lr = FlashSampler(
        space="nasbench201",
        search_space=SPACE,
        seed=0,
        independent_sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study = optuna.create_study(direction="maximize", sampler=with_lr)
    study.optimize(lambda trial: 50 + asks_lr(trial), n_trials=2)
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    with pytest.raises(TunerConfigError, match="unknown argument"):
        FlashSampler(space="nasbench201", search_space=SPACE, metric_key="x")


def test_distributions_follow_the_nni_types():
    sampler = FlashSampler(
        space="flash",
        search_space={
            "width_1": {"_type": "choice", "_value": [16, 32]},
            "depth_1": {"_type": "randint", "_value": [1, 4]},
            "skips_1": {"_type": "uniform", "_value": [0, 1]},
        },
        seed=0,
    )
    found = distributions(sampler.translator)
    assert found["width_1"] == optuna.distributions.CategoricalDistribution([16, 32])
    assert found["depth_1"] == optuna.distributions.IntDistribution(1, 3)
    assert found["skips_1"] == optuna.distributions.FloatDistribution(0.0, 1.0)


def test_without_optuna_the_module_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    monkeypatch.delitem(sys.modules, "flash_nas.integrations.optuna", raising=False)
    with pytest.raises(MissingDependencyError, match=r"flash-nas\[optuna\]"):
        import flash_nas.integrations.optuna  # noqa: F401


def test_an_enqueued_architecture_is_told_as_itself(table):
    chosen = {name: "conv_3x3" for name in SPACE}
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.enqueue_trial(chosen)
    study.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=3)
    told = {t.text: t for t in sampler.engine.trials.values()}
    text = ops_to_string(ops_from_nni(chosen))
    assert told[text].status == "succeeded" and told[text].value == lookup(table, chosen)
    assert sum(t.status == "succeeded" for t in told.values()) == 3
