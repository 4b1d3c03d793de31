"""Declared parameter checks with one message format (the pattern of scikit-learn's
``_param_validation``): a parameter's owner, its name, what was expected, what came.

    check_int(5, "budget", owner="SearchEngine.ask", low=1)
    check_choice("bo", "method", ("bo", "flash"), owner="SearchEngine")
    check_optional(check_int, None, "lpf_limit", owner="ZigZagModel", low=1)

Every check raises :class:`ParameterError` (a ``ValueError``), never ``assert``; a front end
whose errors have a class of their own passes it as ``error`` (the NNI tuner's arguments raise
:class:`~flash_nas.errors.TunerConfigError`). Plugins check their options here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flash_nas.errors import FlashNasError, ParameterError, quote
from flash_nas.io.numbers import parse_number

__all__ = ["ParameterError", "check_choice", "check_int", "check_number", "check_optional"]

Checked = TypeVar("Checked")


def _fail(
    owner: str,
    name: str,
    expected: str,
    value: Any,
    error: type[FlashNasError],
    noun: str,
    or_none: bool,
) -> FlashNasError:
    expected += " or None" if or_none else ""
    return error(f"The {name!r} {noun} of {owner} must be {expected}. Got {quote(value)} instead.")


def check_int(
    value: Any,
    name: str,
    *,
    owner: str,
    low: int | None = None,
    high: int | None = None,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
    or_none: bool = False,
) -> int:
    """An ``int`` (not a bool; numpy integers count) within ``[low, high]``. ``or_none`` only
    says in the message that None is accepted too (:func:`check_optional` passes it)."""
    if low is not None and high is not None:
        expected = f"an int in {low}..{high}"
    else:
        expected = "an int" + (f" >= {low}" if low is not None else "")
        expected += f" <= {high}" if high is not None else ""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise _fail(owner, name, expected, value, error, noun, or_none)
    number = int(value.__index__())
    if (low is not None and number < low) or (high is not None and number > high):
        raise _fail(owner, name, expected, value, error, noun, or_none)
    return number


def check_number(
    value: Any,
    name: str,
    *,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    positive: bool = False,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
    or_none: bool = False,
) -> float:
    """A finite real number (not a bool), ``> 0`` when ``positive``, ``>= low`` and ``<= high``
    when given."""
    expected = "a finite number" + (" > 0" if positive else "")
    expected += f" >= {low:g}" if low is not None else ""
    expected += f" <= {high:g}" if high is not None else ""
    if isinstance(value, bool):
        raise _fail(owner, name, expected, value, error, noun, or_none)
    if isinstance(value, str):
        # text (an option saved in a state file) is read as a table's cells are: plain decimal
        parsed = parse_number(value)
        number = math.nan if parsed is None else parsed
    else:
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: an int past any float
            raise _fail(owner, name, expected, value, error, noun, or_none) from None
    if (
        not math.isfinite(number)
        or (positive and number <= 0)
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        raise _fail(owner, name, expected, value, error, noun, or_none)
    return number


def check_choice(
    value: Any,
    name: str,
    options: Sequence[str],
    *,
    owner: str,
    error: type[FlashNasError] = ParameterError,
    noun: str = "parameter",
    or_none: bool = False,
) -> str:
    """One of ``options``."""
    if not isinstance(value, str) or value not in options:
        expected = f"one of {', '.join(map(repr, options))}"
        raise _fail(owner, name, expected, value, error, noun, or_none)
    return value


def check_optional(
    check: Callable[..., Checked], value: Any, *args: Any, **kwargs: Any
) -> Checked | None:
    """None, or what ``check(value, *args, **kwargs)`` returns (its message then says that
    None is accepted too)."""
    if value is None:
        return None
    return check(value, *args, or_none=True, **kwargs)
