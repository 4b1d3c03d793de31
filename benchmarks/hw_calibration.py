"""How well the analytical hardware models predict real devices after a 25-sample calibration.

Run: ``python -m benchmarks.hw_calibration`` (``--quick`` for a smoke run).

1. **HW-NAS-Bench devices**: the Pi-3B model's form (MACs per op kind, bytes, element-wise work,
   per-layer overhead) is refit on 25 randomly chosen NAS-Bench-201 cells of each published
   latency column and predicts the other 15,600, over 10 seeds: Spearman rho, MAPE and the share
   within +-10 %, beside FLOPs alone (latency = c x FLOPs, c fitted on the same 25 rows).
2. **HW-NAS-Bench's FBNet space**: the same 25-sample calibration on FBNet architectures
   (MobileNet-type blocks, CIFAR-100) for the Raspberry Pi 4, Pixel 3, Eyeriss and FPGA columns.
3. **This machine**: real torch inference (``host``) of 100 FLASH-space and 100 NAS-Bench-201
   architectures, then the same 25-sample calibration over 10 seeds.
4. **Speed**: evaluating an analytical model on all 15,625 cells, against the per-network time
   of measuring on the host (and of the ZigZag simulator where installed), in the same run.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np

import flash_nas
from benchmarks._common import machine, standard_main
from flash_nas.batch import GraphBatch
from flash_nas.calibration import Fit, calibrate, fit_quality
from flash_nas.hardware import LinearCostModel
from flash_nas.metrics import score_batch
from flash_nas_adapters.nasbench201 import load_shipped_table

HW_NAS_BENCH = {
    "raspi4_latency": "hwnasbench:raspi4",
    "edgegpu_latency": "hwnasbench:edgegpu",
    "pixel3_latency": "hwnasbench:pixel3",
    "eyeriss_latency": "hwnasbench:eyeriss",
    "fpga_latency": "hwnasbench:fpga",
    "edgetpu_latency": "hwnasbench:edgetpu",
}


@dataclass
class Row:
    """One target, one model: quality over seeds on the held-out rows."""

    target: str
    model: str
    rows: int
    fits: list[Fit]

    def mean_std(self, name: str) -> tuple[float, float]:
        values = [getattr(fit, name) for fit in self.fits]
        return float(np.mean(values)), float(np.std(values))


@dataclass
class Report:
    machine: str
    seeds: int
    fit_samples: int
    rows: list[Row] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            "## Analytical hardware models after a 25-sample calibration",
            "",
            f"Machine: {self.machine}. Fit on {self.fit_samples} random architectures, "
            f"quality on all the others, mean ± std over {self.seeds} seeds.",
            "",
            "| target | model | held-out rows | Spearman ρ | MAPE | within ±10 % |",
            "|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            rho, rho_sd = row.mean_std("spearman")
            mape, mape_sd = row.mean_std("mape")
            within, within_sd = row.mean_std("within_10pct")
            lines.append(
                f"| {row.target} | {row.model} | {row.rows:,} | {rho:.3f} ± {rho_sd:.3f} | "
                f"{mape:.1%} ± {mape_sd:.1%} | {within:.1%} ± {within_sd:.1%} |"
            )
        lines += ["", "| timing | value |", "|---|---|"]
        lines += [f"| {name} | {value:.4g} |" for name, value in self.timings.items()]
        return "\n".join(lines) + "\n"


def flops_baseline(flops: np.ndarray, measured: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """latency = c x FLOPs with c minimising the relative error on the fit rows."""
    # least squares of (c * f - y) / y: c = sum(f/y) / sum((f/y)^2)
    inverse = flops[fit_rows] / measured[fit_rows]
    scale = float(inverse.sum() / (inverse**2).sum())
    return scale * flops


def calibration_rows(
    target: str,
    model: LinearCostModel,
    batch: GraphBatch,
    measured: np.ndarray,
    *,
    seeds: int,
    fit_samples: int,
) -> list[Row]:
    """The model's and the FLOPs baseline's held-out quality over seeds."""
    flops = score_batch(batch, ["flops"])["flops"]
    ours, baseline = [], []
    for seed in range(seeds):
        profile = calibrate(
            model, batch, {"latency_ms": measured}, fit_samples=fit_samples, seed=seed
        )
        ours.append(profile.fit["latency_ms"])
        order = np.random.default_rng(seed).permutation(len(batch))  # calibrate's own split
        fit_rows, held_out = order[:fit_samples], order[fit_samples:]
        predicted = flops_baseline(flops, measured, fit_rows)
        baseline.append(fit_quality(predicted[held_out], measured[held_out]))
    held = len(batch) - fit_samples
    return [
        Row(target, f"{type(model).__name__} form", held, ours),
        Row(target, "FLOPs alone", held, baseline),
    ]


def hw_nas_bench(report: Report, *, quick: bool) -> None:
    """On every cell with a measurement, and on NAS-Bench-Suite-Zero's 9,445 (every op on an
    input-output path, so the network measured is the network modelled: for cells with dead
    parts the devices' converters may prune more than the cell, e.g. 0.01 ms on a Raspberry Pi).
    HW-NAS-Bench marks failed measurements with -1 (NaN here): they are left out, and counted."""
    nb201 = flash_nas.get_adapter("nasbench201")
    whole = nb201.enumerate()
    texts = np.array(whole.texts())
    subset = load_shipped_table().column("in_nbsuitezero_set").astype(bool)
    targets = list(HW_NAS_BENCH)[:2] if quick else list(HW_NAS_BENCH)
    for target in targets:
        measured = flash_nas.get_hardware(HW_NAS_BENCH[target]).estimate_batch(whole)["latency_ms"]
        present = np.isfinite(measured)
        for name, rows in (("all", present), ("9,445", present & subset)):
            failed = int((~present).sum() if name == "all" else (~present & subset).sum())
            label = f"{target} ({name}" + (f"; {failed} failed, excluded)" if failed else ")")
            batch = nb201.batch([nb201.parse(text) for text in texts[rows]])
            report.rows += calibration_rows(
                label,
                flash_nas.get_hardware("pi3b"),
                batch,
                measured[rows],
                seeds=report.seeds,
                fit_samples=report.fit_samples,
            )


def hw_nas_bench_fbnet(report: Report, *, quick: bool) -> None:
    """HW-NAS-Bench's FBNet space (CIFAR-100): HELP's 5,000 sampled architectures, the latency
    columns of the four devices shipped with ``hwnasbench-fbnet`` (1,000 architectures and two
    devices in the quick mode)."""
    from flash_nas_hardware.hwnasbench_fbnet import DEVICES, load_fbnet_latencies

    fbnet = flash_nas.get_adapter("fbnet")
    table = load_fbnet_latencies()
    count = 1000 if quick else len(table)
    batch = fbnet.batch([fbnet.parse(text) for text in table.archs[:count]])
    for device in DEVICES[:2] if quick else DEVICES:
        report.rows += calibration_rows(
            f"FBNet {device}_latency ({count:,} archs)",
            flash_nas.get_hardware("pi3b"),
            batch,
            table.column(f"{device}_latency_ms")[:count],
            seeds=report.seeds,
            fit_samples=report.fit_samples,
        )


def host_measurements(report: Report, *, quick: bool) -> None:
    count = 30 if quick else 100
    host = flash_nas.get_hardware("host", repeats=3 if quick else 10)
    for name in ("flash", "nasbench201"):
        batch = flash_nas.get_adapter(name).sample(count, seed=0)
        started = time.perf_counter()
        measured = np.array(
            [host.estimate(g)["latency_ms"] for g in batch.iter_graphs(progress=True)]
        )
        report.timings[f"host: measuring one {name} network (s)"] = (
            time.perf_counter() - started
        ) / count
        report.rows += calibration_rows(
            f"host latency, {name} ({count} nets)",
            flash_nas.get_hardware("pi3b"),
            batch,
            measured,
            seeds=report.seeds,
            fit_samples=report.fit_samples,
        )


def model_speed(report: Report) -> None:
    whole = flash_nas.get_adapter("nasbench201").enumerate()
    for name in ("pi3b", "imc"):
        if name not in flash_nas.hardware_names():
            continue
        model = flash_nas.get_hardware(name)
        model.estimate_batch(whole)  # warm the per-pattern tables, as a long-lived process would
        times = []
        for _ in range(5):
            started = time.perf_counter()
            model.estimate_batch(whole)
            times.append(time.perf_counter() - started)
        report.timings[f"{name}: all 15,625 NB201 cells (s, median of 5)"] = statistics.median(
            times
        )


def run(*, quick: bool = False, seeds: int | None = None) -> Report:
    report = Report(machine(), seeds or (3 if quick else 10), 25)
    model_speed(report)
    hw_nas_bench(report, quick=quick)
    hw_nas_bench_fbnet(report, quick=quick)
    host_measurements(report, quick=quick)
    return report


def main() -> None:
    standard_main(__doc__, run)


if __name__ == "__main__":
    main()
