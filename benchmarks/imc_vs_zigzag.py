"""The fast IMC model against the ZigZag simulator it stands in for.

Run: ``python -m benchmarks.imc_vs_zigzag`` (``--quick`` for a smoke run). ZigZag results are
cached on disk (``--cache``, default ``results/zigzag-cache``), so a rerun is fast.

For each ZigZag in-memory-computing description (``aimc``, ``dimc``) and each space (NAS-Bench-201,
FLASH's), simulate ``25 + N`` sampled architectures (less those that execute nothing),
calibrate ``imc``'s matching preset (``imc:aimc`` for ``zigzag:aimc``: one 128 x 128 macro that
every layer is time-multiplexed onto, see :mod:`flash_nas_hardware.imc`) on 25 of them and
predict the other N: Spearman rho, MAPE and
the share within +-10 % for latency and energy, over seeds of the 25/N split. Also the time per
network of the simulator (with how many layer shapes it had to simulate, the rest coming from
the cache) against the analytical models on all 15,625 NAS-Bench-201 cells.

``--lpf-limit`` sets the depth of ZigZag's loop-order search (default: the plugin's, 4 on IMC;
ZigZag's own default is 6). Area is not compared: both models report the area of one fixed
accelerator, the same for every network, so there is no ranking to check.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import flash_nas
from benchmarks._common import executing
from flash_nas.cost.calibration import calibrate
from flash_nas.cost.profile import Fit


@dataclass
class Report:
    machine: str
    held_out: int
    seeds: int
    lpf_limit: int | None = None
    rows: list[tuple[str, str, str, list[Fit]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def markdown(self) -> str:
        lines = [
            "## The fast `imc` model calibrated on 25 ZigZag runs",
            "",
            f"Machine: {self.machine}. Calibrated on 25 simulated architectures, quality on "
            f"{self.held_out} others, mean ± std over {self.seeds} splits. `imc:aimc` and "
            f"`imc:dimc` (one shared array; per layer the memory schedule moving fewer "
            f"off-chip bytes) against ZigZag "
            f"`lpf_limit` {self.lpf_limit or 'default (4 on IMC)'}.",
            "",
            "Area is one constant per accelerator in both models (a fixed macro): equal after "
            "calibration, with nothing to rank, so it is not listed.",
            "",
            "| ZigZag hardware | space | quantity | Spearman ρ | MAPE | within ±10 % |",
            "|---|---|---|---|---|---|",
        ]
        for hardware, space, quantity, fits in self.rows:

            def stat(name: str, fits: list[Fit] = fits) -> tuple[float, float]:
                values = [getattr(fit, name) for fit in fits]
                return float(np.mean(values)), float(np.std(values))

            (rho, rho_sd), (mape, mape_sd), (within, within_sd) = (
                stat("spearman"),
                stat("mape"),
                stat("within_10pct"),
            )
            lines.append(
                f"| {hardware} | {space} | {quantity} | {rho:.3f} ± {rho_sd:.3f} | "
                f"{mape:.1%} ± {mape_sd:.1%} | {within:.1%} ± {within_sd:.1%} |"
            )
        lines += ["", "| timing | seconds |", "|---|---|"]
        lines += [f"| {name} | {value:.4g} |" for name, value in self.timings.items()]
        return "\n".join(lines) + "\n"


def run(
    *,
    quick: bool = False,
    cache: Path | None = None,
    seeds: int | None = None,
    lpf_limit: int | None = None,
    processes: int = 1,
) -> Report:
    held_out = 15 if quick else 100
    report = Report(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        held_out,
        seeds or (2 if quick else 5),
        lpf_limit,
    )
    whole = flash_nas.get_adapter("nasbench201").enumerate()
    for name in ("imc", "imc:aimc"):
        model = flash_nas.get_hardware(name)
        model.estimate_batch(whole)
        started = time.perf_counter()
        model.estimate_batch(whole)
        report.timings[f"{name}: all 15,625 NB201 cells"] = time.perf_counter() - started
    for variant in ("aimc", "dimc"):
        simulator = flash_nas.get_hardware(
            f"zigzag:{variant}",
            cache_dir=str(cache) if cache else None,
            lpf_limit=lpf_limit,
            processes=processes,
        )
        for space in ("nasbench201", "flash"):
            sample = flash_nas.get_adapter(space).sample(25 + held_out, seed=1)
            batch = executing(sample)
            shapes = {
                layer.key() for graph in batch.iter_graphs() for layer in simulator.workload(graph)
            }
            fresh = len(shapes - _cached(simulator.cache_file))
            started = time.perf_counter()
            simulated = simulator.estimate_batch(batch)
            label = (
                f"zigzag:{variant}, {space}: per network ({fresh}/{len(shapes)} shapes simulated)"
            )
            report.timings[label] = (time.perf_counter() - started) / len(batch)
            imc = flash_nas.get_hardware(f"imc:{variant}")
            for quantity in ("latency_ms", "energy_mj"):
                fits = [
                    calibrate(
                        imc, batch, {quantity: simulated[quantity]}, fit_samples=25, seed=seed
                    ).fit[quantity]
                    for seed in range(report.seeds)
                ]
                report.rows.append((variant, space, quantity, fits))
    return report


def _cached(path: Path | None) -> set[str]:
    """Keys of the layers already in a ZigZag disk cache file."""
    if path is None or not path.is_file():
        return set()
    return set(json.loads(path.read_text())["layers"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int)
    parser.add_argument("--cache", type=Path, default=Path("results/zigzag-cache"))
    parser.add_argument("--output", type=Path)
    parser.add_argument("--lpf-limit", type=int, help="ZigZag's loop-order search depth")
    parser.add_argument("--processes", type=int, default=1, help="ZigZag simulator processes")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    text = run(
        quick=args.quick,
        cache=args.cache,
        seeds=args.seeds,
        lpf_limit=args.lpf_limit,
        processes=args.processes,
    ).markdown()
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)


if __name__ == "__main__":
    main()
