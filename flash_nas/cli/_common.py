"""What every subcommand shares: choosing a space and its architectures, writing CSVs."""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flash_nas import plugins
from flash_nas.cli._args import (
    UsageError,
    progress_wanted,
)
from flash_nas.errors import ArchFormatError, OutputError, ParameterError, quote
from flash_nas.graph.batch import GraphBatch
from flash_nas.io.outputs import check_output_path
from flash_nas.io.tables import Table, read_table, write_table
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.quantities import LATENCY_MS, PARAMS, STANDARD_QUANTITIES, limit_name

if TYPE_CHECKING:
    import numpy as np

#: Longest ``-O``/``-H`` value: a literal nested thousands deep makes Python's parser recurse.
MAX_OPTION_CHARS = 10_000
#: Longest line of an ``--archs`` file (the longest canonical text shipped is ~2,000 characters).
MAX_ARCH_CHARS = 100_000
#: Most architectures one command takes at once (``--sample`` or ``--archs``): 10^7 FLASH
#: architectures are about 2 GB of text and arrays; split larger jobs by seed or file.
MAX_ARCHS = 10_000_000


def key_value(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as a Python literal where it is one."""
    if len(text) > MAX_OPTION_CHARS:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE of at most {MAX_OPTION_CHARS:,} characters, got {len(text):,} "
            f"({quote(text, 60)})"
        )
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {quote(text)}")
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw  # not a literal: the plain text, which the plugin checks
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


#: The limits with a flag of their own (``--max-latency-ms X``), each the same as ``--max``'s
#: ``QUANTITY=X`` form, which takes any quantity.
LIMIT_FLAGS = (*STANDARD_QUANTITIES, PARAMS)


def add_objective_arguments(parser: argparse.ArgumentParser, objective_help: str) -> None:
    """``--objective``, ``--max QUANTITY=X`` (any quantity the search has, repeatable) and the
    shorter spellings ``--max-latency-ms X``... of the standard ones."""
    parser.add_argument("--objective", help=objective_help)
    parser.add_argument(
        "--max",
        action="append",
        default=[],
        type=limit_value,
        metavar="QUANTITY=X",
        help="hard limit on a quantity: a metric (params, flops) or any the hardware model "
        f"declares, e.g. --max {LATENCY_MS}=20 or, for a model that reports memory_mb, "
        "--max memory_mb=300 (an unknown one is an error that lists the model's); repeatable",
    )
    for quantity in LIMIT_FLAGS:
        parser.add_argument(
            f"--{quantity.limit.replace('_', '-')}",
            type=float,
            metavar="X",
            help=f"same as --max {quantity}=X",
        )


def limit_value(text: str) -> tuple[str, float]:
    """``memory_mb=300`` -> ("memory_mb", 300.0): what ``--max`` takes."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not name.strip() or number is None:
        raise argparse.ArgumentTypeError(
            f"expected QUANTITY=NUMBER, e.g. {LATENCY_MS}=20; got {text[:200]!r}"
        )
    return name.strip(), number


def limits_from_args(args: argparse.Namespace) -> dict[str, float]:
    """Every limit the command line sets, by limit name (``max_memory_mb``), each once."""
    limits: dict[str, float] = {}
    for quantity, value in getattr(args, "max", None) or []:
        if limit_name(quantity) in limits:
            raise UsageError(f"--max {quantity}= is given twice; give each limit once.")
        limits[limit_name(quantity)] = value
    for quantity in LIMIT_FLAGS:
        value = getattr(args, quantity.limit, None)
        if value is None:
            continue
        if quantity.limit in limits:
            flag = quantity.limit.replace("_", "-")
            raise UsageError(
                f"--{flag} and --max {quantity}= set the same limit; give it once."
            )
        limits[quantity.limit] = value
    return limits


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
    except ParameterError as exc:
        raise UsageError(f"--space {name}: {exc}") from exc


def select_archs(adapter: Adapter, args: argparse.Namespace) -> GraphBatch:
    """The batch that ``--archs``, ``--sample`` or neither (the whole space) asks for."""
    if args.archs is not None:
        return adapter.batch(read_arch_file(adapter, args.archs))
    if args.sample is not None:
        check_sample_size(adapter, args.sample, args.space)
        try:
            return adapter.sample(args.sample, args.seed)
        except ParameterError as exc:
            raise UsageError(f"--sample: {exc}") from exc
    size = adapter.size()
    if size is not None:
        print(f"Using the whole {args.space} space: {size:,} architectures.", file=sys.stderr)
    return adapter.enumerate()


def check_sample_size(adapter: Adapter, n: int, space: str, option: str = "--sample") -> None:
    """``n`` distinct architectures can be drawn: 1..MAX_ARCHS, and no more than the space has."""
    if n < 1:
        raise UsageError(f"{option} must be >= 1, got {n}.")
    if n > MAX_ARCHS:
        raise UsageError(
            f"{option} {n:,} is more than flash-nas takes at once ({MAX_ARCHS:,}, about 2 GB); "
            f"split the job into runs of at most {MAX_ARCHS:,}."
        )
    size = adapter.size()
    if size is not None and n > size:
        raise UsageError(
            f"{option} {n:,} asks for more architectures than the {space} space has ({size:,}); "
            f"ask for at most {size:,}, or leave out {option} to use the whole space."
        )


def read_arch_file(adapter: Adapter, path: Path) -> list[Any]:
    """Architectures from a text file (one per line) or a CSV with an ``arch`` column.

    Everything about the list is checked here, before any work: each line parses, none is
    listed twice (both places named), a CSV's ``index`` column agrees with the space.
    """
    if not path.is_file():
        raise UsageError(f"--archs: no file {str(path)!r}; expected a file of architectures.")
    indices = None
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        table = read_table(path, numeric=())
        texts, indices = list(table.archs), table.indices
        where = [f"{path}, row {row}" for row in range(2, len(texts) + 2)]
    else:
        texts, where = [], []
        for number, line in enumerate(_text_lines(path), start=1):
            text = line.split("#", 1)[0].strip()
            if len(text) > MAX_ARCH_CHARS:
                raise ArchFormatError(
                    f"{path}, line {number}: {len(text):,} characters; expected one architecture "
                    f"per line, at most {MAX_ARCH_CHARS:,} characters."
                )
            if text:
                texts.append(text)
                where.append(f"{path}, line {number}")
    if not texts:
        raise ArchFormatError(f"--archs: {path} lists no architecture.")
    if len(texts) > MAX_ARCHS:
        raise ArchFormatError(
            f"--archs: {path} lists {len(texts):,} architectures; expected at most {MAX_ARCHS:,} "
            f"at once (split the file)."
        )
    archs = parse_all(adapter, texts, where)
    check_unique(archs, where)
    if indices is not None:
        check_indices(adapter, archs, indices, where)
    return archs


def _text_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ArchFormatError(
            f"--archs: {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start:,}); expected one architecture per line, or a CSV with an 'arch' column."
        ) from None
    except OSError as exc:
        raise UsageError(f"--archs: cannot read {path} ({exc.strerror or exc}).") from None


def parse_all(adapter: Adapter, texts: Sequence[str], where: Sequence[str]) -> list[Any]:
    """Parse every text, naming the place of the first malformed one."""
    archs = []
    for text, place in zip(texts, where):
        try:
            archs.append(adapter.parse(text))
        except ArchFormatError as exc:
            raise ArchFormatError(f"{place}: {exc}") from exc
    return archs


def check_unique(archs: Sequence[Hashable], where: Sequence[str]) -> None:
    """No architecture twice (two texts may spell one architecture): name both places."""
    first: dict[Hashable, int] = {}
    for position, arch in enumerate(archs):
        seen = first.setdefault(arch, position)
        if seen != position:
            raise ArchFormatError(
                f"{where[position]}: the architecture of {where[seen]} again; expected each "
                f"architecture once (remove one of the two)."
            )


def check_indices(
    adapter: Adapter,
    archs: Sequence[Hashable],
    indices: Sequence[int] | np.ndarray,
    where: Sequence[str],
) -> None:
    """A CSV's ``index`` column must be the space's own index of each row's architecture."""
    if type(adapter).index is Adapter.index:
        return
    for arch, index, place in zip(archs, indices, where):
        expected = adapter.index(arch)
        if expected is not None and int(index) != expected:
            raise ArchFormatError(
                f"{place}: index {int(index)} does not match the architecture, whose index in "
                f"this space is {expected}; fix or drop the 'index' column."
            )


def check_output(
    output: str | Path | None,
    *,
    inputs: Sequence[tuple[str, str | Path | None]] = (),
    option: str = "--output",
) -> None:
    """Fail before the work, not after it, when ``output`` cannot be written or is one of the
    ``inputs`` (``(option, path)`` pairs of the files the command reads)."""
    try:
        check_output_path(output, option=option, inputs=inputs)
    except OutputError as exc:
        raise UsageError(str(exc)) from None


def write_output(table: Table, output: str) -> None:
    """``table`` as CSV to standard output (``-``) or a file, replaced only once complete."""
    show = progress_wanted() and len(table) >= PROGRESS_ROWS
    if output == "-":
        write_table(table, sys.stdout, progress=show)
        return
    write_table(table, Path(output), progress=show)
    print(f"Wrote {len(table):,} rows to {output}.", file=sys.stderr)


#: Tables at least this long show a progress bar while written (a million rows take seconds).
PROGRESS_ROWS = 100_000


def print_columns(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)] + [row[-1]]
        print("  ".join(cells).rstrip())
