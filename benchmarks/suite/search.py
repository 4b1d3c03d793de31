"""Part 4: search on NAS-Bench-201 at equal label budgets, judged on test accuracy.

A label is one trained architecture: its CIFAR-10 validation accuracy (``c10_valid``) looked up
in the shipped table. Every method is judged by the CIFAR-10 test accuracy (``c10_test``) of
the architecture it recommends (the standard NAS-Bench-201 protocol), after the same number of
labels, over the same seeds:

* **FLASH-BO** (the engine's default method ``bo``, :mod:`flash_nas.search.engine`): asked one
  architecture at a time, told its label; recommends the best measured architecture. Exactly
  what ``flash-nas search --space nasbench201 --objective acc --labels-from cifar10:c10_valid
  --budget N --seed S`` runs.
* **FLASH (paper)** (method ``flash``): ``n`` labels chosen up front, stratified over
  NN-Degree, the NN-Degree predictor and hierarchical SHGO; recommends the search's pick, which
  is not trained (``--n-labels n --method flash``). Run at several ``n``.
* **Random search**, **regularized evolution** (population 10, tournament 3) and
  **differential evolution** (:mod:`flash_nas.search.baselines`), and NNI's **TPE**,
  **Evolution** and **Random** tuners where NNI is installed: each recommends the best
  architecture by validation among those it labelled.

Beside accuracy: the Spearman rho of each FLASH model's predictions against ``c10_test`` on the
architectures it did not label, the time per ``ask`` and the paired difference between
FLASH-BO and every other method (95 % t-interval). The engine's settings were chosen on seeds
100-119 (``--first-seed 100``); the report's seeds start at 0.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

import flash_nas
from benchmarks.suite.report import Csv, Section, caption, figure, mean_std, table
from flash_nas.graph.batch import GraphBatch
from flash_nas.plugins.adapter import Adapter
from flash_nas.search.baselines import (
    differential_evolution_search,
    random_search,
    regularized_evolution,
)
from flash_nas.search.engine import SearchEngine
from flash_nas.search.evaluation import Evaluator
from flash_nas.search.objective import parse_objective
from flash_nas.search.shgo import SearchResult
from flash_nas_adapters.nasbench201.space import load_shipped_table

LABELS, TRUTH = "c10_valid", "c10_test"
BUDGET = 25
FLASH_COUNTS = (10, 15, 20, 25)
BO = "FLASH-BO (bo)"
PAPER = "FLASH (paper, flash)"
#: Each method's name in the part's results file (``search.json``).
KEYS = {
    BO: "bo",
    PAPER: "flash",
    "random search": "random",
    "regularized evolution": "regularized_evolution",
    "differential evolution": "differential_evolution",
    "NNI TPE": "nni_tpe",
    "NNI Evolution": "nni_evolution",
    "NNI Random": "nni_random",
}


class LabelEvaluator(Evaluator):
    """An evaluator whose accuracy is the true label of each architecture (a table lookup)."""

    def __init__(self, adapter: Adapter, labels: np.ndarray) -> None:
        super().__init__(adapter, parse_objective("acc"), None, [])
        self.labels = labels

    def columns(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        return {"accuracy": self.labels[batch.indices()]}


@dataclass
class Trace:
    """A method that labels one architecture at a time, on one seed: the validation and test
    accuracy of each architecture it labelled, in order, and its wall time."""

    method: str
    seed: int
    valid: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """After each label: test accuracy of the best by validation, and the best test."""
        valid, test = np.array(self.valid), np.array(self.test)
        best = [int(np.argmax(valid[: k + 1])) for k in range(len(valid))]
        return test[best], np.maximum.accumulate(test)


@dataclass
class Truth:
    """The shipped table's labels and test accuracies, by official index."""

    valid: np.ndarray
    test: np.ndarray

    @classmethod
    def load(cls) -> Truth:
        table = load_shipped_table()
        order = np.argsort(table.indices)
        return cls(table.column(LABELS)[order], table.column(TRUTH)[order])


def _rho(engine: SearchEngine, adapter: Adapter, truth: Truth) -> float:
    """Spearman rho of the engine's predictions against the test accuracy, unlabelled rows."""
    whole = [adapter.parse(text) for text in adapter.enumerate().texts()]
    index = np.array([adapter.index(arch) for arch in whole])
    labelled = {adapter.index(t.arch) for t in engine.trials.values()}
    keep = np.array([i not in labelled for i in index])
    predicted, _ = engine.predict([a for a, k in zip(whole, keep) if k])
    return float(stats.spearmanr(predicted, truth.test[index[keep]]).statistic)


def bo_trace(adapter: Adapter, truth: Truth, seed: int, budget: int) -> tuple[Trace, float, list]:
    """FLASH-BO asked and told one label at a time: the trace, its rho, the time per ask."""
    started = time.perf_counter()
    engine = SearchEngine("nasbench201", objective="acc", seed=seed)
    trace, asks = Trace(BO, seed), []
    for _ in range(budget):
        before = time.perf_counter()
        (proposal,) = engine.ask(1)
        if proposal.source == "model":  # the design's asks are look-ups
            asks.append(time.perf_counter() - before)
        index = adapter.index(proposal.arch)
        engine.tell([proposal.arch], [float(truth.valid[index])])
        trace.valid.append(float(truth.valid[index]))
        trace.test.append(float(truth.test[index]))
    trace.seconds = time.perf_counter() - started
    recommended = adapter.index(engine.recommend().arch)
    assert truth.test[recommended] == trace.curve()[0][-1]  # the engine recommends the best seen
    return trace, _rho(engine, adapter, truth), asks


def paper_rows(adapter: Adapter, truth: Truth, seed: int, counts: tuple[int, ...]) -> list[tuple]:
    """FLASH as published at each label count: (labels, pick's test, best test seen, s, rho)."""
    rows = []
    for count in counts:
        started = time.perf_counter()
        engine = SearchEngine(
            "nasbench201", objective="acc", method="flash", initial_samples=count, seed=seed
        )
        proposals = engine.ask(count)
        engine.tell(
            [p.arch for p in proposals],
            [float(truth.valid[adapter.index(p.arch)]) for p in proposals],
        )
        pick = adapter.index(engine.recommend().arch)
        seconds = time.perf_counter() - started
        seen = [adapter.index(p.arch) for p in proposals] + [pick]
        rho = _rho(engine, adapter, truth) if count == max(counts) else float("nan")
        rows.append((count, float(truth.test[pick]), float(truth.test[seen].max()), seconds, rho))
    return rows


def traced(method: str, seed: int, adapter: Adapter, truth: Truth,
           search: Callable[[LabelEvaluator], SearchResult]) -> Trace:
    """Run a baseline with true labels; the evaluator's requests are the labels, in order."""
    evaluator = LabelEvaluator(adapter, truth.valid)
    started = time.perf_counter()
    search(evaluator)
    seconds = time.perf_counter() - started
    order = np.array([adapter.index(arch) for arch in evaluator.requested])
    return Trace(method, seed, list(truth.valid[order]), list(truth.test[order]), seconds)


def nni_driver() -> tuple[Callable[[str, int, int], Trace] | None, str]:
    """A function running one NNI tuner for a seed and budget, or None and the reason."""
    if importlib.util.find_spec("nni") is None:
        return None, "NNI is not installed (pip install 'flash-nas[nni]')"
    import nni  # noqa: F401  (sets its logger to INFO; quieted below)

    from benchmarks.suite import nni_tuners

    logging.getLogger("nni").setLevel(logging.WARNING)
    space = json.loads((nni_tuners.EXAMPLE / "search_space.json").read_text())
    lookup = nni_tuners._lookup()

    def drive(name: str, seed: int, budget: int) -> Trace:
        tuner = nni_tuners.TUNERS[name](seed)
        reseed = None
        if name == "Evolution":

            def reseed(t: object) -> None:
                nni_tuners._reseed_evolution(t, seed)

        started = time.perf_counter()
        run = nni_tuners.drive(tuner, space, budget, lookup, reseed)
        return Trace(f"NNI {name}", seed, run.valid, run.test, time.perf_counter() - started)

    return drive, ""


def run(
    *, output: Path, seeds: int, quick: bool = False, first_seed: int = 0, **_: object
) -> Section:
    adapter = flash_nas.get_adapter("nasbench201")
    truth = Truth.load()
    budget = 12 if quick else BUDGET
    counts = (*(c for c in FLASH_COUNTS if c < budget), budget)
    relaxation = adapter.relaxation()
    baselines: dict[str, Callable[[int], Callable[[LabelEvaluator], SearchResult]]] = {
        "random search": lambda s: lambda ev: random_search(adapter, ev, budget, s),
        "regularized evolution": lambda s: lambda ev: regularized_evolution(
            adapter, relaxation, ev, budget, s, population=10, sample_size=3
        ),
        "differential evolution": lambda s: lambda ev: differential_evolution_search(
            relaxation, ev, budget, s
        ),
    }
    drive, nni_missing = nni_driver()
    curves = Csv(
        "search_curves", ("method", "seed", "labels", "test_accuracy", "best_test_accuracy")
    )
    extra = Csv("search_models", ("method", "seed", "labels", "spearman", "seconds"))
    asks: list[float] = []
    traces: list[Trace] = []
    seed_list = range(first_seed, first_seed + seeds)
    for seed in seed_list:
        trace, rho, ask_seconds = bo_trace(adapter, truth, seed, budget)
        traces.append(trace)
        asks += ask_seconds
        extra.add(BO, seed, budget, rho, trace.seconds)
        for count, picked, best, seconds, rho in paper_rows(adapter, truth, seed, counts):
            curves.add(PAPER, seed, count, picked, best)
            if count == budget:
                extra.add(PAPER, seed, count, rho, seconds)
        for method, make in baselines.items():
            traces.append(traced(method, seed, adapter, truth, make(seed)))
        if drive is not None:
            traces += [drive(name, seed, budget) for name in ("TPE", "Evolution", "Random")]
    for trace in traces:
        incumbent, best = trace.curve()
        for labels, (picked, seen) in enumerate(zip(incumbent, best), start=1):
            curves.add(trace.method, trace.seed, labels, float(picked), float(seen))
    section = Section("search", "Search on NAS-Bench-201 at equal label budgets")
    section.csvs = [curves, extra]
    section.blocks = _markdown(curves, extra, asks, budget, counts, seed_list, truth, nni_missing)
    _plot(curves, budget, len(seed_list), truth, output / "search.png")
    section.figures.append("search.png")
    for method in dict.fromkeys(curves.column("method")):
        values = curves.select("test_accuracy", method=method, labels=budget)
        section.summary.append(
            f"search, {budget} labels, {method}: test accuracy {mean_std(values, 2)} % "
            f"({len(seed_list)} seeds)"
        )
    rho = extra.select("spearman", method=BO, labels=budget)
    section.summary.append(f"search, {BO} predictor Spearman rho {mean_std(rho, 3)}")
    section.results = _results(curves, extra, asks, budget, truth)
    return section


def _spread(values: np.ndarray) -> list[float]:
    """``[mean, std]`` (population std), as :func:`mean_std` prints them."""
    return [float(values.mean()), float(values.std())]


def _results(
    curves: Csv, extra: Csv, asks: list[float], budget: int, truth: Truth
) -> dict[str, object]:
    """The part's headline numbers by name (``search.json``): per method, the recommended and
    the best labelled test accuracy and FLASH-BO's paired lead; the models' rho."""
    methods: dict[str, object] = {}
    for method in dict.fromkeys(curves.column("method")):
        methods[KEYS[method]] = {
            "test": _spread(curves.select("test_accuracy", method=method, labels=budget)),
            "best": _spread(curves.select("best_test_accuracy", method=method, labels=budget)),
            "paired": None if method == BO else _interval(curves, method, budget),
        }
    return {
        "labels": budget,
        "best_cell": float(truth.test.max()),
        "top_1pct": float(np.quantile(truth.test, 0.99)),
        "methods": methods,
        "spearman": {
            KEYS[method]: _spread(extra.select("spearman", method=method, labels=budget))
            for method in (BO, PAPER)
        },
        "ask_median_ms": float(np.median(asks)) * 1e3 if asks else None,  # all from the design
    }


def _interval(curves: Csv, method: str, budget: int) -> list[float]:
    """FLASH-BO minus ``method``, paired by seed: ``[mean, low, high]`` of its 95 % t-interval
    (``[mean]`` alone from one seed)."""
    ours = curves.select("test_accuracy", method=BO, labels=budget)
    theirs = curves.select("test_accuracy", method=method, labels=budget)
    difference = ours - theirs
    mean = float(difference.mean())
    if len(difference) < 2:
        return [mean]
    half = stats.t.ppf(0.975, len(difference) - 1) * difference.std(ddof=1)
    half /= np.sqrt(len(difference))
    return [mean, float(mean - half), float(mean + half)]


def _paired(curves: Csv, method: str, budget: int) -> str:
    numbers = _interval(curves, method, budget)
    if len(numbers) == 1:
        return f"{numbers[0]:+.2f}"
    mean, low, high = numbers
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def _markdown(
    curves: Csv,
    extra: Csv,
    asks: list[float],
    budget: int,
    counts: tuple[int, ...],
    seeds: range,
    truth: Truth,
    nni_missing: str,
) -> list[str]:
    methods = list(dict.fromkeys(curves.column("method")))
    seeds_text = f"{len(seeds)} (seeds {seeds.start}-{seeds.stop - 1}), mean ± std"
    blocks = [
        f"Labels are `{LABELS}` (one label = one trained architecture); every method is judged "
        f"by the `{TRUTH}` of the architecture it recommends. Best cell in the space: "
        f"{truth.test.max():.2f} %; the top 1 % starts at "
        f"{np.quantile(truth.test, 0.99):.2f} %."
        + (f" NNI's tuners are left out: {nni_missing}." if nni_missing else ""),
        caption(
            rows="methods",
            target=f"`{TRUTH}` of the recommended architecture (%), and the best among the "
            f"labelled; FLASH-BO minus the method, paired by seed, 95 % t-interval",
            split=f"{budget} labels from `{LABELS}`; all 15,625 cells",
            seeds=seeds_text,
        ),
    ]
    rows = []
    for method in methods:
        rows.append(
            [
                method,
                mean_std(curves.select("test_accuracy", method=method, labels=budget), 2),
                mean_std(curves.select("best_test_accuracy", method=method, labels=budget), 2),
                "" if method == BO else _paired(curves, method, budget),
            ]
        )
    blocks.append(
        table(["method", "recommended (%)", "best labelled (%)", "FLASH-BO minus it"], rows)
    )
    blocks.append(
        caption(
            rows="FLASH's two methods",
            target=f"Spearman rho of the model's predictions against `{TRUTH}` on the "
            "unlabelled cells (cut-off cells at chance); wall time of a whole search",
            split=f"{budget} labels",
            seeds=seeds_text,
        )
    )
    blocks.append(
        table(
            ["method", "Spearman rho", "whole search (s)"],
            [
                [
                    method,
                    mean_std(extra.select("spearman", method=method, labels=budget), 3),
                    mean_std(extra.select("seconds", method=method, labels=budget), 2),
                ]
                for method in (BO, PAPER)
            ],
        )
    )
    asked = np.array(asks)
    blocks.append(
        f"Time per `ask` of FLASH-BO chosen by the model (fit, predictions for all 15,625 "
        f"cells, expected improvement; the machine's other load included): median "
        f"{np.median(asked) * 1e3:.0f} ms, 95th percentile "
        f"{np.quantile(asked, 0.95) * 1e3:.0f} ms, slowest {asked.max() * 1e3:.0f} ms."
    )
    blocks.append(
        caption(
            rows="methods; columns: labels used",
            target=f"`{TRUTH}` of the recommended architecture (%)",
            split=f"search on `{LABELS}`",
            seeds=seeds_text,
        )
    )
    shown = [c for c in (5, 10, 15, 20, 25, 30) if c <= budget]
    blocks.append(
        table(
            ["method", *(f"{c}" for c in shown)],
            [
                [
                    method,
                    *(
                        mean_std(curves.select("test_accuracy", method=method, labels=c), 2)
                        if len(curves.select("test_accuracy", method=method, labels=c))
                        else "–"
                        for c in shown
                    ),
                ]
                for method in methods
            ],
        )
    )
    return blocks


def _plot(curves: Csv, budget: int, seeds: int, truth: Truth, path: Path) -> None:
    with figure(path, ncols=1, width=7.0) as (fig, axes):
        axis = axes[0]
        for method in dict.fromkeys(curves.column("method")):
            labels = np.array(sorted(set(curves.select("labels", method=method).astype(int))))
            values = [curves.select("test_accuracy", method=method, labels=k) for k in labels]
            mean = np.array([v.mean() for v in values])
            std = np.array([v.std() for v in values])
            if method == PAPER:
                axis.errorbar(labels, mean, std, fmt="s--", lw=1.5, capsize=3, label=method)
            else:
                width = 2.4 if method == BO else 1.2
                (line,) = axis.plot(labels, mean, lw=width, label=method)
                axis.fill_between(
                    labels, mean - std, mean + std, color=line.get_color(), alpha=0.12
                )
        axis.axhline(truth.test.max(), color="grey", ls=":", lw=1, label="best cell")
        axis.set_ylim(90.0, truth.test.max() + 0.3)
        axis.set_xlim(1, budget)
        axis.set_xlabel(f"labels used (trained architectures, `{LABELS}`)")
        axis.set_ylabel(f"{TRUTH} of the recommended architecture (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="lower right")
        fig.suptitle(f"NAS-Bench-201 search, mean ± std over {seeds} seeds")
