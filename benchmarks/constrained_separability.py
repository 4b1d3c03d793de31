"""How well can any latency model tell which cells near a limit meet it?

The constrained-search benchmark's engine learns a device from the latencies of the networks it
trains; the ceiling is given the device's table. The cells that decide a search under a limit
are those close to it, and a model that learns the device can only pick them well if its
predictions fall on the right side of the limit there. This fits additive latency models to
*every* cell a device measured (far more than a search ever has: a bound on what such a model
can do) and reports, for the cells whose true latency is within 25 % of each limit (but not at
it, to the table's precision: :data:`TABLE_PRECISION`), the share whose side of the limit the
fitted model gets right, and the model's median log error over all
cells. The models, each a non-negative least-squares fit of costs plus a constant:

* ``op_counts``: one cost per op of the cell (NAS-Bench-201: 3x3 conv, 1x1 conv, 3x3 pool,
  skip), counted over the cell's six edges whether or not the device runs them;
* ``op_counts_run``: those counts, and beside them the counts of the ops the device *runs*
  (:func:`flash_nas.executed_edges`: an op whose result only reaches the output through
  ``none`` edges is not run);
* ``edge_ops``: one cost per edge and op, run and not run apart (48 costs). ::

    python -m benchmarks.constrained_separability --output DIR

prints a row per device and limit and, with ``--output``, writes
``DIR/constrained_separability.csv`` and ``.json`` (figures by name). ``--devices`` narrows
the devices (``--quick``: the Raspberry Pi 4 alone).
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

import flash_nas
from benchmarks.constrained_protocol import add_devices_argument, checked_devices, write_figures
from benchmarks.suite.constrained import limit_name
from benchmarks.suite.constrained_runs import load_device, load_space

__all__ = [
    "BAND",
    "LIMITS",
    "MODELS",
    "TABLE_PRECISION",
    "Separation",
    "design_matrices",
    "main",
    "separability",
]

#: The cells judged: true latency within this factor of the limit, either side.
BAND = 1.25
#: Relative precision of HW-NAS-Bench's latencies as the shipped table gives them: cells
#: closer than this to a limit are on neither side.
TABLE_PRECISION = 1e-4
#: The limits: quantiles of each device's latencies, as in the constrained benchmark.
LIMITS = (0.10, 0.25)
#: The models fitted, by name (see the module docstring).
MODELS = ("op_counts", "op_counts_run", "edge_ops")
#: NAS-Bench-201's ops that compute something, in the order of the count columns.
OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def design_matrices(texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Each model's columns for the cells ``texts`` (a constant column last)."""
    adapter = flash_nas.get_adapter("nasbench201")
    present = np.zeros((len(texts), 6, len(OPS)))
    running = np.zeros_like(present)
    for row, text in enumerate(texts):
        graph = adapter.to_graph(adapter.parse(text))
        runs = flash_nas.executed_edges(graph)
        # every cell of the network repeats the same six edges: the first cell's say it all
        first = _first_cell([(e.op.name, bool(r)) for e, r in zip(graph.edges, runs)])
        for edge, (name, run) in enumerate(first):
            if name in OPS:
                present[row, edge, OPS.index(name)] = 1.0
                running[row, edge, OPS.index(name)] = float(run)
    constant = np.ones((len(texts), 1))
    counts, counts_run = present.sum(axis=1), running.sum(axis=1)
    flat = present.reshape(len(texts), -1)
    flat_run = running.reshape(len(texts), -1)
    return {
        "op_counts": np.hstack([counts, constant]),
        "op_counts_run": np.hstack([counts, counts_run, constant]),
        "edge_ops": np.hstack([flat_run, flat - flat_run, constant]),
    }


def _first_cell(edges: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The six op edges of the network's first cell (``none`` included), in the graph's order.

    The graph lists the stem, then each cell's edges; a cell's six edges are the first run of
    six edges that carry NAS-Bench-201 ops or ``none``."""
    cell_ops = (*OPS, "none")
    start = next(k for k, (name, _) in enumerate(edges) if name in cell_ops)
    first = edges[start : start + 6]
    if len(first) != 6 or any(name not in cell_ops for name, _ in first):
        raise ValueError("expected six NAS-Bench-201 cell edges in a row in the network graph")
    return first


@dataclass(frozen=True)
class Separation:
    """One model on one device and limit: the cells near the limit, the share of them the
    model puts on the right side, and its median log error over every measured cell."""

    device: str
    quantile: float
    model: str
    limit_ms: float
    band_cells: int
    share_right: float
    median_log_error: float


def separability(
    device_name: str, matrices: dict[str, np.ndarray], texts: Sequence[str]
) -> list[Separation]:
    """One row per model and limit on ``device_name`` (see :class:`Separation`)."""
    device = load_device(device_name)
    latency = np.array([device.latency[t] for t in texts])
    measured = np.isfinite(latency)
    rows = []
    for model in MODELS:
        X = matrices[model]
        costs, _ = nnls(X[measured], latency[measured])
        predicted = X @ costs
        with np.errstate(divide="ignore"):
            error = np.abs(np.log(np.maximum(predicted[measured], 1e-12) / latency[measured]))
        for quantile in LIMITS:
            limit = device.limit(quantile)
            band = measured & (latency > limit / BAND) & (latency < limit * BAND)
            # Cells timed at the limit itself, to the table's precision, are left out: which
            # side they fall on is rounding (Eyeriss times 960 cells at its 10 % quantile, and
            # half of them, 1e-15 ms over it, break it), which no model can be asked to tell.
            band &= np.abs(latency - limit) > TABLE_PRECISION * limit
            right = (predicted[band] <= limit) == (latency[band] <= limit)
            rows.append(
                Separation(
                    device_name,
                    quantile,
                    model,
                    limit,
                    int(band.sum()),
                    float(right.mean()) if band.any() else math.nan,
                    float(np.median(error)),
                )
            )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_separability",
        description="How well additive latency models fitted to every cell separate the cells "
        "near a limit.",
    )
    add_devices_argument(parser)
    parser.add_argument("--quick", action="store_true", help="the Raspberry Pi 4 alone")
    parser.add_argument("--output", type=Path, help="folder for the .csv and .json")
    args = parser.parse_args(argv)
    checked_devices(parser, args.devices)
    if args.quick:
        args.devices = ["raspi4"]
    texts = list(load_space().texts)
    matrices = design_matrices(texts)
    rows = [row for device in args.devices for row in separability(device, matrices, texts)]
    print("device | limit | model | cells within 25 % | on the right side | median log error")
    for row in rows:
        print(
            f"{row.device} | {limit_name(row.quantile)} | {row.model} | {row.band_cells} | "
            f"{row.share_right:.2f} | {row.median_log_error:.3f}"
        )
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        with (args.output / "constrained_separability.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(Separation)])
            writer.writeheader()
            writer.writerows(asdict(row) for row in rows)
        figures: dict[str, dict[str, dict[str, float]]] = {}
        for row in rows:
            model = figures.setdefault(row.device, {}).setdefault(row.model, {})
            model["median_log_error"] = row.median_log_error
            model[limit_name(row.quantile)] = row.share_right
        given = list(sys.argv[1:] if argv is None else argv)
        command = " ".join(["python -m benchmarks.constrained_separability", *given])
        path = write_figures(
            args.output, "constrained_separability", command, [], figures, quick=args.quick
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
