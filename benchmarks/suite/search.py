"""Part 3: search on NAS-Bench-201 at equal label budgets, judged on test accuracy.

A label is one trained architecture: its CIFAR-10 validation accuracy (``c10_valid``) looked up
in the shipped table. Every method is judged by the CIFAR-10 test accuracy (``c10_test``) of
the architecture it returns, the standard NAS-Bench-201 protocol; the best test accuracy among
the architectures it looked at is recorded beside it.

* **FLASH** (:mod:`flash_nas.pipeline`, as ``benchmarks/search_nb201.py`` runs it): ``n``
  labels chosen stratified over NN-Degree, the predictor fitted on them, hierarchical SHGO on the
  predicted accuracy (objective ``acc``); it returns the search's pick, which is not trained, so
  it uses ``n`` labels. Run at each label count up to the budget.
* **Random search** and **regularized evolution** (:mod:`flash_nas.baselines`, population 10,
  tournament 3): their evaluator returns the true validation label, so each evaluation is one
  label; after ``k`` labels they return the best architecture by validation so far.
* **NNI's TPE and Evolution**, where NNI and ``benchmarks/nni_tuners.py`` are there: driven
  in-process by that module, one trial per label, with the same budget.

Wall time is the search itself: for FLASH the SHGO stages (from the search result) and the whole
pipeline (labels chosen, predictor fitted, space scored, searched); for the others the call.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import flash_nas
from benchmarks.suite.report import Csv, Section, caption, figure, mean_std, table
from flash_nas.adapter import Adapter
from flash_nas.baselines import random_search, regularized_evolution
from flash_nas.batch import GraphBatch
from flash_nas.evaluation import Evaluator
from flash_nas.objective import parse_objective
from flash_nas.pipeline import choose_labels, fit_predictor, run_search
from flash_nas.search import SearchResult
from flash_nas.tables import Table
from flash_nas_adapters.nasbench201 import load_shipped_table

LABELS, TRUTH = "c10_valid", "c10_test"
LABEL_COUNTS = (10, 25, 50, 100)
HEADLINE = 25
FEATURES = ["nn_degree"]


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

    table: Table
    valid: np.ndarray
    test: np.ndarray

    @classmethod
    def load(cls) -> Truth:
        table = load_shipped_table()
        order = np.argsort(table.indices)
        return cls(table, table.column(LABELS)[order], table.column(TRUTH)[order])


def traced_search(
    method: str,
    seed: int,
    adapter: Adapter,
    truth: Truth,
    search: Callable[[LabelEvaluator], SearchResult],
) -> Trace:
    """Run ``search`` with true labels; the evaluator's requests are the labels, in order."""
    evaluator = LabelEvaluator(adapter, truth.valid)
    started = time.perf_counter()
    search(evaluator)
    seconds = time.perf_counter() - started
    order = np.array([adapter.index(arch) for arch in evaluator.requested])
    return Trace(method, seed, list(truth.valid[order]), list(truth.test[order]), seconds)


def flash_rows(adapter: Adapter, truth: Truth, counts: Sequence[int], seed: int) -> list[tuple]:
    """FLASH at each label count: (labels, pick's test, best test seen, SHGO s, pipeline s)."""
    rows = []
    for count in counts:
        started = time.perf_counter()
        labels = choose_labels(adapter, truth.table, LABELS, n_labels=count, seed=seed)
        predictor = fit_predictor(adapter, labels, FEATURES)
        result, _ = run_search(adapter, predictor, FEATURES, parse_objective("acc"), None)
        total = time.perf_counter() - started
        seen = [adapter.index(arch) for arch in (*labels.archs, result.best.arch)]
        rows.append(
            (
                count,
                float(truth.test[seen[-1]]),
                float(truth.test[seen].max()),
                result.seconds,
                total,
            )
        )
    return rows


def nni_driver() -> tuple[Callable[[str, int, int], Trace] | None, str]:
    """A function running one NNI tuner for a seed and budget, or None and the reason."""
    if importlib.util.find_spec("nni") is None:
        return None, "NNI is not installed (pip install 'flash-nas[nni]')"
    try:
        from benchmarks import nni_tuners
    except ImportError as exc:
        return None, f"benchmarks/nni_tuners.py could not be imported ({exc})"
    space_file = nni_tuners.EXAMPLE / "search_space.json"
    if not space_file.is_file():
        return None, f"the NNI example's search space {space_file} is missing"
    import nni  # noqa: F401  (sets its logger to INFO; quieted below)

    logging.getLogger("nni").setLevel(logging.WARNING)
    space = json.loads(space_file.read_text())
    lookup = nni_tuners._lookup()

    def drive(name: str, seed: int, budget: int) -> Trace:
        tuner = nni_tuners.TUNERS[name](seed)
        reseed = None
        if name == "Evolution":

            def reseed(t: object) -> None:
                nni_tuners._reseed_evolution(t, seed)

        started = time.perf_counter()
        run = nni_tuners.drive(tuner, space, budget, lookup, reseed)
        seconds = time.perf_counter() - started
        return Trace(f"NNI {name}", seed, run.valid, run.test, seconds)

    return drive, ""


def run(*, output: Path, seeds: int, quick: bool = False, **_: object) -> Section:
    adapter = flash_nas.get_adapter("nasbench201")
    truth = Truth.load()
    budget = 50 if quick else max(LABEL_COUNTS)
    counts = [count for count in LABEL_COUNTS if count <= budget]
    relaxation = adapter.relaxation()
    searches: dict[str, Callable[[int], Callable[[LabelEvaluator], SearchResult]]] = {
        "random search": lambda seed: lambda ev: random_search(adapter, ev, budget, seed),
        "regularized evolution": lambda seed: (
            lambda ev: regularized_evolution(
                adapter, relaxation, ev, budget, seed, population=10, sample_size=3
            )
        ),
    }
    drive, nni_missing = nni_driver()
    curves = Csv(
        "search_curves", ("method", "seed", "labels", "test_accuracy", "best_test_accuracy")
    )
    times = Csv("search_time", ("method", "seed", "labels", "search_seconds", "total_seconds"))
    traces: list[Trace] = []
    for seed in range(seeds):
        for count, picked, best, search_s, total_s in flash_rows(adapter, truth, counts, seed):
            curves.add("FLASH", seed, count, picked, best)
            times.add("FLASH", seed, count, search_s, total_s)
        for method, make in searches.items():
            traces.append(traced_search(method, seed, adapter, truth, make(seed)))
        if drive is not None:
            traces += [drive(name, seed, budget) for name in ("TPE", "Evolution")]
    for trace in traces:
        incumbent, best = trace.curve()
        for labels, (picked, seen) in enumerate(zip(incumbent, best), start=1):
            curves.add(trace.method, trace.seed, labels, float(picked), float(seen))
        times.add(trace.method, trace.seed, len(trace.valid), trace.seconds, trace.seconds)
    section = Section("search", "Search on NAS-Bench-201 at equal label budgets")
    section.csvs = [curves, times]
    section.blocks = _markdown(curves, times, counts, seeds, truth, nni_missing)
    _plot(curves, counts, seeds, truth, output / "search.png")
    section.figures.append("search.png")
    for method in dict.fromkeys(curves.column("method")):
        values = curves.select("test_accuracy", method=method, labels=HEADLINE)
        section.summary.append(
            f"search, {HEADLINE} labels, {method}: test accuracy {mean_std(values, 2)} % "
            f"({seeds} seeds)"
        )
    return section


def _markdown(
    curves: Csv,
    times: Csv,
    counts: Sequence[int],
    seeds: int,
    truth: Truth,
    nni_missing: str,
) -> list[str]:
    methods = list(dict.fromkeys(curves.column("method")))
    blocks = [
        f"Labels are `{LABELS}` (one label = one trained architecture); every method is judged "
        f"by the `{TRUTH}` of the architecture it returns. Best cell in the space: "
        f"{truth.test.max():.2f} %. FLASH returns its search's pick (labels chosen stratified "
        "over NN-Degree, predictor on NN-Degree, hierarchical SHGO on predicted accuracy); "
        "random search and regularized evolution (`flash_nas.baselines`, population 10, "
        "tournament 3) and NNI's tuners return the best architecture by validation among those "
        "they labelled." + (f" NNI's tuners are left out: {nni_missing}." if nni_missing else "")
    ]
    for column, what in (
        ("test_accuracy", "test accuracy (%) of the returned architecture"),
        ("best_test_accuracy", "best test accuracy (%) among the labelled (FLASH: and its pick)"),
    ):
        blocks.append(
            caption(
                rows=f"methods; columns: label budget; cell: {what}",
                target=f"`{TRUTH}`",
                split=f"search on `{LABELS}`, judged on `{TRUTH}` (all 15,625 cells)",
                seeds=f"{seeds}, mean ± std",
            )
        )
        blocks.append(
            table(
                ["method", *(f"{count} labels" for count in counts)],
                [
                    [
                        method,
                        *(
                            mean_std(curves.select(column, method=method, labels=c), 2)
                            for c in counts
                        ),
                    ]
                    for method in methods
                ],
            )
        )
    blocks.append(
        caption(
            rows="methods at each label count they ran",
            target="wall time of the search (ms)",
            split="FLASH: SHGO stages / whole pipeline (labels chosen, predictor fitted, the "
            "15,625 cells scored, searched); others: one call for the whole budget, lookups "
            "included",
            seeds=f"{seeds}, mean ± std",
        )
    )
    rows = []
    for method in methods:
        for labels in dict.fromkeys(times.select("labels", method=method).astype(int)):
            where = {"method": method, "labels": labels}
            rows.append(
                [
                    method,
                    str(labels),
                    mean_std(times.select("search_seconds", **where), 1, 1e3),
                    mean_std(times.select("total_seconds", **where), 1, 1e3),
                ]
            )
    blocks.append(table(["method", "labels", "search (ms)", "whole run (ms)"], rows))
    return blocks


def _plot(curves: Csv, counts: Sequence[int], seeds: int, truth: Truth, path: Path) -> None:
    with figure(path, ncols=1, width=7.0) as (fig, axes):
        axis = axes[0]
        lowest = []
        for method in dict.fromkeys(curves.column("method")):
            labels = np.array(sorted(set(curves.select("labels", method=method).astype(int))))
            values = [curves.select("test_accuracy", method=method, labels=k) for k in labels]
            mean = np.array([v.mean() for v in values])
            std = np.array([v.std() for v in values])
            if method == "FLASH":
                axis.errorbar(labels, mean, std, fmt="o-", lw=2, capsize=3, label=method)
            else:
                (line,) = axis.plot(labels, mean, lw=1.2, label=method)
                axis.fill_between(
                    labels, mean - std, mean + std, color=line.get_color(), alpha=0.15
                )
            lowest.append(float((mean - std)[labels >= min(counts)].min()))
        axis.axhline(truth.test.max(), color="grey", ls=":", lw=1, label="best cell")
        axis.set_ylim(min(lowest) - 0.5, truth.test.max() + 0.3)
        axis.set_xlabel(f"labels used (trained architectures, `{LABELS}`)")
        axis.set_ylabel(f"{TRUTH} of the returned architecture (%)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="lower right")
        fig.suptitle(f"NAS-Bench-201 search, mean ± std over {seeds} seeds")
