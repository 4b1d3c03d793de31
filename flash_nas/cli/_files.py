"""Every file a command's options read or write, collected in one place and checked before the
command runs (:func:`check_command_files`), and the lock on a ``--state`` (:func:`state_in_use`).

The options are declared here, not per command: :data:`READ_OPTIONS` and :data:`WRITE_OPTIONS`
name the argument destinations that are paths, and a plugin declares which of its ``-H`` /
``-O`` keys are files (its class's ``file_options``, e.g. ``profile`` of the analytical models,
``table`` of ``hwnasbench``). A new command or plugin option that names a file is covered by
adding its name to one of these.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flash_nas.cli._args import UsageError
from flash_nas.errors import FlashNasError, OutputError
from flash_nas.io.files import FileUse, check_files

__all__ = [
    "READ_OPTIONS",
    "WRITE_OPTIONS",
    "check_command_files",
    "files_read",
    "files_written",
    "state_in_use",
]

#: Argument destination -> (option, what it names): "file", "folder" (everything inside is
#: read), or "table" (``TABLE:COLUMN``, a file when TABLE is one).
READ_OPTIONS: dict[str, tuple[str, str]] = {
    "archs": ("--archs", "file"),
    "profile": ("--profile", "file"),
    "measurements": ("--measurements", "file"),
    "labels_from": ("--labels-from", "table"),
    "costs_from": ("--costs-from", "table"),
    "data": ("--data", "folder"),
    "state": ("--state", "file"),  # resumed from when it exists
}
#: Argument destination -> option, for the files a command writes.
WRITE_OPTIONS: dict[str, str] = {
    "output": "--output",
    "plot": "--plot",
    "state": "--state",
    "history": "--history",
    "history_plot": "--history-plot",
    "save_profile": "--save-profile",
}
#: Commands whose options are not files they use (``bench`` accepts its old options, ignored).
UNCHECKED_COMMANDS = ("bench",)


def files_read(args: argparse.Namespace) -> list[FileUse]:
    """The files (and folders) the command's options and plugin options read."""
    found = []
    for dest, (option, kind) in READ_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        text = os.fspath(value) if isinstance(value, (str, os.PathLike)) else None
        if text is None or not text:
            continue
        if kind == "table":
            text = text.rpartition(":")[0]
            if not text or not Path(text).is_file():
                continue  # a table the space ships, by name
        found.append(FileUse(option, text, folder=kind == "folder"))
    found += _plugin_files(args, "-H", "hardware_option", "hardware", _hardware_class)
    found += _plugin_files(args, "-O", "space_option", "space", _adapter_class)
    return found


def files_written(args: argparse.Namespace) -> list[FileUse]:
    found = []
    for dest, option in WRITE_OPTIONS.items():
        value = getattr(args, dest, None)
        if isinstance(value, (str, os.PathLike)):
            found.append(FileUse(option, os.fspath(value)))
    return found


def check_command_files(args: argparse.Namespace) -> None:
    """Refuse, before the command runs, what it could not write or would overwrite while
    reading it (:func:`flash_nas.io.files.check_files`), as a usage error (exit status 2)."""
    if getattr(args, "command", None) in UNCHECKED_COMMANDS:
        return
    try:
        check_files(files_read(args), files_written(args))
    except OutputError as exc:
        raise UsageError(str(exc)) from None


@contextlib.contextmanager
def state_in_use(args: argparse.Namespace) -> Iterator[None]:
    """The command's ``--state`` locked against other runs while the block runs."""
    state = getattr(args, "state", None)
    if state is None or getattr(args, "command", None) in UNCHECKED_COMMANDS:
        yield
        return
    from flash_nas.io.locks import exclusive_use

    with exclusive_use(state, option="--state"):
        yield


def _plugin_files(
    args: argparse.Namespace, flag: str, dest: str, name_dest: str, lookup: Any
) -> list[FileUse]:
    options = getattr(args, dest, None) or []
    name = getattr(args, name_dest, None)
    if not options or not isinstance(name, str):
        return []
    file_options = lookup(name)
    return [
        FileUse(f"{flag} {key}", os.fspath(value))
        for key, value in options
        if key in file_options and isinstance(value, (str, os.PathLike)) and os.fspath(value)
    ]


def _hardware_class(name: str) -> tuple[str, ...]:
    return _declared("hardware", name.partition(":")[0])


def _adapter_class(name: str) -> tuple[str, ...]:
    return _declared("adapter", name)


def _declared(kind: str, name: str) -> tuple[str, ...]:
    """The ``file_options`` the plugin registered as ``name`` declares (none for a name that
    is not registered: the command reports that itself)."""
    from flash_nas import plugins

    try:
        registrations = plugins.registrations()
    except FlashNasError:
        return ()  # a broken plugin: the command says which when it loads it
    for registration in registrations:
        if registration.kind == kind and registration.name == name:
            return tuple(getattr(registration.factory, "file_options", ()))
    return ()
