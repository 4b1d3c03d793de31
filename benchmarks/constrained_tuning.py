"""Choosing the constrained engine's settings on the tuning seeds, not on the benchmark's.

The constrained-search benchmark (``python -m benchmarks --suite constrained``) reports seeds
0-19; its protocol says settings are chosen on seeds 100-119. This runs the engine's default
method (M = 0: every trained network's latency measured, nothing measured without training)
under named variants of its settings, on those seeds, and reports each variant's mean
``c10_test`` of the runs whose recommendation holds the true limit, how many break it, and how
many of the 25 trainings went to networks over the limit, in the initial design (the first
``initial_samples``) and after it. The ceiling (the engine given the device's true table) is a
variant too, so each variant's gap to it is read off the same seeds.

Each variant changes one setting, for the run only (restored afterwards):

* ``default``: the engine as shipped;
* ``floor_half``: proposals need a one-in-two chance of meeting the limit
  (:data:`flash_nas.search.engine.engine.PROPOSE_FLOOR`, 0.1 shipped, 0.5 before);
* ``design_5``: an initial design of 5 networks instead of 10 (``initial_samples``);
* ``no_residual_process``: the cost beliefs never keep the Gaussian process of the refit's
  residuals (:meth:`~flash_nas.search.engine.cost_beliefs.CostBeliefs.predict` then uses the
  refitted form and its pooled spread alone);
* ``rms_spread``: the spread of the refit's leave-one-out residuals taken as their root mean
  square instead of their median absolute value scaled to a normal's
  (:func:`~flash_nas.search.engine.cost_refit.pooled_spread`): the few cells a device times at
  a fraction or a multiple of their neighbours then widen every prediction's spread;
* ``late_floor``: from the 21st training on, proposals need a one-in-two chance (the floor
  above), so that the last trainings go to networks likelier to be deployable;
* ``design_floor``: while the initial design is drawn, proposals need a one-in-two chance
  (the floor above): the design's networks, spread over NN-Degree, then mostly meet the limit;
* ``p_squared``: the default method weighs expected improvement by the probability of meeting
  the limit squared instead of the probability
  (:func:`~flash_nas.search.engine.acquisition.choose`), a softer penalty on doubtful networks
  than a floor;
* ``no_kind_costs``: the cost refit tries no cost per kind of choice (NAS-Bench-201's op,
  wherever it is; :meth:`~flash_nas.plugins.adapter.Adapter.encoding_kinds` answering None),
  only one per choice, as before kinds were added;
* ``no_cost_doubt``: predictions that extrapolate the cost model's form beyond the measured
  rows gain no spread (:mod:`flash_nas.search.engine.cost_doubt`), as before that was added;
* ``whole_table_prior``: not a setting but a bound. The engine's prior is the Pi 3B model
  calibrated on *every* cell the device measured (what no user has: the best this cost
  model's form can be fitted to the device), still told each trained network's latency. Its
  gap to the ceiling is what a better-calibrated cost model could not close: the part of the
  gap that only measuring the cells near the limit resolves;
* ``learned_table_prior``: a bound too, past any cost model a user could have. The engine's
  prior is a table of every cell's latency as gradient-boosted trees learned it from four
  fifths of the device's cells (never from the cell's own timing:
  :func:`benchmarks.constrained_separability.learned_table_model`), with the trees' own
  spread; still told each trained network's latency. Where it too stays behind the ceiling,
  the gap is the timings' scatter near the limit, which only measuring a cell resolves;
* ``p_root``: expected improvement weighed by the probability's square root, a bolder
  search among the networks the cost model doubts (the opposite of ``p_squared``);
* ``floor_low``: proposals need only a 3 % chance of meeting the limit (0.1 shipped);
* ``ceiling``: the engine with HW-NAS-Bench's table for the device, told labels only. ::

    python -m benchmarks.constrained_tuning --seeds 100-119 --jobs 2 --output DIR

prints one row per device, limit and variant, and with ``--output`` writes every run to
``DIR/constrained_tuning.csv``. ``--quick`` runs one device, limit and seed with 11 trainings.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import math
import statistics
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from benchmarks.constrained_protocol import (
    add_grid_arguments,
    checked_grid,
    command_line,
    write_figures,
)
from benchmarks.constrained_separability import learned_table_model, whole_table_model
from benchmarks.suite import constrained_runs
from benchmarks.suite.constrained import execute
from benchmarks.suite.constrained_report import paired
from benchmarks.suite.constrained_runs import (
    drive_engine,
    load_device,
    load_space,
)
from flash_nas.search.engine import acquisition, cost_beliefs, cost_refit, engine
from flash_nas.search.engine.bo import BayesianOptimisation
from flash_nas_adapters.nasbench201.space import NasBench201Adapter

__all__ = [
    "COLUMNS",
    "GOAL",
    "LATE_FLOOR",
    "LATE_TRAINING",
    "SHIPPED_CHOOSE",
    "SHIPPED_FLOOR",
    "VARIANTS",
    "Run",
    "design_floor",
    "late_floor",
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


def _no_residual_process(self: cost_beliefs.CostBeliefs, *args: object) -> None:
    """Keep no process of the residuals (the variant's stand-in for ``_learn_residuals``)."""


def _rms_spread(prior: float, residuals: np.ndarray) -> float:
    """:func:`~flash_nas.search.engine.cost_refit.pooled_spread` with a mean of squares at
    every number of rows (the variant's stand-in for it)."""
    rows = cost_refit.PRIOR_ROWS
    total = float(np.sum(np.asarray(residuals, dtype=float) ** 2))
    return math.sqrt((rows * prior**2 + total) / (rows + len(residuals)))


#: The training from which ``late_floor`` raises the proposal floor, and to what.
LATE_TRAINING, LATE_FLOOR = 20, 0.5


def late_floor(self: engine.SearchEngine) -> float:
    """:meth:`SearchEngine.propose_floor` with :data:`LATE_FLOOR` for
    :data:`~flash_nas.search.engine.engine.PROPOSE_FLOOR` from the training
    :data:`LATE_TRAINING` on (the variant's stand-in for it)."""
    return _floor_of(self, LATE_FLOOR if len(self.trials) >= LATE_TRAINING else None)


def _floor_of(self: engine.SearchEngine, floor: float | None) -> float:
    """The shipped floor with ``floor`` for its :data:`PROPOSE_FLOOR` (None: unchanged), so
    that it is still lowered to the likeliest untried architecture's chance when none
    reaches it."""
    if floor is None:
        return SHIPPED_FLOOR(self)
    with mock.patch.object(engine, "PROPOSE_FLOOR", floor):
        return SHIPPED_FLOOR(self)


def design_floor(self: engine.SearchEngine) -> float:
    """:meth:`SearchEngine.propose_floor` with :data:`LATE_FLOOR` for its
    :data:`PROPOSE_FLOOR` while the initial design is drawn (the variant's stand-in)."""
    return _floor_of(self, LATE_FLOOR if len(self.trials) < self.initial_samples else None)


SHIPPED_FLOOR = engine.SearchEngine.propose_floor
SHIPPED_CHOOSE = acquisition.choose


def _choose_p_squared(*args: Any, **kwargs: Any) -> Any:
    """:func:`~flash_nas.search.engine.acquisition.choose` given the probability squared."""
    *rest, probability = args
    squared = None if probability is None else probability**2
    return SHIPPED_CHOOSE(*rest, squared, **kwargs)


def _choose_p_root(*args: Any, **kwargs: Any) -> Any:
    """:func:`~flash_nas.search.engine.acquisition.choose` given the probability's square
    root."""
    *rest, probability = args
    root = None if probability is None else np.sqrt(probability)
    return SHIPPED_CHOOSE(*rest, root, **kwargs)


#: Each variant's patches: (object, attribute, value) set for the run and restored after.
VARIANTS: Mapping[str, tuple[tuple[object, str, object], ...]] = {
    "default": (),
    "floor_half": ((engine, "PROPOSE_FLOOR", 0.5),),
    "design_5": ((BayesianOptimisation, "default_initial_samples", 5),),
    "no_residual_process": ((cost_beliefs.CostBeliefs, "_learn_residuals", _no_residual_process),),
    "rms_spread": ((cost_beliefs, "pooled_spread", _rms_spread),),
    "late_floor": ((engine.SearchEngine, "propose_floor", late_floor),),
    "design_floor": ((engine.SearchEngine, "propose_floor", design_floor),),
    "p_squared": ((acquisition, "choose", _choose_p_squared),),
    "p_root": ((acquisition, "choose", _choose_p_root),),
    "floor_low": ((engine, "PROPOSE_FLOOR", 0.03),),
    "no_kind_costs": ((NasBench201Adapter, "encoding_kinds", lambda self: None),),
    "no_cost_doubt": ((cost_beliefs, "learn_cost_doubt", lambda *args: None),),
    "outliers_from_3": ((cost_refit, "OUTLIER_ROWS", 3),),  # the refit before OUTLIER_ROWS
    # the prior is per device: run_variant patches it (whole_table_model)
    "whole_table_prior": (),
    "learned_table_prior": (),  # as whole_table_prior (learned_table_model)
    "ceiling": (),
}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Apply the variant ``name``'s settings inside the block (an unknown name is an error)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; expected one of {', '.join(VARIANTS)}")
    with contextlib.ExitStack() as stack:
        for target, attribute, value in VARIANTS[name]:
            stack.enter_context(mock.patch.object(target, attribute, value))
        yield


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
        args.output.mkdir(parents=True, exist_ok=True)
        path = args.output / "constrained_tuning.csv"
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, COLUMNS)
            writer.writeheader()
            writer.writerows(asdict(r) for r in runs)
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
