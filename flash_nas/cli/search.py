"""``flash-nas sample`` and ``flash-nas search``: FLASH's 25-sample predictor and SHGO search."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from flash_nas.adapter import Adapter
from flash_nas.cli._common import (
    UsageError,
    add_options_argument,
    add_output_argument,
    check_output,
    make_adapter,
    write_output,
)
from flash_nas.cli.hardware import make_hardware
from flash_nas.evaluation import Scored
from flash_nas.metrics import parse_metric_names, score_batch
from flash_nas.objective import LIMITS, Objective, parse_objective
from flash_nas.pipeline import (
    PREFETCH_LIMIT,
    choose_labels,
    cost,
    fit_predictor,
    pareto_front,
    run_search,
)
from flash_nas.sampling import STRATEGIES, select_samples
from flash_nas.tables import Table, read_table


def add_to(commands: argparse._SubParsersAction) -> None:
    sample = commands.add_parser(
        "sample",
        help="choose architectures to label (train), spanning NN-Degree",
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
        help="FLASH: fit the accuracy predictor, then hierarchical SHGO under a hardware objective",
        description="Fit accuracy on training-free features from labelled architectures "
        "(--labels-from), then search the space with hierarchical SHGO for the best "
        "architecture under --objective and the hard limits.",
    )
    _space(search)
    search.add_argument(
        "--labels-from",
        required=True,
        metavar="TABLE:COLUMN",
        help="labels: a CSV path or a table the space ships (NAS-Bench-201: cifar10), and the "
        "accuracy column, e.g. labels.csv:accuracy or cifar10:c10_valid",
    )
    search.add_argument(
        "--n-labels", type=int, help="pick this many labels from the table (default: use all)"
    )
    search.add_argument("--strategy", choices=STRATEGIES, default="stratified")
    search.add_argument("--seed", type=int, default=0, help="which labels are picked")
    search.add_argument(
        "--features", default="nn_degree", help="predictor features, NN-Degree first"
    )
    search.add_argument("--hardware", help="hardware model (needed by latency/energy/area)")
    add_options_argument(search, "hardware")
    search.add_argument("--profile", type=Path, help="calibrated profile for the hardware model")
    search.add_argument(
        "--objective",
        default="acc/(latency*energy*area)",
        help="what to maximise (default acc/(latency*energy*area); 'acc' for accuracy alone)",
    )
    for name in LIMITS:
        search.add_argument(f"--{name.replace('_', '-')}", type=float, metavar="X")
    search.add_argument("--top", type=int, default=1, help="also list the N best and the front")
    search.add_argument("--plot", type=Path, help="write the accuracy-cost front as a PNG")
    add_output_argument(search, default=None)
    search.set_defaults(run=run_search_command)


def _space(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help="search space (see `flash-nas plugins`)")
    add_options_argument(parser, "space")


# ------------------------------------------------------------------------------------- sample
def run_sample(args: argparse.Namespace) -> int:
    check_output(args.output)
    feature = parse_metric_names(args.feature)[0]
    adapter = make_adapter(args.space, args.space_option)
    size = adapter.size()
    if size is not None and size <= PREFETCH_LIMIT:
        pool = adapter.enumerate()
    else:
        pool = adapter.sample(args.pool, args.seed)
    values = score_batch(pool, [feature])[feature]
    if not 1 <= args.n <= len(pool):
        raise UsageError(f"--n must be in 1..{len(pool)} (the pool's size); got {args.n}.")
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


# ------------------------------------------------------------------------------------- search
def load_label_table(adapter: Adapter, spec: str) -> tuple[Table, str]:
    """``TABLE:COLUMN`` -> (table, column); TABLE is a shipped table's name or a CSV path."""
    name, sep, column = spec.rpartition(":")
    if not sep or not name or not column:
        raise UsageError(f"--labels-from expects TABLE:COLUMN, got {spec!r}.")
    shipped = adapter.tables()
    if name in shipped:
        table = shipped[name]()
    elif Path(name).is_file():
        table = read_table(name, required=[column])
    else:
        known = ", ".join(shipped) or "none"
        raise UsageError(
            f"--labels-from: {name!r} is neither a file nor a table this space ships "
            f"(shipped: {known})."
        )
    table.column(column)  # unknown column: error listing the columns there are
    return table, column


def _objective(args: argparse.Namespace) -> Objective:
    limits = {name: getattr(args, name) for name in LIMITS}
    return parse_objective(args.objective, limits)


def run_search_command(args: argparse.Namespace) -> int:
    check_output(args.output)
    objective = _objective(args)
    features = parse_metric_names(args.features)
    adapter = make_adapter(args.space, args.space_option)
    hardware = None
    if args.hardware:
        hardware = make_hardware(args.hardware, args.hardware_option, args.profile)
    elif objective.needs_hardware():
        raise UsageError(f"The objective {args.objective!r} needs --hardware.")
    table, column = load_label_table(adapter, args.labels_from)
    labels = choose_labels(
        adapter,
        table,
        column,
        n_labels=args.n_labels,
        strategy=args.strategy,
        seed=args.seed,
        feature=features[0],
    )
    predictor = fit_predictor(adapter, labels, features)
    result, evaluator = run_search(adapter, predictor, features, objective, hardware)
    print(
        f"Predictor: {predictor.form_} form on {', '.join(features)}"
        + (
            f" + log({', '.join(features[c] for c in predictor.extra_columns_)})"
            if predictor.extra_columns_
            else ""
        )
        + f", fitted on {len(labels.archs)} labels from {labels.source}; leave-one-out RMSE "
        f"{predictor.loo_rmse_:.3f}, in-sample {predictor.fit_quality_.line()}."
    )
    for stage in result.timings:
        print(f"  {stage.name}: {stage.seconds * 1e3:.1f} ms, {stage.evaluations} evaluations")
    print(f"Search: {result.seconds * 1e3:.1f} ms, {result.evaluations} distinct evaluations.")
    size = adapter.size()
    if size is not None and len(evaluator.cache) == size:
        optimum = min(evaluator.cache.values(), key=lambda s: s.loss)
        gap = 1.0 - math.exp(result.best.log_objective - optimum.log_objective)
        print(
            f"The whole space was scored for the front: its optimum is "
            f"{adapter.format(optimum.arch)} (objective {math.exp(optimum.log_objective):.4g}); "
            f"the search is within {gap:.2%} of it."
        )
    ranked = sorted((s for s in evaluator.cache.values() if s.feasible), key=lambda s: s.loss)
    chosen = [result.best, *[s for s in ranked if s.arch != result.best.arch]][: max(args.top, 1)]
    for rank, scored in enumerate(chosen, start=1):
        print(f"#{rank} {adapter.format(scored.arch)}: {_describe(scored)}")
    if args.top > 1:
        front = pareto_front(list(evaluator.cache.values()), objective)
        print(f"Accuracy-cost front: {len(front)} architectures (cost = {_cost_text(objective)}).")
    write_output(_result_table(adapter, chosen, objective), args.output)
    if args.plot:
        plot_front(list(evaluator.cache.values()), objective, result.best, args.plot)
        print(f"Wrote the plot to {args.plot}.", file=sys.stderr)
    return 0


def _describe(scored: Scored) -> str:
    parts = [f"predicted accuracy {scored.values['accuracy']:.2f} %"]
    for name, unit in (("latency_ms", "ms"), ("energy_mj", "mJ"), ("area_mm2", "mm2")):
        if name in scored.values:
            parts.append(f"{name.split('_')[0]} {scored.values[name]:.4g} {unit}")
    parts.append(f"objective {math.exp(scored.log_objective):.4g}")
    return ", ".join(parts)


def _cost_text(objective: Objective) -> str:
    terms = [f"{name}^{-power:g}" for name, power in objective.exponents.items() if name != "acc"]
    return "*".join(terms) or "1"


def _result_table(adapter: Adapter, chosen: list[Scored], objective: Objective) -> Table:
    columns = {"predicted_accuracy": np.array([s.values["accuracy"] for s in chosen])}
    for name in ("latency_ms", "energy_mj", "area_mm2", "params", "flops"):
        if all(name in s.values for s in chosen):
            columns[name] = np.array([s.values[name] for s in chosen])
    columns["objective"] = np.array([math.exp(s.log_objective) for s in chosen])
    indices = [adapter.index(s.arch) for s in chosen]
    return Table(
        tuple(adapter.format(s.arch) for s in chosen),
        columns,
        None if any(i is None for i in indices) else np.array(indices),
    )


def plot_front(scored: list[Scored], objective: Objective, best: Scored, path: Path) -> None:
    """Predicted accuracy against cost for every evaluated architecture, the front on top."""
    from flash_nas._imports import require

    matplotlib = require("matplotlib", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    feasible = [s for s in scored if s.feasible]
    front = pareto_front(scored, objective)
    figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    axes.scatter(
        [cost(objective, s) for s in feasible],
        [s.values["accuracy"] for s in feasible],
        s=6,
        alpha=0.35,
        color="#8aa4c8",
        label=f"evaluated ({len(feasible):,})",
    )
    axes.plot(
        [cost(objective, s) for s in front],
        [s.values["accuracy"] for s in front],
        "-o",
        ms=3,
        color="#1f4e8c",
        label="accuracy-cost front",
    )
    axes.scatter(
        [cost(objective, best)],
        [best.values["accuracy"]],
        marker="*",
        s=180,
        color="#d1495b",
        zorder=5,
        label="chosen",
    )
    if len({cost(objective, s) for s in feasible}) > 1:
        axes.set_xscale("log")
    axes.set_xlabel(f"cost: {_cost_text(objective)}")
    axes.set_ylabel("predicted accuracy (%)")
    axes.set_title(f"objective {objective.text}")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
