"""Consent to import code that data names: the one door to a space such as ``torch``.

A ``torch`` architecture is ``module:callable``; building it imports ``module``, which runs its
code. A line in a CSV, a state file or a checkpoint is data, and data must never choose code to
run. So an adapter whose texts name code (``Adapter.names_code``) imports only when it was built
inside :func:`allow_code_imports` for its own space name: the command line grants that when a
person typed ``--space torch``; a Python caller grants it with the same context manager. Nothing
read from a file can grant it (a context variable is not an option, so no ``-O``, state or
profile can carry it), and no command guesses such a space.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flash_nas.errors import NotSupportedError

__all__ = ["allow_code_imports", "code_imports_allowed", "require_code_imports"]

_ALLOWED: ContextVar[frozenset[str]] = ContextVar("flash_nas_code_imports", default=frozenset())


@contextmanager
def allow_code_imports(space: str) -> Iterator[None]:
    """Let adapters of ``space`` built inside this block import the modules their
    architectures name (which runs those modules' code): say so only for modules you trust."""
    token = _ALLOWED.set(_ALLOWED.get() | {space})
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def code_imports_allowed(space: str) -> bool:
    """Whether the caller is inside :func:`allow_code_imports` for ``space``."""
    return space in _ALLOWED.get()


def require_code_imports(allowed: bool, space: str, text: str) -> None:
    """Refuse to import the code ``text`` names unless ``allowed`` (the consent an adapter took
    when it was built)."""
    if not allowed:
        raise NotSupportedError(
            f"The {space} space would import and run the code that {text!r} names, and nobody "
            f"asked for that: name the space yourself (--space {space} on the command line; in "
            f"Python, build the adapter inside flash_nas.allow_code_imports({space!r})). "
            f"A space that runs code is never taken from a file or guessed."
        )
