"""The FLASH sampler in real Optuna studies (in-memory storage) on the NAS-Bench-201 table:
what trials receive comes from ``engine.ask``, what they return reaches ``engine.tell``."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the [optuna] extra is not installed")

from flash_nas import MissingDependencyError  # noqa: E402
from flash_nas.integrations.optuna import FlashSampler, distributions  # noqa: E402
from flash_nas.integrations.params import SearchSpaceError, TunerConfigError  # noqa: E402
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string  # noqa: E402
from flash_nas_adapters.nasbench201.space import load_shipped_table  # noqa: E402

NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
SPACE = {f"cell/{j}_{i}": {"_type": "choice", "_value": NNI_OPS} for j, i in EDGES}

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def table():
    """Rows by architecture, the validation accuracy trials learn from, the test accuracy
    the best one is judged by (NAS-Bench-201's protocol: never search on test accuracy)."""
    t = load_shipped_table()
    rows = {arch: row for row, arch in enumerate(t.archs)}
    return rows, t.column("c10_valid"), t.column("c10_test")


def ask_arch(trial):
    return {name: trial.suggest_categorical(name, spec["_value"]) for name, spec in SPACE.items()}


def lookup(table, params):
    rows, valid, _ = table
    return float(valid[rows[ops_to_string(ops_from_nni(params))]])


def doc_example(name):
    """The Python block marked ``<!-- example: name -->`` in docs/optuna_ray.md."""
    text = (Path(__file__).parent.parent / "docs" / "optuna_ray.md").read_text(encoding="utf-8")
    return text.split(f"<!-- example: {name} -->\n```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_documented_30_trial_study_finds_a_top_1_percent_cell_and_tells_every_result(
    capsys,
):
    example = {"__name__": "docs_optuna_example"}
    exec(compile(doc_example("optuna"), "docs/optuna_ray.md", "exec"), example)
    study, sampler, row, test = (example[k] for k in ("study", "sampler", "row", "test"))
    engine = sampler.engine
    assert len(study.trials) == len(engine.trials) == 30
    assert all(t.status == "succeeded" for t in engine.trials.values())
    for trial in study.trials:
        told = engine.trials[sampler.proposals[trial.number].arch]
        assert told.value == trial.value
        assert told.text == ops_to_string(ops_from_nni(trial.params))
    assert len({t.text for t in engine.trials.values()}) == 30  # no architecture twice
    top_1_percent = sorted(test, reverse=True)[len(test) // 100 - 1]  # the 156th of 15,625
    best = ops_to_string(ops_from_nni(study.best_params))
    assert test[row[best]] >= top_1_percent
    assert f"Best: {best} valid {study.best_value:.2f} %" in capsys.readouterr().out


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


def test_a_sampler_joining_an_existing_study_learns_its_trials_and_repeats_none(table):
    storage = optuna.storages.InMemoryStorage()
    first = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study = optuna.create_study(
        study_name="nb201", storage=storage, direction="maximize", sampler=first
    )
    study.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=12)
    joined = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    resumed = optuna.load_study(study_name="nb201", storage=storage, sampler=joined)
    resumed.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=6)
    ran = [ops_to_string(ops_from_nni(t.params)) for t in resumed.trials]
    assert len(ran) == 18 and len(set(ran)) == 18  # none of the 6 repeats an earlier one
    told = {t.text: t for t in joined.engine.trials.values()}
    assert len(told) == 18 and all(t.status == "succeeded" for t in told.values())
    for trial in resumed.trials[:12]:  # the earlier results, each told once, as they were
        assert told[ops_to_string(ops_from_nni(trial.params))].value == trial.value
    assert [t.source for t in told.values()][:12] == ["told"] * 12


def test_joined_trials_that_name_no_architecture_are_skipped_with_a_warning(table):
    study = optuna.create_study(direction="maximize")
    float_x = optuna.distributions.FloatDistribution(0.0, 1.0)
    study.add_trial(
        optuna.trial.create_trial(params={"x": 0.5}, distributions={"x": float_x}, value=50.0)
    )
    study.add_trial(  # a trial that failed before it asked for every parameter
        optuna.trial.create_trial(
            params={"cell/0_1": "none"},
            distributions={"cell/0_1": optuna.distributions.CategoricalDistribution(NNI_OPS)},
            state=optuna.trial.TrialState.FAIL,
        )
    )
    chosen = {name: "conv_3x3" for name in SPACE}
    study.add_trial(
        optuna.trial.create_trial(
            params=chosen,
            distributions={n: optuna.distributions.CategoricalDistribution(NNI_OPS) for n in SPACE},
            state=optuna.trial.TrialState.PRUNED,
        )
    )
    sampler = FlashSampler(space="nasbench201", search_space=SPACE, seed=0)
    study.sampler = sampler
    with pytest.warns(Warning, match=r"skips trial\(s\) 0, 1 of study .*cell/0_1"):
        study.optimize(lambda trial: lookup(table, ask_arch(trial)), n_trials=2)
    told = list(sampler.engine.trials.values())
    assert len(told) == 3 and told[0].text == ops_to_string(ops_from_nni(chosen))
    assert told[0].status == "failed" and "pruned" in told[0].reason


def test_without_a_search_space_the_sampler_asks_for_the_adapters_own_parameters(table):
    sampler = FlashSampler(space="nasbench201", seed=0)
    choices = optuna.distributions.CategoricalDistribution(NNI_OPS)
    assert sampler.search_space == {name: choices for name in SPACE}  # NNI's labels and ops
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda trial: lookup(table, sampler.suggest_architecture(trial)), n_trials=3)
    proposed = [sampler.translator.to_params(sampler.proposals[k].arch) for k in range(3)]
    assert [t.params for t in study.trials] == proposed
    assert len(sampler.engine.trials) == 3
    with pytest.raises(SearchSpaceError, match=r"'nasbench101' space declares no param.*search_"):
        FlashSampler(space="nasbench101")


def test_an_architecture_another_worker_is_training_is_not_proposed_again(table):
    first = FlashSampler(space="nasbench201", seed=0)
    study = optuna.create_study(direction="maximize", sampler=first)
    study.optimize(lambda trial: lookup(table, first.suggest_architecture(trial)), n_trials=1)
    running = study.trials[0].params  # what a sampler with seed 0 proposes first
    storage = optuna.storages.InMemoryStorage()
    shared = optuna.create_study(storage=storage, study_name="shared", direction="maximize")
    other_worker = shared.ask({n: optuna.distributions.CategoricalDistribution(NNI_OPS)
                               for n in SPACE})  # fmt: skip
    for name, value in running.items():  # another worker's trial, still running
        storage.set_trial_param(
            other_worker._trial_id, name, NNI_OPS.index(value),
            optuna.distributions.CategoricalDistribution(NNI_OPS),
        )  # fmt: skip
    sampler = FlashSampler(space="nasbench201", seed=0)
    joined = optuna.load_study(study_name="shared", storage=storage, sampler=sampler)
    joined.optimize(lambda trial: lookup(table, sampler.suggest_architecture(trial)), n_trials=2)
    assert all(t.params != running for t in joined.trials[1:])
    text = ops_to_string(ops_from_nni(running))
    assert {t.text: t.status for t in sampler.engine.trials.values()}[text] == "pending"
    joined.tell(other_worker, lookup(table, running))  # the other worker finishes
    joined.optimize(lambda trial: lookup(table, sampler.suggest_architecture(trial)), n_trials=1)
    told = {t.text: t for t in sampler.engine.trials.values()}[text]
    assert (told.status, told.value) == ("succeeded", lookup(table, running))


# ------------------------------------------------------------------ measured costs
def hardware_sampler(**extra):
    return FlashSampler(space="nasbench201", search_space=SPACE, hardware="pi3b", seed=0, **extra)


def test_user_attributes_named_like_a_quantity_are_measured_costs(table):
    sampler = hardware_sampler()
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def objective(trial):
        accuracy = lookup(table, ask_arch(trial))
        trial.set_user_attr("latency_ms", 2.0 + trial.number)
        trial.set_user_attr("board", "pi3b-7")  # not a quantity: not a cost
        return accuracy

    study.optimize(objective, n_trials=3)
    measured = sampler.engine.measured
    assert [measured[sampler.proposals[k].arch] for k in range(3)] == [
        {"latency_ms": 2.0}, {"latency_ms": 3.0}, {"latency_ms": 4.0}
    ]


def test_further_study_values_are_costs_only_where_the_metric_names_name_them(table):
    def objective(trial):
        return lookup(table, ask_arch(trial)), 5.5

    sampler = hardware_sampler()
    unnamed = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    unnamed.optimize(objective, n_trials=2)
    assert sampler.engine.measured == {}  # a value without a name may be the prediction

    sampler = hardware_sampler()
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.set_metric_names(["accuracy", "latency_ms"])
    study.optimize(objective, n_trials=2)
    assert list(sampler.engine.measured.values()) == [{"latency_ms": 5.5}] * 2


def test_a_joining_sampler_learns_the_measured_costs_of_finished_trials(table):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(
        study_name="costs", storage=storage, direction="maximize", sampler=hardware_sampler()
    )

    def objective(trial):
        trial.set_user_attr("latency_ms", 6.0)
        return lookup(table, ask_arch(trial))

    study.optimize(objective, n_trials=2)
    joined = hardware_sampler()
    resumed = optuna.load_study(study_name="costs", storage=storage, sampler=joined)
    resumed.optimize(objective, n_trials=1)
    assert len(joined.engine.measured) == 3
    assert all(costs == {"latency_ms": 6.0} for costs in joined.engine.measured.values())


@pytest.mark.parametrize(
    ("attribute", "named", "message"),
    [
        (-1.0, None, "latency_ms"),
        (3.0, 4.0, "latency_ms is both the user attribute 3.0 and the study value 4.0"),
    ],
)
def test_a_bad_or_contradicting_cost_fails_the_trial_with_a_warning(
    table, attribute, named, message
):
    sampler = hardware_sampler()
    directions = ["maximize"] if named is None else ["maximize", "minimize"]
    study = optuna.create_study(directions=directions, sampler=sampler)
    if named is not None:
        study.set_metric_names(["accuracy", "latency_ms"])

    def objective(trial):
        accuracy = lookup(table, ask_arch(trial))
        trial.set_user_attr("latency_ms", attribute)
        return accuracy if named is None else (accuracy, named)

    with pytest.warns(Warning, match=message):
        study.optimize(objective, n_trials=1)
    (told,) = sampler.engine.trials.values()
    assert told.status == "failed" and sampler.engine.measured == {}
