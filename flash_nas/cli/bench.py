"""``flash-nas bench``: the benchmark suite behind the README's figures.

The suite lives in the repository's ``benchmarks/`` folder (it reads reference data that the
installed package does not ship), so this command runs from a clone: it imports
``benchmarks.suite`` from the current folder or from the checkout flash-nas is installed from
(an editable install), and says so when neither has it.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from flash_nas.cli._args import UsageError, progress_wanted
from flash_nas.cli.commands import summary
from flash_nas.errors import FlashNasError, UnknownNameError

REPOSITORY = "https://github.com/flash-nas/flash-nas"


def add_to(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help=summary("bench"),
        description="Measure flash-nas against its peers: training-free ranking, the "
        "few-sample predictor, search at equal label budgets, speed, hardware fidelity and "
        "the Raspberry Pi 3 measured. "
        "Writes report.md, the CSV behind every table and PNG plots into --output, and prints "
        "a summary. Runs from a clone of the repository, where the benchmarks live.",
    )
    add_arguments(bench)
    bench.set_defaults(run=run, prog="flash-nas bench")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's arguments, shared with ``python -m benchmarks``."""
    parser.add_argument(
        "--suite",
        default="all",
        help="all, or comma-separated parts from: ranking, predictor, search, search_spaces, "
        "speed, engine, hardware, pi3, scale, integrations (default all)",
    )
    parser.add_argument(
        "--first-seed",
        type=int,
        default=0,
        help="the first seed (default 0; the engine's settings were chosen on seeds from 100)",
    )
    parser.add_argument(
        "--seeds", type=int, help="seeds for every part that has seeds (default 10; 3 with --quick)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="few seeds and small sizes: about three minutes"
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


def find_suite(roots: Sequence[Path]) -> ModuleType:
    """``benchmarks.suite`` from the first of ``roots`` that holds it."""
    for root in roots:
        if (root / "benchmarks" / "suite" / "__init__.py").is_file():
            sys.path.insert(0, str(root))
            importlib.invalidate_caches()
            return importlib.import_module("benchmarks.suite")
    raise FlashNasError(
        "flash-nas bench runs the benchmark suite in the repository's benchmarks/ folder, which "
        "the installed package does not include. Run it from a clone: git clone "
        f"{REPOSITORY} && cd flash-nas && pip install -e '.[all]' && flash-nas bench "
        "(or python -m benchmarks)."
    )


def import_suite() -> ModuleType:
    """The suite, already importable or found in the current folder or flash-nas's checkout."""
    try:
        return importlib.import_module("benchmarks.suite")
    except ModuleNotFoundError as exc:
        if exc.name not in ("benchmarks", "benchmarks.suite"):
            raise
    import flash_nas

    return find_suite([Path.cwd(), Path(flash_nas.__file__).resolve().parents[1]])


def command_line(args: argparse.Namespace) -> str:
    """The command as the report quotes it."""
    words = [*args.prog.split(), "--suite", args.suite]
    if args.seeds is not None:
        words += ["--seeds", str(args.seeds)]
    if args.first_seed:
        words += ["--first-seed", str(args.first_seed)]
    if args.quick:
        words.append("--quick")
    words += ["--output", str(args.output)]
    for path in args.table:
        words += ["--table", str(path)]
    return shlex.join(words)


def run(args: argparse.Namespace) -> int:
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be >= 1, got {args.seeds}.")
    if args.first_seed < 0:
        raise UsageError(f"--first-seed must be >= 0, got {args.first_seed}.")
    check_output_folder(args.output)
    suite = import_suite()
    try:
        parts = suite.parse_parts(args.suite)
    except UnknownNameError as exc:
        raise UsageError(f"--suite: {exc}") from exc
    result = suite.run_suite(
        parts,
        output=args.output,
        seeds=args.seeds,
        first_seed=args.first_seed,
        quick=args.quick,
        tables=args.table,
        command=command_line(args),
        progress=progress_wanted(),
    )
    print(result.summary())
    return 0


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
