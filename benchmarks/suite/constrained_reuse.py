"""Runs of the constrained part read back from an earlier run's CSVs instead of run again.

The part's full protocol (six devices, two limits, seven methods, 20 seeds) takes about two
hours on two cores. ``--constrained-reuse DIR[,DIR...]`` lets one run extend another: a
``(device, limit, seed)`` whose every method is in ``DIR/constrained_runs.csv``, or a
``(device, seed)`` whose every multi-objective method is in ``DIR/constrained_front.csv``,
is read from there, and only the rest runs. So ``--seeds 10 --output A`` then ``--first-seed 10
--seeds 10 --output B`` then ``--seeds 20 --constrained-reuse A,B --output C`` gives what one
``--seeds 20`` run gives, in two halves that fit a working session each (a reused folder may not
be the output: the run would overwrite what it reads).

The rows carry no record of the code that wrote them: reuse only the output of the same code
(the runs are seeded, so the same code writes the same rows, up to the ``seconds`` column; the
figures computed from rows read back differ from a fresh run's in the sixth digit, the CSV's
rounding).
What is checked is what the rows do say: the methods, the limit in ms and the number of
trainings must be this run's, and a folder whose tables do not read as this part's is an error
naming the file and line.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flash_nas.errors import TableError, UsageError

__all__ = ["FRONT_COLUMNS", "Reused", "read_reused", "reuse_folders"]

FRONT_COLUMNS = ("device", "seed", "method", "labels", "hypervolume")


def _number_or(*words: str) -> Callable[[str], Any]:
    """A float, or one of ``words`` kept as it is (the CSV's "none" and "failed")."""

    def convert(text: str) -> Any:
        if text in words:
            return text
        value = float(text)
        if math.isnan(value):
            raise ValueError("NaN")
        return value

    return convert


def _flag(text: str) -> int:
    if text not in ("0", "1"):
        raise ValueError("not 0 or 1")
    return int(text)


#: How each column of ``constrained_runs.csv`` reads back into what :func:`judge_rows` wrote.
RUN_TYPES: Mapping[str, Callable[[str], Any]] = {
    "device": str,
    "limit": str,
    "limit_ms": float,
    "seed": int,
    "method": str,
    "arch": str,
    "valid_accuracy": _number_or("none"),
    "test_accuracy": _number_or("none"),
    "true_latency_ms": _number_or("none", "failed"),
    "told_latency_ms": _number_or("none"),
    "measured": _flag,
    "feasible": _flag,
    "labels": int,
    "trained_over_limit": int,
    "seconds": float,
    "note": str,
}
FRONT_TYPES: Mapping[str, Callable[[str], Any]] = {
    "device": str,
    "seed": int,
    "method": str,
    "labels": int,
    "hypervolume": float,
}


@dataclass
class Reused:
    """Rows read from earlier runs: each limit run's rows by ``(device, limit name, seed)``,
    each front's ``(method, hypervolume)`` by ``(device, seed)``, and the folders read."""

    runs: dict[tuple[str, str, int], list[tuple[Any, ...]]] = field(default_factory=dict)
    fronts: dict[tuple[str, int], list[tuple[Any, ...]]] = field(default_factory=dict)
    folders: list[Path] = field(default_factory=list)

    def limit_rows(
        self, device: str, limit: str, seed: int, methods: Iterable[str], limit_ms: float
    ) -> list[tuple[Any, ...]] | None:
        """The rows of one limit run if the folders hold every one of ``methods`` for it."""
        rows = self.runs.get((device, limit, seed))
        if rows is None or sorted(r[4] for r in rows) != sorted(methods):
            return None
        if any(not math.isclose(r[2], limit_ms, rel_tol=1e-5) for r in rows):
            raise TableError(
                f"reused runs of {device} {limit} seed {seed} have the limit "
                f"{rows[0][2]:.6g} ms where this run's is {limit_ms:.6g} ms: they come from "
                f"other data or other code; leave --constrained-reuse out to run them again."
            )
        return rows

    def front_values(
        self, device: str, seed: int, methods: Sequence[str], trials: int
    ) -> list[tuple[str, float]] | None:
        """Each method's hypervolume for one front, if the folders hold all of ``methods``
        with ``trials`` trained networks each."""
        rows = self.fronts.get((device, seed))
        if rows is None or sorted(r[2] for r in rows) != sorted(methods):
            return None
        if any(r[3] != trials for r in rows):
            return None
        by_method = {r[2]: r[4] for r in rows}
        return [(method, by_method[method]) for method in methods]


def reuse_folders(text: str) -> list[Path]:
    """The option's type: comma-separated folders, each holding an earlier run's CSVs."""
    folders = [Path(part) for part in text.split(",") if part.strip()]
    if not folders:
        raise ValueError(f"expected folders separated by commas, got {text!r}")
    return folders


def read_reused(
    folders: Sequence[Path], run_columns: Sequence[str], trainings: int, output: Path
) -> Reused:
    """Read ``constrained_runs.csv`` and ``constrained_front.csv`` of each folder (a later
    folder's row for the same run replaces an earlier one's). Limit runs with another number
    of trainings than ``trainings`` are not reused. A folder that is also the run's ``output``
    is refused: the run would overwrite the tables it reads."""
    reused = Reused(folders=list(folders))
    for folder in folders:
        if folder.resolve() == output.resolve():
            raise UsageError(
                f"--constrained-reuse {folder} is also the --output folder: the run would "
                f"overwrite the tables it reads. Write it to another folder, then move its files."
            )
        runs_path = folder / "constrained_runs.csv"
        front_path = folder / "constrained_front.csv"
        for path in (runs_path, front_path):
            if not path.is_file():
                raise UsageError(
                    f"--constrained-reuse {folder}: no {path.name} there (the folder an "
                    f"earlier `python -m benchmarks --suite constrained --output DIR` wrote)"
                )
        grouped: dict[tuple[str, str, int], list[tuple[Any, ...]]] = {}
        for row in _read(runs_path, run_columns, RUN_TYPES):
            if row[12] != trainings:  # another protocol's run (--quick's): run it again
                continue
            grouped.setdefault((row[0], row[1], row[3]), []).append(row)
        reused.runs.update(grouped)
        fronts: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        for row in _read(front_path, FRONT_COLUMNS, FRONT_TYPES):
            fronts.setdefault((row[0], row[1]), []).append(row)
        reused.fronts.update(fronts)
    return reused


def _read(
    path: Path, columns: Sequence[str], types: Mapping[str, Callable[[str], Any]]
) -> list[tuple[Any, ...]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != tuple(columns):
            raise TableError(
                f"{path}: expected the columns {', '.join(columns)}; got "
                f"{', '.join(header) if header else 'an empty file'}"
            )
        rows = []
        for line, values in enumerate(reader, start=2):
            if len(values) != len(columns):
                raise TableError(
                    f"{path}:{line}: {len(values)} values for {len(columns)} columns"
                )
            try:
                rows.append(tuple(types[c](v) for c, v in zip(columns, values)))
            except ValueError as error:
                raise TableError(
                    f"{path}:{line}: a value that is not this part's ({error}); the file is "
                    f"not a constrained part's table, or was edited"
                ) from None
        return rows
