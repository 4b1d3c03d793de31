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

__all__ = [
    "CIFAR_TRAIN_IMAGES",
    "COLUMNS",
    "default_valid_size",
    "earlier_rows",
    "label_source",
    "labels_table",
    "training",
    "training_data",
]

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
    if args.valid_size is None:
        args.valid_size = (
            default_valid_size(len(data.train_labels)) if args.budget is not None else 0
        )
    if args.valid_size >= len(data.train_labels):
        raise UsageError(
            f"--valid-size {args.valid_size} leaves no training images: {data.name} has "
            f"{len(data.train_labels):,} (after --limit-train)."
        )
    return data


#: The share of the training images a search holds out by default to learn from: search on
#: validation accuracy, report test accuracy (NAS-Bench-201's protocol, and the benchmarks').
VALID_SHARE = 10

#: Training images of CIFAR-10 and CIFAR-100 (what ``--ray`` assumes without --limit-train:
#: its driver need not see the data the workers read).
CIFAR_TRAIN_IMAGES = 50_000


def default_valid_size(n_images: int) -> int:
    """A tenth of the training images (5,000 of CIFAR's 50,000), at least one."""
    return max(1, n_images // VALID_SHARE) if n_images > 1 else 0


def label_source(args: argparse.Namespace, n_train: int, dataset: str) -> str:
    """Which split a search's labels come from, as the line ``train --budget`` prints."""
    if args.valid_size:
        return (
            f"Labels: validation accuracy on {args.valid_size:,} images held out of the "
            f"{n_train:,} training images of {dataset} (the test images are only reported, "
            f"never learnt from)."
        )
    return (
        f"Warning: --valid-size 0: the search learns from the test accuracy of {dataset}, so "
        f"the test accuracy it reports is no longer an unbiased estimate; leave --valid-size "
        f"out to learn from images held out of the training set."
    )


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
