"""Part 6: the ``pi3b`` model on a real Raspberry Pi 3, from ``benchmarks/pi3_measured.py``.

That benchmark is run as it stands: 11 torchvision classifiers built by the ``torch`` adapter,
priced by ``pi3b`` (specifications only, and calibrated leave-one-network-out) against ncnn's
latencies on a Raspberry Pi 3 Model B+ at 1 and 4 threads, and single convolutions against TVM's
timings on the BCM2837. This part turns its report into the suite's tables and CSVs.
"""

from __future__ import annotations

from benchmarks import pi3_measured
from benchmarks.suite.report import Csv, Section, caption, table
from flash_nas.errors import MissingDependencyError
from flash_nas.train.torchvision_compat import import_torchvision


def run(*, seeds: int, quick: bool = False, **_: object) -> Section:
    try:
        import_torchvision()
    except MissingDependencyError as exc:  # its own extra, not in [all]: say so, run the rest
        section = Section("pi3", "The Raspberry Pi 3, measured")
        section.blocks = [f"Not run: {exc}"]
        section.summary = ["pi3: not run (torchvision is not installed)"]
        return section
    report = pi3_measured.run(quick=quick, seeds=seeds)
    networks = Csv(
        "pi3_networks",
        ("network", "torchvision", "threads", "measured_ms", "uncalibrated_ms", "calibrated_ms"),
    )
    for row in report.networks:
        for threads in pi3_measured.THREADS:
            networks.add(
                row["network"],
                row["torchvision"],
                threads,
                row[f"measured_{threads}"],
                row["uncalibrated"],
                row[f"calibrated_{threads}"],
            )
    quality = Csv("pi3_quality", ("what", "method", "threads", "spearman", "mape", "within_20pct"))
    for what, rows in (("networks", report.summaries), ("single convs", report.layers)):
        for summary in rows:
            quality.add(
                what,
                summary.method,
                summary.threads,
                summary.spearman,
                summary.mape,
                summary.within_20pct,
            )
    section = Section("pi3", "The Raspberry Pi 3, measured", csvs=[networks, quality])

    def summary_rows(rows: list[pi3_measured.Summary]) -> list[list[str]]:
        return [
            [
                s.method,
                str(s.threads),
                f"{s.spearman:.3f}",
                f"{s.mape:.1%}",
                f"{s.within_20pct:.0%}",
            ]
            for s in rows
        ]

    priced, total = report.layer_count
    section.blocks = [
        f"From `benchmarks/pi3_measured.py`. Device: {pi3_measured.DEVICE}; engine: "
        f"{pi3_measured.ENGINE}. Networks: torchvision's definitions through the `torch` adapter.",
        caption(
            rows="ways of predicting latency x thread count",
            target="ncnn's measured latency of 11 classifiers (ms, mean of 4 runs)",
            split="leave-one-network-out for the calibrated rows; none for the others",
            seeds="none (deterministic)",
        ),
        table(
            ["method", "threads", "Spearman ρ", "MAPE", "within ±20 %"],
            summary_rows(report.summaries),
        ),
        caption(
            rows=f"ways of predicting one conv's time ({priced} of {total} TVM workloads; the "
            "others have non-square kernels)",
            target="TVM AutoTVM's best-schedule time on the BCM2837 (ms)",
            split="the refit row: 25 random layers to fit, the others to judge",
            seeds=f"{report.seeds} for the refit row (mean), 0 = deterministic",
        ),
        table(
            ["method", "seeds", "Spearman ρ", "MAPE", "within ±20 %"], summary_rows(report.layers)
        ),
    ]
    for s in report.summaries:
        if "leave-one" in s.method or "specifications" in s.method:
            section.summary.append(
                f"pi3, {s.threads} threads, {s.method}: rho {s.spearman:.3f}, MAPE {s.mape:.1%}, "
                f"{s.within_20pct:.0%} within +-20 %"
            )
    return section
