"""Why a constrained search misses the ceiling's pick: what it measured, and what it believes.

The constrained-search benchmark (``python -m benchmarks --suite constrained``) compares the
engine, which starts from the Pi 3B model and learns the device from the latencies of what it
trains, with the same engine given the device's true table (the ceiling). Where the two
recommend different cells, this asks the engine of each seed, after its trainings:

* which operations the networks it trained **execute** in their cells
  (:func:`flash_nas.executed_edges`: an op whose result only reaches the output through
  ``none`` edges is not run, so a 3x3 conv on such an edge tells the fit nothing of 3x3 convs);
* what it believes of the ceiling's pick: its predicted latency, the spread of that prediction
  and the chance it gives it of meeting the limit, beside its true latency.

A cell kind that none of the trained networks executes leaves the fitted cost of its events to
the prior's, whatever the prior gets wrong about the device. ::

    python -m benchmarks.constrained_diagnosis --device edgegpu --limit 0.10 --seeds 0-4

prints one row per seed and, with ``--output DIR``, writes them to
``DIR/constrained_diagnosis.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import flash_nas
from benchmarks.suite.constrained_runs import (
    LATENCY,
    Device,
    Space,
    drive_engine,
    load_device,
    load_space,
)
from flash_nas import Adapter
from flash_nas_hardware.hwnasbench import DEVICES

__all__ = [
    "Diagnosis",
    "diagnose",
    "executed_ops",
    "main",
    "positive_count",
    "quantile_arg",
    "seed_range",
]

#: NAS-Bench-201's operations that compute something (``none`` is the zero op).
OPS = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect")


@dataclass(frozen=True)
class Diagnosis:
    """One seed: the two recommendations, how many trained networks execute each op, and the
    engine's belief about the ceiling's pick."""

    seed: int
    recommended: str
    recommended_test: float
    ceiling: str
    ceiling_test: float
    ceiling_true_ms: float
    ceiling_predicted_ms: float
    ceiling_spread: float
    ceiling_chance: float
    ceiling_trained: bool
    executing: dict[str, int]


def executed_ops(text: str, adapter: Adapter | None = None) -> set[str]:
    """The operations a device runs in ``text``'s cells (not ``none``); ``adapter``: the
    NAS-Bench-201 adapter to parse with (looked up when not given)."""
    adapter = adapter or flash_nas.get_adapter("nasbench201")
    graph = adapter.to_graph(adapter.parse(text))
    executed = flash_nas.executed_edges(graph)
    return {
        edge.op.name
        for edge, runs in zip(graph.edges, executed)
        if runs and edge.op.name in OPS
    }


def diagnose(
    space: Space, device: Device, limit_ms: float, seed: int, *, trainings: int
) -> Diagnosis:
    """Run the engine (no latency-only measurements) and the ceiling on one seed, and ask the
    engine about the ceiling's pick."""
    engine, trained = drive_engine(space, device, limit_ms, seed, trainings=trainings)
    ceiling_engine, _ = drive_engine(
        space, device, limit_ms, seed, trainings=trainings, ceiling=True
    )
    recommended = engine.recommend().text
    ceiling = ceiling_engine.recommend().text
    candidates = engine.candidates
    (row,) = candidates.add([engine.adapter.parse(ceiling)])
    executing = {op: 0 for op in OPS}
    for text in trained:
        for op in executed_ops(text, engine.adapter):
            executing[op] += 1
    return Diagnosis(
        seed=seed,
        recommended=recommended,
        recommended_test=space.test[recommended],
        ceiling=ceiling,
        ceiling_test=space.test[ceiling],
        ceiling_true_ms=device.reading(ceiling),
        ceiling_predicted_ms=float(candidates.column(f"value:{LATENCY}")[row]),
        ceiling_spread=float(candidates.column(f"spread:{LATENCY}")[row]),
        ceiling_chance=float(candidates.column("p_feasible")[row]),
        ceiling_trained=ceiling in trained,
        executing=executing,
    )


def seed_range(text: str) -> list[int]:
    first, _, last = text.partition("-")
    try:
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        seeds = []
    if not seeds:
        raise argparse.ArgumentTypeError(
            f"expected a seed or a range like 0-4 (first <= last), got {text!r}"
        )
    return seeds


def positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of trainings, got {text!r}")
    return value


def quantile_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a quantile between 0 and 1, got {text!r}")
    return value


def _row(diagnosis: Diagnosis) -> dict[str, object]:
    row = {k: v for k, v in asdict(diagnosis).items() if k != "executing"}
    row.update({f"trained_executing_{op}": n for op, n in diagnosis.executing.items()})
    return row


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_diagnosis",
        description="For each seed of the constrained-search benchmark: which ops the engine's "
        "trained networks execute, and what it believes of the ceiling's pick.",
    )
    parser.add_argument("--device", choices=sorted(DEVICES), default="edgegpu")
    parser.add_argument(
        "--limit", type=quantile_arg, default=0.10, help="quantile of the device's latencies"
    )
    parser.add_argument("--seeds", type=seed_range, default=[0], help="a seed or a range: 0-4")
    parser.add_argument("--trainings", type=positive_count, default=25)
    parser.add_argument("--output", type=Path, help="folder for constrained_diagnosis.csv")
    args = parser.parse_args(argv)
    space, device = load_space(), load_device(args.device)
    limit_ms = device.limit(args.limit)
    print(f"{args.device}, limit {limit_ms:.3f} ms (the {args.limit:g} quantile)")
    print(
        "seed | recommended (test) | ceiling's pick (test) | its true / predicted ms, spread, "
        "chance | trained networks executing " + ", ".join(OPS)
    )
    rows = []
    for seed in args.seeds:
        found = diagnose(space, device, limit_ms, seed, trainings=args.trainings)
        rows.append(_row(found))
        counts = ", ".join(str(found.executing[op]) for op in OPS)
        print(
            f"{seed} | {found.recommended_test:.2f} | {found.ceiling_test:.2f}"
            f"{' (trained)' if found.ceiling_trained else ''} | {found.ceiling_true_ms:.2f} / "
            f"{found.ceiling_predicted_ms:.2f}, {found.ceiling_spread:.3f}, "
            f"{found.ceiling_chance:.3f} | {counts} of {args.trainings}",
            flush=True,
        )
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        path = args.output / "constrained_diagnosis.csv"
        with path.open("w", newline="") as handle:
            names = [f.name for f in fields(Diagnosis) if f.name != "executing"]
            writer = csv.DictWriter(
                handle, [*names, *(f"trained_executing_{op}" for op in OPS)]
            )
            writer.writeheader()
            writer.writerows(rows)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
