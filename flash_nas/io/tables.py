"""Per-architecture tables: accuracies, measured latencies, scores.

A :class:`Table` is a column ``arch`` (the space's canonical text), an optional integer column
``index``, and numeric columns. It is what ``flash-nas score`` writes and what the accuracy and
measurement readers return. Reading checks the file strictly: a missing column, a cell that is not
a number, a NaN, or an architecture listed twice is an error naming the row, never a silently
shorter table.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from flash_nas.errors import TableError, UnknownNameError, quote
from flash_nas.io.numbers import parse_integer, parse_number

__all__ = ["PERCENT", "LabelScale", "Table", "check_rows", "read_table", "write_table"]


@dataclass(frozen=True)
class LabelScale:
    """The range and direction of a label column: what a search reads as "better".

    Most benchmarks store accuracy in percent (``PERCENT``); some store a loss (lower is better), a
    negative loss or a 0-1 score (TransNAS-Bench-101's SSIM). A table declares the scale of each
    label column it ships so that the search engine reads it right instead of guessing.
    """

    low: float
    high: float
    higher_is_better: bool = True
    unit: str = "%"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
            raise TableError(
                f"A label scale needs finite low < high; got low={self.low!r}, high={self.high!r}."
            )

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


#: Accuracy in percent, higher is better: the scale of a column no table declares otherwise.
PERCENT = LabelScale(0.0, 100.0, True, "%")


@dataclass(frozen=True)
class Table:
    """Numbers per architecture; ``columns`` maps a name to a float array, one entry per arch."""

    archs: tuple[str, ...]
    columns: Mapping[str, np.ndarray]
    indices: np.ndarray | None = None
    source: str = ""
    #: Label columns whose scale is not percent-accuracy (see :class:`LabelScale`).
    scales: Mapping[str, LabelScale] = field(default_factory=dict)
    _rows: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "archs", tuple(self.archs))
        rows = dict(zip(self.archs, range(len(self.archs))))  # in C: a million rows in ~0.1 s
        if len(rows) != len(self.archs):
            first: dict[str, int] = {}
            for position, arch in enumerate(self.archs):
                if arch in first:
                    raise TableError(
                        f"{self._where()}architecture {quote(arch)} is listed twice (rows "
                        f"{first[arch] + 1} and {position + 1}); keep one row per architecture."
                    )
                first[arch] = position
        object.__setattr__(self, "_rows", rows)
        for name, values in self.columns.items():
            if len(values) != len(self.archs):
                raise TableError(
                    f"{self._where()}column {name!r} has {len(values)} values for "
                    f"{len(self.archs)} architectures."
                )
        if self.indices is not None and len(self.indices) != len(self.archs):
            raise TableError(f"{self._where()}the index column does not match the arch column.")
        unknown = [name for name in self.scales if name not in self.columns]
        if unknown:
            raise TableError(f"{self._where()}scales given for unknown column(s) {unknown}.")

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    def __len__(self) -> int:
        """The number of rows (architectures), as ``len`` of a data frame."""
        return len(self.archs)

    def __contains__(self, key: object) -> bool:
        """``name in table``: a column of that name, or a row of that architecture's text
        (column names are plain words, architecture texts never are)."""
        return key in self.columns or key in self._rows

    def __getitem__(self, name: str) -> np.ndarray:
        """``table["c10_valid"]``: the column, as :meth:`column`; an unknown name raises a
        ``KeyError`` (:class:`~flash_nas.errors.UnknownNameError`) listing the columns."""
        if name in self.columns:
            return self.columns[name]
        raise UnknownNameError(
            f"{self._where()}no column {name!r}; the table has: "
            f"{', '.join(self.columns) or 'no numeric columns'}."
        )

    def __iter__(self) -> Iterator[str]:
        """The column names, as iterating a data frame gives its columns."""
        return iter(self.columns)

    def __repr__(self) -> str:
        # The rows are often a whole benchmark (NAS-Bench-201: 15,625): name, never list them.
        where = f", source={self.source!r}" if self.source else ""
        return f"<Table: {len(self):,} rows, columns {list(self.columns)}{where}>"

    def column(self, name: str) -> np.ndarray:
        """The column called ``name``; an unknown name lists the columns there are."""
        try:
            return self.columns[name]
        except KeyError:
            raise TableError(
                f"{self._where()}no column {quote(name, 60)}; the table has: "
                f"{', '.join(list(self.columns)[:20]) or 'no numeric columns'}"
                f"{' ...' if len(self.columns) > 20 else ''}."
            ) from None

    def scale(self, name: str) -> LabelScale:
        """The declared scale of column ``name`` (percent accuracy unless declared)."""
        self.column(name)
        return self.scales.get(name, PERCENT)

    def row_of(self, arch: str) -> int:
        """Row position of ``arch``."""
        try:
            return self._rows[arch]
        except KeyError:
            raise TableError(
                f"{self._where()}architecture {quote(arch)} is not in the table."
            ) from None

    def lookup(self, archs: Sequence[str], name: str) -> np.ndarray:
        """Column ``name`` for ``archs``, in that order; every arch must be present."""
        values = self.column(name)
        missing = [arch for arch in archs if arch not in self._rows]
        if missing:
            raise TableError(
                f"{self._where()}{len(missing)} architecture(s) are not in the table, e.g. "
                f"{missing[:3]}."
            )
        return values[[self._rows[arch] for arch in archs]]


def _open_text(path: Path) -> IO[str]:
    # utf-8-sig: a spreadsheet that saves "CSV UTF-8" starts the file with a byte-order mark,
    # which would otherwise become part of the first column's name
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def read_table(
    path: str | Path,
    *,
    required: Iterable[str] = (),
    arch_column: str = "arch",
    index_column: str | None = "index",
    numeric: Iterable[str] | None = None,
    words: Mapping[str, float] | None = None,
) -> Table:
    """Read a CSV (optionally gzip'd) into a :class:`Table`.

    ``required`` columns must exist. ``numeric`` lists the columns to read as numbers (default:
    every column other than the arch and index columns); each of their cells must parse as a
    finite number, or be one of ``words`` (its value: a table of measured costs writes
    ``does not run`` for ``inf``), compared without surrounding blanks or case.
    """
    path = Path(path)
    if not path.is_file():
        raise TableError(f"Table file {str(path)!r} does not exist.")
    source = str(path)
    try:
        with _open_text(path) as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as exc:
        raise TableError(f"{source}: cannot read it as a CSV table ({exc}).") from exc
    if not header:
        raise TableError(
            f"{source}: the file is empty; expected a header line with {arch_column!r}."
        )
    header = [name.strip() for name in header]
    needed = [arch_column, *required]
    absent = [name for name in needed if name not in header]
    if absent:
        # the header is not quoted: a file that is no table (a table= naming /etc/passwd)
        # would show its first line
        raise TableError(
            f"{source}: missing column(s) {', '.join(map(repr, absent))}; expected a CSV header "
            f"(line 1) naming {', '.join(map(repr, needed))} (it has {len(header)} column(s))."
        )
    has_index = index_column is not None and index_column in header
    skip = {arch_column, index_column if has_index else None}
    wanted = [name for name in header if name not in skip] if numeric is None else list(numeric)
    for name in wanted:
        if name not in header:
            raise TableError(
                f"{source}: missing column {quote(name, 60)}; expected a CSV header (line 1) "
                f"naming it."
            )
    position = {name: header.index(name) for name in header}
    index_at = position[index_column] if has_index and index_column is not None else None
    numeric_at = {name: position[name] for name in wanted}
    # compared without surrounding blanks or case; normalised once, not per cell
    meaning = {word.strip().lower(): value for word, value in (words or {}).items()}
    archs, indices, columns = _read_plain(
        rows, len(header), position[arch_column], index_at, numeric_at
    ) or _read_cells(rows, source, header, position[arch_column], index_at, numeric_at, meaning)
    if not archs:
        raise TableError(f"{source}: the table has a header but no rows.")
    return Table(
        archs=tuple(archs),
        columns=columns,
        indices=np.asarray(indices, dtype=np.int64) if has_index else None,
        source=source,
    )


#: What a table's rows read as: archs, indices (empty without an index column), numeric columns.
_Parsed = tuple[list[str], list[int], dict[str, np.ndarray]]


def _read_cells(
    rows: list[list[str]],
    source: str,
    header: list[str],
    arch_at: int,
    index_at: int | None,
    numeric_at: Mapping[str, int],
    words: Mapping[str, float],
) -> _Parsed:
    """The rows a cell at a time, in file order: a word's value, or the first wrong line named."""
    archs: list[str] = []
    indices: list[int] = []
    columns: dict[str, list[float]] = {name: [] for name in numeric_at}
    for line, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise TableError(f"{source}, line {line}: {len(row)} cells for {len(header)} columns.")
        archs.append(row[arch_at].strip())
        if index_at is not None:
            indices.append(_parse_int(row[index_at], source, line, header[index_at]))
        for name, at in numeric_at.items():
            columns[name].append(_parse_number(row[at], source, line, name, words))
    arrays = {name: np.asarray(values, dtype=float) for name, values in columns.items()}
    return archs, indices, arrays


#: The characters of plain decimals and the blanks around them. float() takes more ("5_0",
#: "nan", "infinity", Arabic-Indic digits), but nothing else written with these characters
#: alone: a cell of them that float() reads is a plain decimal, as parse_number has it.
_PLAIN_NUMBER_CHARACTERS = re.compile(r"[0-9eE+\-.\s]*", re.ASCII)


def _plain_numbers(cells: list[str]) -> np.ndarray | None:
    """``cells`` as finite numbers when every one is a plain decimal, else None."""
    if not _PLAIN_NUMBER_CHARACTERS.fullmatch("".join(cells)):
        return None
    try:
        values = np.fromiter(map(float, cells), dtype=float, count=len(cells))
    except ValueError:
        return None
    return values if np.isfinite(values).all() else None


def _read_plain(
    rows: list[list[str]],
    width: int,
    arch_at: int,
    index_at: int | None,
    numeric_at: Mapping[str, int],
) -> _Parsed | None:
    """A well-formed table's archs, indices and numeric columns, a column at a time (the shipped
    tables read in about half the time: ``python -m benchmarks.table_reading``); None where any
    row is not (a wrong number of cells, an index or a number that does not parse, a word), so
    that the reader goes cell by cell for the word's value or the first line that is wrong."""
    kept = [row for row in rows if "".join(row).strip()]  # blank lines are skipped
    if any(len(row) != width for row in kept):
        return None
    indices: list[int] = []
    if index_at is not None:
        parsed = [parse_integer(row[index_at]) for row in kept]
        if None in parsed:
            return None
        indices = [value for value in parsed if value is not None]
    columns: dict[str, np.ndarray] = {}
    for name, at in numeric_at.items():
        values = _plain_numbers([row[at] for row in kept])
        if values is None:
            return None
        columns[name] = values
    return [row[arch_at].strip() for row in kept], indices, columns


def _parse_number(
    cell: str, source: str, line: int, column: str, words: Mapping[str, float] | None = None
) -> float:
    """``cell`` as a number, or the value of one of ``words`` (keys stripped and lower case)."""
    # the cell is not quoted: the file may be anything (a table= that names /etc/shadow)
    value = parse_number(cell)
    if value is None and words:
        value = words.get(cell.strip().lower())
    if value is None:
        also = "".join(f" or {word!r}" for word in words or ())
        raise TableError(
            f"{source}, line {line}: column {quote(column, 60)} is not a number; expected a "
            f"finite number in plain decimal, such as 93.5 or 1.2e-3{also}."
        )
    return value


def _parse_int(cell: str, source: str, line: int, column: str) -> int:
    value = parse_integer(cell)
    if value is None:
        raise TableError(
            f"{source}, line {line}: column {quote(column, 60)} is not an integer; expected "
            f"plain digits, such as 42."
        )
    return value


def write_table(
    table: Table,
    out: str | Path | IO[str],
    *,
    precision: int | None = None,
    progress: bool = False,
) -> None:
    """Write ``table`` as CSV to a path or an open text stream (``arch``, ``index``, columns).

    A path is replaced only once the whole table is written (see :mod:`flash_nas.io.outputs`), so
    an interrupted write leaves the file that was there. Whole numbers are written as integers,
    others in Python's shortest round-trip form (or with ``precision`` significant digits);
    ``progress`` shows a bar on standard error while the rows are written.
    """
    if isinstance(out, (str, Path)):
        from flash_nas.io.outputs import atomic_output

        with atomic_output(out, "w", encoding="utf-8", newline="") as handle:
            write_table(table, handle, precision=precision, progress=progress)
        return
    names = list(table.columns)
    header = ["arch", *(["index"] if table.indices is not None else []), *names]
    out.write(",".join(_csv_field(name) for name in header) + "\n")
    # the columns are turned into text a chunk at a time, as arrays, and the lines joined by
    # hand (numbers never need CSV quoting): a million rows cell by cell through csv.writer
    # take seconds, and all at once would hold every cell's text in memory
    arrays = [np.asarray(table.columns[name], dtype=float) for name in names]
    indices = None if table.indices is None else np.asarray(table.indices, dtype=np.int64)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(table), desc="writing", unit="row", file=sys.stderr)
    try:
        for start in range(0, len(table), _WRITE_CHUNK):
            end = min(start + _WRITE_CHUNK, len(table))
            texts = [_cell_texts(values[start:end], precision) for values in arrays]
            if indices is not None:
                texts.insert(0, indices[start:end].astype(str).tolist())
            archs = [_csv_field(arch) for arch in table.archs[start:end]]
            out.write("".join([",".join(cells) + "\n" for cells in zip(archs, *texts)]))
            if bar is not None:
                bar.update(end - start)
    finally:
        if bar is not None:
            bar.close()


def _csv_field(text: str) -> str:
    """``text`` as one CSV cell, quoted as ``csv.writer`` quotes (QUOTE_MINIMAL)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


#: Rows written between updates of the progress bar.
_WRITE_CHUNK = 50_000


def _cell_texts(values: np.ndarray, precision: int | None) -> list[str]:
    """Each value as a CSV cell: an integer when it is a whole number below 2**53 (exact in a
    float), else ``repr`` (or ``precision`` significant digits)."""
    whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < 2.0**53)
    if whole.all():
        return values.astype(np.int64).astype(str).tolist()
    numbers = values.tolist()
    if precision is None:
        cells = list(map(repr, numbers))
    else:
        cells = [f"{value:.{precision}g}" for value in numbers]
    for position in np.flatnonzero(whole).tolist():
        cells[position] = str(int(numbers[position]))
    return cells


def check_rows(
    values: Sequence[float] | np.ndarray,
    archs: Sequence[str],
    breaks: Callable[[np.ndarray], np.ndarray],
    rule: str,
    advice: str = "",
) -> np.ndarray:
    """``values`` as floats when every one is finite and none ``breaks`` the rule; otherwise a
    TableError stating ``rule``, how many rows break it, and the first of them by name."""
    array = np.asarray(values, dtype=float)
    bad = np.flatnonzero(~np.isfinite(array) | breaks(array))
    if len(bad):
        first = int(bad[0])
        raise TableError(
            f"{rule}; {len(bad)} row(s) are not, e.g. {archs[first]!r} = {array[first]!r}."
            + (f" {advice}" if advice else "")
        )
    return array
