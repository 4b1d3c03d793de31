"""A search engine's state as JSON: its settings and every trial, so that a run resumes.

The file holds what rebuilds the engine (space and hardware by registered name, with their
options; objective, limits, method, seed...) and the trials in the order the engine heard of
them, each by its architecture's text. Loading rebuilds the engine and replays the trials; the
initial design and every model fit follow from the seed and the labels, so a resumed run
proposes what the uninterrupted one would have. The file is plain data: loading runs no code.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flash_nas.errors import FlashNasError, StateError, quote
from flash_nas.io.jsonfile import read_json
from flash_nas.io.tables import LabelScale
from flash_nas.search.engine.records import FAILED, PENDING, SUCCEEDED, Trial
from flash_nas.search.engine.state_check import check_state
from flash_nas.search.engine.told import DOES_NOT_RUN

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["StateError", "engine_from_dict", "engine_to_dict", "load_engine", "save_engine"]

FORMAT = "flash-nas engine state"
VERSION = 1


def engine_to_dict(engine: SearchEngine) -> dict[str, Any]:
    scale = engine.label_scale
    method_state = engine.strategy.state_dict()
    return {
        "format": FORMAT,
        "version": VERSION,
        "settings": {
            "space": engine.space_name,
            "space_options": engine.space_options,
            "hardware": engine.hardware_name,
            "hardware_options": {k: str(v) for k, v in engine.hardware_options.items()},
            "objective": engine.objective_text,
            "limits": engine.limits,
            "method": engine.method,
            "initial_samples": engine.initial_samples,
            "design": engine.design,
            "features": engine.features,
            "label_scale": [scale.low, scale.high, scale.higher_is_better, scale.unit],
            "seed": engine.seed,
            "pool_size": engine.pool_size,
            "confidence": engine.confidence,
        },
        "trials": [trial.to_dict() for trial in engine.trials.values()],
        # Costs measured on the device, by architecture, in the order told; the refitted
        # model follows from them (and is written beside them, for the reader).
        "measurements": [
            {
                "arch": engine.adapter.format(arch),
                "costs": {q: v if math.isfinite(v) else DOES_NOT_RUN for q, v in costs.items()},
            }
            for arch, costs in engine.measured.items()
        ],
        "cost_model": _cost_model(engine),
        # Only a method that keeps state beyond the trials adds this (the built-in ones do not).
        **({"method_state": dict(method_state)} if method_state else {}),
    }


def save_engine(engine: SearchEngine, path: Path) -> None:
    """Write the state to ``path`` as every output is written
    (:func:`flash_nas.io.outputs.atomic_output`: replaced whole, links and permissions kept,
    devices and FIFOs written directly)."""
    from flash_nas.io.outputs import atomic_output

    text = json.dumps(engine_to_dict(engine), indent=1)
    with atomic_output(path, "w", encoding="utf-8") as out:
        out.write(text)


def load_engine(
    engine_class: type[SearchEngine], path: Path, overrides: dict[str, Any]
) -> SearchEngine:
    """Rebuild the engine saved at ``path`` and replay its trials."""
    if not path.exists():
        raise StateError(f"No engine state at {str(path)!r}.")
    data = read_json(path, error=StateError, what="a flash-nas engine state")
    return engine_from_dict(engine_class, data, overrides, where=path)


def engine_from_dict(
    engine_class: type[SearchEngine],
    data: Any,
    overrides: dict[str, Any],
    *,
    where: str | Path = "state",
) -> SearchEngine:
    """Rebuild an engine from :func:`engine_to_dict`'s data (a state held inside another
    file, e.g. a Ray Tune searcher checkpoint) and replay its trials."""
    path = where
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateError(f"{path}: not a flash-nas engine state (no 'format': {FORMAT!r}).")
    if data.get("version") != VERSION:
        raise StateError(
            f"{path}: state version {quote(data.get('version'), 40)}; this flash-nas reads "
            f"{VERSION}."
        )
    check_state(data, path)
    settings = dict(data.get("settings") or {})
    low, high, higher, unit = settings.pop("label_scale", [0.0, 100.0, True, "%"])
    settings["label_scale"] = LabelScale(float(low), float(high), bool(higher), str(unit))
    limits = settings.pop("limits", {}) or {}
    if overrides.get("space") is None and settings.get("space") is None:
        raise StateError(
            f"{path}: the engine searched a space given as an object, not a registered name; "
            f"pass it again: SearchEngine.load(path, space=adapter)."
        )
    settings.update(overrides)
    try:
        engine = engine_class(settings.pop("space"), **settings, limits=limits)
        _replay(engine, data.get("trials") or [], path)
    except TypeError as exc:
        raise StateError(f"{path}: settings the engine does not take ({exc}).") from None
    except StateError:
        raise
    except FlashNasError as exc:  # a saved setting or trial the engine or a plugin refuses
        raise StateError(f"{path}: {exc}") from exc
    try:
        _replay_measurements(engine, data.get("measurements") or [], path)
    except FlashNasError as exc:
        raise StateError(f"{path}: {exc}") from exc
    method_state = data.get("method_state") or {}
    if not isinstance(method_state, dict):
        raise StateError(f"{path}: 'method_state' must be an object.")
    try:
        engine.strategy.load_state_dict(method_state)
    except (ValueError, TypeError, KeyError) as exc:
        raise StateError(f"{path}: the method's saved state does not load ({exc}).") from None
    return engine


def _replay(engine: SearchEngine, trials: list[Any], path: str | Path) -> None:
    for position, item in enumerate(trials, start=1):
        if not isinstance(item, dict) or item.get("status") not in (PENDING, SUCCEEDED, FAILED):
            raise StateError(f"{path}: trial {position} is malformed.")
        try:
            arch = engine.adapter.parse(str(item["arch"]))
        except (KeyError, ValueError) as exc:
            raise StateError(f"{path}: trial {position}: {exc}") from None
        trial = Trial(arch, engine.adapter.format(arch), item["status"], source=item["source"])
        # The prediction at ask() time; states saved before it was recorded have none.
        trial.predicted = _optional_number(item.get("predicted"), "predicted", position, path)
        trial.predicted_std = _optional_number(
            item.get("predicted_std"), "predicted_std", position, path
        )
        if item["status"] == SUCCEEDED:
            value, reason = engine.check_value(item.get("value"), item["arch"])
            trial.value, trial.reason = value, reason
        elif item["status"] == FAILED:
            trial.reason = str(item.get("reason", ""))
        engine.trials[arch] = trial
        engine.candidates.add([arch])


def _optional_number(value: Any, name: str, position: int, path: str | Path) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise StateError(f"{path}: trial {position}: {name!r} is {value!r}; expected a number.")
    try:
        return float(value)
    except OverflowError:  # an integer past a float's range (JSON has no limit)
        raise StateError(
            f"{path}: trial {position}: {name!r} is an integer of {len(str(abs(value)))} digits; "
            "expected a number a float can hold."
        ) from None


def _replay_measurements(engine: SearchEngine, items: list[Any], path: str | Path) -> None:
    """Tell the saved measurements again, in one go (one refit)."""
    if not items:
        return
    texts = [str(item["arch"]) for item in items]
    quantities = list(dict.fromkeys(q for item in items for q in item["costs"]))
    engine.measure(texts, {q: [_cost(item["costs"].get(q)) for item in items] for q in quantities})


def _cost(value: Any) -> float | None:
    return math.inf if value == DOES_NOT_RUN else value


def _cost_model(engine: SearchEngine) -> dict[str, Any]:
    beliefs = engine.candidates.beliefs
    profile = beliefs.profile()
    return {
        "log_spread": dict(beliefs.spread),
        "profile": None if profile is None else json.loads(profile.to_json()),
    }
