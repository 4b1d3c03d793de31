"""``flash-nas score``: training-free metrics of a space, a sample, or a list."""

from __future__ import annotations

import argparse

from flash_nas.cli._args import progress_wanted
from flash_nas.cli._common import (
    add_output_argument,
    add_space_arguments,
    make_adapter,
    select_archs,
    write_output,
)
from flash_nas.cli.commands import summary
from flash_nas.graph.metrics import METRICS, parse_metric_names, score_batch
from flash_nas.io.tables import Table


def add_to(commands: argparse._SubParsersAction) -> None:
    score = commands.add_parser(
        "score",
        help=summary("score"),
        description="Score a whole space (where it can be enumerated), a sample of it, or the "
        "architectures in a file, and write a CSV: arch, index (where the space has one), then "
        "one column per metric.",
    )
    add_space_arguments(score)
    score.add_argument(
        "--metrics",
        default="nn_degree,params,flops",
        help=f"comma-separated, from: {', '.join(METRICS)} (default: nn_degree,params,flops)",
    )
    add_output_argument(score)
    score.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    names = parse_metric_names(args.metrics)
    adapter = make_adapter(args.space, args.space_option)
    batch = select_archs(adapter, args)
    columns = score_batch(batch, names, progress=progress_wanted())
    write_output(Table(tuple(batch.texts()), columns, batch.indices()), args.output)
    return 0
