"""Declared parameter checks with one message format (the pattern of scikit-learn's
``_param_validation``): a parameter's owner, its name, what was expected, what came.

    check_int(5, "budget", owner="SearchEngine.ask", low=1)
    check_choice("bo", "method", ("bo", "flash"), owner="SearchEngine")

Every check raises :class:`ParameterError` (a ``ValueError``), never ``assert``; a front end
whose errors have a class of their own passes it as ``error`` (the NNI tuner's arguments raise
:class:`~flash_nas.errors.TunerConfigError`). Plugins check their options here too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, overload

from flash_nas.errors import FlashNasError, ParameterError, quote

__all__ = ["ParameterError", "check_choice", "check_int", "check_number"]


def _fail(
    owner: str, name: str, expected: str, value: Any, error: type[FlashNasError], noun: str
) -> FlashNasError:
    return error(
        f"The {name!r} {noun} of {owner} must be {expected}. Got {quote(value)} instead."
    )


@overload
def check_int(
    value: Any,
    name: str,
    *,
    owner: str,
    low: int | None = ...,
    high: int | None = ...,
    error: type[FlashNasError] = ...,
    noun: str = ...,
    optional: Literal[False] = ...,
) -> int: ...


@overload
def check_int(
    value: Any,
    name: str,
    *,
    owner: str,
    low: int | None = ...,
    high: int | None = ...,
    error: type[FlashNasError] = ...,
    noun: str = ...,
    optional: bool,
) -> int | None: ...


def check_int(
    value: Any,
    name: str,
    *,
    owner: str,
    low: int | None = None,
    high: int | None = None,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
    optional: bool = False,
) -> int | None:
    """An ``int`` (not a bool; numpy integers count) within ``[low, high]``; with ``optional``,
    None passes too."""
    if low is not None and high is not None:
        expected = f"an int in {low}..{high}"
    else:
        expected = "an int" + (f" >= {low}" if low is not None else "")
        expected += f" <= {high}" if high is not None else ""
    if optional:
        if value is None:
            return None
        expected += " or None"
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise _fail(owner, name, expected, value, error, noun)
    number = int(value.__index__())
    if (low is not None and number < low) or (high is not None and number > high):
        raise _fail(owner, name, expected, value, error, noun)
    return number


@overload
def check_number(
    value: Any,
    name: str,
    *,
    owner: str,
    low: float | None = ...,
    positive: bool = ...,
    error: type[FlashNasError] = ...,
    noun: str = ...,
    optional: Literal[False] = ...,
) -> float: ...


@overload
def check_number(
    value: Any,
    name: str,
    *,
    owner: str,
    low: float | None = ...,
    positive: bool = ...,
    error: type[FlashNasError] = ...,
    noun: str = ...,
    optional: bool,
) -> float | None: ...


def check_number(
    value: Any,
    name: str,
    *,
    owner: str,
    low: float | None = None,
    positive: bool = False,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
    optional: bool = False,
) -> float | None:
    """A finite real number (not a bool), ``> 0`` when ``positive``, ``>= low`` when given;
    with ``optional``, None passes too."""
    expected = "a finite number" + (" > 0" if positive else "")
    expected += f" >= {low:g}" if low is not None else ""
    if optional:
        if value is None:
            return None
        expected += " or None"
    if isinstance(value, bool):
        raise _fail(owner, name, expected, value, error, noun)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _fail(owner, name, expected, value, error, noun) from None
    if (
        not math.isfinite(number)
        or (positive and number <= 0)
        or (low is not None and number < low)
    ):
        raise _fail(owner, name, expected, value, error, noun)
    return number


def check_choice(
    value: Any,
    name: str,
    options: Sequence[str],
    *,
    owner: str,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
) -> str:
    """One of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise _fail(owner, name, f"one of {', '.join(map(repr, options))}", value, error, noun)
    return value
