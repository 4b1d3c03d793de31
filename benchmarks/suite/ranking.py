"""Part 1: training-free scores against accuracy on all of NAS-Bench-201, on the same rows (and
on NAS-Bench-101, NAS-Bench-301 and TransNAS-Bench-101 micro: :mod:`.ranking_spaces`).

Scores: flash-nas's NN-Degree (channel and neuron level), NN-Mass, params and FLOPs, computed
here on all 15,625 cells, beside the published zero-cost proxies shipped in ``benchmarks/data``
(FreeREA's NASWOT and logSynflow on every cell; NAS-Bench-Suite-Zero's 13 on its 9,445). Targets:
every accuracy column of the shipped table and of each ``--table`` (see :mod:`.targets`). Row
sets, all read from the shipped table: every cell; NAS-Bench-Suite-Zero's 9,445 (every op on an
input-output path); one representative per isomorphism class (``iso_rep_index``). A score is
compared on a row set only where it has a value on every row of it.

Per (target, row set, score): Spearman rho, Kendall tau (scipy's tau-b), and the mean target
accuracy of the top-1 and top-10 architectures by the score (higher score = better, as each
score is published). Ties at the cut share the remaining places, which gives the expected value
when ties are broken at random.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

import flash_nas
from benchmarks.suite import ranking_spaces
from benchmarks.suite.report import Csv, Section, caption, figure, table
from benchmarks.suite.scoring import DATA
from benchmarks.suite.targets import TargetTable, load_targets
from flash_nas import read_table, score_batch
from flash_nas_adapters.nasbench201.space import load_shipped_table, shipped_table_path

OURS = ("nn_degree", "nn_degree_computing", "nn_degree_neuron", "nn_mass", "params", "flops")
PUBLISHED = (
    ("nb201_c10_freerea_proxies.csv.gz", "FreeREA"),
    ("nb201_c10_nbsuitezero_proxies.csv.gz", "NB-Suite-Zero"),
)
TOP = (1, 10)


@dataclass(frozen=True)
class Score:
    """One score per official index; NaN where it was not published."""

    name: str
    source: str
    values: np.ndarray


@dataclass(frozen=True)
class RowSet:
    key: str
    description: str
    mask: np.ndarray


def our_scores() -> list[Score]:
    whole = flash_nas.get_adapter("nasbench201").enumerate()  # official index order
    values = score_batch(whole, list(OURS))
    return [Score(name, "flash-nas", values[name]) for name in OURS]


def published_scores(size: int) -> list[Score]:
    """The proxies shipped in ``benchmarks/data``, aligned to the official index."""
    scores = []
    for file, source in PUBLISHED:
        published = read_table(DATA / file, arch_column="index", index_column=None)
        rows = np.array([int(index) for index in published.archs])
        for name, column in published.columns.items():
            values = np.full(size, np.nan)
            values[rows] = column
            scores.append(Score(name, source, values))
    return scores


def row_sets() -> list[RowSet]:
    shipped = load_shipped_table()
    size = len(shipped)
    order = np.argsort(shipped.indices)  # rows in official index order

    def column(name: str) -> np.ndarray:
        return shipped.column(name)[order]

    subset = column("in_nbsuitezero_set").astype(bool)
    representative = column("iso_rep_index").astype(np.int64) == np.arange(size)
    return [
        RowSet("all", f"all {size:,} cells", np.ones(size, dtype=bool)),
        RowSet(
            "nbsuitezero",
            f"NAS-Bench-Suite-Zero's {subset.sum():,} cells (every op on an input-output path)",
            subset,
        ),
        RowSet(
            "iso_reps",
            f"one cell per isomorphism class ({representative.sum():,}, the smallest index)",
            representative,
        ),
    ]


def top_k_accuracy(score: np.ndarray, accuracy: np.ndarray, k: int) -> float:
    """Mean accuracy of the ``k`` highest-scoring architectures; the architectures tied at the
    cut share its remaining places (the expectation under random tie-breaking)."""
    kth = np.sort(score)[::-1][k - 1]
    above = score > kth
    tied = score == kth
    return float((accuracy[above].sum() + (k - above.sum()) * accuracy[tied].mean()) / k)


def measure(
    tables: Sequence[TargetTable], scores: Sequence[Score], sets: Sequence[RowSet]
) -> tuple[Csv, list[str]]:
    data = Csv(
        "ranking",
        (
            "target",
            "table",
            "row_set",
            "n_rows",
            "score",
            "source",
            "spearman",
            "kendall",
            "top1_accuracy",
            "top10_accuracy",
        ),
    )
    pairs = [(rows, score) for rows in sets for score in scores]
    complete = [not np.isnan(score.values[rows.mask]).any() for rows, score in pairs]
    usable = [pair for pair, ok in zip(pairs, complete) if ok]
    missing: dict[tuple[str, str], int] = {}
    for (rows, score), ok in zip(pairs, complete):
        if not ok:
            missing[score.source, rows.description] = (
                missing.get((score.source, rows.description), 0) + 1
            )
    skipped = [f"{count} {source} score(s) on {rows}" for (source, rows), count in missing.items()]
    for target_table in tables:
        for target in target_table.targets:
            for rows, score in usable:
                truth = target.values[rows.mask]
                values = score.values[rows.mask]
                data.add(
                    target.column,
                    target.table,
                    rows.key,
                    int(rows.mask.sum()),
                    score.name,
                    score.source,
                    float(stats.spearmanr(values, truth).statistic),
                    float(stats.kendalltau(values, truth).statistic),
                    *(top_k_accuracy(values, truth, k) for k in TOP),
                )
    return data, skipped


def _markdown(
    data: Csv, tables: Sequence[TargetTable], sets: Sequence[RowSet], skipped: list[str]
) -> list[str]:
    intro = (
        "Training-free scores against accuracy on NAS-Bench-201, every score on the same rows. "
        "flash-nas's scores are computed here; FreeREA's and NAS-Bench-Suite-Zero's are the "
        "published values shipped in `benchmarks/data` (sources in its README). Top-1 / top-10: "
        "mean target accuracy (%) of the 1 / 10 architectures with the highest score (ties at "
        "the cut share its places: the expectation under random tie-breaking)."
    )
    if skipped:
        intro += (
            f" Not compared, for want of a value on every row of the set: {', '.join(skipped)}."
        )
    blocks = [
        intro,
        "Target tables: "
        + "; ".join(
            f"`{Path(t.path).name if n == 0 else t.path}`{' (shipped)' if n == 0 else ''}: "
            f"targets {', '.join(x.column for x in t.targets)}, other columns ignored: "
            f"{', '.join(t.ignored) or 'none'}"
            for n, t in enumerate(tables)
        )
        + ".",
    ]
    for target_table in tables:
        for target in target_table.targets:
            blocks.append(f"### Target `{target.column}` ({target.table})")
            for row_set in sets:
                truth = target.values[row_set.mask]
                best = np.sort(truth)[::-1]
                blocks.append(
                    caption(
                        rows=row_set.description,
                        target=f"`{target.column}` of `{target.table}` (%)",
                        split=f"{target.meaning}; best possible top-1 {best[0]:.2f}, top-10 "
                        f"{best[:10].mean():.2f}, mean of the set {truth.mean():.2f}",
                        seeds="none (deterministic)",
                    )
                )
                chosen = data.records(target=target.column, table=target.table, row_set=row_set.key)
                blocks.append(
                    table(
                        ["score", "source", "Spearman ρ", "Kendall τ", "top-1 (%)", "top-10 (%)"],
                        [
                            [
                                r["score"],
                                r["source"],
                                f"{r['spearman']:.3f}",
                                f"{r['kendall']:.3f}",
                                f"{r['top1_accuracy']:.2f}",
                                f"{r['top10_accuracy']:.2f}",
                            ]
                            for r in sorted(chosen, key=lambda r: -r["spearman"])
                        ],
                    )
                )
    return blocks


def _plot(data: Csv, tables: Sequence[TargetTable], sets: Sequence[RowSet], path: Path) -> None:
    targets = [target for target_table in tables for target in target_table.targets]
    labels = list(dict.fromkeys(f"{r['score']} ({r['source']})" for r in data.records()))
    height = 0.8 / len(sets)
    with figure(path, ncols=len(targets), width=5.5) as (fig, axes):
        for axis, target in zip(axes, targets):
            for offset, row_set in enumerate(sets):
                rho = {
                    f"{r['score']} ({r['source']})": r["spearman"]
                    for r in data.records(
                        target=target.column, table=target.table, row_set=row_set.key
                    )
                }
                shown = [position for position, label in enumerate(labels) if label in rho]
                axis.barh(
                    [position + offset * height for position in shown],
                    [rho[labels[position]] for position in shown],
                    height,
                    label=row_set.key,
                )
            axis.set_yticks(np.arange(len(labels)) + 0.4 - height / 2, labels, fontsize=6)
            axis.invert_yaxis()
            axis.axvline(0, color="grey", lw=0.8)
            axis.set_xlabel("Spearman ρ")
            axis.set_title(f"{target.column} ({target.table})", fontsize=9)
        fig.legend(*axes[0].get_legend_handles_labels(), loc="upper right", ncol=len(sets))
        fig.suptitle(
            "NAS-Bench-201: rank correlation with accuracy (deterministic, no seeds)", x=0.3
        )


def run(
    *, output: Path, tables: Sequence[str | Path] = (), quick: bool = False, **_: object
) -> Section:
    adapter = flash_nas.get_adapter("nasbench201")
    target_tables = [load_targets(path, adapter) for path in (shipped_table_path(), *tables)]
    sets = row_sets()
    scores = [*our_scores(), *published_scores(adapter.size())]
    data, skipped = measure(target_tables, scores, sets)
    others, rankings = ranking_spaces.measure(quick)
    section = Section("ranking", "Training-free ranking on NAS-Bench-201", csvs=[data, others])
    section.blocks = _markdown(data, target_tables, sets, skipped)
    section.blocks += ranking_spaces.blocks(others, rankings)
    _plot(data, target_tables, sets, output / "ranking.png")
    section.figures.append("ranking.png")
    headline = max(sets, key=lambda rows: len(data.records(row_set=rows.key)))  # most scores
    for target_table in target_tables:
        for target in target_table.targets:
            chosen = data.records(target=target.column, table=target.table, row_set=headline.key)
            best = sorted(chosen, key=lambda r: -r["spearman"])[:3]
            degree = next(r["spearman"] for r in chosen if r["score"] == "nn_degree")
            section.summary.append(
                f"ranking, {target.column} ({target.table}), {headline.key} rows: nn_degree rho "
                f"{degree:.3f}; best: "
                + ", ".join(f"{r['score']} ({r['source']}) {r['spearman']:.3f}" for r in best)
            )
    section.summary += ranking_spaces.summary(others)
    section.results = _results(data, target_tables[0])
    section.results["spaces"] = ranking_spaces.results(others)
    return section


def slug(text: str) -> str:
    """A name as a results key: lower case, anything but letters and digits as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _results(data: Csv, shipped: TargetTable) -> dict[str, object]:
    """``ranking.json``: per target of the shipped table, per score (``SOURCE_SCORE``), per row
    set, ``[spearman, kendall]``."""
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    for record in data.records(table=shipped.targets[0].table):
        scores = results.setdefault(record["target"], {})
        key = slug(f"{record['source']}_{record['score']}")
        scores.setdefault(key, {})[record["row_set"]] = [record["spearman"], record["kendall"]]
    return results
