"""The search engine a command's flags describe, or the one its ``--state`` file holds (shared by
``search`` and ``train``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flash_nas.cli._args import UsageError
from flash_nas.cli._common import limits_from_args
from flash_nas.search.engine import SearchEngine

__all__ = ["engine_from_args", "resumed"]


def resumed(state: Path | None) -> SearchEngine | None:
    """The engine saved at ``state`` when that file exists (its settings win over the command's
    flags, so a resumed run goes on as it started), else None."""
    if state is None or not state.is_file():
        return None
    engine = SearchEngine.load(state)
    print(f"Resuming from {state}: {len(engine.trials)} trial(s) recorded.", file=sys.stderr)
    return engine


def engine_from_args(args: argparse.Namespace, **settings: Any) -> SearchEngine:
    """The engine saved at ``--state``, else a new one from the space, hardware, objective,
    method, seed and limit flags, plus the command's own ``settings``."""
    engine = resumed(args.state)
    if engine is not None:
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
