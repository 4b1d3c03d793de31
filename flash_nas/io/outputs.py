"""Writing files so that nothing is lost: outputs checked before the work, replaced only whole.

A regular file is written to a temporary file beside it (same folder, so the same file system)
and renamed over the target only once it is complete and flushed to disk. An interruption
(Ctrl-C, a crash, a full disk) therefore leaves the old file as it was; at worst a hidden
``.NAME.*.tmp`` file stays behind after a ``kill -9``. ``-`` (standard output), devices and FIFOs
cannot be renamed onto and are written directly. A symbolic link stays a link: the file it
points to is the one replaced. A replaced file keeps its permissions; a new one gets those the
umask gives any new file. Engine states (``--state``) are written by the same rules.

:func:`check_output_path` runs before any work: it refuses an output that is a folder, sits in a
folder that does not exist or cannot be written, is read-only, is empty, or is one of the
command's inputs (writing over the input would destroy what is being read).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from flash_nas.errors import OutputError

__all__ = [
    "atomic_output",
    "atomic_path",
    "check_output_path",
    "is_stream_target",
    "remove_unfinished",
    "written_path",
]

PathLike = str | os.PathLike
#: Temporary files :func:`atomic_path` created and has not yet renamed or removed.
_UNFINISHED: set[Path] = set()


def is_stream_target(path: PathLike) -> bool:
    """True for ``-`` and for existing paths that are not regular files (devices, FIFOs): those
    are written in place, as a rename cannot replace them."""
    if os.fspath(path) == "-":
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output_path(
    path: PathLike | None,
    *,
    option: str = "--output",
    inputs: Iterable[tuple[str, PathLike | None]] = (),
) -> None:
    """Raise :class:`OutputError` now, before any work, if ``path`` cannot be written.

    ``inputs`` are ``(option, path)`` pairs of the files the command reads; an output equal to
    one of them is refused, since replacing it would lose the data being read.
    """
    if path is None:
        return
    text = os.fspath(path)
    if not text.strip():
        raise OutputError(f"{option} is empty; expected a file path (or - for standard output).")
    if text == "-":
        return
    target = Path(text)
    for name, source in inputs:
        if source is not None and os.fspath(source) != "-" and _same_file(target, Path(source)):
            raise OutputError(
                f"{option} {text} is also the input of {name}; writing it would destroy what is "
                f"being read. Choose another output file."
            )
    if target.is_dir():
        raise OutputError(f"{option} {text} is a folder; expected a file path inside it.")
    if is_stream_target(target):
        if not _writable(target):
            raise OutputError(f"{option} {text} cannot be written (permission denied).")
        return
    folder = target.resolve().parent
    if not folder.is_dir():
        raise OutputError(
            f"{option}: the folder {str(target.parent)!r} does not exist; create it first or "
            f"choose another path."
        )
    if not os.access(folder, os.W_OK | os.X_OK) or not stat.S_IMODE(folder.stat().st_mode) & 0o222:
        raise OutputError(
            f"{option}: the folder {str(target.parent)!r} is not writable; expected a folder "
            f"where a new file can be created."
        )
    if target.exists() and not _writable(target):
        raise OutputError(
            f"{option} {text} is read-only; make it writable or choose another path (flash-nas "
            f"does not replace read-only files)."
        )


def _writable(path: Path) -> bool:
    """Writable by us, and not marked read-only (root may write any file, but a file without
    write permission was made read-only on purpose)."""
    return os.access(path, os.W_OK) and bool(stat.S_IMODE(os.stat(path).st_mode) & 0o222)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def written_path(path: PathLike) -> Path:
    """The file a write to ``path`` replaces: ``path`` itself, or the file a symbolic link
    points to (renaming onto the link would replace the link by a regular file)."""
    target = Path(path)
    if target.is_symlink():
        return Path(os.path.realpath(target))
    return target


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` (same suffix, for writers that infer the format from
    it); renamed onto ``path`` (the file it links to, if it is a link) when the block ends
    without an exception, removed otherwise."""
    target = written_path(path)
    if is_stream_target(target):
        yield target
        return
    if target.exists() and not _writable(target):
        raise OutputError(
            f"{os.fspath(path)} is read-only; make it writable or choose another path (flash-nas "
            f"does not replace read-only files)."
        )
    # Ctrl-C between creating the temporary file and entering the try below would leave it
    # behind: SIGINT is held back (where the platform can) until inside the try.
    release = _hold_sigint()
    try:
        descriptor, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent or "."
        )
        os.close(descriptor)
        temporary = Path(name)
        _UNFINISHED.add(temporary)
    except BaseException:
        release()
        raise
    try:
        release()
        yield temporary
        _keep_permissions(target, temporary)
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _write_error(target, exc) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    finally:
        _UNFINISHED.discard(temporary)


def remove_unfinished() -> None:
    """Remove every temporary file :func:`atomic_path` created and has neither renamed nor
    removed. A Ctrl-C is raised at the interpreter's next check, which may fall after the
    temporary path was handed out but before the ``with`` block that would remove it took
    hold (then only the generator's finalisation, which exiting may skip, would): the command
    line calls this on an interrupt, so that none is left behind."""
    for temporary in list(_UNFINISHED):
        temporary.unlink(missing_ok=True)
        _UNFINISHED.discard(temporary)


def _hold_sigint() -> Callable[[], None]:
    """Hold SIGINT back (POSIX, main thread; elsewhere nothing) until the returned function is
    called; a Ctrl-C meanwhile is delivered then."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = mask(signal.SIG_BLOCK, {signal.SIGINT})

    def release() -> None:
        mask(signal.SIG_SETMASK, previous)

    return release


@contextlib.contextmanager
def atomic_output(path: PathLike, mode: str = "w", **open_args: Any) -> Iterator[IO[Any]]:
    """An open file whose content replaces ``path`` only once the block ends without an
    exception (``mode`` ``"w"`` or ``"wb"``; ``open_args`` as for :func:`open`). ``-`` is
    standard output; devices and FIFOs are opened directly."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_output writes whole files: mode 'w' or 'wb', not {mode!r}.")
    if os.fspath(path) == "-":
        stream = sys.stdout.buffer if mode == "wb" else sys.stdout
        yield stream
        stream.flush()
        return
    target = written_path(path)
    if is_stream_target(target):
        try:
            with target.open(mode, **open_args) as handle:
                yield handle
        except OSError as exc:
            raise _write_error(target, exc) from exc
        return
    with atomic_path(target) as temporary, temporary.open(mode, **open_args) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def _keep_permissions(target: Path, temporary: Path) -> None:
    """The new file gets the old file's permissions, or the usual ones for a new file (mkstemp
    makes it private to its owner)."""
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    os.chmod(temporary, mode)


def _write_error(target: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    return OutputError(
        f"Cannot write {target} ({reason}); any file that was there is unchanged. Free space or "
        f"choose another path."
    )
