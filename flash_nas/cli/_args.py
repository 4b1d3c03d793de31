"""What the command line needs before it knows which command runs: usage errors and the
progress flags. Kept apart from :mod:`._common` so that ``flash-nas --help`` imports no stage of
flash-nas (numpy, scipy, plugins) before it parses its arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence

from flash_nas.errors import UsageError

__all__ = [
    "PROGRESS_ENV",
    "UsageError",
    "add_progress_arguments",
    "given_options",
    "progress_wanted",
    "set_progress",
]

#: Environment variable that forces progress bars on (1) or off (0), as --progress / --quiet do.
PROGRESS_ENV = "FLASH_NAS_PROGRESS"


_progress_setting: bool | None = None


def add_progress_arguments(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` and ``--progress``: progress bars off, or on even without a terminal."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quiet", action="store_true", help="no progress bars on standard error")
    group.add_argument(
        "--progress",
        action="store_true",
        help=f"show progress bars even when standard error is not a terminal (or set "
        f"{PROGRESS_ENV}=1; {PROGRESS_ENV}=0 turns them off)",
    )


def set_progress(args: argparse.Namespace) -> None:
    """Remember what ``--quiet`` / ``--progress`` asked for (None: decide by the terminal)."""
    global _progress_setting
    if getattr(args, "quiet", False):
        _progress_setting = False
    elif getattr(args, "progress", False):
        _progress_setting = True
    else:
        _progress_setting = None


def progress_wanted() -> bool:
    """Progress bars go to standard error: as --quiet / --progress say, else as
    ``FLASH_NAS_PROGRESS`` says, else only when a person is watching (a terminal)."""
    if _progress_setting is not None:
        return _progress_setting
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on", "always"):
        return True
    if forced in ("0", "false", "no", "off", "never"):
        return False
    return sys.stderr.isatty()


def given_options(parser: argparse.ArgumentParser, argv: Sequence[str]) -> frozenset[str]:
    """The destinations of the options ``argv`` gives explicitly (not left at their default):
    ``argv`` parsed once more with every default suppressed, so that only what was typed is
    set. A resumed search compares those with its saved settings and takes the rest from them."""
    actions = list(_actions(parser))
    saved = [action.default for action in actions]
    try:
        for action in actions:
            action.default = argparse.SUPPRESS
        parsed = parser.parse_args(list(argv))
    finally:
        for action, default in zip(actions, saved):
            action.default = default
    return frozenset(name for name, value in vars(parsed).items() if value is not argparse.SUPPRESS)


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _actions(sub)
        elif action.dest != argparse.SUPPRESS:
            yield action
