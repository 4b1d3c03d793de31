"""``python -m benchmarks``: the one runner of the benchmark suite (:mod:`benchmarks.suite`).

Example: ``python -m benchmarks --suite all --seeds 20 --output results/`` (``--quick`` for a
smoke run). Every benchmark is a part; a part's own options (``--write-profile`` of ``pi3``,
``--nni-trials`` of ``nni_tuners``...) are listed under its name in ``--help``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.suite import PARTS, check_options, parse_parts, run_suite
from flash_nas.cli._common import UsageError, progress_wanted
from flash_nas.errors import FlashNasError, UnknownNameError

PROG = "python -m benchmarks"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run flash-nas's benchmarks (the suite's parts) and write one report: "
        "report.md, the CSV behind every table and PNG plots into --output, and a summary on "
        "standard output.",
    )
    parser.add_argument(
        "--suite",
        default="all",
        help="all, or comma-separated parts from: "
        + ", ".join(name if part.in_all else f"{name} (not in all)" for name, part in PARTS.items())
        + " (default all)",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first seed (default 0; the engine's settings were chosen on seeds from 100); "
        "taken by the predictor, search, search_spaces, integrations and constrained parts, "
        "refused for the others",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        help="seeds for every part that has seeds (default: each part's own, 3 for most with "
        "--quick and 10 without)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="few seeds and small sizes: about two minutes on two quiet cores",
    )
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        default=Path("results"),
        help="folder for report.md, the CSVs and the PNGs (created; default results/)",
    )
    parser.add_argument(
        "--table",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="another accuracy table for the ranking part (repeatable): a CSV with an 'arch' "
        "and/or an 'index' column covering every architecture; each column whose name contains "
        "acc, test, valid, top1 or top5 becomes a target. CSV only: the official NAS-Bench-201 "
        ".pth file is a pickle that runs code when loaded, so no command loads it (load it from "
        "Python with load_accuracy_table(PATH), only if you downloaded it yourself)",
    )
    for name, part in PARTS.items():
        if part.options:
            group = parser.add_argument_group(f"the {name} part")
            for option in part.options:
                option.add_to(group)
    return parser


def given_options(args: argparse.Namespace) -> dict[str, object]:
    """The part options given on the command line (those left at their default are not)."""
    return {
        option.dest: getattr(args, option.dest)
        for part in PARTS.values()
        for option in part.options
        if getattr(args, option.dest) != option.default
    }


def quoted_folder(folder: Path) -> str:
    """``folder`` as a command that is committed may name it: relative to the working folder
    when inside it (``results``), else ``DIR`` (a folder of one machine means nothing on
    another)."""
    try:
        return folder.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return "DIR"


def command_line(args: argparse.Namespace) -> str:
    """The command as the report quotes it."""
    words = [*PROG.split(), "--suite", args.suite]
    if args.seeds is not None:
        words += ["--seeds", str(args.seeds)]
    if args.first_seed:
        words += ["--first-seed", str(args.first_seed)]
    if args.quick:
        words.append("--quick")
    words += ["--output", quoted_folder(Path(args.output))]
    for path in args.table:
        words += ["--table", str(path)]
    for part in PARTS.values():
        for option in part.options:
            if getattr(args, option.dest) != option.default:
                words += [option.flag, _option_text(getattr(args, option.dest))]
    return shlex.join(words)


def _option_text(value: object) -> str:
    """An option's value as typed: folders as :func:`quoted_folder` names them, a list of
    values comma-separated."""
    if isinstance(value, Path):
        return quoted_folder(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_option_text(item) for item in value)
    return str(value)


def check_output_folder(folder: Path) -> None:
    """--output must be a folder that exists or can be created, and that can be written."""
    if not str(folder).strip():
        raise UsageError("--output is empty; expected a folder for the report.")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output {folder} is a file; expected a folder for the report.")
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--output {folder}: {existing} cannot be written; choose another folder.")


def run(args: argparse.Namespace) -> int:
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}.")
    if args.first_seed < 0:
        raise UsageError(f"--first-seed must be >= 0, got {args.first_seed}.")
    check_output_folder(args.output)
    try:
        parts = parse_parts(args.suite)
    except UnknownNameError as exc:
        raise UsageError(f"--suite: {exc}") from exc
    options = given_options(args)
    try:
        check_options(parts, options)
    except FlashNasError as exc:
        raise UsageError(str(exc)) from exc
    result = run_suite(
        parts,
        output=args.output,
        seeds=args.seeds,
        first_seed=args.first_seed,
        quick=args.quick,
        tables=args.table,
        options=options,
        command=command_line(args),
        progress=progress_wanted(),
    )
    print(result.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return run(args)
    except UsageError as exc:
        parser.exit(2, f"{PROG}: error: {exc}\n")
    except FlashNasError as exc:
        parser.exit(1, f"{PROG}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
