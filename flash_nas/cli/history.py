"""What happened in a search, trial by trial: ``flash-nas search --history FILE.csv``.

One row per trial in the order the engine heard of it: the architecture, how it was chosen, its
label or why it failed, the hardware's costs (measured where measured, else the model's), the
costs measured on the device (``measured_<quantity>``, empty where not measured), what the model
predicted for it when it was proposed (and that prediction's spread), its objective and the best
objective so far. An architecture measured without being trained (``--measure-budget``) is a
row of status ``measured``, without order, label or objective, placed among the trials where its
measurement came. The trials alone draw ``--history-plot``
(:func:`flash_nas.cli.plot.plot_history`).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

from flash_nas.io.outputs import atomic_output
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.acquisition import log_value
from flash_nas.search.engine.told import DOES_NOT_RUN

__all__ = ["accuracy_alone", "history_rows", "write_history"]


def accuracy_alone(engine: SearchEngine) -> bool:
    """Whether the objective is the label itself (no cost term, exponent 1): then the best so
    far is the best label, in its own scale and direction."""
    return dict(engine.objective.exponents) == {"acc": 1.0}


def history_rows(engine: SearchEngine, *, measurements: bool = False) -> list[dict[str, Any]]:
    """The trials as rows (see the module docstring); pending ones have no label yet. With
    ``measurements``, the architectures measured without training too."""
    candidates = engine.candidates
    costs = list(engine.hardware.quantities) if engine.hardware is not None else []
    exponent = engine.objective.exponents["acc"]
    plain = accuracy_alone(engine)
    higher = engine.label_scale.higher_is_better
    best: float | None = None
    rows: list[dict[str, Any]] = []
    before = _measurements_before(engine) if measurements else {}
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
        if measurements:
            for arch in before.get(trial.arch, []):
                rows.append(_measured_row(engine, arch, costs, best))
        index = engine.adapter.index(trial.arch)
        measured = engine.measured_costs(trial.arch)
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
                **_measured_cells(measured, costs),
                "feasible": int(feasible),
                "predicted": trial.predicted,
                "predicted_sd": trial.predicted_std,
                "objective": objective,
                "best_so_far": best,
            }
        )
    if measurements:
        rows += [_measured_row(engine, arch, costs, best) for arch in before.get(None, [])]
    return rows


def _measurements_before(engine: SearchEngine) -> dict[Any, list[Any]]:
    """Trial's architecture -> the architectures measured without training right before its
    costs were told (``None``: after the last trial told with costs). ``engine.measured`` keeps
    measurements and trained costs in the order they came."""
    trained = {t.arch for t in engine.history}
    placed: dict[Any, list[Any]] = {}
    waiting: list[Any] = []
    for arch in engine.measured:
        if arch in trained:
            if waiting:
                placed[arch], waiting = waiting, []
        else:
            waiting.append(arch)
    if waiting:
        placed[None] = waiting
    return placed


def _measured_row(
    engine: SearchEngine, arch: Any, costs: list[str], best: float | None
) -> dict[str, Any]:
    """An architecture measured, not trained: its costs, nothing of a label."""
    candidates = engine.candidates
    row_of = int(candidates.add([arch])[0])
    values = candidates.values(row_of)
    measured = engine.measured_costs(arch)
    index = engine.adapter.index(arch)
    return {
        "order": None,
        "arch": engine.adapter.format(arch),
        "index": "" if index is None else index,
        "source": "measure",
        "status": "measured",
        "label": None,
        "failure": "",
        **{name: values.get(name) for name in costs},
        **_measured_cells(measured, costs),
        "feasible": int(bool(candidates.column("feasible")[row_of])),
        "predicted": None,
        "predicted_sd": None,
        "objective": None,
        "best_so_far": best,
    }


def _measured_cells(measured: dict[str, float], costs: list[str]) -> dict[str, Any]:
    """The ``measured_<quantity>`` cells: a cost of ``inf`` is a network that did not run on
    the device, written as a ``--costs-from`` table writes it."""
    cells: dict[str, Any] = {}
    for name in costs:
        value = measured.get(name)
        cells[f"measured_{name}"] = DOES_NOT_RUN if value == math.inf else value
    return cells


def write_history(engine: SearchEngine, path: Path) -> None:
    """The rows of :func:`history_rows` as CSV (replaced only once complete); an empty cell is
    a value there is not (no label yet, no model when proposed)."""
    rows = history_rows(engine, measurements=True)
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
