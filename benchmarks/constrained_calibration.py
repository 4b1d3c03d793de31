"""Whether the engine's chance of meeting a limit is a chance: its calibration on what it proposes.

Under a limit the engine gives every unmeasured architecture a probability of meeting it
(:attr:`flash_nas.Proposal.p_feasible`), calls it feasible from ``confidence`` (0.95) on, and
weighs each proposal's expected improvement by it. This drives the default method (M = 0: every
trained network's latency measured, as the constrained benchmark does) on the tuning seeds, and
for every proposal keeps the probability it had when proposed beside whether its TRUE latency
meets the limit. Per bin of probability, the share that did: where the probability is
calibrated, the two agree. Proposals are split into the initial design (the first
``initial_samples``) and the rest, chosen by the accuracy model, since a model that proposes
what it believes best also proposes where its cost model errs low. ::

    python -m benchmarks.constrained_calibration --seeds 100-104 --jobs 2 --output DIR

prints the bins and writes every proposal (``DIR/constrained_calibration.csv``) and the bins by
name (``DIR/constrained_calibration.json``). ``--quick`` runs one device, limit and seed with
11 trainings.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.constrained_protocol import (
    add_grid_arguments,
    checked_grid,
    write_outputs,
)
from benchmarks.suite.constrained import execute
from benchmarks.suite.constrained_runs import LATENCY, PRIOR, load_device, load_space

__all__ = ["BINS", "Proposed", "bin_name", "bins", "main", "proposals"]

#: Bin edges of the probability of meeting the limit; the last bin is the engine's
#: ``confidence`` and up, what it would call feasible.
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0)


@dataclass(frozen=True)
class Proposed:
    """One proposal: where, when, the probability the engine gave it, and the truth."""

    device: str
    quantile: float
    seed: int
    step: int
    phase: str  # "design" or "model"
    p_feasible: float
    holds: bool


def proposals(device_name: str, quantile: float, seed: int, trainings: int) -> list[Proposed]:
    """Drive the default method under the limit at ``quantile`` for ``trainings`` steps, told
    each trained network's measured latency, and keep every proposal's probability."""
    from flash_nas.search.engine import SearchEngine

    space, device = load_space(), load_device(device_name)
    limit_ms = device.limit(quantile)
    engine = SearchEngine(
        "nasbench201", hardware=PRIOR, objective="acc", max_latency_ms=limit_ms, seed=seed
    )
    found = []
    for step in range(trainings):
        (proposal,) = engine.ask()
        phase = "design" if step < engine.initial_samples else "model"
        found.append(
            Proposed(
                device_name,
                quantile,
                seed,
                step,
                phase,
                float(proposal.p_feasible),
                device.holds(proposal.text, limit_ms),
            )
        )
        engine.tell(
            [proposal.arch],
            [space.valid[proposal.text]],
            costs={LATENCY: [device.reading(proposal.text)]},
        )
    return found


def bin_name(low: float, high: float) -> str:
    """A bin's name in the JSON, e.g. ``p95_100`` for [0.95, 1.00] (no dot: figure keys are
    dotted paths)."""
    return f"p{round(low * 100):02d}_{round(high * 100)}"


def bins(records: Sequence[Proposed]) -> dict[str, dict[str, dict[str, float | int]]]:
    """Per phase, per probability bin that holds proposals (by :func:`bin_name`; each bin holds
    its low end, the last its high end too): how many, their mean probability and the share
    that met the limit."""
    found: dict[str, dict[str, dict[str, float | int]]] = {}
    for phase in ("design", "model"):
        rows = {}
        for low, high in itertools.pairwise(BINS):
            last = high == BINS[-1]
            inside = [
                r
                for r in records
                if r.phase == phase
                and low <= r.p_feasible
                and (r.p_feasible <= high if last else r.p_feasible < high)
            ]
            if inside:
                rows[bin_name(low, high)] = {
                    "low": low,
                    "high": high,
                    "proposals": len(inside),
                    "mean_p": sum(r.p_feasible for r in inside) / len(inside),
                    "share_held": sum(r.holds for r in inside) / len(inside),
                }
        found[phase] = rows
    return found


def _print(found: dict[str, dict[str, dict[str, float | int]]]) -> None:
    print("phase | p in | proposals | mean p | share that met the limit")
    for phase, rows in found.items():
        for row in rows.values():
            closing = "]" if row["high"] == BINS[-1] else ")"
            print(
                f"{phase} | [{row['low']:.2f}, {row['high']:.2f}{closing} | {row['proposals']} | "
                f"{row['mean_p']:.2f} | {row['share_held']:.2f}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_calibration",
        description="How calibrated the engine's chance of meeting a limit is on its proposals.",
    )
    add_grid_arguments(parser, seeds="100-104")
    parser.add_argument("--output", type=Path, help="folder for the CSV and the JSON")
    args = parser.parse_args(argv)
    checked_grid(parser, args)
    jobs = [
        (proposals, (device, quantile, seed, args.trainings))
        for device in args.devices
        for quantile in args.limits
        for seed in args.seeds
    ]
    from flash_nas.plugins.progress import progress_wanted

    done = execute(jobs, args.jobs, progress=progress_wanted())
    records = [r for found in done for r in found]
    found = bins(records)
    _print(found)
    if args.output:
        path, json_path = write_outputs(
            args.output,
            "constrained_calibration",
            records,
            Proposed,
            found,
            argv,
            seeds=args.seeds,
            quick=args.quick,
        )
        print(f"wrote {path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
