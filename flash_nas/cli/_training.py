"""What ``flash-nas train``'s three ways of training share: the dataset and training options
the flags give, and the labels CSV of a ``--budget`` run (read back to resume, rewritten after
every architecture). One module, so that ``train``, ``train_loop`` and ``train_ray`` import it
rather than each other."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from flash_nas.cli._args import UsageError
from flash_nas.io.tables import Table, read_table
from flash_nas.train.cifar import CifarData, load_cifar

if TYPE_CHECKING:
    from flash_nas.search.engine import SearchEngine

__all__ = ["COLUMNS", "earlier_rows", "labels_table", "training", "training_data"]

COLUMNS = ("accuracy", "valid_accuracy", "train_accuracy", "train_seconds")


def earlier_rows(path: str) -> dict[str, dict[str, float]]:
    """Rows of a labels CSV an earlier, interrupted run wrote."""
    if path == "-" or not Path(path).is_file():
        return {}
    table = read_table(path, numeric=None)
    return {
        arch: {name: float(table.column(name)[row]) for name in table.columns}
        for row, arch in enumerate(table.archs)
    }


def labels_table(engine: SearchEngine, rows: dict[str, dict[str, float]]) -> Table:
    """The labels CSV of a ``--budget`` run: a column only where every row has a finite value."""
    texts = tuple(rows)
    names = [c for c in COLUMNS if all(c in rows[t] and np.isfinite(rows[t][c]) for t in texts)]
    indices = [engine.adapter.index(engine.adapter.parse(t)) for t in texts]
    return Table(
        texts,
        {name: np.array([rows[t][name] for t in texts]) for name in names},
        None if any(i is None for i in indices) else np.array(indices),
    )


def training_data(args: argparse.Namespace) -> CifarData:
    """The dataset the flags name, cut to ``--limit-train``, with room for ``--valid-size``."""
    data = load_cifar(args.data, args.dataset)
    if args.limit_train is not None:
        data = data.with_train_limit(args.limit_train)
    if args.valid_size >= len(data.train_labels):
        raise UsageError(
            f"--valid-size {args.valid_size} leaves no training images: {data.name} has "
            f"{len(data.train_labels):,} (after --limit-train)."
        )
    return data


def training(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of :func:`~flash_nas.train.training.train_and_evaluate` the flags give
    (shared by ``--archs``, ``--budget`` and ``--ray``)."""
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "momentum": args.momentum,
        "weight_decay": args.weight_decay,
        "nesterov": args.nesterov,
        "seed": args.seed,
        "augment": args.augment,
        "valid_size": args.valid_size,
        "threads": args.threads,
        "device": args.device,
    }
