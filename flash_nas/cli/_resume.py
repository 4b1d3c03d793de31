"""Resuming a run of the search engine from ``--state`` (shared by ``search`` and ``train``)."""

from __future__ import annotations

import sys
from pathlib import Path

from flash_nas.search.engine import SearchEngine

__all__ = ["resumed"]


def resumed(state: Path | None) -> SearchEngine | None:
    """The engine saved at ``state`` when that file exists (its settings win over the command's
    flags, so a resumed run goes on as it started), else None."""
    if state is None or not state.is_file():
        return None
    engine = SearchEngine.load(state)
    print(f"Resuming from {state}: {len(engine.trials)} trial(s) recorded.", file=sys.stderr)
    return engine
