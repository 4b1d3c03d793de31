"""What every subcommand shares: choosing a space and its architectures, writing CSVs."""

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
from flash_nas.tables import Table, read_table, write_table


class UsageError(FlashNasError):
    """Arguments that do not fit together (exit status 2)."""


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as a Python literal where it is one."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = raw
    return key.strip(), value


_OPTION_FLAGS = {
    "space": ("--space-option", "-O", "adapter parameter, e.g. -O input_size=64 (repeatable)"),
    "hardware": ("--hardware-option", "-H", "hardware model parameter (repeatable)"),
}


def add_options_argument(
    parser: argparse.ArgumentParser, kind: str, help: str | None = None
) -> None:
    """``-O KEY=VALUE`` (adapter) or ``-H KEY=VALUE`` (hardware model), repeatable."""
    flag, short, default_help = _OPTION_FLAGS[kind]
    parser.add_argument(
        flag,
        short,
        type=key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=help or default_help,
    )


def add_space_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--space``, ``-O``, and the choice of architectures (``--archs`` / ``--sample``)."""
    parser.add_argument("--space", required=required, help="search space (see `flash-nas plugins`)")
    add_options_argument(
        parser, "space", "adapter parameter, e.g. -O input_size=64 -O num_classes=100 (repeatable)"
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--archs",
        type=Path,
        metavar="FILE",
        help="architectures to use: one per line (# comments allowed), or a CSV with an "
        "'arch' column. With --space torch, lines are module:callable, and flash-nas imports "
        "those modules and calls those callables: it runs their code",
    )
    which.add_argument("--sample", type=int, metavar="N", help="draw N architectures uniformly")
    parser.add_argument("--seed", type=int, default=0, help="random seed for --sample (default 0)")


def add_output_argument(parser: argparse.ArgumentParser, *, default: str | None = "-") -> None:
    parser.add_argument(
        "--output",
        "-o",
        default=default,
        required=default is None,
        help="file to write" + (", or - for standard output (default)" if default == "-" else ""),
    )


def make_adapter(name: str, options: Sequence[tuple[str, Any]]) -> Adapter:
    """The adapter called ``name``, built with the ``-O`` values."""
    try:
        return plugins.get_adapter(name, **dict(options))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"--space {name}: {exc}") from exc


def select_archs(adapter: Adapter, args: argparse.Namespace) -> GraphBatch:
    """The batch that ``--archs``, ``--sample`` or neither (the whole space) asks for."""
    if args.archs is not None:
        return adapter.batch(read_arch_file(adapter, args.archs))
    if args.sample is not None:
        if args.sample < 1:
            raise UsageError(f"--sample must be >= 1, got {args.sample}.")
        try:
            return adapter.sample(args.sample, args.seed)
        except ValueError as exc:
            raise UsageError(f"--sample: {exc}") from exc
    size = adapter.size()
    if size is not None:
        print(f"Using the whole {args.space} space: {size:,} architectures.", file=sys.stderr)
    return adapter.enumerate()


def read_arch_file(adapter: Adapter, path: Path) -> list[Any]:
    """Architectures from a text file (one per line) or a CSV with an ``arch`` column."""
    if not path.is_file():
        raise UsageError(f"--archs: no file {str(path)!r}.")
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
        raise UsageError(f"--archs: {path} lists no architecture.")
    return parse_all(adapter, texts, where)


def parse_all(adapter: Adapter, texts: Sequence[str], where: Sequence[str]) -> list[Any]:
    """Parse every text, naming the place of the first malformed one."""
    archs = []
    for text, place in zip(texts, where):
        try:
            archs.append(adapter.parse(text))
        except ArchFormatError as exc:
            raise ArchFormatError(f"{place}: {exc}") from exc
    return archs


def check_output(output: str) -> None:
    """Fail before the work, not after it, when the output cannot be written."""
    if output != "-" and not Path(output).resolve().parent.is_dir():
        raise UsageError(f"--output: the folder {str(Path(output).parent)!r} does not exist.")


def write_output(table: Table, output: str) -> None:
    if output == "-":
        write_table(table, sys.stdout)
        return
    write_table(table, Path(output))
    print(f"Wrote {len(table):,} rows to {output}.", file=sys.stderr)


def print_columns(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())


def progress_wanted() -> bool:
    """Progress bars go to standard error, and only when a person is watching it."""
    return sys.stderr.isatty()
