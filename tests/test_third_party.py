"""A third party's search method and hardware model, registered as a plugin, used through every
front end: ``flash-nas search``, :class:`SearchEngine`, the NNI tuner, the Optuna sampler and the
Ray Tune searcher. The model reports a quantity flash-nas does not know (``memory_mb``), and the
search runs under a limit on it (``max_memory_mb``) that the recommendation respects."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import flash_nas
from flash_nas import Choice, HardwareModel, Quantity, SearchEngine, SearchMethod, hookimpl
from flash_nas.cli import main
from flash_nas.errors import ObjectiveError
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

LIMIT_MB = 2.0


# ------------------------------------------------------------- the third party's plugin
class RandomMethod(SearchMethod):
    """Uniform random proposals among what the engine may propose."""

    description = "uniform random proposals"
    default_initial_samples = 3
    min_labels = 1

    def __init__(self, engine: SearchEngine) -> None:
        super().__init__(engine)
        self.rng = np.random.default_rng(engine.seed)

    def propose(self, count: int, taken: set[int]) -> list[Choice]:
        rows = [r for r in self.engine.candidate_rows() if r not in taken]
        return [Choice(int(rows[k])) for k in self.rng.permutation(len(rows))[:count]]

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        _, utility = self.engine.labelled()
        return np.full(len(rows), utility.mean()), np.full(len(rows), utility.std())


class PeakMemory(HardwareModel):
    """The weights in fp32 plus a fixed runtime, in MB."""

    description = "weights in fp32 plus a 0.5 MB runtime"
    quantities = (Quantity("memory_mb", "MB", "weights in fp32 plus a 0.5 MB runtime"),)

    def estimate(self, graph):
        return {"memory_mb": 0.5 + 4e-6 * flash_nas.score(graph, ["params"])["params"]}

    def estimate_batch(self, batch):
        return {"memory_mb": 0.5 + 4e-6 * flash_nas.score_batch(batch, ["params"])["params"]}


class Plugin:
    @hookimpl
    def register_methods(self, register):
        register("random", RandomMethod)

    @hookimpl
    def register_hardware(self, register):
        register("peak-memory", PeakMemory)


@pytest.fixture
def third_party(add_plugin):
    add_plugin(Plugin(), "third-party")


SETTINGS = {"hardware": "peak-memory", "method": "random", "objective": "acc", "seed": 0}
NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
SPACE = {f"cell/{j}_{i}": {"_type": "choice", "_value": NNI_OPS} for j, i in EDGES}


@pytest.fixture(scope="module")
def valid():
    table = load_shipped_table()
    return dict(zip(table.archs, table.column("c10_valid").tolist()))


def label(valid, params):
    return valid[ops_to_string(ops_from_nni({name: params[name] for name in SPACE}))]


def memory_of(text):
    model = PeakMemory()
    adapter = flash_nas.get_adapter("nasbench201")
    return model.estimate(adapter.to_graph(adapter.parse(text)))["memory_mb"]


def test_the_limit_binds_on_this_space(valid):
    best = max(valid, key=valid.get)
    assert memory_of(best) > LIMIT_MB  # the unconstrained best breaks the limit


# ------------------------------------------------------------------- the front ends
def test_the_command_line_searches_under_the_new_limit(third_party, tmp_path, capsys):
    output = tmp_path / "best.csv"
    argv = ["search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid"]
    argv += ["--hardware", "peak-memory", "--method", "random", "--objective", "acc"]
    argv += ["--max", f"memory_mb={LIMIT_MB}", "--budget", "8", "--output", str(output)]
    assert main(argv) == 0
    with output.open() as handle:
        first = next(csv.DictReader(handle))
    assert float(first["memory_mb"]) <= LIMIT_MB
    assert math.isclose(float(first["memory_mb"]), memory_of(first["arch"]), rel_tol=1e-9)


def test_the_command_line_names_the_declared_quantities_for_an_unknown_one(third_party, capsys):
    argv = ["search", "--space", "nasbench201", "--labels-from", "cifar10:c10_valid"]
    argv += ["--hardware", "peak-memory", "--max", "speed_ms=3", "--budget", "4"]
    argv += ["--output", "-"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2  # the command line is wrong
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "Unknown limit 'max_speed_ms'" in error[0]
    assert "max_params, max_flops, max_memory_mb" in error[0]


def test_the_engine_recommends_within_the_new_limit(third_party, valid):
    engine = SearchEngine("nasbench201", limits={"max_memory_mb": LIMIT_MB}, **SETTINGS)
    for _ in range(10):
        (proposal,) = engine.ask()
        assert proposal.values["memory_mb"] <= LIMIT_MB
        assert proposal.source in ("initial", "model")
        engine.tell([proposal.arch], [valid[proposal.text]])
    chosen = engine.recommend()
    assert chosen.measured and chosen.values["memory_mb"] <= LIMIT_MB
    assert type(engine.strategy) is RandomMethod
    with pytest.raises(ObjectiveError, match=r"Unknown limit 'max_memory_gb'.*max_memory_mb"):
        SearchEngine("nasbench201", limits={"max_memory_gb": 1.0}, **SETTINGS)


def test_the_nni_tuner_searches_under_the_new_limit(third_party, valid):
    pytest.importorskip("nni", reason="the [nni] extra is not installed")
    from flash_nas.integrations.nni import FlashTuner

    tuner = FlashTuner(space="nasbench201", max_memory_mb=LIMIT_MB, **SETTINGS)
    tuner.update_search_space(SPACE)
    for parameter_id in range(8):
        params = tuner.generate_parameters(parameter_id)
        tuner.receive_trial_result(parameter_id, params, label(valid, params))
    assert type(tuner.engine.strategy) is RandomMethod
    assert tuner.engine.recommend().values["memory_mb"] <= LIMIT_MB


def test_the_optuna_sampler_searches_under_the_new_limit(third_party, valid):
    optuna = pytest.importorskip("optuna", reason="the [optuna] extra is not installed")
    from flash_nas.integrations.optuna import FlashSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = FlashSampler(
        space="nasbench201", search_space=SPACE, max_memory_mb=LIMIT_MB, **SETTINGS
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(
        lambda trial: label(valid, {n: trial.suggest_categorical(n, NNI_OPS) for n in SPACE}),
        n_trials=8,
    )
    assert type(sampler.engine.strategy) is RandomMethod
    assert all(p.values["memory_mb"] <= LIMIT_MB for p in sampler.proposals.values())
    assert sampler.engine.recommend().values["memory_mb"] <= LIMIT_MB


def test_the_ray_searcher_searches_under_the_new_limit(third_party, valid):
    pytest.importorskip("ray.tune", reason="the [ray] extra is not installed")
    from flash_nas.integrations.ray import FlashSearcher

    searcher = FlashSearcher(
        space="nasbench201",
        search_space=SPACE,
        metric="accuracy",
        mode="max",
        limits={"max_memory_mb": LIMIT_MB},
        **SETTINGS,
    )
    for k in range(8):
        config = searcher.suggest(f"t{k}")
        searcher.on_trial_complete(f"t{k}", {"accuracy": label(valid, config)})
    assert type(searcher.engine.strategy) is RandomMethod
    assert searcher.engine.recommend().values["memory_mb"] <= LIMIT_MB
