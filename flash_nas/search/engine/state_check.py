"""The shape of a saved engine state, checked before anything is rebuilt from it.

A state file (or the state inside a Ray checkpoint) is data anyone may have edited: each field
is checked for its type and size here, so that a tampered file is one :class:`StateError`
naming the file and the field, never a traceback, and nothing large is built from it (a
``features`` list of 10^5 names would make arrays of that width). The values themselves
(ranges, known names) are then checked by the engine and the plugins as for any caller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flash_nas.errors import FlashNasError, StateError, quote
from flash_nas.plugins.quantities import LIMIT_PREFIX
from flash_nas.search.engine.records import FAILED, PENDING, SUCCEEDED
from flash_nas.search.engine.told import DOES_NOT_RUN

__all__ = ["MAX_TEXT_CHARS", "check_state"]

#: Longest text a state holds in one field (an objective is at most 1,000 characters, the
#: longest canonical architecture about 2,000; 100,000 as --archs lines).
MAX_TEXT_CHARS = 100_000


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT_CHARS


def _text_or_none(value: Any) -> bool:
    return value is None or _text(value)


def _options(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(key, str) for key in value)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _label_scale(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 4
        and _number(value[0])
        and _number(value[1])
        and isinstance(value[2], bool)
        and _text(value[3])
    )


def _limits(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(name, str)
        and name.startswith(LIMIT_PREFIX)
        and name[len(LIMIT_PREFIX) :].isidentifier()
        and (bound is None or _number(bound))
        for name, bound in value.items()
    )


def _features(value: Any) -> bool:
    # the names are checked against the known metrics by the engine; a list longer than there
    # are metrics names one twice, which is refused here before any array is built
    from flash_nas.graph.metrics import METRICS

    return (
        isinstance(value, list)
        and len(value) <= len(METRICS)
        and all(isinstance(name, str) and name in METRICS for name in value)
        and len(set(value)) == len(value)
    )


#: setting -> (check, what it must be)
_SETTINGS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "space": (_text_or_none, "a space's registered name, or null"),
    "space_options": (_options, "an object of option names and values"),
    "hardware": (_text_or_none, "a hardware model's registered name, or null"),
    "hardware_options": (_options, "an object of option names and values"),
    "objective": (_text, "the objective's formula (a string)"),
    "limits": (_limits, f"an object of limits ({LIMIT_PREFIX}<quantity>) and finite numbers"),
    "method": (_text, "a method's name (a string)"),
    "initial_samples": (_int, "an integer"),
    "design": (_text, "a design's name (a string)"),
    "features": (_features, "a list of distinct metric names (see `flash-nas metrics`)"),
    "label_scale": (_label_scale, "[low, high, higher_is_better, unit] (numbers, bool, string)"),
    "seed": (_int, "an integer"),
    "pool_size": (_int, "an integer"),
    "confidence": (_number, "a probability (a number in [0.5, 1))"),
}
#: Engine arguments that are objects, never data: a state cannot hold them.
_NOT_DATA = ("domain",)


def check_state(data: Any, where: str | Path, error: type[FlashNasError] = StateError) -> None:
    """Raise ``error`` naming ``where`` and the first field of ``data`` (a parsed engine
    state) whose type or size is not what :func:`~flash_nas.search.engine.state.engine_to_dict`
    writes."""
    if not isinstance(data, dict):
        raise error(f"{where}: not a flash-nas engine state (expected a JSON object).")
    settings = data.get("settings", {})
    if not isinstance(settings, dict):
        raise error(f"{where}: 'settings' must be a JSON object of the engine's settings.")
    for name, value in settings.items():
        if name in _NOT_DATA:
            raise error(
                f"{where}: settings.{name} is an object the engine is given in Python, not "
                f"something a state file holds; remove it (pass {name}= to SearchEngine.load)."
            )
        if name in _SETTINGS:
            check, expected = _SETTINGS[name]
            if not check(value):
                raise error(f"{where}: settings.{name} must be {expected}; got {_kind(value)}.")
    trials = data.get("trials", [])
    if not isinstance(trials, list):
        raise error(f"{where}: 'trials' must be a JSON array of trials.")
    for position, trial in enumerate(trials, start=1):
        _check_trial(trial, f"{where}: trial {position}", error)
    measurements = data.get("measurements", [])
    if not isinstance(measurements, list):
        raise error(f"{where}: 'measurements' must be a JSON array of measured costs.")
    for position, item in enumerate(measurements, start=1):
        _check_measurement(item, f"{where}: measurement {position}", error)


def _check_measurement(item: Any, where: str, error: type[FlashNasError]) -> None:
    if not isinstance(item, dict) or not _text(item.get("arch")):
        raise error(f"{where} must be an object with the architecture's text ('arch').")
    costs = item.get("costs")
    if not isinstance(costs, dict) or not all(
        isinstance(name, str) and (_number(value) or value == DOES_NOT_RUN)
        for name, value in costs.items()
    ):
        raise error(
            f"{where}: 'costs' must be an object of quantity names and finite numbers (or "
            f"{DOES_NOT_RUN!r}); got {_kind(costs)}."
        )


def _check_trial(trial: Any, where: str, error: type[FlashNasError]) -> None:
    if not isinstance(trial, dict):
        raise error(f"{where} must be a JSON object (arch, status, value, reason, source).")
    for name, check, expected in (
        ("arch", _text, "the architecture's text"),
        ("source", _text, "a string (who proposed it)"),
    ):
        if not check(trial.get(name)):
            got = "nothing" if name not in trial else _kind(trial[name])
            raise error(f"{where}: '{name}' must be {expected}; got {got}.")
    if trial.get("status") not in (PENDING, SUCCEEDED, FAILED):
        raise error(
            f"{where}: 'status' must be one of {PENDING!r}, {SUCCEEDED!r}, {FAILED!r}; got "
            f"{_kind(trial.get('status'))}."
        )
    value = trial.get("value")
    if value is not None and not _number(value):
        raise error(f"{where}: 'value' must be a finite number or null; got {_kind(value)}.")
    if not _text_or_none(trial.get("reason")):
        raise error(f"{where}: 'reason' must be a string or null; got {_kind(trial['reason'])}.")


def _kind(value: Any) -> str:
    """What a value is, for a message: its JSON type, and a number itself; never a string's
    text (the file may hold anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {quote(value, 40)}"
    if isinstance(value, str):
        return f"a string of {len(value):,} characters"
    return "an array" if isinstance(value, list) else "an object"
