"""``flash-nas sample`` and ``flash-nas search``: choose architectures to label, and search.

Only the argument parsers live here, and ``sample``; the work imports lazily (the engine needs
scipy), so that ``flash-nas --help`` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flash_nas.cli._args import UsageError, input_file
from flash_nas.cli._common import (
    add_objective_arguments,
    add_options_argument,
    add_output_argument,
    check_sample_size,
    make_adapter,
    write_output,
)
from flash_nas.cli.commands import summary
from flash_nas.io.tables import Table
from flash_nas.plugins.domain import LISTABLE
from flash_nas.search.sampling import STRATEGIES


def run_search_command(args: argparse.Namespace) -> int:
    from flash_nas.cli.search_run import run_search_command as run

    return run(args)


def add_to(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help=summary("sample"),
        description="Choose --n architectures to train for the accuracy predictor: from the "
        "whole space where it can be enumerated, else from a uniform pool of --pool "
        "architectures, by --strategy over the --feature (FLASH: stratified over NN-Degree).",
    )
    _space(sample)
    sample.add_argument("--n", type=int, default=25, help="how many (default 25)")
    sample.add_argument("--strategy", choices=STRATEGIES, default="stratified")
    sample.add_argument("--feature", default="nn_degree", help="metric to spread over")
    sample.add_argument("--pool", type=int, default=10_000, help="candidates when not enumerable")
    sample.add_argument("--seed", type=int, default=0)
    add_output_argument(sample)
    sample.set_defaults(run=run_sample)

    search = commands.add_parser(
        "search",
        help=summary("search"),
        description="Search the space with the ask/tell engine. Labels come from TABLE:COLUMN: "
        "every row (architectures you trained), --n-labels N of them chosen up front (spread "
        "over NN-Degree), or --budget N chosen one at a time by the engine, each looked up in "
        "the table as a stand-in for training it. The recommendation is the first row of "
        "--output. --method bo (default): Bayesian optimisation on training-free metrics and "
        "the space's encoding; --method flash: FLASH's NN-Degree predictor and hierarchical "
        "SHGO. Without --objective the objective follows the hardware: accuracy alone without "
        "--hardware, else accuracy over the product of every cost the model reports (pi3b: "
        "acc/(latency*energy); imc: acc/(latency*energy*area)).",
    )
    _space(search, resumable=True)
    search.add_argument(
        "--labels-from",
        required=True,
        metavar="TABLE:COLUMN",
        help="labels: a CSV path or a table the space ships (NAS-Bench-201: cifar10), and the "
        "label column, e.g. labels.csv:accuracy or cifar10:c10_valid",
    )
    search.add_argument(
        "--costs-from",
        metavar="TABLE:COLUMN[,COLUMN]",
        help="measured costs, looked up beside each label as --labels-from looks labels up (the "
        "stand-in for measuring on the device): TABLE as for --labels-from, each COLUMN a "
        "quantity the hardware model reports (`flash-nas plugins` lists them), or QUANTITY=COLUMN "
        "for a column named otherwise; measured costs replace the model's predictions for those "
        "architectures",
    )
    search.add_argument(
        "--measure-budget",
        type=int,
        metavar="M",
        help="with --budget and --costs-from: also measure M architectures without training "
        "them (costs only), chosen by the engine where feasibility is uncertain",
    )
    search.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        metavar="P",
        help="an unmeasured architecture counts as meeting the limits when the model gives it "
        "probability >= P of doing so (0.5 <= P < 1, default 0.95)",
    )
    search.add_argument(
        "--save-profile",
        type=Path,
        metavar="PATH",
        help="with --costs-from: write the hardware model's costs refitted on the measurements "
        "as a profile (for --profile, -H profile=PATH)",
    )
    how = search.add_mutually_exclusive_group()
    how.add_argument(
        "--n-labels", type=int, metavar="N", help="label N architectures chosen up front"
    )
    how.add_argument(
        "--budget",
        type=int,
        metavar="N",
        help="label N architectures, each chosen by the engine after the previous results",
    )
    search.add_argument(
        "--method",
        default="bo",
        help="search method: bo (default), flash, or one a plugin registers (`flash-nas "
        "plugins` lists them)",
    )
    search.add_argument(
        "--initial-samples",
        type=int,
        metavar="N",
        help="initial design size with --budget (default: bo 10, flash 25)",
    )
    search.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="stratified",
        help="how the initial design spreads over NN-Degree (default stratified)",
    )
    search.add_argument("--seed", type=int, default=0, help="seed of the design and the model")
    search.add_argument(
        "--features",
        help="training-free metrics the model reads (default: bo nn_degree,nn_degree_neuron,"
        "params,flops; flash nn_degree)",
    )
    search.add_argument("--hardware", help="hardware model (needed by latency/energy/area)")
    add_options_argument(search, "hardware")
    search.add_argument(
        "--profile", type=input_file, help="calibrated profile for the hardware model"
    )
    add_objective_arguments(
        search,
        "what to maximise, e.g. 'acc' or 'acc/(latency*energy)' (default: follows --hardware, "
        "see above)",
    )
    search.add_argument(
        "--state",
        type=Path,
        metavar="PATH",
        help="save the engine's state (JSON) after every label; resume from it if it exists",
    )
    search.add_argument("--top", type=int, default=1, help="also list the N best and the front")
    search.add_argument("--plot", type=Path, help="write the accuracy-cost front as a PNG")
    search.add_argument(
        "--history",
        type=Path,
        metavar="FILE.csv",
        help="write every trial in order: arch, how it was chosen, label or failure, the "
        "hardware's costs (and the measured ones), the model's prediction (and sd) when it was "
        "proposed, objective, best so far; and each measurement made without training",
    )
    search.add_argument(
        "--history-plot",
        type=Path,
        metavar="FILE.png",
        help="plot each trial's objective and the best so far against the trials (as Optuna's "
        "plot_optimization_history)",
    )
    add_output_argument(search, default=None)
    search.set_defaults(run=run_search_command)


def _space(parser: argparse.ArgumentParser, *, resumable: bool = False) -> None:
    parser.add_argument(
        "--space",
        required=not resumable,
        help="search space (see `flash-nas plugins`)"
        + ("; resuming, default the one --state saved" if resumable else ""),
    )
    add_options_argument(parser, "space")


# ------------------------------------------------------------------------------------- sample
def run_sample(args: argparse.Namespace) -> int:
    from flash_nas.graph.metrics import parse_metric_names, score_batch
    from flash_nas.search.sampling import select_samples

    feature = parse_metric_names(args.feature)[0]
    adapter = make_adapter(args.space, args.space_option)
    if args.n < 1:
        raise UsageError(f"--n must be >= 1; got {args.n}.")
    size = adapter.size()
    if size is not None and size <= LISTABLE:
        pool = adapter.enumerate()
    else:
        check_sample_size(adapter, args.pool, args.space, "--pool")
        pool = adapter.sample(args.pool, args.seed)
    values = score_batch(pool, [feature])[feature]
    if args.n > len(pool):
        raise UsageError(
            f"--n {args.n} is more than the pool holds ({len(pool):,} architectures); ask for "
            f"fewer or enlarge --pool."
        )
    rows = select_samples(values, args.n, strategy=args.strategy, seed=args.seed)
    texts = pool.texts()
    indices = pool.indices()
    table = Table(
        tuple(texts[r] for r in rows),
        {feature: values[rows]},
        None if indices is None else indices[rows],
    )
    write_output(table, args.output)
    return 0
