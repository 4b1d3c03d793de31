"""The accuracy-cost picture ``flash-nas search --plot`` draws, from the engine's state."""

from __future__ import annotations

import math
from pathlib import Path

from flash_nas._imports import require
from flash_nas.io.outputs import atomic_path
from flash_nas.search.engine import SearchEngine

__all__ = ["plot_front"]


def plot_front(engine: SearchEngine, path: Path) -> None:
    """Every architecture the engine knows (accuracy measured or predicted) against its cost,
    the Pareto front on top, the measured ones marked and the recommendation starred."""
    matplotlib = require("matplotlib", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flash_nas.search.engine.methods import _known

    known = _known(engine)
    log_cost = engine.candidates.column("log_cost")
    cost = {row: math.exp(-float(log_cost[row])) for row in known}
    predicted = [row for row, (_, _, measured) in known.items() if not measured]
    measured = [row for row, (_, _, was) in known.items() if was]
    front = engine.front()
    chosen = engine.recommend()
    figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=120)

    def accuracy(rows: list[int]) -> list[float]:
        return [float(engine._from_utility(known[r][0])) for r in rows]

    if predicted:
        axes.scatter(
            [cost[r] for r in predicted],
            accuracy(predicted),
            s=5,
            alpha=0.3,
            color="#8aa4c8",
            label=f"predicted ({len(predicted):,})",
        )
    axes.scatter(
        [cost[r] for r in measured],
        accuracy(measured),
        s=18,
        color="#2a9d8f",
        label=f"measured ({len(measured)})",
    )
    axes.plot(
        [p.cost for p in front],
        [p.accuracy for p in front],
        "-o",
        ms=3,
        color="#1f4e8c",
        label="accuracy-cost front",
    )
    row = int(engine.candidates.add([chosen.arch])[0])
    axes.scatter(
        [math.exp(-float(log_cost[row]))],
        [chosen.accuracy],
        marker="*",
        s=180,
        color="#d1495b",
        zorder=5,
        label="recommended" + (" (measured)" if chosen.measured else " (predicted)"),
    )
    if len(set(cost.values())) > 1:
        axes.set_xscale("log")
    terms = [f"{n}^{-p:g}" for n, p in engine.objective.exponents.items() if n != "acc"]
    axes.set_xlabel(f"cost: {'*'.join(terms) or '1 (objective is accuracy alone)'}")
    scale = engine.label_scale
    axes.set_ylabel(f"accuracy ({scale.unit})")
    axes.set_title(f"objective {engine.objective_text}, method {engine.method}")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
