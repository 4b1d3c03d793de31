"""The ``flash-nas`` command line.

Each subcommand lives in its own module with an ``add_to(commands)`` that declares its arguments
and a ``run(args)``. Errors that flash-nas raises on purpose end the program with one readable
line on standard error, never a traceback, and the exit status of :data:`EXIT_RULE`, decided
for every command in one place (:func:`exit_status`).

Room rule: a front end; may import every stage. Its modules import numpy, scipy and the stages
inside ``run`` only, so that ``flash-nas --help`` parses its arguments first.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, NoReturn

from flash_nas.cli._args import UsageError, add_progress_arguments, given_options, set_progress
from flash_nas.cli._files import check_command_files, state_in_use
from flash_nas.cli.commands import COMMANDS
from flash_nas.errors import (
    FlashNasError,
    ObjectiveError,
    ParameterError,
    UnknownNameError,
)

__all__ = ["EXIT_RULE", "build_parser", "exit_status", "main"]

#: The exit statuses, as ``flash-nas --help`` and the README state them.
EXIT_RULE = (
    "Exit status: 0 done; 2 the command line is wrong (an unknown option, space, hardware "
    "model, metric or method, a malformed or out-of-range option value, a named input file "
    "that does not exist or cannot be read, an output that cannot be written); 1 the data "
    "inside a file is wrong or the work failed; 130 interrupted."
)

#: Errors about what was typed: names, option values, formulas (status 2).
_COMMAND_LINE_ERRORS: tuple[type[BaseException], ...] = (
    UsageError,
    UnknownNameError,
    ParameterError,
    ObjectiveError,
)
#: A named file or folder that is not there, or not ours to read or write (status 2); any
#: other system error (a full disk, an I/O error) is the work failing (status 1).
_ACCESS_ERRORS: tuple[type[BaseException], ...] = (
    FileNotFoundError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


def exit_status(exc: BaseException) -> int:
    """The exit status for an error that ends a command (see :data:`EXIT_RULE`)."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, _COMMAND_LINE_ERRORS + _ACCESS_ERRORS):
        return 2
    return 1


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, like every other flash-nas error (argparse prints
    the whole usage first; ``--help`` still shows it), and without prefix matching:
    ``measure --hardware cuda`` must be an unknown option, not an abbreviation of
    ``--hardware-option``. Subcommands inherit the class."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"flash-nas: error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser, or (given the arguments) one where only the command they name is
    declared in full: the others are one line each, so that their modules are not imported."""
    from flash_nas import __version__

    parser = _Parser(
        prog="flash-nas",
        description="FLASH: training-free, hardware-aware neural architecture search.",
        epilog=EXIT_RULE,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if argv is None:
        full = set(COMMANDS)
    else:
        chosen = _command_named(argv)
        module = COMMANDS[chosen][0] if chosen else None
        full = {name for name, (owner, _) in COMMANDS.items() if owner == module}
    for name, (owner, summary) in COMMANDS.items():
        if name in commands.choices:  # declared with another command of its module
            continue
        if name in full:
            importlib.import_module(f"flash_nas.cli.{owner}").add_to(commands)
        else:
            commands.add_parser(name, help=summary)
    for name in full - set(_INSTANT):
        add_progress_arguments(commands.choices[name])
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command the arguments name (the first that is not an option), if it exists."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


#: Commands that finish at once and never show progress.
_INSTANT = ("plugins", "metrics", "nni", "bench")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``flash-nas`` console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    set_progress(args)
    # which options were typed: a resumed run compares them with its saved settings
    args.given = given_options(parser, argv)
    try:
        check_command_files(args)  # every file read or written, before any work
        # one run at a time per --state; code imports only for a --space typed here
        with state_in_use(args), _typed_space(args):
            return int(args.run(args))
    except FlashNasError as exc:
        parser.exit(exit_status(exc), f"flash-nas: error: {_one_line(exc)}\n")
    except KeyboardInterrupt as exc:
        from flash_nas.io.outputs import remove_unfinished

        remove_unfinished()
        parser.exit(exit_status(exc), "flash-nas: interrupted; output files are unchanged\n")
    except BrokenPipeError:
        return 0
    except MemoryError as exc:
        parser.exit(
            exit_status(exc),
            "flash-nas: error: out of memory; expected a job that fits this machine: ask for "
            "fewer architectures (--sample, --archs) at once\n",
        )
    except OSError as exc:  # a file the command reads or writes, refused by the system
        where = f" {exc.filename}" if exc.filename else ""
        parser.exit(
            exit_status(exc),
            f"flash-nas: error: cannot access{where} ({exc.strerror or exc}); expected a file or "
            "folder this command can read or write there\n",
        )
    return 0


def _typed_space(args: argparse.Namespace) -> AbstractContextManager[None]:
    """Consent to the imports of the space the person typed (``--space torch``), and of no
    other: a space read from a state file or guessed from a CSV gets none (see
    :mod:`flash_nas.plugins.code_imports`)."""
    space = getattr(args, "space", None)
    if not isinstance(space, str):
        return nullcontext()
    from flash_nas.plugins.code_imports import allow_code_imports

    return allow_code_imports(space)


def _one_line(exc: BaseException) -> str:
    """The message on one line: a message quoting a tool's output may span several."""
    return " ".join(str(exc).splitlines()).strip()
