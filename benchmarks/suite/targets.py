"""Accuracy tables as ranking targets: the shipped one and any a user supplies (``--table``).

A table is a CSV (optionally gzip'd) with an ``arch`` column (NAS-Bench-201 arch strings), an
``index`` column (the official index), or both, and numeric columns. Every column whose name
marks it as an accuracy (:func:`is_accuracy_column`: it contains ``acc``, ``test``, ``valid``,
``top1`` or ``top5``) becomes a target; no dataset is named here, so a CIFAR-100 or
ImageNet16-120 table is read exactly like the CIFAR-10 one. The table must list every
architecture of the space once, with arch and index agreeing where both are given: anything else
is an error naming the rows, never a silently shorter comparison.
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flash_nas import Table, TableError, read_table
from flash_nas.errors import ArchFormatError
from flash_nas.search.pipeline import check_accuracies
from flash_nas_adapters.nasbench201.space import NasBench201Adapter

#: A column is an accuracy when its lower-cased name contains one of these.
ACCURACY_HINTS = ("acc", "test", "valid", "top1", "top5")
_DOCUMENTED = re.compile(r"^\| `([^`]+)` \| (.+?) \|\s*$", re.MULTILINE)
#: How many offending rows an error message shows.
SHOWN = 5


@dataclass(frozen=True)
class Target:
    """One accuracy column, aligned to the official index (``values[i]`` is index ``i``), and
    what the column means where the table's folder documents it."""

    column: str
    table: str
    values: np.ndarray
    meaning: str


@dataclass(frozen=True)
class TargetTable:
    """The targets read from one file, and the numeric columns that were not targets."""

    path: str
    targets: list[Target]
    ignored: list[str]


def is_accuracy_column(name: str) -> bool:
    lowered = name.lower()
    return any(hint in lowered for hint in ACCURACY_HINTS)


def column_meanings(path: Path) -> dict[str, str]:
    """Column meanings from a ``README.md`` beside the table: rows ``| `column` | meaning |``."""
    readme = path.parent / "README.md"
    if not readme.is_file():
        return {}
    rows = _DOCUMENTED.findall(readme.read_text(encoding="utf-8"))
    return {column: meaning.strip() for column, meaning in rows}


def _header(path: Path) -> list[str]:
    if not path.is_file():
        raise TableError(f"Table file {str(path)!r} does not exist.")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:  # type: ignore[operator]
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error, EOFError) as exc:
        raise TableError(f"{path}: cannot read it as a CSV table ({exc}).") from exc


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN])
    return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def official_indices(path: str | Path, adapter: NasBench201Adapter) -> tuple[np.ndarray, Table]:
    """Per row of the table at ``path``, the official index of its architecture, and the table;
    raises unless every architecture of the space is there exactly once, arch and index
    agreeing."""
    path = Path(path)
    header = _header(path)
    size = adapter.size()
    if "arch" in header:
        table = read_table(path, arch_column="arch", index_column="index")
        indices = []
        for row, text in enumerate(table.archs, start=1):
            try:
                indices.append(adapter.index(adapter.parse(text)))
            except ArchFormatError as exc:
                raise TableError(f"{path}, row {row}: {exc}") from exc
        found = np.array(indices, dtype=np.int64)
        if table.indices is not None:
            wrong = np.flatnonzero(table.indices != found)
            if len(wrong):
                raise TableError(
                    f"{path}: the index column disagrees with the arch column on {len(wrong)} "
                    "row(s): "
                    + _listing(
                        [
                            f"row {r + 1} says index {table.indices[r]} but {table.archs[r]!r} "
                            f"is index {found[r]}"
                            for r in wrong
                        ]
                    )
                    + ". Use the official NAS-Bench-201 index, or drop the index column."
                )
    elif "index" in header:
        table = read_table(path, arch_column="index", index_column=None)
        found = np.empty(len(table), dtype=np.int64)
        for row, text in enumerate(table.archs):
            try:
                found[row] = int(text)
            except ValueError:
                raise TableError(
                    f"{path}, row {row + 1}: index {text!r} is not an integer."
                ) from None
        outside = np.flatnonzero((found < 0) | (found >= size))
        if len(outside):
            raise TableError(
                f"{path}: {len(outside)} index(es) outside 0..{size - 1}: "
                + _listing([f"row {r + 1}: {found[r]}" for r in outside])
                + "."
            )
    else:
        raise TableError(
            f"{path}: a target table needs an 'arch' column (NAS-Bench-201 arch strings) or an "
            f"'index' column (the official index, 0..{size - 1}); the header has "
            f"{', '.join(header) or 'nothing'}."
        )
    first_row: dict[int, int] = {}
    repeated = []
    for row, index in enumerate(found):
        if int(index) in first_row:
            repeated.append(f"index {index} on rows {first_row[int(index)] + 1} and {row + 1}")
        first_row.setdefault(int(index), row)
    if repeated:
        raise TableError(
            f"{path}: {len(repeated)} architecture(s) listed twice: {_listing(repeated)}."
        )
    missing = np.setdiff1d(np.arange(size), found)
    if len(missing):
        raise TableError(
            f"{path}: {len(missing):,} of the {size:,} architectures are missing: "
            + _listing(
                [f"index {i} ({adapter.format(adapter.from_index(int(i)))})" for i in missing]
            )
            + ". Every architecture needs a row, or the comparison would silently use fewer."
        )
    return found, table


def load_targets(path: str | Path, adapter: NasBench201Adapter) -> TargetTable:
    """Every accuracy column of the table at ``path``, aligned to the official index."""
    found, table = official_indices(path, adapter)
    columns = table.columns
    names = [name for name in columns if is_accuracy_column(name)]
    if not names:
        raise TableError(
            f"{path}: no accuracy column; a column is read as a target when its name contains "
            f"one of {', '.join(ACCURACY_HINTS)} (the table has {', '.join(columns) or 'none'})."
        )
    meanings = column_meanings(Path(path))
    targets = []
    for name in names:
        values = check_accuracies(columns[name], table.archs, f"{path}, column {name!r}")
        if np.ptp(values) == 0:
            raise TableError(f"{path}: column {name!r} holds one value only; it cannot rank.")
        aligned = np.empty(len(found))
        aligned[found] = values
        meaning = meanings.get(name, f"as {Path(path).name} defines its column {name!r}")
        targets.append(Target(name, Path(path).name, aligned, meaning))
    return TargetTable(str(path), targets, [name for name in columns if name not in names])
