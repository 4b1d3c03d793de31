"""The FLASH searcher in real Ray Tune runs on a local Ray instance (two CPUs, trials one at a
time) on the NAS-Bench-201 table, and its checkpoints: a restored run repeats nothing."""

from __future__ import annotations

import math
import os
import signal
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray.tune", reason="the [ray] extra is not installed")

import ray
from ray import tune

from flash_nas import MissingDependencyError
from flash_nas.integrations.params import SearchSpaceError, TunerConfigError
from flash_nas.integrations.ray import FlashSearcher
from flash_nas.search.engine import StateError
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
SPACE = {f"cell/{j}_{i}": {"_type": "choice", "_value": NNI_OPS} for j, i in EDGES}
NB201_OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def _table(column):
    t = load_shipped_table()
    return dict(zip(t.archs, t.column(column).tolist()))


# Trials learn from validation accuracy; the best one is judged by its test accuracy.
TABLE, TEST = _table("c10_valid"), _table("c10_test")
TOP_1_PERCENT = sorted(TEST.values(), reverse=True)[len(TEST) // 100 - 1]  # 156th of 15,625


def arch_text(config):
    return ops_to_string(ops_from_nni({name: config[name] for name in SPACE}))


def accuracy(config):
    return TABLE[arch_text(config)]


def trainable(config):
    return {"accuracy": accuracy(config)}


def searcher(seed=0, **extra):
    return FlashSearcher(
        space="nasbench201", search_space=SPACE, metric="accuracy", mode="max", seed=seed, **extra
    )


def drive(flash, first, count, results=None):
    """Suggest and complete trials one at a time, as Tune does with one trial at a time."""
    configs = []
    for k in range(first, first + count):
        config = flash.suggest(f"t{k}")
        configs.append(config)
        flash.on_trial_complete(f"t{k}", (results or {}).get(k, {"accuracy": accuracy(config)}))
    return configs


@pytest.fixture(scope="module")
def local_ray():
    # Ray's workers cannot import this test module: send its trainables by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def doc_example(name):
    """The Python block marked ``<!-- example: name -->`` in docs/optuna_ray.md."""
    text = (Path(__file__).parent.parent / "docs" / "optuna_ray.md").read_text(encoding="utf-8")
    return text.split(f"<!-- example: {name} -->\n```python\n", 1)[1].split("```", 1)[0]


@pytest.mark.slow
def test_the_documented_30_trial_tune_run_finds_a_top_1_percent_cell(local_ray, tmp_path, capsys):
    # Written as Ray's docs write a run: param_space of tune.choice, the searcher built from
    # the space's name, metric and mode alone.
    code = doc_example("ray").replace('"/tmp/flash-tune"', repr(str(tmp_path)))
    example = {"__name__": "docs_ray_example"}
    exec(compile(code, "docs/optuna_ray.md", "exec"), example)
    results = example["results"]
    assert not results.errors and len(results) == 30
    archs = [arch_text(result.config) for result in results]
    assert len(set(archs)) == 30  # no architecture twice
    for arch, result in zip(archs, results):  # each trial learnt c10_valid of its cell
        assert result.metrics["acc"] == TABLE[arch]
    best = results.get_best_result(metric="acc", mode="max")
    assert TEST[arch_text(best.config)] >= TOP_1_PERCENT
    assert f"test {TEST[arch_text(best.config)]:.2f} %" in capsys.readouterr().out


def logged(config):
    arch = arch_text(config)
    with open(config["log"], "a") as trained:
        trained.write(arch + "\n")
    return {"accuracy": TABLE[arch]}


class Interrupt(tune.Callback):
    """Stops the run after ``after`` trials, once, as Ctrl+C does (SIGUSR1: Tune's graceful
    stop, which checkpoints the experiment one last time)."""

    def __init__(self, after, marker):
        self.after, self.marker, self.done = after, marker, 0

    def on_trial_complete(self, iteration, trials, trial, **info):
        self.done += 1
        if self.done == self.after and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGUSR1)


@pytest.mark.slow
def test_an_interrupted_tune_run_resumes_from_its_checkpoint_without_repeats(local_ray, tmp_path):
    log = tmp_path / "trained.log"
    tuner = tune.Tuner(
        logged,
        param_space={**{name: tune.choice(NNI_OPS) for name in SPACE}, "log": str(log)},
        tune_config=tune.TuneConfig(
            search_alg=FlashSearcher(space="nasbench201", metric="accuracy", mode="max"),
            num_samples=16,
            max_concurrent_trials=1,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path),
            name="run",
            verbose=0,
            callbacks=[Interrupt(7, str(tmp_path / "interrupted"))],
        ),
    )
    first = tuner.fit()
    stopped_after = len(log.read_text().split())
    assert stopped_after < 16 and len(first) < 16  # the run really stopped early
    restored = tune.Tuner.restore(str(tmp_path / "run"), logged, resume_unfinished=True)
    results = restored.fit()
    assert not results.errors
    archs = log.read_text().split()
    assert len(results) == 16
    # Every trial ran once (an in-flight one may rerun), and no architecture was proposed twice.
    assert len(set(archs)) == 16


def test_save_and_restore_continue_exactly_as_an_uninterrupted_run(tmp_path):
    whole = drive(searcher(seed=5), 0, 16)
    interrupted = searcher(seed=5)
    before = drive(interrupted, 0, 9)
    pending = interrupted.suggest("t9")  # in flight when the checkpoint is written
    interrupted.save(str(tmp_path / "ckpt.json"))
    resumed = searcher(seed=5)
    resumed.restore(str(tmp_path / "ckpt.json"))
    resumed.on_trial_complete("t9", {"accuracy": accuracy(pending)})
    after = drive(resumed, 10, 6)
    assert [*before, pending, *after] == whole
    assert len(resumed.engine.trials) == 16


def test_the_searcher_pickles_as_its_state(tmp_path):
    import pickle

    flash = searcher(seed=2)
    drive(flash, 0, 4)
    copy = pickle.loads(pickle.dumps(flash))
    assert [t.to_dict() for t in copy.engine.trials.values()] == [
        t.to_dict() for t in flash.engine.trials.values()
    ]
    assert copy.suggest("next") == flash.suggest("next")


def test_errors_nan_and_missing_metrics_are_recorded_failures():
    flash = searcher(seed=1)
    configs = [flash.suggest(f"t{k}") for k in range(5)]
    flash.on_trial_complete("t0", None, error=True)
    flash.on_trial_complete("t1", {"accuracy": math.nan})
    flash.on_trial_complete("t2", {"loss": 0.3})
    with pytest.warns(Warning, match="outside the label's range"):
        flash.on_trial_complete("t3", {"accuracy": 0.93e3})
    flash.on_trial_complete("t4", {"accuracy": accuracy(configs[4])})
    statuses = [t.status for t in flash.engine.trials.values()]
    assert statuses == ["failed"] * 4 + ["succeeded"]
    assert "no 'accuracy' entry" in list(flash.engine.trials.values())[2].reason


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(TunerConfigError, match="mode"):
        FlashSearcher(space="nasbench201", search_space=SPACE, mode="maximize")
    with pytest.raises(SearchSpaceError):
        FlashSearcher(space="nasbench201", search_space={"cell/9_9": SPACE["cell/0_1"]})
    unset = FlashSearcher(space="nasbench201", search_space=SPACE)
    with pytest.raises(TunerConfigError, match="metric and mode"):
        unset.suggest("t0")
    with pytest.raises(TunerConfigError, match="param_space searches lr"):
        searcher().set_search_properties(None, None, {"lr": tune.loguniform(1e-3, 1e-1)})
    assert searcher().set_search_properties(None, None, {"log": "x.txt"})
    with pytest.raises(TunerConfigError, match="give it in one place"):
        searcher().set_search_properties("loss", "min", {})
    other = FlashSearcher(
        space="nasbench201",
        search_space={**SPACE, "cell/0_1": {"_type": "choice", "_value": ["none"]}},
    )
    flash = searcher()
    drive(flash, 0, 2)
    flash.save(str(tmp_path / "ckpt.json"))
    with pytest.raises(StateError, match="another search space"):
        other.restore(str(tmp_path / "ckpt.json"))


def test_without_a_search_space_the_searcher_searches_the_adapters_own_parameters():
    flash = FlashSearcher(space="nasbench201", metric="acc", mode="max", seed=0)
    configs = drive(flash, 0, 3)
    assert all(set(config) == set(SPACE) for config in configs)
    assert flash.search_space == SPACE  # NNI's labels and ops
    same = searcher(seed=0)  # given as search_space=: the same proposals
    assert drive(same, 0, 3) == configs


def tuned(param_space, **built):
    """A searcher as Tune sets it up from a Tuner's param_space."""
    flash = FlashSearcher(space="nasbench201", metric="acc", mode="max", seed=0, **built)
    assert flash.set_search_properties(None, None, param_space) is True
    return flash


def test_the_tuners_param_space_is_the_searched_space():
    flash = tuned({f"cell/{j}_{i}": tune.choice(NB201_OPS) for j, i in EDGES})
    configs = [flash.suggest(f"t{k}") for k in range(3)]
    assert all(set(c) == set(SPACE) and set(c.values()) <= set(NB201_OPS) for c in configs)
    # Nested, as Tune users often write it: the config comes back in the same shape.
    nested = tuned({"cell": {f"{j}_{i}": tune.choice(NNI_OPS) for j, i in EDGES}, "lr": 0.1})
    config = nested.suggest("t0")
    assert set(config) == {"cell"} and len(config["cell"]) == 6
    assert nested.search_space == SPACE
    # A subset of the ops restricts the search to it, as in search_space=.
    only = tuned({f"cell/{j}_{i}": tune.choice(["none", "conv_3x3"]) for j, i in EDGES})
    assert {v for k in range(4) for v in only.suggest(f"t{k}").values()} <= {"none", "conv_3x3"}


def test_a_param_space_that_is_not_the_architectures_is_a_clear_error():
    cells = {f"cell/{j}_{i}": tune.choice(NNI_OPS) for j, i in EDGES}
    with pytest.raises(SearchSpaceError, match=r"param_space.*unknown lr.*as a constant"):
        tuned({**cells, "lr": tune.loguniform(1e-3, 1e-1)})
    with pytest.raises(SearchSpaceError, match=r"param_space.*missing cell/2_3"):
        tuned({k: v for k, v in cells.items() if k != "cell/2_3"})
    with pytest.raises(SearchSpaceError, match=r"'cell/0_1' lists 'conv_9x9'"):
        tuned({**cells, "cell/0_1": tune.choice(["conv_9x9", "none"])})
    with pytest.raises(TunerConfigError, match=r"'cell/0_1' as Float with a Normal sampler"):
        tuned({**cells, "cell/0_1": tune.randn()})
    with pytest.raises(TunerConfigError, match="declare the space in one place"):
        tuned({**cells, "cell/0_1": tune.choice(["none"])}, search_space=SPACE)
    assert tuned(cells, search_space=SPACE).search_space == SPACE  # the same space twice


def test_tune_domains_become_nni_parameters():
    flash = FlashSearcher(space="flash", metric="acc", mode="max", seed=0)
    flash.set_search_properties(
        None,
        None,
        {"width_1": tune.qrandint(16, 32, 8), "depth_1": tune.randint(1, 4),
         "skips_1": tune.uniform(0, 1)},
    )  # fmt: skip
    assert flash.search_space == {
        "width_1": {"_type": "quniform", "_value": [16, 32, 8]},
        "depth_1": {"_type": "randint", "_value": [1, 4]},
        "skips_1": {"_type": "uniform", "_value": [0, 1]},
    }
    config = flash.suggest("t0")
    assert config["width_1"] in (16, 24, 32) and config["depth_1"] in (1, 2, 3)


def test_a_param_space_search_restores_from_its_checkpoint(tmp_path):
    space = {"cell": {f"{j}_{i}": tune.choice(NNI_OPS) for j, i in EDGES}}
    flash = tuned(space)
    flash.suggest("t0")
    flash.save(str(tmp_path / "ckpt.json"))
    fresh = FlashSearcher(space="nasbench201", metric="acc", mode="max", seed=0)
    fresh.restore(str(tmp_path / "ckpt.json"))
    assert fresh.set_search_properties(None, None, space)  # Tune sets it up again on resume
    assert fresh.suggest("t1") == flash.suggest("t1")


def test_without_ray_the_module_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray.tune", None)
    monkeypatch.delitem(sys.modules, "flash_nas.integrations.ray", raising=False)
    with pytest.raises(MissingDependencyError, match=r"flash-nas\[ray\]"):
        import flash_nas.integrations.ray  # noqa: F401


def write_random_cifar10(folder, train=200, test=40):
    """A cifar-10-batches-py folder of random images (training only has to run)."""
    import pickle

    import numpy as np

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)]
    for name, count in [*((n, train // 5) for n in names), ("test_batch", test)]:
        content = {
            b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, count).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return folder


@pytest.mark.slow
def test_train_ray_trains_as_ray_tasks_tells_the_engine_and_resumes(local_ray, tmp_path, capsys):
    import argparse
    import csv

    from flash_nas import SearchEngine
    from flash_nas.cli import train

    data = write_random_cifar10(tmp_path / "cifar-10-batches-py")
    state, labels = tmp_path / "state.json", tmp_path / "labels.csv"
    common = [
        "train", "--data", str(data), "--output", str(labels), "--epochs", "1",
        "--batch-size", "32", "--threads", "1", "--space", "flash",
        "-O", "widths=[8, 16]", "-O", "depths=[2, 3]", "-O", "n_cells=1",
        "--valid-size", "40", "--state", str(state), "--ray", "--ray-concurrency", "2",
    ]  # fmt: skip

    def run(*extra):
        parser = argparse.ArgumentParser()
        train.add_to(parser.add_subparsers())
        args = parser.parse_args([*common, *extra])
        return args.run(args)

    assert run("--budget", "3") == 0
    first = list(csv.DictReader(labels.open(newline="")))
    assert len(first) == 3 and "Recommended:" in capsys.readouterr().out
    assert run("--budget", "4") == 0
    rows = list(csv.DictReader(labels.open(newline="")))
    assert len({r["arch"] for r in rows}) == 4
    engine = SearchEngine.load(state)
    told = {t.text: t.value for t in engine.history}
    assert set(told) == {r["arch"] for r in rows}
    for row in rows:  # the engine learnt each task's validation accuracy
        assert told[row["arch"]] == pytest.approx(float(row["valid_accuracy"]))


def test_train_ray_needs_a_budget(tmp_path):
    import argparse

    from flash_nas.cli import train
    from flash_nas.cli._args import UsageError

    parser = argparse.ArgumentParser()
    train.add_to(parser.add_subparsers())
    args = parser.parse_args(
        ["train", "--space", "flash", "--archs", "a.txt", "--data", ".", "--epochs", "1",
         "--output", str(tmp_path / "x.csv"), "--ray"]
    )  # fmt: skip
    with pytest.raises(UsageError, match="add --budget"):
        args.run(args)


# ------------------------------------------------------------------ measured costs
def test_further_metrics_named_like_a_quantity_are_measured_costs():
    flash = searcher(hardware="pi3b")
    configs = [flash.suggest(f"t{k}") for k in range(2)]
    flash.on_trial_complete(
        "t0", {"accuracy": accuracy(configs[0]), "latency_ms": 3.3, "time_this_iter_s": 9.0}
    )
    flash.on_trial_complete("t1", {"accuracy": accuracy(configs[1])})
    engine = flash.engine
    assert engine.measured == {flash.trial_archs["t0"]: {"latency_ms": 3.3}}
    assert [t.status for t in engine.trials.values()] == ["succeeded"] * 2
    # the checkpoint keeps them
    restored = searcher(hardware="pi3b")
    restored.set_state(flash.get_state())
    assert restored.engine.measured == engine.measured


def test_a_cost_the_engine_refuses_is_a_failed_trial_with_a_warning():
    flash = searcher(hardware="pi3b")
    config = flash.suggest("t0")
    with pytest.warns(Warning, match="Trial t0 recorded as failed: .*latency_ms"):
        flash.on_trial_complete("t0", {"accuracy": accuracy(config), "latency_ms": math.nan})
    (told,) = flash.engine.trials.values()
    assert told.status == "failed" and flash.engine.measured == {}
