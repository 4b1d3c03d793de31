"""Part 5: hardware model fidelity, per device, from ``benchmarks/hw_calibration.py``.

That benchmark is run as it stands (its quick mode in the quick suite): the Pi-3B model's form
calibrated on 25 random architectures per seed and judged on all the others, beside latency =
c x FLOPs fitted on the same 25, for HW-NAS-Bench's published latencies (every cell with a
measurement, and the 9,445 set) and for this machine's own torch latency. This part only turns its
report into the suite's tables and CSVs.
"""

from __future__ import annotations

import numpy as np

from benchmarks import hw_calibration
from benchmarks.suite.report import Csv, Section, caption, mean_std, table


def run(*, seeds: int, quick: bool = False, **_: object) -> Section:
    report = hw_calibration.run(quick=quick, seeds=seeds)
    fits = Csv(
        "hardware_fidelity",
        ("device", "model", "n_rows", "seed", "spearman", "kendall", "mape", "within_10pct"),
    )
    for row in report.rows:
        for seed, fit in enumerate(row.fits):
            fits.add(
                row.target,
                row.model,
                row.rows,
                seed,
                fit.spearman,
                fit.kendall,
                fit.mape,
                fit.within_10pct,
            )
    timings = Csv("hardware_timing", ("what", "seconds"))
    for what, seconds in report.timings.items():
        timings.add(what, seconds)
    section = Section("hardware", "Hardware model fidelity", csvs=[fits, timings])
    section.blocks = [
        "From `benchmarks/hw_calibration.py`: each model calibrated on "
        f"{report.fit_samples} random architectures per seed (`flash_nas.cost.calibration`) and "
        "judged on every other architecture of its device's set; 'FLOPs alone' is latency = c x "
        "FLOPs with c fitted on the same rows. HW-NAS-Bench failures (-1) are excluded and "
        "counted in the device name.",
        caption(
            rows="devices (HW-NAS-Bench latency columns on NAS-Bench-201 and on the FBNet "
            "space; this machine's torch latency on sampled networks) x model",
            target="measured latency (ms)",
            split=f"{report.fit_samples} random architectures to calibrate, all others to judge",
            seeds=f"{report.seeds} calibration splits, mean ± std",
        ),
        table(
            ["device", "model", "held-out rows", "Spearman ρ", "Kendall τ", "MAPE", "within ±10 %"],
            [
                [
                    row.target,
                    row.model,
                    f"{row.rows:,}",
                    mean_std([f.spearman for f in row.fits]),
                    mean_std([f.kendall for f in row.fits]),
                    mean_std([f.mape for f in row.fits], 1, 100) + " %",
                    mean_std([f.within_10pct for f in row.fits], 1, 100) + " %",
                ]
                for row in report.rows
            ],
        ),
        caption(
            rows="NAS-Bench-201 cells with convs behind `none` edges",
            target="host latency of the torch module of the executed edges over that of the "
            "live edges; beside it the Pi-3B form's ratio, calibrated on the host",
            split="25 host-measured NAS-Bench-201 networks calibrate the form (seed 0)",
            seeds="one measurement (median of repeats) per cell",
        ),
        table(
            ["cell", "measured executed / live", "Pi-3B form calibrated on the host"],
            [[f"`{c}`", f"{m:.2f}", f"{p:.2f}"] for c, m, p in report.none_edges],
        ),
        caption(
            rows="timings the calibration benchmark takes",
            target="wall time (s)",
            split="none",
            seeds="as each line says (median of 5, or a mean per network)",
        ),
        table(["what", "seconds"], [[what, f"{s:.4g}"] for what, s in report.timings.items()]),
    ]
    by_device: dict[str, list[hw_calibration.Row]] = {}
    for row in report.rows:
        by_device.setdefault(row.target, []).append(row)
    for device, rows in by_device.items():
        if "(all" not in device:  # the 9,445 set says the same more cleanly
            section.summary.append(
                f"hardware, {device}: "
                + "; ".join(
                    f"{row.model} rho {mean_std([f.spearman for f in row.fits])}, MAPE "
                    f"{np.mean([f.mape for f in row.fits]):.1%}"
                    for row in rows
                )
            )
    return section
