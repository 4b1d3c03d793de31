"""The pictures ``flash-nas search`` draws from the engine's state: the accuracy-cost front
(``--plot``) and the search's history (``--history-plot``)."""

from __future__ import annotations

import math
from pathlib import Path

from flash_nas._imports import require
from flash_nas.io.outputs import atomic_path
from flash_nas.search.engine import SearchEngine

__all__ = ["plot_front", "plot_history"]


def plot_front(engine: SearchEngine, path: Path) -> None:
    """Every architecture the engine knows (accuracy measured or predicted) against its cost,
    the Pareto front on top, the measured ones marked and the recommendation starred."""
    matplotlib = require("matplotlib", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    known = engine.results.known()
    log_cost = engine.candidates.column("log_cost")
    cost = {row: math.exp(-float(log_cost[row])) for row in known}
    predicted = [row for row, (_, _, measured) in known.items() if not measured]
    measured = [row for row, (_, _, was) in known.items() if was]
    front = engine.front()
    chosen = engine.recommend()
    figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=120)

    def accuracy(rows: list[int]) -> list[float]:
        return [float(engine.label(known[r][0])) for r in rows]

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


def plot_history(engine: SearchEngine, path: Path) -> None:
    """Each trial's objective in the order the trials came (the initial design and the model's
    choices apart, failures marked on the axis) and the best so far as a step line, as Optuna's
    ``plot_optimization_history`` draws a study."""
    matplotlib = require("matplotlib", "--history-plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from flash_nas.cli.history import accuracy_alone, history_rows

    rows = history_rows(engine)
    figure, axes = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    styles = {"initial": ("#8aa4c8", "initial design"), "model": ("#2a9d8f", "chosen by the model")}
    for source in sorted({row["source"] for row in rows}):
        done = [r for r in rows if r["source"] == source and r["objective"] is not None]
        if done:
            color, name = styles.get(source, ("#6c757d", source))
            axes.scatter(
                [r["order"] for r in done],
                [r["objective"] for r in done],
                s=16,
                color=color,
                label=f"{name} ({len(done)})",
            )
    best = [r for r in rows if r["best_so_far"] is not None]
    if best:
        axes.step(
            [r["order"] for r in best],
            [r["best_so_far"] for r in best],
            where="post",
            color="#d1495b",
            label="best so far",
        )
    failed = [r["order"] for r in rows if r["status"] == "failed"]
    if failed:
        axes.scatter(
            failed,
            [0] * len(failed),
            marker="x",
            color="#6c757d",
            transform=axes.get_xaxis_transform(),
            clip_on=False,
            label=f"failed ({len(failed)})",
        )
    axes.set_xlabel("trial (in the order the engine heard of it)")
    what = (
        f"label ({engine.label_scale.unit})"
        if accuracy_alone(engine)
        else f"objective {engine.objective_text}"
    )
    axes.set_ylabel(what)
    axes.set_title(f"Search history: {len(rows)} trials, method {engine.method}")
    if rows:
        axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png")
    plt.close(figure)
