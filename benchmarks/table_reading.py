"""How fast a table reads: a column at a time against a cell at a time, in the same run.

:func:`flash_nas.read_table` reads a well-formed table's numeric columns a column at a time (one
check of the characters and one float() pass per column). A table holding a word (``does not
run``) or a wrong cell goes a cell at a time, the way every table was read before, which also
names the file's first wrong line. Every NNI trial of the shipped example, every CLI command
with a hardware table and every test worker reads the shipped tables once, so this is where
their start-up time goes. This times both paths on the tables flash-nas ships (NAS-Bench-201's
CIFAR-10 accuracies and HW-NAS-Bench's latencies and energies, 15,625 rows each), checks that
they read the same values, and prints the medians and their ratio::

    python -m benchmarks.table_reading --repeats 5 --output DIR

With ``--output DIR`` the rows go to ``DIR/table_reading.csv`` as well.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from unittest import mock

import numpy as np

from flash_nas import Table
from flash_nas.io import tables
from flash_nas_adapters.nasbench201.space import shipped_table_path as accuracy_table
from flash_nas_hardware.hwnasbench import shipped_table_path as hardware_table

__all__ = ["Timing", "main", "time_table"]

#: The tables that ship with flash-nas, by the name the output gives them.
SHIPPED: dict[str, Callable[[], Path]] = {
    "nasbench201_cifar10": accuracy_table,
    "hwnasbench_nasbench201": hardware_table,
}


@dataclass(frozen=True)
class Timing:
    """One table read both ways: medians over the repeats, in milliseconds."""

    table: str
    rows: int
    numeric_columns: int
    column_at_a_time_ms: float
    cell_at_a_time_ms: float
    ratio: float


def _median_ms(read: Callable[[], Table], repeats: int) -> tuple[float, Table]:
    times, table = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        table = read()
        times.append((time.perf_counter() - started) * 1000)
    assert table is not None
    return statistics.median(times), table


def _cell_at_a_time(path: Path) -> Table:
    """The table read as one holding a word is: a cell at a time."""
    with mock.patch.object(tables, "_read_plain", lambda *args, **kwargs: None):
        return tables.read_table(path)


def time_table(name: str, path: Path, repeats: int) -> Timing:
    """Both paths on ``path``; an error if they read different values."""
    fast_ms, fast = _median_ms(lambda: tables.read_table(path), repeats)
    slow_ms, slow = _median_ms(lambda: _cell_at_a_time(path), repeats)
    if fast.archs != slow.archs or fast.columns.keys() != slow.columns.keys():
        raise AssertionError(f"{name}: the two paths read different rows or columns")
    for column, values in fast.columns.items():
        if not np.array_equal(values, slow.columns[column]):
            raise AssertionError(f"{name}: the two paths read column {column!r} differently")
    return Timing(
        name, len(fast.archs), len(fast.columns), fast_ms, slow_ms, slow_ms / fast_ms
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of repeats, got {text!r}")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.table_reading",
        description="Time reading the shipped tables a column at a time against a cell at a time.",
    )
    parser.add_argument("--repeats", type=_positive, default=5, help="reads per path (median)")
    parser.add_argument("--output", type=Path, help="also write DIR/table_reading.csv")
    args = parser.parse_args(argv)
    timings = [time_table(name, path(), args.repeats) for name, path in SHIPPED.items()]
    for timing in timings:
        print(
            f"{timing.table} ({timing.rows:,} rows, {timing.numeric_columns} numeric columns): "
            f"a column at a time {timing.column_at_a_time_ms:.0f} ms, a cell at a time "
            f"{timing.cell_at_a_time_ms:.0f} ms ({timing.ratio:.1f}x), median of {args.repeats}"
        )
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        with (args.output / "table_reading.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[field.name for field in fields(Timing)])
            writer.writeheader()
            writer.writerows(asdict(timing) for timing in timings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
