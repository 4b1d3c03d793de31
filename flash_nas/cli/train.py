"""``flash-nas train``: train architectures on CIFAR-10/100 to label them with accuracies."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from flash_nas.cli._args import UsageError, progress_wanted
from flash_nas.cli._common import (
    add_objective_arguments,
    add_options_argument,
    add_output_argument,
    make_adapter,
    read_arch_file,
    write_output,
)
from flash_nas.cli._training import training, training_data
from flash_nas.cli.commands import summary
from flash_nas.io.tables import Table, write_table
from flash_nas.train.cifar import DATASETS
from flash_nas.train.training import TrainResult, check_fits, train_and_evaluate


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def _count(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def add_to(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser(
        "train",
        help=summary("train"),
        description="Train each architecture in a file from scratch on CIFAR-10 or CIFAR-100 "
        "(SGD with Nesterov momentum, cosine learning rate, random crops and flips) and write "
        "a CSV of labels: arch, index (where the space has one), accuracy (test accuracy, %), "
        "valid_accuracy (with --valid-size), train_accuracy, train_seconds. The CSV is "
        "rewritten after every architecture, so an interrupted run keeps the finished ones. "
        "The data is the python version of CIFAR already on disk; nothing is downloaded.",
    )
    train.add_argument(
        "--space",
        help="search space (see `flash-nas plugins`); resuming --state, default the saved one",
    )
    add_options_argument(
        train, "space", "adapter parameter, e.g. -O num_classes=100 for CIFAR-100 (repeatable)"
    )
    which = train.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--archs",
        type=Path,
        metavar="FILE",
        help="architectures to train: one per line (# comments allowed), or a CSV with an "
        "'arch' column",
    )
    which.add_argument(
        "--budget",
        type=_positive_int,
        metavar="N",
        help="let the search engine choose: train N architectures, each proposed after the "
        "previous results; the label it learns is the validation accuracy on images held out "
        "of the training set (--valid-size), never the test accuracy unless --valid-size 0; "
        "resumable with --state",
    )
    train.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="with --budget: the engine's state (JSON), saved after every architecture and "
        "resumed from if it exists",
    )
    train.add_argument(
        "--history",
        type=Path,
        metavar="FILE.csv",
        help="with --budget: every trial in order, as `flash-nas search --history` writes it "
        "(rewritten after every architecture)",
    )
    train.add_argument(
        "--ray",
        action="store_true",
        help="with --budget: train the architectures as Ray tasks on a Ray cluster (or a local "
        "instance), results told back as they finish (needs flash-nas[ray])",
    )
    train.add_argument(
        "--ray-address",
        metavar="ADDRESS",
        help="with --ray: the cluster to connect to, e.g. auto or ray://head:10001 (default: "
        "start a local instance)",
    )
    train.add_argument(
        "--ray-concurrency",
        type=_positive_int,
        metavar="N",
        help="with --ray: architectures trained at once (default: the cluster's CPUs / --threads)",
    )
    train.add_argument(
        "--ray-gpus",
        type=float,
        default=0.0,
        metavar="X",
        help="with --ray: GPUs each training task reserves (default 0; 1 for GPU training)",
    )
    train.add_argument("--method", choices=("bo", "flash"), default="bo", help="with --budget")
    train.add_argument("--hardware", help="with --budget: hardware model for limits/objective")
    add_options_argument(train, "hardware")
    add_objective_arguments(
        train,
        "with --budget: what to maximise (default: follows --hardware, as in `flash-nas search`)",
    )
    train.add_argument(
        "--data",
        type=Path,
        required=True,
        metavar="FOLDER",
        help="the CIFAR python-version folder (cifar-10-batches-py or cifar-100-python) or the "
        "folder holding it; its pickles are read by a restricted unpickler that admits only "
        "the arrays and lists they hold, so a crafted file is refused before it runs",
    )
    train.add_argument(
        "--dataset",
        choices=DATASETS,
        help="which dataset --data holds (default: told by its files)",
    )
    train.add_argument("--epochs", type=_positive_int, required=True, help="training epochs")
    train.add_argument("--batch-size", type=_positive_int, default=128, help="(default 128)")
    train.add_argument("--lr", type=float, default=0.1, help="initial learning rate (default 0.1)")
    train.add_argument("--momentum", type=float, default=0.9, help="(default 0.9)")
    train.add_argument("--weight-decay", type=float, default=5e-4, help="(default 5e-4)")
    train.add_argument(
        "--no-nesterov", dest="nesterov", action="store_false", help="plain momentum SGD"
    )
    train.add_argument(
        "--no-augment", dest="augment", action="store_false", help="no random crops or flips"
    )
    train.add_argument("--seed", type=_count, default=0, help="training seed (default 0)")
    train.add_argument(
        "--valid-size",
        type=_count,
        default=None,
        metavar="N",
        help="hold out N training images and report valid_accuracy on them (default: with "
        "--budget, a tenth of the training images, 5,000 of CIFAR's 50,000, which the search "
        "learns from; with --archs, 0). --budget with --valid-size 0 learns from the test "
        "accuracy, with a warning",
    )
    train.add_argument(
        "--limit-train",
        type=_positive_int,
        metavar="N",
        help="train on the first N training images only (quick runs)",
    )
    train.add_argument("--threads", type=_positive_int, help="torch CPU threads")
    train.add_argument("--device", help="torch device, e.g. cpu or cuda:1 (default: cuda if any)")
    add_output_argument(train, default=None)
    train.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from flash_nas.cli._resume import space_from_state

    space_from_state(args)
    if args.history is not None and args.budget is None:
        raise UsageError("--history goes with --budget (the search's trials).")
    if args.ray and args.budget is None:
        raise UsageError("--ray trains what the search engine asks for: add --budget N.")
    if args.ray_gpus < 0:
        raise UsageError(f"--ray-gpus must be >= 0; got {args.ray_gpus}.")
    if args.budget is not None and args.ray:
        from flash_nas.cli.train_ray import run_ray

        return run_ray(args)
    if args.budget is not None:
        from flash_nas.cli.train_loop import run_budget

        return run_budget(args)
    adapter = make_adapter(args.space, args.space_option)
    batch = adapter.batch(read_arch_file(adapter, args.archs))  # duplicates refused there
    texts = batch.texts()
    data = training_data(args)
    graphs = [batch.graph(position) for position in range(len(batch))]
    for graph in graphs:
        check_fits(graph, data)
    indices = batch.indices()
    results: list[TrainResult] = []
    for position, graph in enumerate(graphs):
        result = train_and_evaluate(graph, data, progress=progress_wanted(), **training(args))
        results.append(result)
        print(
            f"[{position + 1}/{len(graphs)}] {texts[position]}: {_summary(result)}", file=sys.stderr
        )
        if args.output != "-":
            write_table(_table(texts, indices, results, args.valid_size > 0), Path(args.output))
    write_output(_table(texts, indices, results, args.valid_size > 0), args.output)
    return 0


def _summary(result: TrainResult) -> str:
    parts = [f"test {result.test_accuracy:.2f}%"]
    if result.valid_accuracy is not None:
        parts.append(f"valid {result.valid_accuracy:.2f}%")
    parts.append(f"train {result.train_accuracy:.2f}% (loss {result.train_loss:.4f})")
    parts.append(f"{result.train_seconds:.1f} s")
    line = ", ".join(parts)
    if result.diverged:
        line += f"; diverged in epoch {result.epochs}, try a lower --lr"
    return line


def _table(
    texts: list[str], indices: np.ndarray | None, results: list[TrainResult], valid: bool
) -> Table:
    """The labels of the architectures trained so far."""
    done = len(results)
    columns: dict[str, list[float | None]] = {
        "accuracy": [result.test_accuracy for result in results]
    }
    if valid:
        columns["valid_accuracy"] = [result.valid_accuracy for result in results]
    columns["train_accuracy"] = [result.train_accuracy for result in results]
    columns["train_seconds"] = [result.train_seconds for result in results]
    return Table(
        tuple(texts[:done]),
        {name: np.asarray(values, dtype=float) for name, values in columns.items()},
        None if indices is None else indices[:done],
    )
