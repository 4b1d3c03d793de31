"""The ``flash-nas`` command line.

Each subcommand lives in its own module with an ``add_to(commands)`` that declares its arguments
and a ``run(args)``. Errors that flash-nas raises on purpose end the program with one readable
line on standard error and exit status 1 (2 for a usage error), never a traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from flash_nas.cli import bench, hardware, info, nni, score, search, train
from flash_nas.cli._common import UsageError
from flash_nas.errors import FlashNasError

__all__ = ["build_parser", "main"]

_COMMANDS = (info, score, hardware, search, train, nni, bench)


class _Parser(argparse.ArgumentParser):
    """argparse without prefix matching: ``measure --hardware cuda`` must be an unknown
    option, not an abbreviation of ``--hardware-option``. Subcommand parsers inherit the class."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def build_parser() -> argparse.ArgumentParser:
    from flash_nas import __version__

    parser = _Parser(
        prog="flash-nas",
        description="FLASH: training-free, hardware-aware neural architecture search.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _COMMANDS:
        module.add_to(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flash-nas`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        parser.exit(2, f"flash-nas: error: {exc}\n")
    except FlashNasError as exc:
        parser.exit(1, f"flash-nas: error: {exc}\n")
    except KeyboardInterrupt:
        parser.exit(130, "flash-nas: interrupted\n")
    except BrokenPipeError:
        return 0
    return 0
