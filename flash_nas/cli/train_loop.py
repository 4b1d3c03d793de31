"""``flash-nas train --budget N``: train what the search engine asks for, tell it the result.

The loop the issue of every NAS user: the engine proposes an architecture, it is trained on the
CIFAR batches on disk, its accuracy goes back to the engine, and the next proposal learns from
it. The engine's state is saved after every architecture (``--state``) and the labels CSV is
rewritten, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from flash_nas.cli._args import progress_wanted
from flash_nas.cli._common import write_output
from flash_nas.cli._resume import engine_from_args
from flash_nas.cli.train import training, training_data
from flash_nas.io.tables import Table, read_table, write_table
from flash_nas.search.engine import SearchEngine
from flash_nas.train.training import check_fits, train_and_evaluate

__all__ = ["run_budget"]

COLUMNS = ("accuracy", "valid_accuracy", "train_accuracy", "train_seconds")


def _earlier(path: str) -> dict[str, dict[str, float]]:
    """Rows of a labels CSV an earlier, interrupted run wrote."""
    if path == "-" or not Path(path).is_file():
        return {}
    table = read_table(path, numeric=None)
    return {
        arch: {name: float(table.column(name)[row]) for name in table.columns}
        for row, arch in enumerate(table.archs)
    }


def run_budget(args: argparse.Namespace) -> int:
    engine = engine_from_args(args)
    data = training_data(args)
    if args.valid_size == 0:
        print(
            "Note: without --valid-size the engine learns from test accuracy; hold out "
            "images with --valid-size N to keep the test set for the final report.",
            file=sys.stderr,
        )
    rows = _earlier(args.output)
    done = sum(t.status != "pending" for t in engine.trials.values())
    for step in range(done, args.budget):
        (proposal,) = engine.ask(1)
        graph = engine.adapter.to_graph(proposal.arch)
        check_fits(graph, data)
        result = train_and_evaluate(graph, data, progress=progress_wanted(), **training(args))
        label = result.valid_accuracy if args.valid_size else result.test_accuracy
        if result.diverged:
            engine.fail([proposal.arch], f"training diverged in epoch {result.epochs}")
        else:
            engine.tell([proposal.arch], [label])
        rows[proposal.text] = {
            "accuracy": result.test_accuracy,
            "valid_accuracy": (
                result.valid_accuracy
                if args.valid_size and result.valid_accuracy is not None
                else float("nan")
            ),
            "train_accuracy": result.train_accuracy,
            "train_seconds": result.train_seconds,
        }
        if args.state is not None:
            engine.save(args.state)
        if args.output != "-":
            write_table(_table(engine, rows), Path(args.output))
        print(
            f"[{step + 1}/{args.budget}] {proposal.text} ({proposal.source}): label {label:.2f}%",
            file=sys.stderr,
        )
    best = engine.recommend()
    print(f"Recommended: {best.text} ({best.accuracy:.2f}%, measured). {best.note}".rstrip())
    write_output(_table(engine, rows), args.output)
    return 0


def _table(engine: SearchEngine, rows: dict[str, dict[str, float]]) -> Table:
    texts = tuple(rows)
    names = [c for c in COLUMNS if all(c in rows[t] and np.isfinite(rows[t][c]) for t in texts)]
    indices = [engine.adapter.index(engine.adapter.parse(t)) for t in texts]
    return Table(
        texts,
        {name: np.array([rows[t][name] for t in texts]) for name in names},
        None if any(i is None for i in indices) else np.array(indices),
    )
