"""What the command line needs before it knows which command runs: usage errors and the
progress flags. Kept apart from :mod:`._common` so that ``flash-nas --help`` imports no stage of
flash-nas (numpy, scipy, plugins) before it parses its arguments.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from flash_nas.errors import UsageError

__all__ = [
    "PROGRESS_ENV",
    "UsageError",
    "add_progress_arguments",
    "given_options",
    "input_file",
    "progress_wanted",
    "set_progress",
]

#: Environment variable that forces progress bars on (1) or off (0), as --progress / --quiet do
#: (the same name as :data:`flash_nas.plugins.progress.PROGRESS_ENV`, kept here so that
#: ``flash-nas --help`` imports no stage).
PROGRESS_ENV = "FLASH_NAS_PROGRESS"


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
    """Set the one progress switch flash-nas and its plugins read (:mod:`flash_nas.plugins.
    progress`) from ``--quiet`` / ``--progress`` (neither: decided by the environment)."""
    from flash_nas.plugins import progress

    if getattr(args, "quiet", False):
        progress.set_progress(False)
    elif getattr(args, "progress", False):
        progress.set_progress(True)
    else:
        progress.set_progress(None)


def progress_wanted() -> bool:
    """Progress bars go to standard error: as --quiet / --progress say, else as
    ``FLASH_NAS_PROGRESS`` says, else only when a person is watching (a terminal)."""
    from flash_nas.plugins.progress import progress_wanted as wanted

    return wanted()


def input_file(text: str) -> Path:
    """An argparse ``type`` for an option that names a file to read: one that does not exist,
    is a folder or cannot be read is a command-line error (exit status 2), found before any work
    (instead of an error of whichever library opens it, with its own status)."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no file {text!r}; expected an existing file to read")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; expected a file to read")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be read (permission denied)")
    return path


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
