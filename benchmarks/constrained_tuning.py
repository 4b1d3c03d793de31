"""Choosing the constrained engine's settings on the tuning seeds, not on the benchmark's.

The constrained-search benchmark (``python -m benchmarks --suite constrained``) reports seeds
0-19; its protocol says settings are chosen on seeds 100-119. This runs the engine's default
method (M = 0: every trained network's latency measured, nothing measured without training)
under named variants of its settings, on those seeds, and reports each variant's mean
``c10_test`` of the runs whose recommendation holds the true limit, how many break it, and how
many of the 25 trainings went to networks over the limit, in the initial design (the first
``initial_samples``) and after it. The ceiling (the engine given the device's true table) is a
variant too, so each variant's gap to it is read off the same seeds.

Each variant changes one setting, for the run only (restored afterwards); they are listed,
with why each was tried, in :mod:`benchmarks.constrained_variants`. ::

    python -m benchmarks.constrained_tuning --seeds 100-119 --jobs 2 --output DIR

prints one row per device, limit and variant, and with ``--output`` writes every run to
``DIR/constrained_tuning.csv``. ``--quick`` runs one device, limit and seed with 11 trainings.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.constrained_protocol import (
    add_grid_arguments,
    checked_grid,
    command_line,
    write_figures,
    write_rows,
)
from benchmarks.constrained_separability import learned_table_model, whole_table_model
from benchmarks.constrained_variants import VARIANTS, variant
from benchmarks.suite import constrained_runs
from benchmarks.suite.constrained import execute
from benchmarks.suite.constrained_report import paired
from benchmarks.suite.constrained_runs import (
    drive_engine,
    load_device,
    load_space,
)

__all__ = [
    "COLUMNS",
    "GOAL",
    "VARIANTS",
    "Run",
    "main",
    "minus_default",
    "overall",
    "read_runs",
    "run_variant",
    "summarise",
    "variant",
]

#: The constrained issue's goal: within this many points of the ceiling on every row.
GOAL = 0.3


@dataclass(frozen=True)
class Run:
    """One variant's run on one device, limit and seed."""

    variant: str
    device: str
    quantile: float
    seed: int
    holds: bool
    test: float
    over_in_design: int
    over_after: int
    #: Networks trained: fewer than asked when the engine had nothing left to propose (the
    #: default, the protocol's 25, serves records made by hand).
    trainings: int = 25


def run_variant(name: str, device_name: str, quantile: float, seed: int, trainings: int) -> Run:
    """Drive the engine under ``name``'s settings and judge its recommendation."""
    space, device = load_space(), load_device(device_name)
    limit_ms = device.limit(quantile)
    prior: Any = constrained_runs.PRIOR
    if name == "whole_table_prior":
        prior = whole_table_model(device_name)
    elif name == "learned_table_prior":
        prior = learned_table_model(device_name)
    with variant(name), mock.patch.object(constrained_runs, "PRIOR", prior):
        searched, trained = drive_engine(
            space, device, limit_ms, seed, trainings=trainings, ceiling=name == "ceiling"
        )
        design = searched.initial_samples
        text = searched.recommend().text
    over = [not device.holds(t, limit_ms) for t in trained]
    return Run(
        name,
        device_name,
        quantile,
        seed,
        device.holds(text, limit_ms),
        space.test[text],
        sum(over[:design]),
        sum(over[design:]),
        len(trained),
    )


def summarise(runs: Sequence[Run]) -> list[dict[str, object]]:
    """Per device, limit and variant: the mean test accuracy of the runs that hold the limit,
    how many break it, the mean trainings over the limit, and the gap to the ceiling's mean on
    the same seeds (None without a ceiling run)."""
    groups: dict[tuple[str, float, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.device, run.quantile, run.variant), []).append(run)
    means = {
        key: statistics.fmean([r.test for r in group if r.holds])
        if any(r.holds for r in group)
        else float("nan")
        for key, group in groups.items()
    }
    rows = []
    for (device, quantile, name), group in groups.items():
        ceiling = means.get((device, quantile, "ceiling"))
        rows.append(
            {
                "device": device,
                "quantile": quantile,
                "variant": name,
                "runs": len(group),
                "broke": sum(not r.holds for r in group),
                "test": means[(device, quantile, name)],
                "gap_to_ceiling": None
                if ceiling is None
                else ceiling - means[(device, quantile, name)],
                "over_in_design": statistics.fmean(r.over_in_design for r in group),
                "over_after": statistics.fmean(r.over_after for r in group),
            }
        )
    return rows


def overall(rows: Sequence[Mapping[str, object]]) -> dict[str, tuple[float, int, int]]:
    """Per variant over every device and limit: the mean gap to the ceiling, and how many rows
    are within 0.3 points of it (the constrained issue's goal) out of how many."""
    gaps: dict[str, list[float]] = {}
    for row in rows:
        gap = row["gap_to_ceiling"]
        if row["variant"] != "ceiling" and isinstance(gap, float):
            gaps.setdefault(str(row["variant"]), []).append(gap)
    return {
        name: (statistics.fmean(values), sum(g <= GOAL for g in values), len(values))
        for name, values in gaps.items()
    }


#: The columns ``--output`` writes, in order (a :class:`Run`'s fields).
COLUMNS = tuple(field.name for field in fields(Run))


def read_runs(path: Path) -> list[Run]:
    """The runs a previous ``--output`` wrote; a file that is not such a table is a
    ``ValueError`` naming its first wrong line."""
    runs = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(
                f"{path}: expected the columns {','.join(COLUMNS)} (a constrained_tuning.csv), "
                f"found {','.join(reader.fieldnames or ()) or 'none'}"
            )
        for row in reader:
            try:
                if row["holds"] not in ("True", "False") or row["variant"] not in VARIANTS:
                    raise ValueError
                runs.append(
                    Run(
                        row["variant"],
                        row["device"],
                        float(row["quantile"]),
                        int(row["seed"]),
                        row["holds"] == "True",
                        float(row["test"]),
                        int(row["over_in_design"]),
                        int(row["over_after"]),
                        int(row["trainings"]),
                    )
                )
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path} line {reader.line_num}: expected a known variant, a device, numbers "
                    f"for quantile, seed, test, the two counts and trainings, and True or False "
                    f"for holds"
                ) from None
    return runs


def _variants(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in VARIANTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected variants among {', '.join(VARIANTS)}, got {text!r}"
        )
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_tuning",
        description="The constrained engine's setting variants on the tuning seeds.",
    )
    add_grid_arguments(parser, seeds="100-119")
    parser.add_argument("--variants", type=_variants, default=list(VARIANTS))
    parser.add_argument("--output", type=Path, help="folder for constrained_tuning.csv and .json")
    parser.add_argument(
        "--from",
        dest="saved",
        type=Path,
        help="summarise the runs of a constrained_tuning.csv written before (runs nothing)",
    )
    args = parser.parse_args(argv)
    command = command_line("constrained_tuning", argv)
    if args.saved:
        if not args.saved.is_file():
            parser.error(f"--from {args.saved}: no such file (a constrained_tuning.csv)")
        try:
            runs = read_runs(args.saved)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        rows = _report(runs)
        if args.output:
            seeds = sorted({r.seed for r in runs})
            _write_summary(rows, runs, args.output, seeds, command, quick=False)
        return 0
    checked_grid(parser, args)
    call: Callable[..., Run] = run_variant
    jobs = [
        (call, (name, device, quantile, seed, args.trainings))
        for device in args.devices
        for quantile in args.limits
        for name in args.variants
        for seed in args.seeds
    ]
    from flash_nas.plugins.progress import progress_wanted

    runs = execute(jobs, args.jobs, progress=progress_wanted())
    rows = _report(runs)
    if args.output:
        path = write_rows(args.output, "constrained_tuning", runs, Run)
        print(f"wrote {path}")
        _write_summary(rows, runs, args.output, list(args.seeds), command, quick=args.quick)
    return 0


def minus_default(runs: Sequence[Run]) -> dict[str, list[float] | None]:
    """Per variant but the default (and the ceiling): its ``c10_test`` minus the default's,
    paired by device, limit and seed over the runs where both hold the limit: ``[mean, low,
    high]`` of the 95 % t-interval (:func:`benchmarks.suite.constrained_report.paired`)."""
    tests: dict[str, dict[tuple[str, float, int], float]] = {}
    for run in runs:
        if run.holds:
            tests.setdefault(run.variant, {})[(run.device, run.quantile, run.seed)] = run.test
    default = tests.get("default", {})
    return {
        name: paired(found, default)
        for name, found in tests.items()
        if name not in ("default", "ceiling")
    }


def _write_summary(
    rows: Sequence[Mapping[str, object]],
    runs: Sequence[Run],
    folder: Path,
    seeds: Sequence[int],
    command: str,
    *,
    quick: bool,
) -> None:
    """``constrained_tuning.json``: each variant's overall figures by name, with the mean
    number of its 25 trainings spent on networks over the limit and its paired difference to
    the default (:func:`minus_default`; None for the default), and each row's gap to the
    ceiling by device, limit and variant."""
    over: dict[str, list[float]] = {}
    for row in rows:
        spent = float(row["over_in_design"]) + float(row["over_after"])  # type: ignore[arg-type]
        over.setdefault(str(row["variant"]), []).append(spent)
    differences = minus_default(runs)
    overall_figures = {
        name: {
            "gap_to_ceiling": gap,
            "within_goal": within,
            "rows": count,
            "trained_over_limit": statistics.fmean(over[name]),
            "minus_default": differences.get(name),
        }
        for name, (gap, within, count) in overall(rows).items()
    }
    gaps: dict[str, dict[str, dict[str, object]]] = {}
    for row in rows:
        limit = f"q{round(float(row['quantile']) * 100)}"  # type: ignore[arg-type]
        by_variant = gaps.setdefault(str(row["device"]), {}).setdefault(limit, {})
        by_variant[str(row["variant"])] = row["gap_to_ceiling"]
    figures = {"overall": overall_figures, "gaps": gaps}
    path = write_figures(folder, "constrained_tuning", command, seeds, figures, quick=quick)
    print(f"wrote {path}")


def _report(runs: Sequence[Run]) -> list[dict[str, object]]:
    """Print the summary of ``runs`` and return its rows."""
    rows = summarise(runs)
    print(
        "device | limit | variant | runs | broke | mean test (holding) | gap to ceiling | "
        "over the limit: design, after"
    )
    for row in rows:
        gap = row["gap_to_ceiling"]
        print(
            f"{row['device']} | q{round(float(row['quantile']) * 100)} | {row['variant']} | "
            f"{row['runs']} | {row['broke']} | {row['test']:.2f} | "
            f"{'' if gap is None else f'{gap:+.2f}'} | "
            f"{row['over_in_design']:.1f}, {row['over_after']:.1f}"
        )
    for name, (gap, within, count) in overall(rows).items():
        print(
            f"{name}: gap to the ceiling {gap:+.2f} on average, within {GOAL} points on "
            f"{within} of {count} rows"
        )
    most = max((run.trainings for run in runs), default=0)
    for run in runs:
        if run.trainings < most:  # the engine had nothing left to propose: said, not hidden
            print(
                f"{run.variant} on {run.device} q{round(run.quantile * 100)} seed {run.seed}: "
                f"nothing left to propose after {run.trainings} of {most} trainings"
            )
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
