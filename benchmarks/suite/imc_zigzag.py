"""Part 10: the fast IMC model against the ZigZag simulator it stands in for.

Run: ``python -m benchmarks --suite imc_zigzag`` (``--quick`` for a smoke run; not in ``all``, as
a cold simulator cache costs seconds per network). ZigZag results are cached on disk
(``--zigzag-cache``, default ``zigzag-cache`` in the output folder), so a rerun is fast.

For each ZigZag in-memory-computing description (``aimc``, ``dimc``) and each space (NAS-Bench-201,
FLASH's), simulate ``25 + N`` sampled architectures (less those that execute nothing),
calibrate ``imc``'s matching preset (``imc:aimc`` for ``zigzag:aimc``: one 128 x 128 macro that
every layer is time-multiplexed onto, see :mod:`flash_nas_hardware.imc.model`) on 25 of them and
predict the other N: Spearman rho, MAPE and
the share within +-10 % for latency and energy, over seeds of the 25/N split. Also the time per
network of the simulator (with how many layer shapes it had to simulate, the rest coming from
the cache) against the analytical models on all 15,625 NAS-Bench-201 cells.

``--lpf-limit`` sets the depth of ZigZag's loop-order search (default: the plugin's, 4 on IMC;
ZigZag's own default is 6). Area is not compared: both models report the area of one fixed
accelerator, the same for every network, so there is no ranking to check.
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import flash_nas
from benchmarks._common import executing
from benchmarks.suite.options import Option, positive_int
from benchmarks.suite.report import Csv, Section, caption, mean_std, table
from flash_nas.cost.calibration import calibrate
from flash_nas.cost.profile import Fit

OPTIONS = (
    Option(
        "--zigzag-cache",
        "cache",
        "folder of ZigZag's per-layer result cache (default: zigzag-cache in --output)",
        type=Path,
        metavar="DIR",
    ),
    Option(
        "--lpf-limit",
        "lpf_limit",
        "depth of ZigZag's loop-order search (default: the plugin's, 4 on IMC)",
        type=positive_int,
        metavar="N",
    ),
    Option(
        "--zigzag-processes",
        "processes",
        "ZigZag simulator processes (default 1)",
        type=positive_int,
        default=1,
        metavar="N",
    ),
)


@dataclass
class Agreement:
    """Everything the part measured."""

    held_out: int
    seeds: int
    lpf_limit: int | None = None
    #: (ZigZag variant, space, quantity, one fit per seed)
    rows: list[tuple[str, str, str, list[Fit]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def measure(
    *,
    quick: bool,
    seeds: int,
    cache: Path | None = None,
    lpf_limit: int | None = None,
    processes: int = 1,
) -> Agreement:
    held_out = 15 if quick else 100
    report = Agreement(held_out, seeds, lpf_limit)
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


def named_figures(found: Agreement) -> dict[str, object]:
    """The part's figures by name (``imc_zigzag.json``): per ZigZag variant, space and quantity
    (``aimc.flash.latency_ms``), the mean over splits of rho, MAPE and the share within
    +-10 % (both in %); per space the lowest rho and highest MAPE of any row (timings are in
    the CSV: their names are sentences)."""
    figures: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for variant, space, quantity, fits in found.rows:
        figures.setdefault(variant, {}).setdefault(space, {})[quantity] = {
            "rho": float(np.mean([f.spearman for f in fits])),
            "mape": float(np.mean([f.mape for f in fits])) * 100,
            "within": float(np.mean([f.within_10pct for f in fits])) * 100,
        }
    spaces: dict[str, dict[str, float]] = {}
    for by_space in figures.values():
        for space, by_quantity in by_space.items():
            worst = spaces.setdefault(space, {"min_rho": 1.0, "max_mape": 0.0})
            for row in by_quantity.values():
                worst["min_rho"] = min(worst["min_rho"], row["rho"])
                worst["max_mape"] = max(worst["max_mape"], row["mape"])
    return {
        **figures,
        "spaces": spaces,
        "held_out": found.held_out,
        "splits": found.seeds,
    }


def zigzag_installed() -> bool:
    return importlib.util.find_spec("zigzag") is not None


def _cached(path: Path | None) -> set[str]:
    """Keys of the layers already in a ZigZag disk cache file."""
    if path is None or not path.is_file():
        return set()
    return set(json.loads(path.read_text())["layers"])


def run(
    *,
    output: Path,
    seeds: int,
    quick: bool = False,
    cache: Path | None = None,
    lpf_limit: int | None = None,
    processes: int = 1,
    **_: object,
) -> Section:
    section = Section("imc_zigzag", "The fast IMC model against ZigZag")
    if not zigzag_installed():
        section.blocks = ["Not run: ZigZag is not installed (pip install 'flash-nas[zigzag]')."]
        section.summary = ["imc_zigzag: not run (ZigZag is not installed)"]
        return section
    cache = output / "zigzag-cache" if cache is None else cache
    cache.mkdir(parents=True, exist_ok=True)
    found = measure(quick=quick, seeds=seeds, cache=cache, lpf_limit=lpf_limit, processes=processes)
    fits = Csv(
        "imc_zigzag",
        ("hardware", "space", "quantity", "seed", "spearman", "kendall", "mape", "within_10pct"),
    )
    for variant, space, quantity, row in found.rows:
        for seed, fit in enumerate(row):
            fits.add(
                variant,
                space,
                quantity,
                seed,
                fit.spearman,
                fit.kendall,
                fit.mape,
                fit.within_10pct,
            )
    timings = Csv("imc_zigzag_timing", ("what", "seconds"))
    for what, seconds in found.timings.items():
        timings.add(what, seconds)
    section.csvs = [fits, timings]
    section.blocks = [
        "`imc:aimc` and `imc:dimc` (one shared array; per layer the memory schedule moving "
        "fewer off-chip bytes) calibrated on 25 architectures ZigZag simulated, against ZigZag "
        f"`lpf_limit` {found.lpf_limit or 'default (4 on IMC)'}. Area is one constant per "
        "accelerator in both models (a fixed macro): equal after calibration, with nothing to "
        "rank, so it is not listed.",
        caption(
            rows="ZigZag accelerator x space x quantity",
            target="ZigZag's simulated latency and energy",
            split=f"25 sampled architectures to calibrate `imc`, {found.held_out} others to judge",
            seeds=f"{found.seeds} calibration splits, mean ± std",
        ),
        table(
            ["ZigZag hardware", "space", "quantity", "Spearman ρ", "MAPE", "within ±10 %"],
            [
                [
                    variant,
                    space,
                    quantity,
                    mean_std([f.spearman for f in row]),
                    mean_std([f.mape for f in row], 1, 100) + " %",
                    mean_std([f.within_10pct for f in row], 1, 100) + " %",
                ]
                for variant, space, quantity, row in found.rows
            ],
        ),
        caption(
            rows="the simulator per network (layer shapes simulated / all, the rest cached) "
            "and the analytical models on all of NAS-Bench-201",
            target="wall time (s)",
            split="none",
            seeds="one run each",
        ),
        table(["timing", "seconds"], [[w, f"{s:.4g}"] for w, s in found.timings.items()]),
    ]
    section.results = named_figures(found)
    for variant, space, quantity, row in found.rows:
        if space == "flash":
            section.summary.append(
                f"imc_zigzag, {variant}, FLASH space, {quantity}: rho "
                f"{mean_std([f.spearman for f in row])}, MAPE "
                f"{np.mean([f.mape for f in row]):.1%}"
            )
    return section
