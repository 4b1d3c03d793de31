"""What the best latency model learnable from a device's table leaves for a search, even one
that knows every cell's accuracy.

The constrained benchmark's ceiling is the engine given the device's true table. A search with
M = 0 learns latency only from the networks it trains, so its best possible knowledge of an
untrained cell is a model of the cell. This takes the strongest such model here (the
``boosted_trees`` of :mod:`benchmarks.constrained_separability`: each cell's latency learned
out of fold from four fifths of every cell the device timed) and gives it an **accuracy
oracle**: a searcher that knows every cell's ``c10_valid`` and so needs no training to find
accurate cells, only to learn whether they meet the limit. It trains the
:data:`TRAININGS` cells of highest ``c10_valid`` among those the model gives at least a chance
``t`` of meeting the limit (the model's own spread, log-normal errors), and recommends the
most accurate of them that met it. Each ``t`` of :data:`THRESHOLDS` is tried and the best in
hindsight reported: an optimistic searcher of this family, not a bound on every policy (one
that adapts to what it measured is not in it). Where even it trails the ceiling, a search
that has not timed a cell cannot tell the cell the ceiling picks. ::

    python -m benchmarks.constrained_oracle --output DIR

prints one row per device and limit (the best cell under the limit by ``c10_valid``: its
``c10_test``, its timing and the model's prediction of it; the oracle's ``c10_test`` and its
``t``) and, with ``--output``, writes
``DIR/constrained_oracle.csv`` and ``.json``. It needs scikit-learn (``flash-nas[bench]``);
``--quick`` runs the Raspberry Pi 4 alone.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.special import ndtr

from benchmarks.constrained_protocol import (
    add_devices_argument,
    checked_devices,
    write_outputs,
)
from benchmarks.constrained_separability import (
    LIMITS,
    design_matrices,
    out_of_fold_latency,
    robust_log_spread,
    tree_features,
)
from benchmarks.suite.constrained import limit_name
from benchmarks.suite.constrained_runs import load_device, load_space

__all__ = ["THRESHOLDS", "TRAININGS", "OraclePick", "main", "oracle_pick"]

#: The oracle's trainings, as the constrained benchmark's.
TRAININGS = 25
#: The chances of meeting the limit the oracle may demand of a cell before training it.
THRESHOLDS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 0.95)


@dataclass(frozen=True)
class OraclePick:
    """One device and limit: the best cell under the limit (by ``c10_valid``), its timing and
    the learned model's prediction of it, and the accuracy oracle's recommendation, with the
    chance it demanded and how many of its trainings met the limit (NaN and 0 where none
    did, at any chance)."""

    device: str
    quantile: float
    limit_ms: float
    table_best: str
    table_best_ms: float
    table_best_predicted_ms: float
    table_best_test: float
    oracle_test: float
    threshold: float
    trainings_held: int


def oracle_pick(
    valid: np.ndarray,
    test: np.ndarray,
    latency: np.ndarray,
    predicted: np.ndarray,
    limit_ms: float,
) -> tuple[float, float, int]:
    """The accuracy oracle's best ``c10_test`` over :data:`THRESHOLDS`, the chance that gave
    it and its trainings that met the limit (see the module docstring). Cells the device did
    not time (``NaN``) are never trained: whether they meet the limit is unknown."""
    measured = np.isfinite(latency)
    chance = ndtr((math.log(limit_ms) - np.log(predicted)) / robust_log_spread(predicted, latency))
    holds = measured & (latency <= limit_ms)
    best: tuple[float, float, int] = (math.nan, math.nan, 0)
    for threshold in THRESHOLDS:
        candidates = np.flatnonzero(measured & (chance >= threshold))
        trained = candidates[np.argsort(-valid[candidates], kind="stable")[:TRAININGS]]
        held = trained[holds[trained]]
        if len(held) == 0:
            continue
        pick = float(test[held[np.argmax(valid[held])]])
        if math.isnan(best[0]) or pick > best[0]:
            best = (pick, threshold, len(held))
    return best


def picks(device_name: str, texts: Sequence[str], features: np.ndarray) -> list[OraclePick]:
    """One :class:`OraclePick` per limit on ``device_name``."""
    space, device = load_space(), load_device(device_name)
    valid = np.array([space.valid[t] for t in texts])
    test = np.array([space.test[t] for t in texts])
    latency = np.array([device.latency[t] for t in texts])
    predicted = out_of_fold_latency(features, latency)
    rows = []
    for quantile in LIMITS:
        limit = device.limit(quantile)
        under = np.flatnonzero(np.isfinite(latency) & (latency <= limit))
        best = under[np.argmax(valid[under])]
        rows.append(
            OraclePick(
                device_name,
                quantile,
                limit,
                texts[best],
                float(latency[best]),
                float(predicted[best]),
                float(test[best]),
                *oracle_pick(valid, test, latency, predicted, limit),
            )
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_oracle",
        description="An accuracy oracle with the latency model learned from the device's table.",
    )
    add_devices_argument(parser)
    parser.add_argument("--quick", action="store_true", help="the Raspberry Pi 4 alone")
    parser.add_argument("--output", type=Path, help="folder for the .csv and .json")
    args = parser.parse_args(argv)
    checked_devices(parser, args.devices)
    if args.quick:
        args.devices = ["raspi4"]
    texts = list(load_space().texts)
    features = tree_features(design_matrices(texts))
    rows = [row for device in args.devices for row in picks(device, texts, features)]
    print(
        "device | limit (ms) | best under the limit: test, timed, predicted (ms) | "
        "accuracy oracle | its chance | held"
    )
    for row in rows:
        print(
            f"{row.device} | {limit_name(row.quantile)} ({row.limit_ms:.2f}) | "
            f"{row.table_best_test:.2f}, {row.table_best_ms:.2f}, "
            f"{row.table_best_predicted_ms:.2f} | {row.oracle_test:.2f} | {row.threshold} | "
            f"{row.trainings_held} of {TRAININGS}"
        )
    if args.output:
        figures: dict[str, dict[str, dict[str, float]]] = {}  # the CSV names the cells
        for row in rows:
            figures.setdefault(row.device, {})[limit_name(row.quantile)] = {
                "limit_ms": row.limit_ms,
                "table_best_ms": row.table_best_ms,
                "table_best_predicted_ms": row.table_best_predicted_ms,
                "table_best_test": row.table_best_test,
                "oracle_test": row.oracle_test,
                "threshold": row.threshold,
                "trainings_held": row.trainings_held,
            }
        _, path = write_outputs(
            args.output, "constrained_oracle", rows, OraclePick, figures, argv, quick=args.quick
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
