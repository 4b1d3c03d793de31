"""How well can any latency model tell which cells near a limit meet it?

The constrained-search benchmark's engine learns a device from the latencies of the networks it
trains; the ceiling is given the device's table. The cells that decide a search under a limit
are those close to it, and a model that learns the device can only pick them well if its
predictions fall on the right side of the limit there. This fits latency models to *every*
cell a device measured (far more than a search ever has: a bound on what such a model can
do) and reports, for the cells whose true latency is within 25 % of each limit (but not at
it, to the table's precision: :data:`TABLE_PRECISION`), the share whose side of the limit the
fitted model gets right, and the model's median log error over all cells. The additive
models, each a non-negative least-squares fit of costs plus a constant:

* ``op_counts``: one cost per op of the cell (NAS-Bench-201: 3x3 conv, 1x1 conv, 3x3 pool,
  skip), counted over the cell's six edges whether or not the device runs them;
* ``op_counts_run``: those counts, and beside them the counts of the ops the device *runs*
  (:func:`flash_nas.executed_edges`: an op whose result only reaches the output through
  ``none`` edges is not run);
* ``edge_ops``: one cost per edge and op, run and not run apart (48 costs).

Beside them, one model that is not additive and cannot memorise a cell's own timing:

* ``boosted_trees``: gradient-boosted regression trees (scikit-learn's
  ``HistGradientBoostingRegressor``) on the ``edge_ops`` columns, fitted to log latency, each
  cell predicted by the trees fitted on the *other* four fifths of the cells (out of fold):
  any interaction of ops and edges it can learn from some 12,500 timed cells. What it still
  gets wrong near a limit is mostly the timings' own scatter, which no model of the cell
  learns: only measuring that cell tells it. :func:`learned_table_model` makes its predictions a
  hardware model (the ``learned_table_prior`` bound of ``benchmarks.constrained_tuning``). It
  needs scikit-learn (``pip install "flash-nas[bench]"``). ::

    python -m benchmarks.constrained_separability --output DIR

prints a row per device, limit and model and, with ``--output``, writes
``DIR/constrained_separability.csv`` and ``.json`` (figures by name). ``--devices`` narrows
the devices (``--quick``: the Raspberry Pi 4 alone), ``--models`` the models.
"""

from __future__ import annotations

import argparse
import csv
import functools
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import nnls

import flash_nas
from benchmarks.constrained_protocol import (
    add_devices_argument,
    checked_devices,
    write_outputs,
)
from benchmarks.suite.constrained import limit_name
from benchmarks.suite.constrained_runs import LATENCY, calibrated_pi3b, load_device, load_space
from flash_nas.search.engine.cost_refit import MAD_TO_SD
from flash_nas_hardware.hwnasbench import TableHardwareModel
from flash_nas_hardware.pi3b import Pi3BModel

__all__ = [
    "ADDITIVE",
    "BAND",
    "FOLDS",
    "LEARNED",
    "LIMITS",
    "MODELS",
    "TABLE_PRECISION",
    "TREE_ROUNDS",
    "LearnedTable",
    "Separation",
    "design_matrices",
    "learned_table_model",
    "main",
    "out_of_fold_latency",
    "robust_log_spread",
    "separability",
    "tree_features",
    "whole_table_model",
]

#: The cells judged: true latency within this factor of the limit, either side.
BAND = 1.25
#: Relative precision of HW-NAS-Bench's latencies as the shipped table gives them: cells
#: closer than this to a limit are on neither side.
TABLE_PRECISION = 1e-4
#: The limits: quantiles of each device's latencies, as in the constrained benchmark.
LIMITS = (0.10, 0.25)
#: The additive models, fitted to every cell, by name (see the module docstring).
ADDITIVE = ("op_counts", "op_counts_run", "edge_ops")
#: The learned model, judged out of fold.
LEARNED = "boosted_trees"
#: Every model, by name.
MODELS = (*ADDITIVE, LEARNED)
#: The learned model's folds: each cell is predicted by trees fitted on the others.
FOLDS = 5
#: The learned model's boosting rounds at most (on a device's whole table, scikit-learn stops
#: earlier when a tenth of the fitted cells, held out, stop improving).
TREE_ROUNDS = 500
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
    device_name: str,
    matrices: dict[str, np.ndarray],
    texts: Sequence[str],
    models: Sequence[str] = MODELS,
) -> list[Separation]:
    """One row per model and limit on ``device_name`` (see :class:`Separation`)."""
    device = load_device(device_name)
    latency = np.array([device.latency[t] for t in texts])
    measured = np.isfinite(latency)
    rows = []
    for model in models:
        if model == LEARNED:
            predicted = out_of_fold_latency(tree_features(matrices), latency)
        else:
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


def tree_features(matrices: dict[str, np.ndarray]) -> np.ndarray:
    """The trees' inputs: the ``edge_ops`` columns without their constant."""
    return matrices["edge_ops"][:, :-1]


def robust_log_spread(predicted: np.ndarray, latency: np.ndarray) -> float:
    """The median absolute log error of ``predicted`` over the measured cells, scaled to a
    normal's standard deviation (as the engine's refit scales its residuals: a few gross
    errors do not widen it)."""
    measured = np.isfinite(latency)
    errors = np.log(predicted[measured] / latency[measured])
    return MAD_TO_SD * float(np.median(np.abs(errors)))


def out_of_fold_latency(features: np.ndarray, latency: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Every cell's latency (ms) as gradient-boosted trees predict it, fitted in log space on
    the measured cells of the other folds: cells are dealt at random into :data:`FOLDS`
    folds, so no cell's own timing is among those its prediction learned from. Unmeasured
    cells (``NaN``) are predicted too, never fitted."""
    try:
        from sklearn.ensemble import HistGradientBoostingRegressor
    except ImportError as error:
        raise ImportError(
            'the boosted_trees model needs scikit-learn: pip install "flash-nas[bench]"'
        ) from error
    folds = np.random.default_rng(seed).permutation(len(latency)) % FOLDS
    measured = np.isfinite(latency)
    predicted = np.empty(len(latency))
    for fold in range(FOLDS):
        fitted = measured & (folds != fold)
        trees = HistGradientBoostingRegressor(max_iter=TREE_ROUNDS, random_state=seed)
        trees.fit(features[fitted], np.log(latency[fitted]))
        predicted[folds == fold] = np.exp(trees.predict(features[folds == fold]))
    return predicted


class LearnedTable(TableHardwareModel):
    """A table of predicted latencies whose prior log-space spread is the predictions' own."""

    def __init__(self, table: Path, spread: float) -> None:
        super().__init__(table=table)
        self.spread = spread

    def prior_log_spread(self, quantity: str) -> float:
        return self.spread


@functools.cache
def learned_table_model(device_name: str) -> LearnedTable:
    """The ``learned_table_prior`` bound's prior: ``boosted_trees``' out-of-fold latencies of
    every cell of the space on ``device_name``, as a table hardware model, with their
    median absolute log error (scaled to a normal's standard deviation, as the engine's refit
    scales its residuals) as its spread."""
    texts = list(load_space().texts)
    latency = np.array([load_device(device_name).latency[t] for t in texts])
    predicted = out_of_fold_latency(tree_features(design_matrices(texts)), latency)
    spread = robust_log_spread(predicted, latency)
    # The table model reads its file whole when built; the file is not needed after.
    with tempfile.TemporaryDirectory(prefix="flash_nas_learned_") as folder:
        path = Path(folder) / f"{device_name}_learned.csv"
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["arch", LATENCY])
            writer.writerows(zip(texts, (repr(float(v)) for v in predicted)))
        return LearnedTable(path, spread)


@functools.cache
def whole_table_model(device_name: str) -> Pi3BModel:
    """The Pi 3B model calibrated on every cell ``device_name`` measured (the
    ``whole_table_prior`` bound's prior in ``benchmarks.constrained_tuning``)."""
    space, device = load_space(), load_device(device_name)
    texts = [t for t in space.texts if device.measure(t) is not None]
    profile = calibrated_pi3b(
        device,
        texts,
        fit_samples=len(texts) - 1,  # calibrate holds one row out, to report quality
        source=f"every cell measured on {device_name}",
    )
    return Pi3BModel(profile=profile)


def _models(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected models among {', '.join(MODELS)}, got {text!r}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.constrained_separability",
        description="How well latency models learned from every cell separate the cells near "
        "a limit.",
    )
    add_devices_argument(parser)
    parser.add_argument(
        "--models",
        type=_models,
        default=list(MODELS),
        help=f"comma-separated, among {', '.join(MODELS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="the Raspberry Pi 4 alone")
    parser.add_argument("--output", type=Path, help="folder for the .csv and .json")
    args = parser.parse_args(argv)
    checked_devices(parser, args.devices)
    if args.quick:
        args.devices = ["raspi4"]
    texts = list(load_space().texts)
    matrices = design_matrices(texts)
    rows = [
        row for device in args.devices for row in separability(device, matrices, texts, args.models)
    ]
    print("device | limit | model | cells within 25 % | on the right side | median log error")
    for row in rows:
        print(
            f"{row.device} | {limit_name(row.quantile)} | {row.model} | {row.band_cells} | "
            f"{row.share_right:.2f} | {row.median_log_error:.3f}"
        )
    if args.output:
        figures: dict[str, dict[str, dict[str, float]]] = {}
        for row in rows:
            model = figures.setdefault(row.device, {}).setdefault(row.model, {})
            model["median_log_error"] = row.median_log_error
            model[limit_name(row.quantile)] = row.share_right
        _, path = write_outputs(
            args.output,
            "constrained_separability",
            rows,
            Separation,
            figures,
            argv,
            quick=args.quick,
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
