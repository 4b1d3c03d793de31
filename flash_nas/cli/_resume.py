"""The search engine a command's flags describe, or the one its ``--state`` file holds (shared by
``search`` and ``train``).

A resumed run goes on as it started. A setting typed on the command line must therefore equal
the saved one (:func:`check_resume`): a different hardware, limit, objective, method, seed, space
or hardware option is an error naming both values, never silently replaced by the saved one. A
setting not typed takes the saved value. What only extends the run (``--budget``, a larger
``--n-labels``, where the results go, progress bars) is not a setting of the engine and may
change freely.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from flash_nas.cli._args import UsageError
from flash_nas.cli._common import LIMIT_FLAGS, limits_from_args
from flash_nas.errors import StateError, quote
from flash_nas.io.files import same_file
from flash_nas.plugins.quantities import LIMIT_PREFIX
from flash_nas.search.engine import SearchEngine

__all__ = ["check_resume", "engine_from_args", "resumed", "space_from_state"]


#: Argument destination -> (option, the engine's attribute holding the saved value): every
#: engine setting a command line may type, compared in one place for ``search`` and ``train``
#: (the hard limits, ``--max-...``, too: saved in the engine's ``limits``).
SETTINGS: dict[str, tuple[str, str]] = {
    "space": ("--space", "space_name"),
    "hardware": ("--hardware", "hardware_name"),
    "objective": ("--objective", "objective_text"),
    "method": ("--method", "method"),
    "seed": ("--seed", "seed"),
    "strategy": ("--strategy", "design"),
    "initial_samples": ("--initial-samples", "initial_samples"),
    "features": ("--features", "features"),
    "confidence": ("--confidence", "confidence"),
}


def _saved(engine: SearchEngine, dest: str) -> Any:
    return getattr(engine, SETTINGS[dest][1])


def _option(dest: str) -> str:
    return SETTINGS[dest][0] if dest in SETTINGS else f"--{dest.replace('_', '-')}"


def _comparable(dest: str, value: Any) -> Any:
    """The form in which a typed and a saved value compare: an objective without spaces, the
    metric names a ``--features`` text lists."""
    if dest == "objective" and isinstance(value, str):
        return "".join(value.split())
    if dest == "features" and isinstance(value, str):
        from flash_nas.graph.metrics import parse_metric_names

        return list(parse_metric_names(value))
    if dest == "features" and value is not None:
        return list(value)
    return value


#: Settings a command may read again after the engine is built (train's --seed seeds training
#: too): not typed on a resume, they take the saved value.
_TAKEN_BACK = ("space", "hardware", "method", "seed")


def resumed(state: Path | None) -> SearchEngine | None:
    """The engine saved at ``state`` when that file exists, else None."""
    if state is None or not state.is_file():
        return None
    return SearchEngine.load(state)


def space_from_state(args: argparse.Namespace) -> None:
    """``--space`` left out: the space the ``--state`` being resumed saved (the one setting a
    command needs before it loads the state), else a usage error saying what is missing."""
    if args.space is not None:
        return
    state = getattr(args, "state", None)
    if state is not None and Path(state).is_file():
        args.space = _saved_space(Path(state))
        return
    raise UsageError(
        "the following arguments are required: --space (or --state FILE of a run to resume)"
    )


def _saved_space(state: Path) -> str:
    """The registered space a state names, read without rebuilding its engine."""
    try:
        space = json.loads(state.read_text(encoding="utf-8"))["settings"]["space"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        space = None
    if not isinstance(space, str):
        raise StateError(
            f"--state {state} names no registered space (not a flash-nas engine state, or one "
            f"made with a space object); give --space."
        )
    return space


def check_resume(engine: SearchEngine, args: argparse.Namespace, state: Path) -> None:
    """Refuse a setting typed on the command line that differs from the one saved in
    ``state``; give the settings not typed their saved values (``args`` is updated, so a
    command that reads them, such as train's ``--seed``, uses what the run started with).

    ``args.given`` lists the options typed (set by :func:`flash_nas.cli.main`); without it
    every setting ``args`` holds counts as typed.
    """
    given = getattr(args, "given", None)

    def typed(dest: str) -> bool:
        return hasattr(args, dest) and (given is None or dest in given)

    _check_limits(engine, args, state)
    for dest in SETTINGS:
        if not hasattr(args, dest):
            continue
        saved = _saved(engine, dest)
        if not typed(dest) or getattr(args, dest) is None:  # None: a flag left out
            if dest in _TAKEN_BACK:
                setattr(args, dest, saved)
            continue
        value = getattr(args, dest)
        if _comparable(dest, value) != _comparable(dest, saved):
            _differs(_option(dest), saved, value, state)
    _check_options(
        "-O", engine.space_options, dict(args.space_option) if typed("space_option") else {}, state
    )
    hardware = dict(args.hardware_option) if typed("hardware_option") else {}
    _check_options("-H", engine.hardware_options, hardware, state, as_text=True)
    if typed("profile") and args.profile is not None:
        saved = engine.hardware_options.get("profile")
        if saved is None or not (
            str(saved) == str(args.profile) or same_file(str(saved), args.profile)
        ):
            _differs("--profile", saved, str(args.profile), state)


def _check_limits(engine: SearchEngine, args: argparse.Namespace, state: Path) -> None:
    """Each limit typed (``--max Q=X`` or ``--max-latency-ms X``) must equal the saved one;
    limits not typed keep their saved values."""
    for name, value in limits_from_args(args).items():
        saved = engine.limits.get(name)
        if saved is None or float(saved) != float(value):
            quantity = name.removeprefix(LIMIT_PREFIX)
            standard = quantity in LIMIT_FLAGS
            spelled = f"--{name.replace('_', '-')}" if standard else f"--max {quantity}"
            _differs(spelled, saved, value, state)


def _check_options(
    flag: str, saved: dict[str, Any], typed: dict[str, Any], state: Path, *, as_text: bool = False
) -> None:
    """Each ``KEY=VALUE`` typed must equal the saved value of KEY (a state keeps hardware
    options as text); keys not typed keep their saved values."""
    for key, value in typed.items():
        old = saved.get(key)
        if (str(value) != str(old) if as_text else value != old) or key not in saved:
            _differs(f"{flag} {key}", old, value, state)


def _differs(option: str, saved: Any, given: Any, state: Path) -> None:
    def shown(value: Any) -> str:
        return "not set" if value is None else quote(value, 80)

    raise UsageError(
        f"{option} differs from the run saved in --state {state}: saved {shown(saved)}, given "
        f"{shown(given)}; a resumed run keeps its settings. Leave {option} out (or give the saved "
        f"value) to resume, or choose another --state to start a new search."
    )


def engine_from_args(args: argparse.Namespace, **settings: Any) -> SearchEngine:
    """The engine saved at ``--state`` (checked against the settings typed), else a new one
    from the space, hardware, objective, method, seed and limit flags, plus the command's own
    ``settings``."""
    engine = resumed(args.state)
    if engine is not None:
        check_resume(engine, args, args.state)
        print(
            f"Resuming from {args.state}: {len(engine.trials)} trial(s) recorded.", file=sys.stderr
        )
        return engine
    hardware_options = dict(args.hardware_option)
    takes_profile = hasattr(args, "profile")
    if takes_profile and args.profile is not None:
        hardware_options["profile"] = str(args.profile)
    if args.hardware is None and hardware_options:
        flags = "-H and --profile describe" if takes_profile else "-H describes"
        raise UsageError(f"{flags} a hardware model: add --hardware NAME.")
    return SearchEngine(
        args.space,
        space_options=dict(args.space_option),
        hardware=args.hardware,
        hardware_options=hardware_options,
        objective=args.objective,
        method=args.method,
        seed=args.seed,
        limits=limits_from_args(args),
        **settings,
    )
