"""The command line and the figures file the constrained scripts on the tuning seeds share.

``python -m benchmarks.constrained_tuning`` and ``python -m benchmarks.constrained_calibration``
drive the engine over the same grid (devices x limits x seeds, a number of trainings, in one or
more processes, ``--quick`` for one run) and write their figures by name as the suite's parts
do, so that the README's figures quoting them are checked (``python -m benchmarks.figures``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from benchmarks.constrained_diagnosis import positive_count, quantile_arg, seed_range
from benchmarks.suite.constrained import ALL_DEVICES
from benchmarks.suite.options import positive_int

__all__ = [
    "add_devices_argument",
    "add_grid_arguments",
    "checked_devices",
    "checked_grid",
    "command_line",
    "write_figures",
    "write_outputs",
    "write_rows",
]


def add_grid_arguments(parser: argparse.ArgumentParser, seeds: str) -> None:
    """``--seeds`` (``seeds`` by default, e.g. ``100-104``), ``--devices``, ``--limits``,
    ``--trainings``, ``--jobs`` and ``--quick``."""
    parser.add_argument("--seeds", type=seed_range, default=seed_range(seeds))
    add_devices_argument(parser)
    parser.add_argument(
        "--limits", type=lambda t: [quantile_arg(q) for q in t.split(",")], default=[0.10, 0.25]
    )
    parser.add_argument("--trainings", type=positive_count, default=25)
    parser.add_argument("--jobs", type=positive_int, default=1)
    parser.add_argument("--quick", action="store_true", help="raspi4, q25, seed 100, 11 trainings")


def add_devices_argument(parser: argparse.ArgumentParser) -> None:
    """``--devices A,B``: HW-NAS-Bench devices (every one by default)."""
    parser.add_argument(
        "--devices", type=lambda t: [d for d in t.split(",") if d], default=list(ALL_DEVICES)
    )


def checked_devices(parser: argparse.ArgumentParser, devices: Sequence[str]) -> None:
    """Refuse an unknown device (exit 2, naming the known ones)."""
    unknown = [d for d in devices if d not in ALL_DEVICES]
    if unknown:
        parser.error(f"unknown devices {unknown}; expected among {', '.join(ALL_DEVICES)}")


def checked_grid(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an unknown device (exit 2, naming the known ones); ``--quick`` narrows the grid to
    one device, limit and seed with 11 trainings."""
    checked_devices(parser, args.devices)
    if args.quick:
        args.devices, args.limits, args.seeds, args.trainings = ["raspi4"], [0.25], [100], 11


def write_figures(
    folder: Path,
    part: str,
    command: str,
    seeds: Sequence[int],
    results: Any,
    *,
    quick: bool,
) -> Path:
    """``folder/PART.json``: how the script was run and its figures by name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{part}.json"
    found = {
        "part": part,
        "command": command,
        "mode": "quick" if quick else "full",
        "seeds": [min(seeds), max(seeds)] if seeds else [],
        "results": results,
    }
    path.write_text(json.dumps(found, indent=1) + "\n", encoding="utf-8")
    return path


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """How ``python -m benchmarks.MODULE`` was run (``argv``, or the process's own arguments),
    for a figures file's ``command``."""
    given = list(sys.argv[1:] if argv is None else argv)
    return " ".join([f"python -m benchmarks.{module}", *given])


def write_rows(folder: Path, part: str, rows: Sequence[Any], kind: type) -> Path:
    """``folder/PART.csv``: one line per dataclass row of ``kind``, its fields as columns."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{part}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, [f.name for f in fields(kind)])
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    return path


def write_outputs(
    folder: Path,
    part: str,
    rows: Sequence[Any],
    kind: type,
    figures: Any,
    argv: Sequence[str] | None,
    *,
    seeds: Sequence[int] = (),
    quick: bool,
) -> tuple[Path, Path]:
    """A script's two result files: its rows (:func:`write_rows`) and its figures with the
    command that made them (:func:`write_figures`)."""
    table = write_rows(folder, part, rows, kind)
    command = command_line(part, argv)
    return table, write_figures(folder, part, command, seeds, figures, quick=quick)
