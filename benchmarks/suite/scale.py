"""Part 12: the command line at scale, end to end.

``flash-nas score --space flash --sample N --seed 0 --metrics nn_degree,params --output F`` for
N = 10^4, 10^5, 10^6 (quick: 10^3, 10^4), each run in a fresh process as a user would run it:
import, sampling without replacement, closed-form metrics, architecture text, CSV written
atomically. Wall time from launch to exit, and the process's peak resident memory (``ru_maxrss``
from ``wait4``, so everything numpy, the texts and the CSV writer held at once). Each output is
checked: N rows, N distinct architectures. Goal (issue 13): 10^6 in under 10 s and under 1 GB.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.suite.report import Csv, Section, caption, mean_std, table

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000)
COMMAND = ("score", "--space", "flash", "--seed", "0", "--metrics", "nn_degree,params", "--quiet")
GOAL_SECONDS = 10.0
GOAL_MB = 1024.0


def run_once(size: int, folder: Path) -> tuple[float, float]:
    """(seconds, peak resident MB) of one ``score`` process over ``size`` samples; the CSV it
    writes must hold ``size`` distinct architectures."""
    output = folder / f"scale_{size}.csv"
    argv = [sys.executable, "-m", "flash_nas", *COMMAND, "--sample", str(size), "--output"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*argv, str(output)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"flash-nas score --sample {size} failed: {error.strip()}")
    with output.open(newline="") as handle:
        archs = [row["arch"] for row in csv.DictReader(handle)]
    if len(archs) != size or len(set(archs)) != size:
        raise RuntimeError(
            f"--sample {size} wrote {len(archs)} rows, {len(set(archs))} distinct; expected "
            f"{size} distinct architectures."
        )
    output.unlink()
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def run(*, output: Path, quick: bool = False, **_: object) -> Section:
    sizes = QUICK_SIZES if quick else SIZES
    repeats = 1 if quick else 3
    rows = Csv("scale_cli", ("n_archs", "repeat", "seconds", "peak_mb"))
    with tempfile.TemporaryDirectory(prefix="flash-nas-scale-") as folder:
        for size in sizes:
            for repeat in range(repeats):
                rows.add(size, repeat, *run_once(size, Path(folder)))
    section = Section("scale", "The command line at scale", csvs=[rows])
    section.blocks = _markdown(rows, sizes, repeats)
    largest = max(sizes)
    seconds = rows.select("seconds", n_archs=largest)
    peak = rows.select("peak_mb", n_archs=largest)
    section.summary.append(
        f"scale: flash-nas score of {largest:,} FLASH-space samples in "
        f"{statistics.median(seconds):.1f} s (median of {repeats}), peak {max(peak):.0f} MB"
    )
    section.results = results(rows, sizes, repeats)
    return section


def results(rows: Csv, sizes: tuple[int, ...], repeats: int) -> dict[str, object]:
    """The part's headline numbers by name (``scale.json``), per N as ``sizes.nN`` (``n1000000``):
    seconds (median of the runs, and [mean, std]), the peak resident MB (the largest) and µs per
    architecture (of the median), as the report's table prints them."""
    found: dict[str, object] = {}
    for size in sizes:
        seconds = rows.select("seconds", n_archs=size)
        median = statistics.median(seconds)
        found[f"n{size}"] = {
            "n_archs": size,
            "seconds": median,
            "seconds_mean": [float(seconds.mean()), float(seconds.std())],
            "peak_mb": float(rows.select("peak_mb", n_archs=size).max()),
            "us_per_arch": median / size * 1e6,
        }
    return {"repeats": repeats, "largest": max(sizes), "sizes": found}


def _markdown(rows: Csv, sizes: tuple[int, ...], repeats: int) -> list[str]:
    command = "flash-nas " + " ".join(COMMAND) + " --sample N --output F"
    body = []
    for size in sizes:
        seconds = rows.select("seconds", n_archs=size)
        peak = rows.select("peak_mb", n_archs=size)
        body.append(
            [
                f"{size:,}",
                mean_std(seconds, 2),
                f"{statistics.median(seconds):.2f}",
                f"{max(peak):.0f}",
                f"{statistics.median(seconds) / size * 1e6:.2f}",
            ]
        )
    return [
        f"`{command}` in a fresh process per run (import included), the CSV written to a "
        f"temporary folder and checked (N rows, N distinct architectures). Goal: 10^6 in under "
        f"{GOAL_SECONDS:.0f} s and under {GOAL_MB:.0f} MB.",
        caption(
            rows="N uniform samples (seed 0, without replacement) of the default FLASH space",
            target="wall time from launch to exit; peak resident memory of the process",
            split="none (no accuracy involved)",
            seeds=f"{repeats} runs per N, mean ± std and median; peak: the largest",
        ),
        table(["N", "seconds", "median (s)", "peak MB", "µs per architecture"], body),
    ]
