"""Part 13: the FLASH sampler and searcher against Optuna's and Ray Tune's own search.

On NAS-Bench-201 (CIFAR-10, the table shipped with flash-nas), at equal budgets (30 trials):

* **Optuna** (real studies, in-memory storage): :class:`FlashSampler` against TPE and random
  sampling (``optuna.samplers.TPESampler``/``RandomSampler``, seeded);
* **Ray Tune** (the searcher protocol driven in-process, one trial at a time, as Tune drives
  it with ``max_concurrent_trials=1``; no cluster is needed to compare proposals):
  :class:`FlashSearcher` against Tune's default search (random draws of ``tune.choice``
  through Tune's own variant generator) and its Optuna-backed search
  (``ray.tune.search.optuna.OptunaSearch``, TPE).

A trial looks up ``c10_valid`` (what the search learns from); each method's incumbent after t
trials (its best trial by ``c10_valid``) is judged by its ``c10_test``. Reported: the mean
incumbent curve (plot), the paired difference FLASH minus each baseline at 20 and 30 trials
(mean and 95 % t-interval over seeds), and the search's own time per trial (the trial's lookup
takes microseconds, so a study's wall time is the sampler's).
"""

from __future__ import annotations

import importlib.util
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from benchmarks.suite.report import Csv, Section, caption, figure, mean_std, table
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

BUDGET = 30
QUICK_BUDGET = 12
CHECKPOINTS = (20, 30)
NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
SPACE = {f"cell/{j}_{i}": {"_type": "choice", "_value": NNI_OPS} for j, i in EDGES}
FLASH = {"optuna": "FlashSampler", "ray": "FlashSearcher"}

#: A method runs one search: (seed, budget, look-up) -> the c10_valid-labelled trial texts in
#: order, and the seconds the search itself took.
Runner = Callable[[int, int, Callable[[dict], float]], list[dict]]


def _texts(params: dict) -> str:
    return ops_to_string(ops_from_nni({name: params[name] for name in SPACE}))


# ---------------------------------------------------------------------- Optuna
def _optuna_study(sampler_factory: Callable[[int], object]) -> Runner:
    def run(seed: int, budget: int, lookup: Callable[[dict], float]) -> list[dict]:
        import optuna

        study = optuna.create_study(direction="maximize", sampler=sampler_factory(seed))
        study.optimize(
            lambda trial: lookup(
                {n: trial.suggest_categorical(n, s["_value"]) for n, s in SPACE.items()}
            ),
            n_trials=budget,
        )
        return [trial.params for trial in study.trials]

    return run


def _optuna_runners() -> dict[str, Runner]:
    import optuna

    from flash_nas.integrations.optuna import FlashSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return {
        "FlashSampler": _optuna_study(
            lambda seed: FlashSampler(space="nasbench201", search_space=SPACE, seed=seed)
        ),
        "TPE": _optuna_study(lambda seed: optuna.samplers.TPESampler(seed=seed)),
        "random": _optuna_study(lambda seed: optuna.samplers.RandomSampler(seed=seed)),
    }


# ---------------------------------------------------------------------- Ray Tune
def _drive(searcher_factory: Callable[[int], object], nested: bool = False) -> Runner:
    def run(seed: int, budget: int, lookup: Callable[[dict], float]) -> list[dict]:
        searcher = searcher_factory(seed)
        configs = []
        for k in range(budget):
            config = searcher.suggest(f"trial-{k}")  # type: ignore[attr-defined]
            config = _flat(config) if nested else config
            searcher.on_trial_complete(f"trial-{k}", {"accuracy": lookup(config)})  # type: ignore[attr-defined]
            configs.append(config)
        return configs

    return run


def _tune_space() -> dict:
    """The space in Tune's terms; nested, as Tune reads ``/`` in a key as nesting."""
    from ray import tune

    return {"cell": {name[5:]: tune.choice(s["_value"]) for name, s in SPACE.items()}}


def _flat(config: dict) -> dict:
    return {f"cell/{edge}": op for edge, op in config["cell"].items()}


def _tune_random(seed: int, budget: int, lookup: Callable[[dict], float]) -> list[dict]:
    """Tune's default search: each trial resolves the ``tune.choice`` space through Tune's
    variant generator (what ``BasicVariantGenerator`` does per sample)."""
    from ray.tune.search.variant_generator import generate_variants

    state = np.random.RandomState(seed)
    configs = []
    for _ in range(budget):
        ((_, config),) = list(generate_variants(_tune_space(), random_state=state))
        lookup(_flat(config))
        configs.append(_flat(config))
    return configs


def _ray_runners() -> dict[str, Runner]:
    from ray.tune.search.optuna import OptunaSearch

    from flash_nas.integrations.ray import FlashSearcher

    logging.getLogger("ray.tune.search.optuna").setLevel(logging.ERROR)
    return {
        "FlashSearcher": _drive(
            lambda seed: FlashSearcher(
                space="nasbench201",
                search_space=SPACE,
                metric="accuracy",
                mode="max",
                seed=seed,
            )
        ),
        "random (Tune's default)": _tune_random,
        "OptunaSearch (TPE)": _drive(
            lambda seed: OptunaSearch(
                space=_tune_space(), metric="accuracy", mode="max", seed=seed
            ),
            nested=True,
        ),
    }


# ---------------------------------------------------------------------- the part
def _incumbents(texts: list[str], valid: dict[str, float], test: dict[str, float]) -> list[float]:
    """After each trial: the c10_test of the best trial so far by c10_valid."""
    best, curve = None, []
    for text in texts:
        if best is None or valid[text] > valid[best]:
            best = text
        curve.append(test[best])
    return curve


def _interval(curves: Csv, framework: str, method: str, labels: int) -> list[float]:
    """FLASH minus ``method`` after ``labels`` trials, paired by seed: ``[mean, low, high]`` of
    its 95 % t-interval (``[mean]`` alone from one seed)."""
    ours = curves.select(
        "test_accuracy", framework=framework, method=FLASH[framework], labels=labels
    )
    theirs = curves.select("test_accuracy", framework=framework, method=method, labels=labels)
    difference = ours - theirs
    if len(difference) < 2:
        return [float(difference.mean())]
    half = (
        stats.t.ppf(0.975, len(difference) - 1) * difference.std(ddof=1) / np.sqrt(len(difference))
    )
    mean = float(difference.mean())
    return [mean, float(mean - half), float(mean + half)]


def _paired(curves: Csv, framework: str, method: str, labels: int) -> str:
    numbers = _interval(curves, framework, method, labels)
    if len(numbers) == 1:
        return f"{numbers[0]:+.2f}"
    mean, low, high = numbers
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


#: Each method's name in the part's results file (``integrations.json``), by framework.
METHOD_KEYS = {
    "optuna": {"FlashSampler": "flash", "TPE": "tpe", "random": "random"},
    "ray": {
        "FlashSearcher": "flash",
        "random (Tune's default)": "random",
        "OptunaSearch (TPE)": "optuna_tpe",
    },
}


def results(curves: Csv, timing: Csv, checkpoints: list[int], budget: int) -> dict[str, object]:
    """The part's headline numbers by name (``integrations.json``), as its table prints them:
    per framework and method (:data:`METHOD_KEYS`), the incumbent's c10_test after each
    checkpoint (``test.t20``: [mean, std]), FLASH minus the method paired by seed
    (``paired.t20``: [mean, low, high]; null for FLASH itself) and the search's ms per trial."""
    frameworks: dict[str, dict[str, object]] = {}
    methods = zip(curves.column("framework"), curves.column("method"))
    for framework, method in dict.fromkeys(methods):
        test: dict[str, object] = {}
        paired: dict[str, object] = {}
        for c in checkpoints:
            values = curves.select("test_accuracy", framework=framework, method=method, labels=c)
            test[f"t{c}"] = [float(values.mean()), float(values.std())]
            paired[f"t{c}"] = (
                None if method == FLASH[framework] else _interval(curves, framework, method, c)
            )
        seconds = timing.select("per_trial_seconds", framework=framework, method=method)
        frameworks.setdefault(framework, {})[METHOD_KEYS[framework][method]] = {
            "test": test,
            "paired": paired,
            "ms_per_trial": 1000 * float(seconds.mean()),
        }
    return {"trials": budget, "checkpoints": list(checkpoints), "frameworks": frameworks}


def run(
    *, output: Path, seeds: int, quick: bool = False, first_seed: int = 0, **_: object
) -> Section:
    section = Section("integrations", "Optuna and Ray Tune: the FLASH sampler and searcher")
    missing = [m for m in ("optuna", "ray") if importlib.util.find_spec(m) is None]
    if missing:
        section.blocks = [
            f"Not run: {', '.join(missing)} is not installed (pip install 'flash-nas[optuna,ray]')."
        ]
        section.summary = [f"integrations: not run ({', '.join(missing)} missing)"]
        return section
    budget = QUICK_BUDGET if quick else BUDGET
    seed_list = range(first_seed, first_seed + seeds)
    truth = load_shipped_table()
    valid = dict(zip(truth.archs, truth.column("c10_valid").tolist()))
    test = dict(zip(truth.archs, truth.column("c10_test").tolist()))
    best_cell = max(test.values())
    curves = Csv("integrations_curves", ("framework", "method", "seed", "labels", "test_accuracy"))
    timing = Csv("integrations_time", ("framework", "method", "seed", "per_trial_seconds"))
    runners = {"optuna": _optuna_runners(), "ray": _ray_runners()}
    for framework, methods in runners.items():
        for method, runner in methods.items():
            for seed in seed_list:
                started = time.perf_counter()
                configs = runner(seed, budget, lambda params: valid[_texts(params)])
                seconds = time.perf_counter() - started
                texts = [_texts(c) for c in configs]
                for k, value in enumerate(_incumbents(texts, valid, test), start=1):
                    curves.add(framework, method, seed, k, value)
                timing.add(framework, method, seed, seconds / budget)
    checkpoints = [c for c in CHECKPOINTS if c <= budget] or [budget]
    section.csvs = [curves, timing]
    rows = []
    for framework, methods in runners.items():
        for method in methods:
            at = [
                curves.select("test_accuracy", framework=framework, method=method, labels=c)
                for c in checkpoints
            ]
            paired = [
                "–" if method == FLASH[framework] else _paired(curves, framework, method, c)
                for c in checkpoints
            ]
            seconds = timing.select("per_trial_seconds", framework=framework, method=method)
            rows.append(
                [
                    framework,
                    method,
                    *(mean_std(a, 2) for a in at),
                    *paired,
                    f"{1000 * seconds.mean():.1f}",
                ]
            )
            section.summary.append(
                f"{framework} {method}: c10_test of the incumbent after {checkpoints[-1]} trials "
                f"{mean_std(at[-1], 2)}, {1000 * seconds.mean():.1f} ms per trial"
            )
    section.blocks = [
        caption(
            rows="search methods, by framework (Optuna studies; Ray Tune searchers driven one "
            "trial at a time)",
            target="c10_test of the incumbent (the best trial so far by c10_valid, what each "
            "trial looks up), and FLASH minus the method, paired by seed, 95 % t-interval",
            split=f"NAS-Bench-201 CIFAR-10, all 15,625 cells; {budget} trials per search",
            seeds=f"{len(seed_list)} (from {seed_list.start}), mean ± std",
        ),
        table(
            [
                "framework",
                "method",
                *(f"after {c} trials" for c in checkpoints),
                *(f"FLASH − method, {c} trials" for c in checkpoints),
                "search time per trial (ms)",
            ],
            rows,
        ),
    ]
    with figure(output / "integrations.png", ncols=2, width=6.0) as (_fig, axes):
        for axis, (framework, methods) in zip(axes, runners.items()):
            ks = np.arange(1, budget + 1)
            for method in methods:
                mean = [
                    curves.select(
                        "test_accuracy", framework=framework, method=method, labels=k
                    ).mean()
                    for k in ks
                ]
                axis.plot(ks, mean, lw=2.2 if method == FLASH[framework] else 1.2, label=method)
            axis.axhline(best_cell, color="grey", ls=":", lw=1, label="best cell")
            axis.set_ylim(88.0, best_cell + 0.3)
            axis.set_xlabel("trials")
            axis.set_ylabel("c10_test of the incumbent (%)")
            axis.set_title(
                f"{'Optuna' if framework == 'optuna' else 'Ray Tune'}, mean of "
                f"{len(seed_list)} seeds"
            )
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8, loc="lower right")
    section.figures.append("integrations.png")
    section.results = results(curves, timing, checkpoints, budget)
    return section
