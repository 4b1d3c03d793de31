"""Part 1, continued: training-free scores against accuracy on NAS-Bench-101, NAS-Bench-301 and
TransNAS-Bench-101 micro, beside the proxies published on the same rows.

* **NAS-Bench-101**: NAS-Lib's 500 cells, deduplicated to one row per isomorphism class of the
  pruned cell (the smallest ``idx``, 292 rows): the 500 hold only 292 distinct networks, and
  duplicates would count agreement twice. Target: ``val_accuracy`` (108 epochs, one training run).
* **NAS-Bench-301**: NAS-Lib's 500 cells; target: the v1.0 surrogate's ``val_accuracy`` (one noisy
  draw, not a trained result).
* **TransNAS-Bench-101 micro**: all 4,096 cells, and the 3,927 whose output is connected to the
  input; target: each of the 7 tasks' final validation metric. Every target is stored
  higher-is-better (room layout as the *negative* L2 loss, the SSIM tasks as SSIM), so a positive
  rho always means the score ranks the better architectures higher. Our scores come from the
  adapter with that task's head (NN-Degree does not depend on it; params and FLOPs only by a
  constant).

Published proxies (``benchmarks/data``, sources in its README): NAS-Lib's zero-cost proxies at
initialisation (NAS-Bench-Suite-Zero) for NB101 and NB301, its parameter and FLOP counts, and the
per-task Zen score for TransNAS. A score is compared on a row set only where it has a finite value
on every row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

import flash_nas
from benchmarks.suite.report import Csv, caption, table
from flash_nas import read_table, score_batch
from flash_nas_adapters.space_tables import TNB101_TASKS

DATA = Path(__file__).resolve().parent.parent / "data"
OURS = ("nn_degree", "nn_degree_computing", "nn_degree_neuron", "params", "flops")


@dataclass(frozen=True)
class Ranking:
    """Scores and one target on one row set of one space."""

    space: str
    target: str
    row_set: str
    description: str
    truth: np.ndarray
    scores: dict[tuple[str, str], np.ndarray]  # (score, source) -> values


def _published(file: str, order: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """Columns of a published file keyed by ``index``, in the order of ``order``."""
    published = read_table(DATA / file, arch_column="index", index_column=None)
    position = {int(index): row for row, index in enumerate(published.archs)}
    rows = [position[int(index)] for index in order]
    return {
        (name, "NAS-Lib (published)"): values[rows]
        for name, values in published.columns.items()
        if name != "iso_rep_idx"
    }


def _ours(space: str, texts: Sequence[str], **options: object) -> dict[tuple[str, str], np.ndarray]:
    adapter = flash_nas.get_adapter(space, **options)
    batch = adapter.batch([adapter.parse(text) for text in texts])
    values = score_batch(batch, list(OURS))
    return {(name, "flash-nas"): values[name] for name in OURS}


def nasbench101(quick: bool) -> list[Ranking]:
    adapter = flash_nas.get_adapter("nasbench101")
    accuracy = adapter.tables()["nb101"]()
    iso = read_table(DATA / "nb101_500_published.csv.gz", arch_column="index", index_column=None)
    representative = {int(i): int(r) for i, r in zip(iso.archs, iso.column("iso_rep_idx"))}
    keep = [row for row, idx in enumerate(accuracy.indices) if representative[int(idx)] == idx]
    keep = keep[:80] if quick else keep
    texts = [accuracy.archs[row] for row in keep]
    order = accuracy.indices[keep]
    scores = {**_ours("nasbench101", texts), **_published("nb101_500_published.csv.gz", order)}
    truth = accuracy.column("val_accuracy")[keep]
    description = f"one cell per isomorphism class of NAS-Lib's 500 ({len(keep)} rows)"
    return [Ranking("nasbench101", "val_accuracy", "iso_reps", description, truth, scores)]


def nasbench301(quick: bool) -> list[Ranking]:
    adapter = flash_nas.get_adapter("nasbench301")
    accuracy = adapter.tables()["nb301"]()
    count = 80 if quick else len(accuracy)
    texts = list(accuracy.archs[:count])
    published = _published("nb301_500_published.csv.gz", accuracy.indices[:count])
    scores = {**_ours("nasbench301", texts), **published}
    truth = accuracy.column("val_accuracy")[:count]
    description = f"NAS-Lib's {count} cells"
    return [Ranking("nasbench301", "val_accuracy", "all", description, truth, scores)]


def transnas101(quick: bool) -> list[Ranking]:
    adapter = flash_nas.get_adapter("transnas101-micro")
    accuracy = adapter.tables()["tnb101"]()
    texts = list(accuracy.archs)
    connected = ~adapter.cut_off([adapter.parse(text) for text in texts])
    zen = read_table(DATA / "tnb101_micro_zen.csv.gz", arch_column="index", index_column=None)
    position = {int(index): row for row, index in enumerate(zen.archs)}
    rows = [position[int(index)] for index in accuracy.indices]
    tasks = list(TNB101_TASKS)[:2] if quick else list(TNB101_TASKS)
    rankings = []
    for task in tasks:
        column = TNB101_TASKS[task][0]
        scores = {
            **_ours("transnas101-micro", texts, task=task),
            (f"zen_{task}", "NAS-Lib (published)"): zen.column(f"zen_{task}")[rows],
        }
        truth = accuracy.column(column)
        for key, mask, description in (
            ("all", np.ones(len(texts), dtype=bool), f"all {len(texts):,} cells"),
            ("connected", connected, f"the {int(connected.sum()):,} cells with a connected output"),
        ):
            rankings.append(
                Ranking(
                    "transnas101-micro",
                    column,
                    key,
                    description,
                    truth[mask],
                    {name: values[mask] for name, values in scores.items()},
                )
            )
    return rankings


def measure(quick: bool) -> tuple[Csv, list[Ranking]]:
    data = Csv(
        "ranking_spaces",
        ("space", "target", "row_set", "n_rows", "score", "source", "spearman", "kendall"),
    )
    rankings = [*nasbench101(quick), *nasbench301(quick), *transnas101(quick)]
    for ranking in rankings:
        for (name, source), values in ranking.scores.items():
            # Zen's stand-in for a failed score (-1e8) is a value, not a measurement.
            if not np.isfinite(values).all() or (values <= -1e7).any():
                continue
            data.add(
                ranking.space,
                ranking.target,
                ranking.row_set,
                len(ranking.truth),
                name,
                source,
                float(stats.spearmanr(values, ranking.truth).statistic),
                float(stats.kendalltau(values, ranking.truth).statistic),
            )
    return data, rankings


def blocks(data: Csv, rankings: Sequence[Ranking]) -> list[str]:
    out = [
        "## Other benchmarks: NAS-Bench-101, NAS-Bench-301, TransNAS-Bench-101 micro",
        "Spearman ρ and Kendall τ of each score against each table's target, every score on the "
        "same rows. All targets are stored higher-is-better (TransNAS room layout as a negative "
        "loss), so a positive ρ means the score ranks better architectures higher. NAS-Bench-101 "
        "is deduplicated by isomorphism class; Zen is left out where NAS-Lib stored its "
        "failure value (-1e8, the cells with a cut-off output).",
    ]
    for ranking in rankings:
        chosen = data.records(space=ranking.space, target=ranking.target, row_set=ranking.row_set)
        out.append(f"### {ranking.space}: `{ranking.target}`, {ranking.row_set}")
        out.append(
            caption(
                rows=ranking.description,
                target=f"`{ranking.target}` (higher is better as stored)",
                split="none (all rows scored)",
                seeds="none (deterministic)",
            )
        )
        out.append(
            table(
                ["score", "source", "Spearman ρ", "Kendall τ"],
                [
                    [r["score"], r["source"], f"{r['spearman']:.3f}", f"{r['kendall']:.3f}"]
                    for r in sorted(chosen, key=lambda r: -r["spearman"])
                ],
            )
        )
    return out


def summary(data: Csv) -> list[str]:
    lines = []
    keys = dict.fromkeys((r["space"], r["target"], r["row_set"]) for r in data.records())
    for space, target, row_set in keys:
        if row_set == "all" and space == "transnas101-micro":
            continue  # the connected rows say the same with Zen beside them
        chosen = data.records(space=space, target=target, row_set=row_set)
        best = max(chosen, key=lambda r: r["spearman"])
        degree = next(r["spearman"] for r in chosen if r["score"] == "nn_degree")
        lines.append(
            f"ranking, {space} {target} ({row_set}): nn_degree rho {degree:.3f}; best "
            f"{best['score']} ({best['source']}) {best['spearman']:.3f}"
        )
    return lines


def results(data: Csv) -> dict[str, dict[str, float]]:
    """For ``ranking.json``: per ``SPACE_TARGET_ROWSET``, each score's Spearman rho by
    ``SOURCE_SCORE`` and the best published proxy's as ``best_published``."""
    out: dict[str, dict[str, float]] = {}
    for record in data.records():
        key = _slug(f"{record['space']}_{record['target']}_{record['row_set']}")
        rows = out.setdefault(key, {})
        rows[_slug(f"{record['source']}_{record['score']}")] = record["spearman"]
        if record["source"] != "flash-nas":
            rows["best_published"] = max(rows.get("best_published", -1.0), record["spearman"])
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
