"""``flash-nas search``: drive the ask/tell engine with labels from a table, print, write.

The command only parses, loops and prints: proposing, fitting, recommending and the front are
the engine's (:mod:`flash_nas.search.engine`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Hashable
from pathlib import Path

import numpy as np

from flash_nas.cli._args import UsageError
from flash_nas.cli._common import make_adapter, write_output
from flash_nas.cli._costs import CostTable, load_cost_table
from flash_nas.cli._resume import engine_from_args, space_from_state
from flash_nas.errors import ArchFormatError, CostError, LabelError
from flash_nas.graph.metrics import parse_metric_names
from flash_nas.io.tables import Table, read_table
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.quantities import METRIC_QUANTITIES, STANDARD_QUANTITIES, Vocabulary
from flash_nas.search.engine import FrontPoint, SearchEngine

__all__ = ["load_label_table", "run_search_command"]


def load_label_table(adapter: Adapter, spec: str) -> tuple[Table, str]:
    """``TABLE:COLUMN`` -> (table, column); TABLE is a shipped table's name or a CSV path."""
    name, sep, column = spec.rpartition(":")
    if not sep or not name or not column:
        raise UsageError(f"--labels-from expects TABLE:COLUMN, got {spec!r}.")
    shipped = adapter.tables()
    if name in shipped:
        table = shipped[name]()
    elif Path(name).is_file():
        # only the labels are read as numbers: the same file may hold measured costs, whose
        # cells may read "does not run" (--costs-from reads those)
        table = read_table(name, required=[column], numeric=[column])
    else:
        known = ", ".join(shipped) or "none"
        raise UsageError(
            f"--labels-from: {name!r} is neither a file nor a table this space ships "
            f"(shipped: {known})."
        )
    if column not in table.columns:  # a name typed on the command line: a usage error
        raise UsageError(
            f"--labels-from {spec}: the table has no column {column!r}; its columns: "
            f"{', '.join(table.columns) or 'none'}."
        )
    return table, column


def _engine(args: argparse.Namespace, table: Table, column: str) -> SearchEngine:
    if args.initial_samples is not None and args.budget is None:
        raise UsageError("--initial-samples goes with --budget (the loop's initial design).")
    return engine_from_args(
        args,
        initial_samples=args.n_labels if args.n_labels is not None else args.initial_samples,
        design=args.strategy,
        features=parse_metric_names(args.features) if args.features else None,
        label_scale=table.scale(column),
        confidence=args.confidence,
    )


def _check_cost_flags(args: argparse.Namespace) -> None:
    """What goes with --costs-from, and --confidence's range, before any work."""
    # the engine's range: below one half, "feasible" would mean "more likely to break it"
    if not 0.5 <= args.confidence < 1.0:  # NaN fails both comparisons
        raise UsageError(
            f"--confidence must be a probability in [0.5, 1) (how sure an unmeasured cost must "
            f"be to meet the limits); got {args.confidence}."
        )
    for flag, value in (("--measure-budget", args.measure_budget),
                        ("--save-profile", args.save_profile)):  # fmt: skip
        if value is not None and args.costs_from is None:
            raise UsageError(
                f"{flag} needs --costs-from TABLE:COLUMN (where the measured costs come from)."
            )
    if args.measure_budget is not None:
        if args.measure_budget < 0:
            raise UsageError(f"--measure-budget must be >= 0; got {args.measure_budget}.")
        if args.budget is None:
            raise UsageError(
                "--measure-budget goes with --budget: its measurements are spread over the "
                "training loop."
            )


def _tell(
    engine: SearchEngine,
    archs: list[Hashable],
    labels: list[float],
    costs: CostTable | None,
    texts: list[str],
    why: str,
) -> None:
    """Labels, with their measured costs where --costs-from gives them (all checked first)."""
    if costs is None:
        engine.tell(archs, labels)
    else:
        engine.tell(archs, labels, costs=costs.costs(texts, why))


def _label(engine: SearchEngine, table: Table, column: str, text: str) -> float:
    if text not in table:
        told = sum(t.status != "pending" for t in engine.trials.values())
        raise LabelError(
            f"search stopped after {told} label(s): it proposed {text}, which --labels-from "
            f"{table.source or 'the table'} has no row for (a table stands in for training only "
            f"where it labels every architecture the search may propose); label that "
            f"architecture in the table and rerun (with --state, the run resumes), or leave out "
            f"--budget and --n-labels to learn from the table's own rows."
        )
    return float(table.column(column)[table.row_of(text)])


def _tell_rows(
    engine: SearchEngine, table: Table, column: str, costs: CostTable | None
) -> None:
    """Every row of the table as a label (architectures the user trained)."""
    archs: list[Hashable] = []
    for row, text in enumerate(table.archs, start=2):
        try:
            archs.append(engine.adapter.parse(text))
        except ArchFormatError as exc:
            raise ArchFormatError(
                f"{table.source or 'labels'}, row {row}: {exc} (are these labels of the "
                f"{engine.space_name} space?)"
            ) from None
    labels = [float(v) for v in table.column(column)]
    _tell(engine, archs, labels, costs, list(table.archs), "a labelled architecture")


def _save(engine: SearchEngine, args: argparse.Namespace) -> None:
    if args.state is not None:
        engine.save(args.state)


def run_search_command(args: argparse.Namespace) -> int:
    space_from_state(args)
    # --output, --plot and --state were checked against every input before the command ran
    # (flash_nas.cli._files)
    for flag, value in (("--n-labels", args.n_labels), ("--budget", args.budget)):
        if value is not None and value < 1:
            raise UsageError(f"{flag} must be >= 1; got {value}.")
    if args.top < 1:
        raise UsageError(f"--top must be >= 1; got {args.top}.")
    _check_cost_flags(args)
    adapter = make_adapter(args.space, args.space_option)
    table, column = load_label_table(adapter, args.labels_from)
    costs = None if args.costs_from is None else load_cost_table(adapter, args.costs_from)
    engine = _engine(args, table, column)
    if costs is not None:
        costs.check_quantities(engine)
    if args.n_labels is not None:
        told = sum(t.status != "pending" for t in engine.trials.values())
        if told < args.n_labels:
            proposals = engine.ask(args.n_labels - told)
            _tell(
                engine,
                [p.arch for p in proposals],
                [_label(engine, table, column, p.text) for p in proposals],
                costs,
                [p.text for p in proposals],
                "a proposal",
            )
            _save(engine, args)
    elif args.budget is not None:
        _budget_loop(engine, table, column, args, costs)
    else:
        _tell_rows(engine, table, column, costs)
        _save(engine, args)
    for line in engine.summary():
        print(line)
    best = engine.top(args.top)
    recommendation = engine.recommend()
    for rank, point in enumerate(best, start=1):
        status = costs_status(engine, point.arch)
        print(f"#{rank} {point.text}: {describe_point(point, engine.vocabulary)}{status}")
    if recommendation.note:
        print(recommendation.note)
    if args.top > 1 and cost_text(engine) != "1":  # accuracy alone has no front to speak of
        front = engine.front()
        print(f"Accuracy-cost front: {len(front)} architectures (cost = {cost_text(engine)}).")
    write_output(_result_table(engine, best), args.output)
    write_pictures(engine, args)
    if args.save_profile is not None:
        save_profile(engine, args.save_profile)
    return 0


def costs_status(engine: SearchEngine, arch: Hashable) -> str:
    """``; costs measured`` or ``; costs predicted (P = ...)``: whether an architecture's costs
    were measured, else the probability that it meets the limits (nothing without hardware)."""
    if engine.hardware is None:
        return ""
    if costs_measured(engine, [arch])[0]:
        return "; costs measured"
    probability = float(engine.feasibility([arch])[0])
    return f"; costs predicted (P = {probability:.3g} of meeting the limits)"


def costs_measured(engine: SearchEngine, archs: list[Hashable]) -> np.ndarray:
    """Per architecture, whether its costs were measured, as the engine's recommendation says
    it: every hardware quantity with a limit (without limits, every one the objective reads)."""
    return engine.results.costs_measured(engine.candidates.add(archs))


def save_profile(engine: SearchEngine, path: Path) -> None:
    """``--save-profile``: the hardware model's costs refitted on the measurements."""
    profile = engine.cost_profile()
    if profile is None:
        if not engine.measured:
            raise CostError(
                f"--save-profile {path}: nothing was measured, so there is no refitted profile "
                f"to write; measure architectures (--costs-from, --measure-budget) first."
            )
        raise CostError(
            f"--save-profile {path}: the {engine.hardware_name} model cannot be refitted on "
            f"measurements (it has no fitted costs); leave out --save-profile, or search with a "
            f"model that can be calibrated (`flash-nas calibrate`)."
        )
    profile.save(path)
    print(f"Wrote the refitted profile to {path}.", file=sys.stderr)


def write_pictures(engine: SearchEngine, args: argparse.Namespace) -> None:
    """``--plot``, ``--history`` and ``--history-plot``, where asked for."""
    if args.plot:
        from flash_nas.cli.plot import plot_front

        plot_front(engine, args.plot)
        print(f"Wrote the plot to {args.plot}.", file=sys.stderr)
    if args.history:
        from flash_nas.cli.history import write_history

        write_history(engine, args.history)
        trials = len(engine.trials)
        print(f"Wrote the history of {trials} trials to {args.history}.", file=sys.stderr)
    if args.history_plot:
        from flash_nas.cli.plot import plot_history

        plot_history(engine, args.history_plot)
        print(f"Wrote the history plot to {args.history_plot}.", file=sys.stderr)


def _budget_loop(
    engine: SearchEngine,
    table: Table,
    column: str,
    args: argparse.Namespace,
    costs: CostTable | None,
) -> None:
    from flash_nas.cli._args import progress_wanted
    from flash_nas.search.engine.schedule import measurements_before

    done = sum(t.status != "pending" for t in engine.trials.values())
    remaining = max(0, args.budget - done)
    bar = None
    if progress_wanted() and remaining:
        from tqdm import tqdm

        bar = tqdm(total=args.budget, initial=done, unit="label", file=sys.stderr)
    try:
        for step in range(done, done + remaining):
            if costs is not None and args.measure_budget:
                _measure(engine, costs, measurements_before(step, args.budget, args.measure_budget))
            (proposal,) = engine.ask(1)
            label = _label(engine, table, column, proposal.text)
            _tell(engine, [proposal.arch], [label], costs, [proposal.text], "a proposal")
            _save(engine, args)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()


def _measure(engine: SearchEngine, costs: CostTable, count: int) -> None:
    """``count`` latency-only measurements: the architectures the engine asks to measure, their
    costs looked up in the --costs-from table (the stand-in for measuring them)."""
    if count <= 0:
        return
    todo = engine.ask_measure(count)
    if todo:
        texts = [t.text for t in todo]
        engine.measure([t.arch for t in todo], costs.costs(texts, "an architecture to measure"))


def describe_point(point: FrontPoint, vocabulary: Vocabulary | None = None) -> str:
    """An architecture's accuracy (measured, or predicted with its sd), costs (in the units the
    search's ``vocabulary`` declares; default: the standard ones) and objective."""
    hardware_quantities = (
        STANDARD_QUANTITIES if vocabulary is None else vocabulary.hardware_quantities
    )
    accuracy = f"{point.accuracy:.4g}"
    if point.measured:
        parts = [f"measured {accuracy}"]
    else:
        spread = f" ± {point.std:.2g}" if point.std is not None else ""
        parts = [f"predicted {accuracy}{spread}"]
    for quantity in hardware_quantities:
        if quantity in point.values:
            unit = f" {quantity.unit}" if quantity.unit else ""
            parts.append(f"{quantity.short} {point.values[quantity]:.4g}{unit}")
    parts.append(f"objective {point.objective:.4g}")
    return ", ".join(parts)


def cost_text(engine: SearchEngine) -> str:
    """The objective's cost side as a formula (``1`` when the objective is accuracy alone)."""
    exponents = engine.objective.exponents
    terms = [f"{name}^{-power:g}" for name, power in exponents.items() if name != "acc"]
    return "*".join(terms) or "1"


def _result_table(engine: SearchEngine, points: list[FrontPoint]) -> Table:
    """The recommendation first, then the other best architectures."""
    columns = {
        "accuracy": np.array([p.accuracy for p in points]),
        "measured": np.array([1.0 if p.measured else 0.0 for p in points]),
        # The spread of a predicted accuracy; a measured one has none to report.
        "accuracy_sd": np.array([0.0 if p.std is None else p.std for p in points]),
    }
    vocabulary = engine.vocabulary
    for name in (*vocabulary.hardware_quantities, *METRIC_QUANTITIES):
        if all(name in p.values for p in points):
            columns[name] = np.array([p.values[name] for p in points])
    if engine.hardware is not None:
        # Whether the costs above were measured (else predicted by the hardware model: those the
        # limits or the objective read), and the probability the architecture meets the limits.
        archs = [p.arch for p in points]
        columns["costs_measured"] = costs_measured(engine, archs).astype(float)
        columns["p_feasible"] = np.asarray(engine.feasibility(archs), dtype=float)
    columns["objective"] = np.array([p.objective for p in points])
    indices = [engine.adapter.index(p.arch) for p in points]
    return Table(
        tuple(p.text for p in points),
        columns,
        None if any(i is None for i in indices) else np.array(indices),
    )
