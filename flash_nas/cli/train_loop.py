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

from flash_nas.cli._args import progress_wanted
from flash_nas.cli._common import write_output
from flash_nas.cli._resume import engine_from_args
from flash_nas.cli._training import (
    earlier_rows,
    label_source,
    labels_table,
    training,
    training_data,
)
from flash_nas.io.tables import write_table
from flash_nas.train.training import check_fits, train_and_evaluate

__all__ = ["run_budget"]


def run_budget(args: argparse.Namespace) -> int:
    engine = engine_from_args(args)
    data = training_data(args)  # resolves --valid-size (default: a tenth held out)
    print(label_source(args, len(data.train_labels), data.name), file=sys.stderr)
    rows = earlier_rows(args.output)
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
        if args.history is not None:  # rewritten after every architecture, as the labels are
            from flash_nas.cli.history import write_history

            write_history(engine, args.history)
        if args.output != "-":
            write_table(labels_table(engine, rows), Path(args.output))
        print(
            f"[{step + 1}/{args.budget}] {proposal.text} ({proposal.source}): label {label:.2f}% "
            f"({'validation' if args.valid_size else 'test'})",
            file=sys.stderr,
        )
    best = engine.recommend()
    print(f"Recommended: {best.text} ({best.accuracy:.2f}%, measured). {best.note}".rstrip())
    write_output(labels_table(engine, rows), args.output)
    return 0
