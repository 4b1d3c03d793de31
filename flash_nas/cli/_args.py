"""What the command line needs before it knows which command runs: usage errors and the
progress flags. Kept apart from :mod:`._common` so that ``flash-nas --help`` imports no stage of
flash-nas (numpy, scipy, plugins) before it parses its arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from flash_nas.errors import UsageError

__all__ = [
    "PROGRESS_ENV",
    "UsageError",
    "add_progress_arguments",
    "input_file",
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
