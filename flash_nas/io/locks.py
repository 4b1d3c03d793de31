"""A file one run at a time: an advisory lock held for the whole run.

Two runs saving one engine state would each replace the other's file, and the file would keep one
run's trials only. :func:`exclusive_use` therefore locks ``NAME.lock`` beside the file
(``c.json.lock`` for ``c.json``) for as long as the block runs, and refuses at once, naming the
file and the process that holds it, when another run already does.

Why a file beside it, not the file itself: the state is replaced by a rename after every save, so
a lock on the file would stay on the old inode while the next run locked the new one. Why
``flock`` (``msvcrt.locking`` on Windows): the operating system drops the lock when the process
ends however it ends, ``kill -9`` included, so no stale lock ever blocks a later run. The lock
file is removed when the run ends; one left by a killed run holds no lock and is taken over.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flash_nas.errors import OutputError
from flash_nas.io.outputs import is_stream_target, written_path

__all__ = ["LOCK_SUFFIX", "exclusive_use", "lock_path"]

#: What the lock file's name adds to the locked file's.
LOCK_SUFFIX = ".lock"


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


#: flock on POSIX systems; msvcrt.locking on Windows, which has no fcntl.
fcntl: Any = _module("fcntl")
msvcrt: Any = _module("msvcrt")


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of ``path``: beside the file it names (links followed, so that two links
    to one state share one lock)."""
    target = written_path(path)
    return target.with_name(target.name + LOCK_SUFFIX)


@contextlib.contextmanager
def exclusive_use(path: str | os.PathLike[str], *, option: str = "--state") -> Iterator[None]:
    """Hold ``path`` for this process while the block runs; raise :class:`OutputError` at once
    if another process holds it. Devices and FIFOs (written in place) need no lock."""
    if is_stream_target(path):
        yield
        return
    lock = lock_path(path)
    descriptor = _acquire(lock, os.fspath(path), option)
    try:
        yield
    finally:
        # Removed while still held: a run waiting on this file finds it gone and starts afresh.
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(descriptor)


def _acquire(lock: Path, shown: str, option: str) -> int:
    if fcntl is None and msvcrt is None:  # pragma: no cover - neither POSIX nor Windows
        raise OutputError(
            f"{option} {shown}: this system offers no file locks (fcntl or msvcrt), so two runs "
            f"could overwrite each other's state; run without {option}."
        )
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    while True:
        try:
            descriptor = os.open(lock, flags, 0o666)
        except OSError as exc:
            raise OutputError(
                f"{option} {shown}: cannot create its lock file {lock.name} "
                f"({exc.strerror or exc}); expected a folder where flash-nas may create files."
            ) from None
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            os.close(descriptor)
            raise OutputError(
                f"{option} {shown}: {lock.name} beside it is not a regular file; remove it."
            )
        if not _try_lock(descriptor):
            holder = _holder(descriptor)
            os.close(descriptor)
            who = f" (pid {holder})" if holder else ""
            raise OutputError(
                f"another flash-nas run is using {shown}{who}; wait for it or use another {option}."
            )
        # The run that held it may have removed the file between our open and our lock: then
        # we hold a file nobody else will see. Lock the file that is there now instead.
        try:
            current = os.stat(lock, follow_symlinks=False)
        except OSError:
            current = None
        if current is not None and os.path.samestat(current, os.fstat(descriptor)):
            break
        os.close(descriptor)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
    return descriptor


def _try_lock(descriptor: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        else:  # pragma: no cover - Windows: the first byte stands for the file
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(descriptor: int) -> int | None:
    """The process id the holder wrote into the lock file: a number only (the file is never
    quoted; anything else there is ignored)."""
    try:
        text = os.pread(descriptor, 32, 0).decode("ascii").strip()
    except (OSError, UnicodeDecodeError, AttributeError):
        return None
    return int(text) if text.isdigit() and len(text) <= 10 else None
