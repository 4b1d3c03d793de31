"""``flash-nas bench``: says where the benchmark suite runs; it runs nothing.

The suite lives in the repository's ``benchmarks/`` folder (it reads reference data the
installed package does not ship) and has one runner, ``python -m benchmarks``, run from a clone.
The installed command neither imports ``benchmarks`` nor changes ``sys.path``: it names that
command and exits with status 2.
"""

from __future__ import annotations

import argparse

from flash_nas.cli._args import UsageError
from flash_nas.cli.commands import summary

REPOSITORY = "https://github.com/flash-nas/flash-nas"
RUNNER = "python -m benchmarks --suite PART [--quick] [--seeds N] [--output DIR]"


def add_to(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench",
        help=summary("bench"),
        description="The benchmark suite runs from a clone of the repository, where the "
        f"benchmarks and their data live: {RUNNER} (python -m benchmarks --help lists the "
        "parts). This command only says so.",
    )
    # The options the command took when it ran the suite: accepted and ignored, so an old
    # command line gets the message below rather than "unrecognized arguments".
    for flag in ("--suite", "--first-seed", "--seeds", "--output", "-o", "--table"):
        bench.add_argument(flag, action="append", help=argparse.SUPPRESS)
    bench.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    bench.add_argument("words", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    bench.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise UsageError(
        "the benchmark suite is not part of the installed package; run it from a clone of the "
        f"repository: git clone {REPOSITORY} && cd flash-nas && pip install -e '.[all]' && "
        f"{RUNNER} (python -m benchmarks --help lists the parts)"
    )
