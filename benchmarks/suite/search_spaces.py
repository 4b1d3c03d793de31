"""Part 4b: the same search on every benchmark with labels, at the same budget.

Each space is searched through its adapter and its shipped table only, with no special case:
NAS-Bench-201 (CIFAR-10, all 15,625 cells), NAS-Bench-101 (the 500 sampled cells as the
candidate pool), and TransNAS-Bench-101 micro on each classification task (all 4,096 cells).
Methods at ``budget`` labels: FLASH-BO (the engine's default method, asked one label at a time),
FLASH as published (``budget`` labels up front, stratified over NN-Degree, NN-Degree predictor,
hierarchical SHGO), and random search (``budget`` random candidates). Each recommends one
architecture; it is judged by its label (NAS-Bench-201: by ``c10_test``, the labels being
``c10_valid``). Reported: mean ± std over seeds, and the regret against the best label of the
candidate pool.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import flash_nas
from benchmarks.suite.report import Csv, Section, caption, mean_std, table
from flash_nas.io.tables import Table
from flash_nas.search.engine import AdapterDomain, ListDomain, SearchEngine

BUDGET = 25


@dataclass(frozen=True)
class Target:
    """One space and the label a search on it learns from."""

    name: str
    space: str
    options: dict[str, str]
    table: str
    label: str
    judge: str  # the column the recommendation is judged by
    pool_from_table: bool = False


TARGETS = (
    Target("NAS-Bench-201, CIFAR-10", "nasbench201", {}, "cifar10", "c10_valid", "c10_test"),
    Target(
        "NAS-Bench-101 (500 cells)",
        "nasbench101",
        {},
        "nb101",
        "val_accuracy",
        "val_accuracy",
        pool_from_table=True,
    ),
    *(
        Target(
            f"TransNAS-Bench-101 micro, {task}",
            "transnas101-micro",
            {"task": task},
            "tnb101",
            column,
            column,
        )
        for task, column in (
            ("class_scene", "class_scene_valid_top1"),
            ("class_object", "class_object_valid_top1"),
            ("jigsaw", "jigsaw_valid_top1"),
        )
    ),
)

#: Each space's name in the part's results file (``search_spaces.json``).
SPACE_KEYS = {
    "NAS-Bench-201, CIFAR-10": "nasbench201",
    "NAS-Bench-101 (500 cells)": "nasbench101",
    "TransNAS-Bench-101 micro, class_scene": "transnas101_class_scene",
    "TransNAS-Bench-101 micro, class_object": "transnas101_class_object",
    "TransNAS-Bench-101 micro, jigsaw": "transnas101_jigsaw",
}
#: Each method's name in the results file.
METHOD_KEYS = {"FLASH-BO (bo)": "bo", "FLASH (paper, flash)": "flash", "random search": "random"}


def _values(table: Table, column: str) -> dict[str, float]:
    return dict(zip(table.archs, table.column(column).tolist()))


def _engine(target: Target, domain, table: Table, method: str, seed: int, budget: int):  # type: ignore[no-untyped-def]
    initial = budget if method == "flash" else None
    return SearchEngine(
        domain.adapter,
        objective="acc",
        method=method,
        initial_samples=initial,
        label_scale=table.scale(target.label),
        seed=seed,
        domain=domain,
    )


def _run_target(target: Target, seeds: range, budget: int, rows: Csv) -> float:
    adapter = flash_nas.get_adapter(target.space, **target.options)
    table = adapter.tables()[target.table]()
    labels, judge = _values(table, target.label), _values(table, target.judge)
    if target.pool_from_table:
        domain = ListDomain(adapter, [adapter.parse(text) for text in table.archs])
    else:
        domain = AdapterDomain(adapter)
    pool = domain.enumerate() or []
    texts = [adapter.format(a) for a in pool]
    best = max(judge[t] for t in texts if t in judge)
    for seed in seeds:
        engine = _engine(target, domain, table, "bo", seed, budget)
        for _ in range(budget):
            (proposal,) = engine.ask(1)
            engine.tell([proposal.arch], [labels[proposal.text]])
        rows.add(target.name, "FLASH-BO (bo)", seed, judge[engine.recommend().text], best)
        engine = _engine(target, domain, table, "flash", seed, budget)
        proposals = engine.ask(budget)
        engine.tell([p.arch for p in proposals], [labels[p.text] for p in proposals])
        rows.add(target.name, "FLASH (paper, flash)", seed, judge[engine.recommend().text], best)
        rng = np.random.default_rng(seed)
        picked: list[Hashable] = [texts[k] for k in rng.choice(len(texts), budget, replace=False)]
        chosen = max(picked, key=lambda t: labels[t])
        rows.add(target.name, "random search", seed, judge[chosen], best)
    return best


def _cell(rows: Csv, space: str, method: str, best: float) -> str:
    values = rows.select("judged_accuracy", space=space, method=method)
    return f"{mean_std(values, 2)} ({best - values.mean():.2f})"


def results(rows: Csv, bests: dict[str, float], budget: int) -> dict[str, object]:
    """The part's headline numbers by name (``search_spaces.json``), as its table prints them:
    per space (:data:`SPACE_KEYS`) the pool's best, and per method (:data:`METHOD_KEYS`) the
    judged label ``test`` ([mean, std]), the ``regret`` to the pool's best (of the mean) and
    both as a table cell prints them, ``test_regret`` ([mean, std, regret])."""
    spaces: dict[str, object] = {}
    for name, best in bests.items():
        found: dict[str, object] = {"pool_best": best}
        for method in dict.fromkeys(rows.column("method")):
            values = rows.select("judged_accuracy", space=name, method=method)
            mean, std, regret = float(values.mean()), float(values.std()), best - values.mean()
            found[METHOD_KEYS[method]] = {
                "test": [mean, std],
                "regret": float(regret),
                "test_regret": [mean, std, float(regret)],
            }
        spaces[SPACE_KEYS[name]] = found
    return {"labels": budget, "spaces": spaces}


def run(
    *, output: Path, seeds: int, quick: bool = False, first_seed: int = 0, **_: object
) -> Section:
    budget = 12 if quick else BUDGET
    seed_list = range(first_seed, first_seed + seeds)
    rows = Csv("search_spaces", ("space", "method", "seed", "judged_accuracy", "best_accuracy"))
    bests = {target.name: _run_target(target, seed_list, budget, rows) for target in TARGETS}
    methods = list(dict.fromkeys(rows.column("method")))
    section = Section("search_spaces", "The same search on every benchmark with labels")
    section.csvs = [rows]
    section.blocks = [
        caption(
            rows="spaces; columns: methods",
            target="label of the recommended architecture (NAS-Bench-201: its c10_test, the "
            "search reading c10_valid), and in brackets the regret to the pool's best",
            split=f"{budget} labels per search; the pool: every cell (NB201, TransNAS), the "
            "table's 500 cells (NB101)",
            seeds=f"{len(seed_list)} (from {seed_list.start}), mean ± std",
        ),
        table(
            ["space", "pool's best", *methods],
            [
                [
                    name,
                    f"{bests[name]:.2f}",
                    *(_cell(rows, name, m, bests[name]) for m in methods),
                ]
                for name in bests
            ],
        ),
    ]
    for name in bests:
        for method in methods:
            values = rows.select("judged_accuracy", space=name, method=method)
            section.summary.append(
                f"search on {name}, {budget} labels, {method}: {mean_std(values, 2)}"
            )
    section.results = results(rows, bests, budget)
    return section
