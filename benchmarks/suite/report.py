"""Writing the suite's report: Markdown tables with their captions, CSVs, PNG figures.

Every part hands back a :class:`Section`: Markdown blocks, the raw tables behind them
(:class:`Csv`, one row per seed or repeat where there are seeds), the figures it drew and its
headline numbers by name (``results``), which the writer saves as ``PART.json`` beside the
report: the machine-readable file the README's figures are checked against
(``tests/test_readme_figures.py``). The
writer checks every number of every CSV against its column's possible range before writing
(:func:`value_range`: a correlation in [-1, 1], an accuracy in [0, 100], a time > 0...), so a
report never carries a NaN or an impossible value; a column the rules do not know is an error too.
"""

from __future__ import annotations

import csv
import datetime
import importlib.metadata
import json
import math
import os
import platform
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas.io.outputs import atomic_output, atomic_path

#: Integer columns: counts, seeds, positions, flags (all >= 0).
COUNT_COLUMNS = frozenset(
    {
        "seed",
        "repeat",
        "trial",
        "labels",
        "n_rows",
        "n_archs",
        "n_cells",
        "evaluations",
        "cold",
        "measured",
        "feasible",
        "threads",
        "input_size",
        "macs",
        "trained_over_limit",
    }
)
#: (column name suffix, low, high, low excluded): the first suffix that matches decides.
SUFFIX_RANGES: tuple[tuple[str, float, float, bool], ...] = (
    ("spearman", -1.0, 1.0, False),
    ("kendall", -1.0, 1.0, False),
    ("accuracy", 0.0, 100.0, False),
    ("seconds", 0.0, math.inf, True),
    ("_mb", 0.0, math.inf, True),
    ("ratio", 0.0, math.inf, True),
    ("within_10pct", 0.0, 1.0, False),
    ("within_20pct", 0.0, 1.0, False),
    ("_ms", 0.0, math.inf, True),
    ("mape", 0.0, math.inf, False),
    ("alpha", 0.0, math.inf, True),
    ("space_size", 0.0, math.inf, True),
    ("log_objective", -math.inf, math.inf, False),
    ("hypervolume", 0.0, 1.0, False),  # normalised by the box the space spans
)


def value_range(column: str) -> tuple[float, float, bool]:
    """``(low, high, low_excluded)`` for a numeric column, by its name; unknown names raise."""
    if column in COUNT_COLUMNS:
        return 0.0, math.inf, False
    for suffix, low, high, open_low in SUFFIX_RANGES:
        if column.endswith(suffix):
            return low, high, open_low
    raise ValueError(
        f"Column {column!r} has no known range; name it after what it holds (a suffix from "
        f"{', '.join(s for s, *_ in SUFFIX_RANGES)}, or a count from {sorted(COUNT_COLUMNS)})."
    )


def check_value(table: str, column: str, value: float) -> None:
    """Raise unless ``value`` is finite and within ``column``'s possible range."""
    low, high, open_low = value_range(column)
    below = value <= low if open_low else value < low
    if not math.isfinite(value) or below or value > high:
        bracket = "(" if open_low else "["
        raise ValueError(
            f"{table}: column {column!r} holds {value!r}, outside its possible range "
            f"{bracket}{low:g}, {high:g}]; the measurement is broken, not the report."
        )


@dataclass
class Csv:
    """A raw table: ``name`` (the file is ``name.csv``), its columns and rows."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, *values: Any) -> None:
        if len(values) != len(self.columns):
            raise ValueError(
                f"{self.name}: a row of {len(values)} values for {len(self.columns)} columns."
            )
        self.rows.append(values)

    def column(self, name: str) -> list[Any]:
        position = self.columns.index(name)
        return [row[position] for row in self.rows]

    def records(self, **where: Any) -> list[dict[str, Any]]:
        """The rows whose columns equal ``where``'s values, as dicts."""
        rows = (dict(zip(self.columns, row)) for row in self.rows)
        return [row for row in rows if all(row[key] == value for key, value in where.items())]

    def select(self, column: str, **where: Any) -> np.ndarray:
        """Column ``column`` of the rows whose columns equal ``where``'s values, as floats."""
        return np.array([row[column] for row in self.records(**where)], dtype=float)


@dataclass
class Section:
    """One part of the suite as the report shows it."""

    part: str
    title: str
    blocks: list[str] = field(default_factory=list)
    csvs: list[Csv] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Headline numbers by name, in the units the report prints them (%, ms, rho...): a number
    #: or a list of numbers (``[mean, std]``, ``[difference, low, high]``), nested in dicts.
    results: dict[str, Any] = field(default_factory=dict)
    #: The machine's 1-minute load average when the part started and when it ended.
    load: tuple[float, float] = (0.0, 0.0)


def machine() -> str:
    """The machine in words: CPU model, cores, memory, OS and the numeric libraries."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    parts = [f"{cpu}, {os.cpu_count()} logical cores"]
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        parts.append(f"{memory / 2**30:.0f} GiB memory")
    except (ValueError, OSError, AttributeError):
        pass
    parts.append(f"{platform.system()} {platform.release()}")
    parts.append(f"Python {platform.python_version()}")
    for package in ("numpy", "scipy", "torch"):
        with suppress(importlib.metadata.PackageNotFoundError):
            parts.append(f"{package} {importlib.metadata.version(package)}")
    return ", ".join(parts)


def caption(*, rows: str, target: str, split: str, seeds: str) -> str:
    """The line above every table: what its rows are, what it measures against, over what."""
    return f"*Rows:* {rows}. *Target:* {target}. *Split:* {split}. *Seeds:* {seeds}."


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def mean_std(values: Sequence[float] | np.ndarray, digits: int = 3, scale: float = 1.0) -> str:
    """``mean ± std`` (population std) of ``values`` times ``scale``."""
    array = np.asarray(values, dtype=float) * scale
    return f"{array.mean():.{digits}f} ± {array.std():.{digits}f}"


def write_csv(output: Path, data: Csv) -> Path:
    """Write ``data`` as ``output/name.csv`` after checking every number's range."""
    for row in data.rows:
        for column, value in zip(data.columns, row):
            if isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{data.name}: column {column!r} holds a bool; write 0 or 1.")
            if isinstance(value, (int, float, np.integer, np.floating)):
                check_value(data.name, column, float(value))
    path = output / f"{data.name}.csv"
    with atomic_output(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(data.columns)
        for row in data.rows:
            writer.writerow([_cell(value) for value in row])
    return path


def _cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.integer):
        return int(value)
    return value


@contextmanager
def figure(path: Path, ncols: int = 1, width: float = 6.0) -> Iterator[Any]:
    """A matplotlib figure of ``ncols`` panels (Agg backend), saved as PNG to ``path``."""
    from flash_nas import require

    matplotlib = require("matplotlib", "The benchmark suite's plots")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, 4.2), dpi=110, squeeze=False)
    try:
        yield fig, list(axes[0])
        fig.tight_layout()
        with atomic_path(path) as temporary:  # the old figure stays until the new one is whole
            fig.savefig(temporary)
    finally:
        plt.close(fig)


def seeds_in_words(seeds: Mapping[str, int]) -> str:
    """``10 seeds`` when every part ran with as many, else the most common count and the
    parts that differ: ``3 seeds (nni_tuners 2)``."""
    counts = list(seeds.values())
    if not counts:
        return "no seeds"
    usual = Counter(counts).most_common(1)[0][0]  # a tie: the first part's count
    others = [f"{name} {count}" for name, count in seeds.items() if count != usual]
    return f"{usual} seeds" + (f" ({', '.join(others)})" if others else "")


def plain(value: Any, where: str) -> Any:
    """``value`` as JSON: dicts of str keys, lists, finite floats and ints (numpy unwrapped),
    strings and None; anything else, or a NaN, raises naming ``where``."""
    if isinstance(value, Mapping):
        return {str(key): plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item, f"{where}[{n}]") for n, item in enumerate(value)]
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{where} holds a bool; write 0 or 1.")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"{where} holds {value!r}; the measurement is broken.")
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where} holds a {type(value).__name__}; expected numbers, lists or dicts.")


def write_results(
    output: Path, section: Section, *, command: str, seeds: int | None, quick: bool
) -> Path:
    """``output/PART.json``: how the part was run (command, mode, seeds, machine, load, time)
    and its named results."""
    data = {
        "part": section.part,
        "command": command,
        "mode": "quick" if quick else "full",
        "seeds": seeds,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_average": {"start": round(section.load[0], 2), "end": round(section.load[1], 2)},
        "seconds": round(section.seconds, 1),
        "results": plain(section.results, section.part),
    }
    path = output / f"{section.part}.json"
    with atomic_output(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    return path


def write_report(
    output: Path,
    sections: Sequence[Section],
    *,
    command: str,
    seeds: Mapping[str, int],
    quick: bool,
) -> Path:
    """``report.md``, every section's CSVs and its ``PART.json`` in ``output``; the figures are
    there already. ``seeds``: each part's seed count, by part name."""
    lines = [
        "# flash-nas benchmark suite",
        "",
        f"Machine: {machine()}. No GPU is used: every time is on this CPU.",
        "",
        f"Command: `{command}`. Mode: {'quick' if quick else 'full'}, {seeds_in_words(seeds)} "
        "where a part has seeds. Spread is mean ± std (population std) over the seeds or repeats "
        "each table names; a table without seeds is deterministic. Every number below comes "
        "from the CSV named under its section, in the same folder.",
        "",
        table(
            ["part", "time (s)", "raw data", "figures"],
            [
                [
                    s.title,
                    f"{s.seconds:.1f}",
                    ", ".join([f"`{s.part}.json`", *(f"`{c.name}.csv`" for c in s.csvs)]),
                    ", ".join(f"`{f}`" for f in s.figures) or "-",
                ]
                for s in sections
            ],
        ),
    ]
    for number, section in enumerate(sections, start=1):
        for data in section.csvs:
            write_csv(output, data)
        write_results(
            output, section, command=command, seeds=seeds.get(section.part), quick=quick
        )
        lines += ["", f"## {number}. {section.title}", ""]
        lines += [block + "\n" for block in section.blocks]
        lines += [f"![{name}]({name})\n" for name in section.figures]
        files = ", ".join([*(f"`{c.name}.csv`" for c in section.csvs), f"`{section.part}.json`"])
        lines.append(f"Raw data: {files}.")
    path = output / "report.md"
    with atomic_output(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines).rstrip() + "\n")
    return path
