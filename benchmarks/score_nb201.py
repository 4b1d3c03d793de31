"""Score the whole NAS-Bench-201 space with every metric: speed, memory and ranking quality.

Run: ``python -m benchmarks.score_nb201`` (``--quick`` for a fast smoke run).

1. Speed: the batched path (one skeleton, array operations) against one graph at a time, in the
   same run, as time per architecture and as a ratio. Goal: NN-Degree, params and FLOPs of all
   15,625 cells in under 50 ms with under 100 MB of memory.
2. Quality: Spearman rho and Kendall tau of every metric against CIFAR-10 test accuracy
   (200 epochs, ``c10_test``) on all 15,625 cells and on NAS-Bench-Suite-Zero's 9,445, beside the
   published zero-cost proxies on the same rows (data shipped in ``benchmarks/data``, see its
   README for sources).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

import flash_nas
from flash_nas import read_table, score, score_batch
from flash_nas_adapters.nasbench201 import load_shipped_table

DATA = Path(__file__).resolve().parent / "data"
FAST_METRICS = ("nn_degree", "params", "flops")


@dataclass
class Report:
    """Everything the benchmark measured, for printing and for tests."""

    machine: str
    batched_ms: float = 0.0
    batched_repeats: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    per_graph_ms: float = 0.0
    per_graph_sample: int = 0
    per_metric_ms: dict[str, float] = field(default_factory=dict)
    ranking: list[tuple[str, str, int, float, float]] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        return self.per_graph_ms * 15625 / self.batched_ms

    def markdown(self) -> str:
        lines = [
            "## Scoring all 15,625 NAS-Bench-201 cells",
            "",
            f"Machine: {self.machine}.",
            "",
            "| path | metrics | time for the whole space | per architecture |",
            "|---|---|---|---|",
            f"| batched (median of {len(self.batched_repeats)}, min {min(self.batched_repeats):.1f}"
            f" ms, max {max(self.batched_repeats):.1f} ms) | {', '.join(FAST_METRICS)} | "
            f"{self.batched_ms:.1f} ms | {self.batched_ms / 15625 * 1e3:.2f} µs |",
            f"| one graph at a time ({self.per_graph_sample} cells, extrapolated) | "
            f"{', '.join(FAST_METRICS)} | {self.per_graph_ms * 15625 / 1e3:.1f} s | "
            f"{self.per_graph_ms * 1e3:.0f} µs |",
            "",
            f"Batched is {self.speedup:,.0f}x faster; peak memory of the batched run (tracemalloc, "
            f"numpy included): {self.peak_mb:.1f} MB. Goal: < 50 ms and < 100 MB.",
            "",
            "| metric | batched time, whole space |",
            "|---|---|",
            *[f"| {name} | {ms:.1f} ms |" for name, ms in self.per_metric_ms.items()],
            "",
            "## Ranking against CIFAR-10 test accuracy (200 epochs, `c10_test`)",
            "",
            "| score | source | rows | Spearman ρ | Kendall τ |",
            "|---|---|---|---|---|",
            *[
                f"| {name} | {source} | {rows:,} | {rho:.3f} | {tau:.3f} |"
                for name, source, rows, rho, tau in self.ranking
            ],
        ]
        return "\n".join(lines) + "\n"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    cores = os.cpu_count()
    return f"{cpu}, {cores} cores, Python {platform.python_version()}, numpy {np.__version__}"


def measure_speed(report: Report, *, repeats: int, sample: int) -> None:
    space = flash_nas.get_adapter("nasbench201")
    whole = space.enumerate()
    score_batch(whole, FAST_METRICS)  # warm the skeleton's caches, as a long-lived process would
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        score_batch(whole, FAST_METRICS)
        times.append((time.perf_counter() - start) * 1e3)
    report.batched_repeats = times
    report.batched_ms = statistics.median(times)
    tracemalloc.start()
    score_batch(space.enumerate(), FAST_METRICS)
    report.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    for name in flash_nas.METRICS:
        start = time.perf_counter()
        score_batch(whole, [name])
        report.per_metric_ms[name] = (time.perf_counter() - start) * 1e3
    positions = np.random.default_rng(0).choice(len(whole), size=sample, replace=False)
    start = time.perf_counter()
    for position in positions:
        score(whole.graph(int(position)), FAST_METRICS)
    report.per_graph_ms = (time.perf_counter() - start) * 1e3 / sample
    report.per_graph_sample = sample


def _rank(values: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    rho = stats.spearmanr(values, target).statistic
    tau = stats.kendalltau(values, target).statistic
    return float(rho), float(tau)


def measure_ranking(report: Report) -> None:
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
        raise SystemExit(
            "benchmarks/data: the NAS-Bench-Suite-Zero rows do not match the 9,445 set"
        )
    for rows_name, mask in (("all", np.ones_like(subset)), ("9,445", subset)):
        for name, values in ours.items():
            report.ranking.append(
                (
                    name,
                    f"flash-nas ({rows_name})",
                    int(mask.sum()),
                    *_rank(values[mask], target[mask]),
                )
            )
        for name in ("naswot", "logsynflow"):
            values = freerea.column(name)
            report.ranking.append(
                (
                    name,
                    f"FreeREA ({rows_name})",
                    int(mask.sum()),
                    *_rank(values[mask], target[mask]),
                )
            )
    for name in suite.columns:
        report.ranking.append(
            (
                name,
                "NB-Suite-Zero (9,445)",
                len(suite_rows),
                *_rank(suite.column(name), target[suite_rows]),
            )
        )


def run(*, quick: bool = False) -> Report:
    report = Report(machine=_machine())
    measure_speed(report, repeats=3 if quick else 20, sample=50 if quick else 500)
    measure_ranking(report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats, small per-graph sample")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    report = run(quick=args.quick)
    text = report.markdown()
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)


if __name__ == "__main__":
    main()
