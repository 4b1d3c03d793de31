"""Part 7: speed and scale on FLASH's own space.

1. **Scoring N architectures** (N = 10 ... 10^6 uniform samples of the default FLASH space;
   quick: up to 10^4): the wall time of ``score_batch(batch, ["nn_degree"])`` on a fresh batch
   (a batch remembers its closed forms), over repeats; and its peak memory (tracemalloc, numpy
   included) in a separate run, as tracing slows allocation.
2. **A data-dependent proxy on the same architectures**: NASWOT (Mellor et al., ICML 2021)
   computed here with torch on the CPU: the network built by
   :func:`flash_nas.train.torch_builder.build_module` from the architecture's graph, a forward
   pass of one batch of random inputs with hooks on every ReLU, the log-determinant of the kernel
   ``K = C C^T + (1 - C)(1 - C)^T`` of the binary activation codes ``C``. It is timed per
   architecture on the first few of the N (graph, module, forward, log-determinant); for larger
   N the mean per architecture is extrapolated. The ratio NASWOT / NN-Degree is per N.
3. **SHGO against the number of cells** (``n_cells`` 1..5 of the FLASH space): hierarchical
   SHGO under the IMC model with :mod:`.search_flash`'s synthetic predictor and
   weighted objective; one cold run (the adapter's part sums not yet built), then warm repeats.
   Levels wider than six variables are searched in blocks (cells) of at most six, so the
   cost grows linearly in cells; each result is compared with the best of ``RANDOM``
   uniformly drawn architectures (10^4 with ``--quick``) under the same objective.
"""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suite import search_flash
from benchmarks.suite.report import Csv, Section, caption, figure, mean_std, table
from flash_nas import score_batch
from flash_nas.search.evaluation import Evaluator
from flash_nas.search.objective import parse_objective
from flash_nas.search.shgo import hierarchical_shgo
from flash_nas_adapters.flash.space import FlashBatch, FlashSpaceAdapter
from flash_nas_hardware.imc.model import ImcModel

SIZES = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
RANDOM = 1_000_000
QUICK_LARGEST = 10_000
NASWOT_BATCH = 32
CELLS = (1, 2, 3, 4, 5)
#: The columns of speed_ratio.csv and speed_shgo.csv (results() reads them by name).
RATIO_COLUMNS = ("n_archs", "measured", "naswot_seconds", "nn_degree_seconds", "ratio")
SHGO_COLUMNS = (
    "n_cells",
    "space_size",
    "repeat",
    "cold",
    "seconds",
    "evaluations",
    "shgo_log_objective",
    "random_log_objective",
)
#: search_flash's objective whose optimum lies inside the space
OBJECTIVE = dict((name, text) for name, text, _ in search_flash.OBJECTIVES)["weighted cost"]


def naswot_seconds(adapter: FlashSpaceAdapter, configs: np.ndarray, seed: int = 0) -> list[float]:
    """Seconds to compute NASWOT for each architecture of ``configs``, graph to score."""
    import torch

    from flash_nas.train.torch_builder import build_module

    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(
        NASWOT_BATCH, 3, adapter.input_size, adapter.input_size, generator=generator
    )
    batch = FlashBatch(adapter, configs)
    seconds = []
    for position in range(len(batch)):
        started = time.perf_counter()
        module = build_module(batch.graph(position)).eval()
        codes: list[torch.Tensor] = []
        hooks = [
            layer.register_forward_hook(_recorder(codes))
            for layer in module.modules()
            if isinstance(layer, (torch.nn.ReLU, torch.nn.ReLU6))
        ]
        with torch.no_grad():
            module(inputs)
        for hook in hooks:
            hook.remove()
        active = torch.cat(codes, dim=1)
        kernel = active @ active.T + (1 - active) @ (1 - active).T
        torch.linalg.slogdet(kernel)
        seconds.append(time.perf_counter() - started)
    return seconds


def _recorder(codes: list) -> Callable[..., None]:
    """A forward hook appending each output's binary activation code (active = > 0)."""

    def record(_module: object, _inputs: object, out: Any) -> None:
        codes.append((out > 0).flatten(1).float())

    return record


def _timed_scoring(adapter: FlashSpaceAdapter, configs: np.ndarray) -> float:
    batch = FlashBatch(adapter, configs)  # fresh: a batch remembers what it scored
    started = time.perf_counter()
    score_batch(batch, ["nn_degree"])
    return time.perf_counter() - started


def _peak_mb(adapter: FlashSpaceAdapter, configs: np.ndarray) -> float:
    batch = FlashBatch(adapter, configs)
    tracemalloc.start()
    try:
        score_batch(batch, ["nn_degree"])
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def shgo_rows(cells: int, repeats: int, random: int) -> list[tuple]:
    """(repeat, cold, seconds, evaluations, SHGO's log objective, the best log objective of
    ``random`` uniform draws) of hierarchical SHGO on an ``n_cells`` space."""
    adapter = FlashSpaceAdapter(n_cells=cells)
    predictor = search_flash.fit_synthetic_predictor(adapter)
    objective = parse_objective(OBJECTIVE)
    hardware = ImcModel()
    rows = []
    for repeat in range(repeats + 1):
        evaluator = Evaluator(adapter, objective, predictor, search_flash.FEATURES, hardware)
        started = time.perf_counter()
        result = hierarchical_shgo(adapter.relaxation(), evaluator)
        seconds = time.perf_counter() - started
        rows.append((repeat, int(repeat == 0), seconds, result.evaluations,
                     result.best.log_objective))
    best_random = _best_random(adapter, predictor, objective, hardware, random)
    return [(*row, best_random) for row in rows]


def _best_random(adapter: Any, predictor: Any, objective: Any, hardware: Any, count: int) -> float:
    """The best feasible log objective among ``count`` uniform draws, in chunks."""
    evaluator = Evaluator(adapter, objective, predictor, search_flash.FEATURES, hardware)
    best = -np.inf
    for start in range(0, count, 100_000):
        batch = adapter.sample(min(100_000, count - start), start + 1)
        columns = evaluator.columns(batch)
        value = objective.log_value(columns)
        ok = objective.feasible(columns) & np.isfinite(value)
        if ok.any():
            best = max(best, float(value[ok].max()))
    return best


def run(*, output: Path, quick: bool = False, **_: object) -> Section:
    repeats = 3 if quick else 5
    shgo_repeats = 1 if quick else 5
    sizes = [n for n in SIZES if not quick or n <= QUICK_LARGEST]
    naswot_count = 3 if quick else 100
    adapter = FlashSpaceAdapter()
    configs = adapter.sample(max(sizes), seed=0).configs
    _timed_scoring(adapter, configs[:10])  # first call pays for imports and lazy set-up
    scoring = Csv("speed_scoring", ("n_archs", "repeat", "seconds"))
    memory = Csv("speed_memory", ("n_archs", "peak_mb"))
    for size in sizes:
        for repeat in range(repeats):
            scoring.add(size, repeat, _timed_scoring(adapter, configs[:size]))
        memory.add(size, _peak_mb(adapter, configs[:size]))
    per_arch = naswot_seconds(adapter, configs[:naswot_count])
    naswot = Csv("speed_naswot", ("arch", "seconds"))
    for position, seconds in enumerate(per_arch):
        naswot.add(FlashBatch(adapter, configs[position : position + 1]).arch_text(0), seconds)
    ratio = Csv("speed_ratio", RATIO_COLUMNS)
    for size in sizes:
        measured = size <= naswot_count
        proxy = sum(per_arch[:size]) if measured else statistics.fmean(per_arch) * size
        degree = statistics.fmean(scoring.select("seconds", n_archs=size))
        ratio.add(size, int(measured), proxy, degree, proxy / degree)
    shgo = Csv("speed_shgo", SHGO_COLUMNS)
    random = QUICK_LARGEST if quick else RANDOM
    for cells in CELLS:
        size = float(FlashSpaceAdapter(n_cells=cells).size())
        for row in shgo_rows(cells, shgo_repeats, random):
            shgo.add(cells, size, *row)
    section = Section("speed", "Speed and scale", csvs=[scoring, memory, naswot, ratio, shgo])
    section.blocks = _markdown(scoring, memory, ratio, shgo, per_arch, repeats, shgo_repeats)
    section.results = results(scoring, memory, ratio, shgo, per_arch, random)
    _plot(scoring, ratio, shgo, output / "speed.png")
    section.figures.append("speed.png")
    largest = max(sizes)
    row = ratio.rows[-1]
    section.summary += [
        f"speed: NN-Degree of {largest:,} FLASH-space architectures in "
        f"{mean_std(scoring.select('seconds', n_archs=largest), 1, 1e3)} ms; NASWOT "
        f"({'measured' if row[1] else 'extrapolated'}) {row[2]:.4g} s: {row[4]:,.0f}x slower",
        f"speed: hierarchical SHGO, {CELLS[-1]} cells, warm: "
        f"{mean_std(shgo.select('seconds', n_cells=CELLS[-1], cold=0), 2)} s",
    ]
    return section


def results(
    scoring: Csv, memory: Csv, ratio: Csv, shgo: Csv, per_arch: list[float], random: int
) -> dict[str, object]:
    """The part's headline numbers by name (``speed.json``), as its tables print them.

    ``scoring.nN`` per N scored: NN-Degree's time (ms, [mean, std]), µs per architecture, peak
    MB, NASWOT's seconds (``naswot_measured`` 1, else extrapolated) and NASWOT / NN-Degree;
    ``naswot_seconds``: NASWOT per architecture, [mean, std]. ``shgo.cellsK`` per number of
    cells: the space's size, mean evaluations, the cold run and the warm runs (ms, [mean, std]),
    ``objective_ratio``, SHGO's objective (worst run) over the best of ``random_draws`` uniform
    draws, and the same as ``better_than_random_pct`` (``(ratio - 1) * 100``)."""
    sized: dict[str, object] = {}
    for (size, measured, proxy, _, factor), peak in zip(ratio.rows, memory.column("peak_mb")):
        times = scoring.select("seconds", n_archs=size) * 1e3
        sized[f"n{size}"] = {
            "n_archs": size,
            "ms": [float(times.mean()), float(times.std())],
            "us_per_arch": float(times.mean()) / size * 1e3,
            "peak_mb": peak,
            "naswot_seconds": proxy,
            "naswot_measured": measured,
            "naswot_ratio": factor,
        }
    cells: dict[str, object] = {}
    for count in dict.fromkeys(shgo.column("n_cells")):
        warm = shgo.select("seconds", n_cells=count, cold=0) * 1e3
        worst = float(
            np.exp(
                shgo.select("shgo_log_objective", n_cells=count)
                - shgo.select("random_log_objective", n_cells=count)
            ).min()
        )
        cells[f"cells{count}"] = {
            "space_size": float(shgo.select("space_size", n_cells=count)[0]),
            "evaluations": float(shgo.select("evaluations", n_cells=count).mean()),
            "cold_ms": float(shgo.select("seconds", n_cells=count, cold=1)[0]) * 1e3,
            "warm_ms": [float(warm.mean()), float(warm.std())],
            "objective_ratio": worst,
            "better_than_random_pct": (worst - 1.0) * 100,
        }
    return {
        "scoring": sized,
        "naswot_seconds": [float(np.mean(per_arch)), float(np.std(per_arch))],
        "naswot_archs": len(per_arch),
        "shgo": cells,
        "random_draws": random,
    }


def _markdown(
    scoring: Csv,
    memory: Csv,
    ratio: Csv,
    shgo: Csv,
    per_arch: list[float],
    repeats: int,
    shgo_repeats: int,
) -> list[str]:
    import torch

    blocks = [
        "Architectures: uniform samples of the default FLASH space (dense block, 3 cells, "
        "widths 16..64, depths 2..6), the first N of one sample (seed 0). NN-Degree: "
        "`score_batch(batch, ['nn_degree'])` in closed form, no graph built. NASWOT: computed "
        f"here with torch {torch.__version__} on the CPU ({torch.get_num_threads()} threads), "
        f"batch of {NASWOT_BATCH} random 32x32 inputs, graph to module to score, on the first "
        f"{len(per_arch)} of the architectures: {mean_std(per_arch, 3)} s per architecture; "
        "beyond them the per-architecture mean is extrapolated.",
        caption(
            rows="N architectures of the FLASH space",
            target="wall time of scoring; peak memory (tracemalloc, separate run)",
            split="none (no accuracy involved)",
            seeds=f"{repeats} repeats of the NN-Degree timing, mean ± std; one memory run",
        ),
    ]
    rows = []
    for (size, measured, proxy, _, factor), peak in zip(ratio.rows, memory.column("peak_mb")):
        times = scoring.select("seconds", n_archs=size)
        rows.append(
            [
                f"{size:,}",
                mean_std(times, 3, 1e3),
                f"{statistics.fmean(times) / size * 1e6:.3f}",
                f"{peak:.2f}",
                f"{proxy:.4g} ({'measured' if measured else 'extrapolated'})",
                f"{factor:,.0f}",
            ]
        )
    blocks.append(
        table(
            [
                "N",
                "NN-Degree (ms)",
                "per architecture (µs)",
                "peak memory (MB)",
                "NASWOT (s)",
                "NASWOT / NN-Degree",
            ],
            rows,
        )
    )
    blocks.append(
        caption(
            rows="FLASH spaces of 1 to 5 cells (default widths and depths)",
            target="wall time of hierarchical SHGO under the `ImcModel()` defaults, objective "
            f"`{OBJECTIVE}`, predictor of the search_flash part (synthetic labels)",
            split="none (no accuracy involved)",
            seeds=f"one cold run, then {shgo_repeats} warm repeat(s) (fresh evaluator, same "
            "adapter), mean ± std; the last column: SHGO's objective (worst run) over the best "
            f"of {RANDOM:,} uniform draws ({QUICK_LARGEST:,} with --quick; > 1: SHGO is better)",
        )
    )
    rows = []
    for cells in CELLS:
        cold = shgo.select("seconds", n_cells=cells, cold=1)
        warm = shgo.select("seconds", n_cells=cells, cold=0)
        evaluations = shgo.select("evaluations", n_cells=cells)
        space = shgo.select("space_size", n_cells=cells)[0]
        ratio_to_random = np.exp(
            shgo.select("shgo_log_objective", n_cells=cells)
            - shgo.select("random_log_objective", n_cells=cells)
        )
        rows.append(
            [
                str(cells),
                f"{space:.3g}",
                f"{statistics.fmean(evaluations):.0f}",
                f"{cold[0] * 1e3:.1f}",
                mean_std(warm, 1, 1e3),
                f"{ratio_to_random.min():.3f}",
            ]
        )
    blocks.append(
        table(
            ["cells", "architectures", "evaluations", "cold run (ms)", "warm (ms)",
             "objective / best random"],
            rows,
        )
    )
    return blocks


def _plot(scoring: Csv, ratio: Csv, shgo: Csv, path: Path) -> None:
    with figure(path, ncols=2, width=5.2) as (fig, axes):
        sizes = ratio.column("n_archs")
        times = [scoring.select("seconds", n_archs=n) for n in sizes]
        axes[0].errorbar(
            sizes,
            [statistics.fmean(t) for t in times],
            yerr=[np.std(t) for t in times],
            marker="o",
            capsize=3,
            label="NN-Degree (closed form)",
        )
        measured = np.array(ratio.column("measured"), dtype=bool)
        proxy = np.array(ratio.column("naswot_seconds"))
        sizes = np.array(sizes)
        axes[0].plot(sizes, proxy, "s--", color="C3", label="NASWOT (torch, extrapolated)")
        if measured.any():
            axes[0].plot(
                sizes[measured], proxy[measured], "s-", color="C3", label="NASWOT, measured"
            )
        axes[0].set_xscale("log")
        axes[0].set_yscale("log")
        axes[0].set_xlabel("architectures scored")
        axes[0].set_ylabel("wall time (s)")
        axes[0].legend(fontsize=8)
        axes[0].grid(alpha=0.3)
        cells = list(dict.fromkeys(shgo.column("n_cells")))
        warm = [shgo.select("seconds", n_cells=c, cold=0) for c in cells]
        cold = [shgo.select("seconds", n_cells=c, cold=1)[0] for c in cells]
        axes[1].errorbar(
            cells,
            [statistics.fmean(w) for w in warm],
            yerr=[np.std(w) for w in warm],
            marker="o",
            capsize=3,
            label="warm, mean ± std",
        )
        axes[1].plot(cells, cold, "x--", label="cold (first run)")
        axes[1].set_yscale("log")
        axes[1].set_xticks(cells)
        axes[1].set_xlabel("cells in the FLASH space")
        axes[1].set_ylabel("hierarchical SHGO wall time (s)")
        axes[1].legend(fontsize=8)
        axes[1].grid(alpha=0.3)
        fig.suptitle("Speed on FLASH's space (this machine's CPU)")
