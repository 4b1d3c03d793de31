"""``python -m benchmarks``: the benchmark suite, as ``flash-nas bench`` runs it.

Example: ``python -m benchmarks --suite all --seeds 20 --output results/`` (``--quick`` for a
run of about three minutes on two cores). See :mod:`benchmarks.suite`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from flash_nas.cli import bench
from flash_nas.cli._args import UsageError
from flash_nas.errors import FlashNasError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the flash-nas benchmark suite and write a report with tables, CSVs "
        "and plots.",
    )
    bench.add_arguments(parser)
    parser.set_defaults(prog=parser.prog)
    args = parser.parse_args(argv)
    try:
        return bench.run(args)
    except UsageError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    except FlashNasError as exc:
        parser.exit(1, f"{parser.prog}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
