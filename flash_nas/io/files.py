"""One rule for every file a command reads or writes, whatever option spells it.

A command lists the files it reads (:class:`FileUse` with the option as the user typed it:
``--archs``, ``--profile``, ``-H table``; a folder such as ``--data`` marked as one) and the
files it writes (``--output``, ``--plot``, ``--state``). :func:`check_files` then refuses, before
any work:

* a written file that cannot be written (:func:`~flash_nas.io.outputs.check_output_path`: a
  folder, a missing or read-only folder, a read-only file, an empty path);
* a written file that is one of the files read, or lies inside a folder read: writing it would
  destroy what is being read (the same file however spelled: a link, ``./x``, another path);
* two options writing the same file (one would silently overwrite the other).

A file both read and written by the same option (a ``--state`` that is resumed and saved) is the
one case allowed: that option owns it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flash_nas.errors import OutputError
from flash_nas.io.outputs import check_output_path, is_stream_target

__all__ = ["FileUse", "check_files", "same_file"]


@dataclass(frozen=True)
class FileUse:
    """A file (or, with ``folder``, everything inside a folder) that an option names."""

    #: The option as the user spelled it (``--profile``, ``-H table``), for messages.
    option: str
    #: The path as the user typed it (never a resolved or temporary name).
    path: str
    folder: bool = False

    def spelled(self) -> str:
        joiner = "=" if self.option.startswith(("-H ", "-O ")) else " "
        return f"{self.option}{joiner}{self.path}"


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same inode where both exist (links, ``..``), else
    the same resolved path."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return Path(a).resolve() == Path(b).resolve()


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies anywhere below it (links resolved)."""
    if not os.path.isdir(folder):
        return same_file(path, folder)
    resolved, root = Path(path).resolve(), Path(folder).resolve()
    return resolved == root or root in resolved.parents


def _clash(written: FileUse, read: FileUse) -> bool:
    # a device or FIFO (and ``-``) is written in place: no file is replaced, nothing destroyed
    if is_stream_target(written.path) or read.path == "-":
        return False
    if read.folder:
        return _inside(written.path, read.path)
    return same_file(written.path, read.path)


def check_files(reads: Sequence[FileUse], writes: Sequence[FileUse]) -> None:
    """Raise :class:`OutputError` now, before any work, if a written file cannot be written,
    is also read, lies inside a folder read, or is written by two options."""
    for position, written in enumerate(writes):
        for read in reads:
            if read.option == written.option or not _clash(written, read):
                continue
            if read.folder:
                where = f"lies inside the folder {read.path} that {read.option} reads"
            else:  # a --state is read when it exists, and written
                verb = "used" if read.option in {w.option for w in writes} else "read"
                where = f"is also {verb} by {read.spelled()}"
            raise OutputError(
                f"{written.option} {written.path} {where}; writing it would destroy what is "
                f"being read. Choose another file for {written.option}."
            )
        for other in writes[:position]:
            if not is_stream_target(written.path) and same_file(written.path, other.path):
                raise OutputError(
                    f"{written.option} {written.path} is also written by {other.spelled()}; "
                    f"one would overwrite the other. Choose another file for {written.option}."
                )
    for written in writes:
        check_output_path(written.path, option=written.option)
