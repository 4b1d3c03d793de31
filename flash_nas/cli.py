"""The ``flash-nas`` command line.

Every subcommand is a small function taking the parsed arguments. Errors that flash-nas raises on
purpose end the program with one readable line on standard error and exit status 1 (2 for a
usage error), never a traceback.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flash_nas import plugins
from flash_nas.adapter import Adapter
from flash_nas.batch import GraphBatch
from flash_nas.errors import ArchFormatError, FlashNasError
from flash_nas.metrics import METRICS, parse_metric_names, score_batch
from flash_nas.tables import Table, read_table, write_table

__all__ = ["build_parser", "main"]


class _UsageError(FlashNasError):
    """Arguments that do not fit together."""


def _option(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as a Python literal where it is one."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


def _add_space_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space", required=True, help="search space (see `flash-nas plugins`)")
    parser.add_argument(
        "--space-option",
        "-O",
        type=_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="adapter parameter, e.g. -O input_size=64 -O num_classes=100 (repeatable)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--archs",
        type=Path,
        metavar="FILE",
        help="architectures to use: one per line (# comments allowed), or a CSV with an "
        "'arch' column",
    )
    which.add_argument("--sample", type=int, metavar="N", help="draw N architectures uniformly")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --sample (default 0)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flash-nas",
        description="FLASH: training-free, hardware-aware neural architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    listing = commands.add_parser("plugins", help="list registered adapters and hardware models")
    listing.set_defaults(run=_run_plugins)

    metrics = commands.add_parser("metrics", help="list the training-free metrics")
    metrics.set_defaults(run=_run_metrics)

    score = commands.add_parser(
        "score",
        help="score architectures with training-free metrics",
        description="Score a whole space (where it can be enumerated), a sample of it, or the "
        "architectures in a file, and write a CSV: arch, index (where the space has one), then "
        "one column per metric.",
    )
    _add_space_arguments(score)
    score.add_argument(
        "--metrics",
        default="nn_degree,params,flops",
        help=f"comma-separated, from: {', '.join(METRICS)} (default: nn_degree,params,flops)",
    )
    score.add_argument(
        "--output", "-o", default="-", help="CSV file to write, or - for standard output (default)"
    )
    score.set_defaults(run=_run_score)
    return parser


def _version() -> str:
    from flash_nas import __version__

    return __version__


def _run_plugins(args: argparse.Namespace) -> int:
    rows = [("kind", "name", "plugin", "distribution", "description")]
    for entry in plugins.registrations():
        rows.append(
            (
                entry.kind,
                entry.name,
                entry.plugin,
                entry.distribution or "-",
                getattr(entry.factory, "description", "") or entry.factory.__name__,
            )
        )
    _print_columns(rows)
    return 0


def _run_metrics(args: argparse.Namespace) -> int:
    rows = [("name", "unit", "description")]
    rows += [(metric.name, metric.unit, metric.description) for metric in METRICS.values()]
    _print_columns(rows)
    return 0


def _print_columns(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


def make_adapter(args: argparse.Namespace) -> Adapter:
    """The adapter named by ``--space``, built with the ``--space-option`` values."""
    try:
        return plugins.get_adapter(args.space, **dict(args.space_option))
    except (ValueError, TypeError) as exc:
        raise _UsageError(f"--space {args.space}: {exc}") from exc


def select_archs(adapter: Adapter, args: argparse.Namespace) -> GraphBatch:
    """The batch that ``--archs``, ``--sample`` or neither (the whole space) asks for."""
    if args.archs is not None:
        return adapter.batch(read_arch_file(adapter, args.archs))
    if args.sample is not None:
        if args.sample < 1:
            raise _UsageError(f"--sample must be >= 1, got {args.sample}.")
        return adapter.sample(args.sample, args.seed)
    size = adapter.size()
    if size is not None:
        print(f"Scoring the whole {args.space} space: {size:,} architectures.", file=sys.stderr)
    return adapter.enumerate()


def read_arch_file(adapter: Adapter, path: Path) -> list[Any]:
    """Architectures from a text file (one per line) or a CSV with an ``arch`` column."""
    if not path.is_file():
        raise _UsageError(f"--archs: no file {str(path)!r}.")
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        texts = list(read_table(path, numeric=()).archs)
        where = [f"{path}, row {row}" for row in range(2, len(texts) + 2)]
    else:
        texts, where = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if text:
                texts.append(text)
                where.append(f"{path}, line {number}")
    if not texts:
        raise _UsageError(f"--archs: {path} lists no architecture.")
    archs = []
    for text, place in zip(texts, where):
        try:
            archs.append(adapter.parse(text))
        except ArchFormatError as exc:
            raise ArchFormatError(f"{place}: {exc}") from exc
    return archs


def _check_output(output: str) -> None:
    """Fail before the work, not after it, when the output cannot be written."""
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise _UsageError(f"--output: the folder {str(Path(output).parent)!r} does not exist.")


def _run_score(args: argparse.Namespace) -> int:
    _check_output(args.output)
    names = parse_metric_names(args.metrics)
    adapter = make_adapter(args)
    batch = select_archs(adapter, args)
    columns = score_batch(batch, names, progress=sys.stderr.isatty())
    table = Table(archs=tuple(batch.texts()), columns=columns, indices=batch.indices())
    _write(table, args.output)
    return 0


def _write(table: Table, output: str) -> None:
    if output == "-":
        write_table(table, sys.stdout)
        return
    path = Path(output)
    write_table(table, path)
    print(f"Wrote {len(table):,} rows to {path}.", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flash-nas`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except _UsageError as exc:
        parser.exit(2, f"flash-nas: error: {exc}\n")
    except FlashNasError as exc:
        parser.exit(1, f"flash-nas: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "flash-nas: interrupted\n")
    except BrokenPipeError:
        return 0
    return 0
