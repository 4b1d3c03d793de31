"""What happened in a search, trial by trial: ``flash-nas search --history FILE.csv``.

One row per trial in the order the engine heard of it: the architecture, how it was chosen, its
label or why it failed, the hardware's costs, what the model predicted for it when it was
proposed (and that prediction's spread), its objective and the best objective so far. The same
rows draw ``--history-plot`` (:func:`flash_nas.cli.plot.plot_history`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from flash_nas.io.outputs import atomic_output
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.acquisition import log_value

__all__ = ["accuracy_alone", "history_rows", "write_history"]


def accuracy_alone(engine: SearchEngine) -> bool:
    """Whether the objective is the label itself (no cost term, exponent 1): then the best so
    far is the best label, in its own scale and direction."""
    return dict(engine.objective.exponents) == {"acc": 1.0}


def history_rows(engine: SearchEngine) -> list[dict[str, Any]]:
    """The trials as rows (see the module docstring); pending ones have no label yet."""
    candidates = engine.candidates
    costs = list(engine.hardware.quantities) if engine.hardware is not None else []
    exponent = engine.objective.exponents["acc"]
    plain = accuracy_alone(engine)
    higher = engine.label_scale.higher_is_better
    best: float | None = None
    rows = []
    for order, trial in enumerate(engine.history, start=1):
        row_of = int(candidates.add([trial.arch])[0])
        values = candidates.values(row_of)
        feasible = bool(candidates.column("feasible")[row_of])
        objective: float | None = None
        if trial.status == "succeeded" and trial.value is not None:
            if plain:
                objective = trial.value
            else:
                utility = float(engine.utility(trial.value))
                log_cost = float(candidates.column("log_cost")[row_of])
                objective = math.exp(float(log_value(utility, exponent, log_cost)))
            if feasible and (
                best is None
                or (objective > best if higher or not plain else objective < best)
            ):
                best = objective
        index = engine.adapter.index(trial.arch)
        rows.append(
            {
                "order": order,
                "arch": trial.text,
                "index": "" if index is None else index,
                "source": trial.source,
                "status": trial.status,
                "label": trial.value,
                "failure": trial.reason if trial.status == "failed" else "",
                **{name: values.get(name) for name in costs},
                "feasible": int(feasible),
                "predicted": trial.predicted,
                "predicted_sd": trial.predicted_std,
                "objective": objective,
                "best_so_far": best,
            }
        )
    return rows


def write_history(engine: SearchEngine, path: Path) -> None:
    """The rows of :func:`history_rows` as CSV (replaced only once complete); an empty cell is
    a value there is not (no label yet, no model when proposed)."""
    rows = history_rows(engine)
    names = list(rows[0]) if rows else ["order", "arch", "status", "label", "best_so_far"]
    if rows and all(row["index"] == "" for row in rows):
        names.remove("index")
    with atomic_output(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, names, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _cell(row.get(name)) for name in names})


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)
