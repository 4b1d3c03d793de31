"""Part 2: scoring the whole NAS-Bench-201 space with every metric: speed, memory, ranking.

1. Speed: the batched path (one skeleton, array operations) against one graph at a time, in the
   same run, as time per architecture and as a ratio. Goal: NN-Degree, params and FLOPs of all
   15,625 cells in under 50 ms with under 100 MB of memory (tracemalloc, numpy included).
2. Quality: Spearman rho and Kendall tau of every metric against CIFAR-10 test accuracy
   (200 epochs, ``c10_test``) on all 15,625 cells and on NAS-Bench-Suite-Zero's 9,445, beside the
   published zero-cost proxies on the same rows (data shipped in ``benchmarks/data``, see its
   README for sources). :mod:`.ranking` ranks the same scores against every target and row set.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

import flash_nas
from benchmarks.suite.report import Csv, Section, caption, table
from flash_nas import read_table, score, score_batch
from flash_nas_adapters.nasbench201.space import load_shipped_table

DATA = Path(__file__).resolve().parents[1] / "data"
FAST_METRICS = ("nn_degree", "params", "flops")
SPACE_SIZE = 15625


@dataclass
class Scoring:
    """What the part measured."""

    batched_repeats: list[float] = field(default_factory=list)  # ms per whole-space run
    peak_mb: float = 0.0
    per_graph_ms: float = 0.0
    per_graph_sample: int = 0
    per_metric_ms: dict[str, float] = field(default_factory=dict)
    #: (score, source, rows, Spearman rho, Kendall tau)
    ranking: list[tuple[str, str, int, float, float]] = field(default_factory=list)

    @property
    def batched_ms(self) -> float:
        return statistics.median(self.batched_repeats)

    @property
    def speedup(self) -> float:
        return self.per_graph_ms * SPACE_SIZE / self.batched_ms


def measure_speed(found: Scoring, *, repeats: int, sample: int) -> None:
    space = flash_nas.get_adapter("nasbench201")
    whole = space.enumerate()
    score_batch(whole, FAST_METRICS)  # warm the skeleton's caches, as a long-lived process would
    for _ in range(repeats):
        start = time.perf_counter()
        score_batch(whole, FAST_METRICS)
        found.batched_repeats.append((time.perf_counter() - start) * 1e3)
    tracemalloc.start()
    score_batch(space.enumerate(), FAST_METRICS)
    found.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    for name in flash_nas.METRICS:
        start = time.perf_counter()
        score_batch(whole, [name])
        found.per_metric_ms[name] = (time.perf_counter() - start) * 1e3
    positions = np.random.default_rng(0).choice(len(whole), size=sample, replace=False)
    start = time.perf_counter()
    for position in positions:
        score(whole.graph(int(position)), FAST_METRICS)
    found.per_graph_ms = (time.perf_counter() - start) * 1e3 / sample
    found.per_graph_sample = sample


def _rank(values: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    rho = stats.spearmanr(values, target).statistic
    tau = stats.kendalltau(values, target).statistic
    return float(rho), float(tau)


def measure_ranking(found: Scoring) -> None:
    table = load_shipped_table()
    target = table.column("c10_test")
    subset = table.column("in_nbsuitezero_set").astype(bool)
    ours = score_batch(flash_nas.get_adapter("nasbench201").enumerate(), list(flash_nas.METRICS))
    freerea = read_table(
        DATA / "nb201_c10_freerea_proxies.csv.gz", arch_column="index", index_column=None
    )
    suite = read_table(
        DATA / "nb201_c10_nbsuitezero_proxies.csv.gz", arch_column="index", index_column=None
    )
    suite_rows = np.array([int(i) for i in suite.archs])
    if not np.array_equal(np.sort(suite_rows), np.flatnonzero(subset)):
        raise flash_nas.FlashNasError(
            "benchmarks/data: the NAS-Bench-Suite-Zero rows do not match the 9,445 set"
        )
    for rows_name, mask in (("all", np.ones_like(subset)), ("9,445", subset)):
        for name, values in ours.items():
            found.ranking.append(
                (
                    name,
                    f"flash-nas ({rows_name})",
                    int(mask.sum()),
                    *_rank(values[mask], target[mask]),
                )
            )
        for name in ("naswot", "logsynflow"):
            values = freerea.column(name)
            found.ranking.append(
                (
                    name,
                    f"FreeREA ({rows_name})",
                    int(mask.sum()),
                    *_rank(values[mask], target[mask]),
                )
            )
    for name in suite.columns:
        found.ranking.append(
            (
                name,
                "NB-Suite-Zero (9,445)",
                len(suite_rows),
                *_rank(suite.column(name), target[suite_rows]),
            )
        )


def measure(quick: bool) -> Scoring:
    found = Scoring()
    measure_speed(found, repeats=3 if quick else 20, sample=50 if quick else 500)
    measure_ranking(found)
    return found


def run(*, quick: bool = False, **_: object) -> Section:
    found = measure(quick)
    speed = Csv("scoring_speed", ("path", "metrics", "n_archs", "repeat", "seconds"))
    fast = ",".join(FAST_METRICS)
    for repeat, ms in enumerate(found.batched_repeats):
        speed.add("batched", fast, SPACE_SIZE, repeat, ms / 1e3)
    speed.add(
        "one graph at a time",
        fast,
        found.per_graph_sample,
        0,
        found.per_graph_ms * found.per_graph_sample / 1e3,
    )
    for name, ms in found.per_metric_ms.items():
        speed.add("batched", name, SPACE_SIZE, 0, ms / 1e3)
    memory = Csv("scoring_memory", ("path", "metrics", "n_archs", "peak_mb"))
    memory.add("batched", fast, SPACE_SIZE, found.peak_mb)
    ranking = Csv("scoring_ranking", ("score", "source", "n_rows", "spearman", "kendall"))
    for row in found.ranking:
        ranking.add(*row)
    section = Section("scoring", "Scoring all of NAS-Bench-201", csvs=[speed, memory, ranking])
    repeats = found.batched_repeats
    section.blocks = [
        "The batched path (one skeleton, array operations) against one graph at a time, in the "
        "same run; the batched run after one warm-up, as a long-lived process would. Goal: "
        f"{', '.join(FAST_METRICS)} of all {SPACE_SIZE:,} cells in under 50 ms with under 100 MB.",
        caption(
            rows="ways of scoring NN-Degree, params and FLOPs",
            target="wall time (one graph at a time: extrapolated from a uniform sample)",
            split="none",
            seeds=f"median of {len(repeats)} batched runs; one run of the sample",
        ),
        table(
            ["path", "metrics", "time for the whole space", "per architecture"],
            [
                [
                    f"batched (median of {len(repeats)}, min {min(repeats):.1f} ms, max "
                    f"{max(repeats):.1f} ms)",
                    ", ".join(FAST_METRICS),
                    f"{found.batched_ms:.1f} ms",
                    f"{found.batched_ms / SPACE_SIZE * 1e3:.2f} µs",
                ],
                [
                    f"one graph at a time ({found.per_graph_sample} cells, extrapolated)",
                    ", ".join(FAST_METRICS),
                    f"{found.per_graph_ms * SPACE_SIZE / 1e3:.1f} s",
                    f"{found.per_graph_ms * 1e3:.0f} µs",
                ],
            ],
        ),
        f"Batched is {found.speedup:,.0f}x faster; peak memory of the batched run (tracemalloc, "
        f"numpy included): {found.peak_mb:.1f} MB. Goal: < 50 ms and < 100 MB.",
        caption(
            rows="every metric, alone",
            target="wall time of one batched run over the whole space",
            split="none",
            seeds="one run each",
        ),
        table(
            ["metric", "batched time, whole space"],
            [[name, f"{ms:.1f} ms"] for name, ms in found.per_metric_ms.items()],
        ),
        caption(
            rows="scores (flash-nas's metrics computed here; published proxies as shipped)",
            target="CIFAR-10 test accuracy (200 epochs, `c10_test`)",
            split="all 15,625 cells, and NAS-Bench-Suite-Zero's 9,445",
            seeds="none (deterministic)",
        ),
        table(
            ["score", "source", "rows", "Spearman ρ", "Kendall τ"],
            [
                [name, source, f"{rows:,}", f"{rho:.3f}", f"{tau:.3f}"]
                for name, source, rows, rho, tau in found.ranking
            ],
        ),
    ]
    section.summary.append(
        f"scoring: {', '.join(FAST_METRICS)} of all {SPACE_SIZE:,} NAS-Bench-201 cells in "
        f"{found.batched_ms:.1f} ms batched ({found.speedup:,.0f}x one graph at a time), "
        f"{found.peak_mb:.1f} MB peak"
    )
    section.results = results(found)
    return section


def results(found: Scoring) -> dict[str, object]:
    """The part's headline numbers by name (``scoring.json``), as its report prints them: the
    batched time for the whole space (ms: median, and [fastest, slowest] of the repeats), per
    architecture (µs), one graph at a time (µs per architecture, over ``per_graph_sample``
    cells), the speed-up, the peak memory (MB) and each metric's batched time alone (ms)."""
    repeats = found.batched_repeats
    return {
        "n_archs": SPACE_SIZE,
        "repeats": len(repeats),
        "batched_ms": found.batched_ms,
        "batched_range_ms": [min(repeats), max(repeats)],
        "batched_us_per_arch": found.batched_ms / SPACE_SIZE * 1e3,
        "per_graph_us": found.per_graph_ms * 1e3,
        "per_graph_sample": found.per_graph_sample,
        "speedup": found.speedup,
        "peak_mb": found.peak_mb,
        "per_metric_ms": dict(found.per_metric_ms),
    }
