"""``flash-nas show STATE.json``: a search's summary from its ``--state`` file, running nothing.

It reads the state another run may still be writing (each save replaces the file whole, so a
reader sees the previous or the next state, never half of one) and never writes it back: the
settings, the trials (told, failed, pending), the best measured label, the model's summary, the
recommendation and, where the objective has a cost, the accuracy-cost front.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from flash_nas.cli._args import UsageError, input_file
from flash_nas.cli.commands import summary

if TYPE_CHECKING:
    from flash_nas.search.engine import SearchEngine

__all__ = ["add_to", "run"]


def add_to(commands: argparse._SubParsersAction) -> None:
    show = commands.add_parser(
        "show",
        help=summary("show"),
        description="Print the summary of a search from the state file that `flash-nas search "
        "--state` or `flash-nas train --budget --state` writes: settings, trials, best measured "
        "label, model, recommendation and front. It reads the file only (a run still writing it "
        "is not disturbed) and proposes or trains nothing.",
    )
    # not "state": that destination is --state, a file a run writes and locks; show only reads
    show.add_argument(
        "saved_state", type=input_file, metavar="STATE.json", help="the engine's state"
    )
    show.add_argument("--top", type=int, default=5, help="the N best architectures (default 5)")
    show.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from flash_nas.search.engine import SearchEngine

    if args.top < 1:
        raise UsageError(f"--top must be >= 1; got {args.top}.")
    engine = SearchEngine.load(args.saved_state)  # rebuilt in memory; the file is not written
    for line in describe(engine, args.top):
        print(line)
    return 0


def describe(engine: SearchEngine, top: int) -> list[str]:
    """The summary's lines (what ``flash-nas show`` prints)."""
    from flash_nas.cli.search_run import cost_text, costs_status, describe_point
    from flash_nas.errors import FlashNasError

    trials = engine.history
    counts = {
        status: sum(t.status == status for t in trials)
        for status in ("succeeded", "failed", "pending")
    }
    options = ", ".join(f"{k}={v}" for k, v in engine.space_options.items())
    hardware = engine.hardware_name or "none"
    if engine.hardware_options:
        hardware += " (" + ", ".join(f"{k}={v}" for k, v in engine.hardware_options.items()) + ")"
    limits = ", ".join(f"{k} {v:g}" for k, v in engine.limits.items()) or "none"
    scale = engine.label_scale
    lines = [
        f"Space: {engine.space_name}" + (f" ({options})" if options else ""),
        f"Method: {engine.method}, seed {engine.seed}, initial design {engine.initial_samples} "
        f"({engine.design}), features {', '.join(engine.features)}",
        f"Hardware: {hardware}; objective {engine.objective_text}; limits {limits}",
        f"Labels: {scale.unit}, {scale.low:g}..{scale.high:g}, "
        f"{'higher' if scale.higher_is_better else 'lower'} is better",
        f"Trials: {len(trials)} ({counts['succeeded']} labelled, {counts['failed']} failed, "
        f"{counts['pending']} pending)",
    ]
    if engine.hardware is not None:
        lines.append(measured_line(engine))
    labelled = [t for t in trials if t.status == "succeeded" and t.value is not None]
    if not labelled:
        lines.append("No label yet: nothing to recommend.")
        return lines
    pick = max if scale.higher_is_better else min
    best = pick(labelled, key=lambda t: float(t.value or 0.0))
    order = trials.index(best) + 1
    lines.append(f"Best measured label: {best.value:.4g} {scale.unit}, trial {order}: {best.text}")
    try:
        lines += engine.summary()
        points = engine.top(top)
        recommendation = engine.recommend()
    except FlashNasError as exc:  # e.g. no measured architecture meets the limits yet
        lines.append(f"No recommendation yet: {exc}")
        return lines
    first = describe_point(points[0], engine.vocabulary) + costs_status(engine, points[0].arch)
    lines.append(f"Recommended: {recommendation.text}: {first}")
    if recommendation.note:
        lines.append(recommendation.note)
    for rank, point in enumerate(points[1:], start=2):
        lines.append(f"#{rank} {point.text}: {describe_point(point, engine.vocabulary)}")
    if cost_text(engine) != "1":
        front = engine.front()
        lines.append(
            f"Accuracy-cost front: {len(front)} architectures (cost = {cost_text(engine)}):"
        )
        lines += [f"  {point.text}: {describe_point(point, engine.vocabulary)}" for point in front]
    return lines


def measured_line(engine: SearchEngine) -> str:
    """How many architectures had their costs measured on the device: trained ones (told with
    their label) and those measured only."""
    measured = engine.measured
    trained = sum(
        1 for arch in measured if arch in engine.trials and engine.trials[arch].status != "pending"
    )
    return (
        f"Measured costs: {len(measured)} architecture(s) ({trained} trained, "
        f"{len(measured) - trained} measured without training)"
    )
