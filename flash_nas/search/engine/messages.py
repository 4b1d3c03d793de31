"""The engine's two longest messages: nothing meets the limits, nothing is left to propose."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flash_nas.search.engine.records import PENDING

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["exhausted", "nothing_feasible"]


def nothing_feasible(engine: SearchEngine) -> str:
    """No architecture of the pool meets the limits with the asked confidence: the closest."""
    c = engine.candidates
    limits = engine.objective.limits
    bounds = ", ".join(f"{name} <= {bound:g}" for name, bound in limits.items())
    pool = engine.pool_rows
    pool = pool[~c.column("cut_off")[pool]] if (~c.column("cut_off")[pool]).any() else pool
    probability = c.column("p_feasible")[pool]
    # closest: most likely to meet the limits, then least over them
    order = np.lexsort((c.column("violation")[pool], -probability))[:3]
    uncertain = bool(c.beliefs.uncertain)
    described = "; ".join(
        engine.adapter.format(c.archs[pool[k]])
        + " ("
        + ", ".join(f"{name} {c.column('value:' + name)[pool[k]]:.4g}" for name in limits)
        + (f", P(meets the limits) {probability[k]:.2f}" if uncertain else "")
        + ")"
        for k in order
    )
    where = "the space" if engine.listable else f"a pool of {len(pool):,}"
    sure = f" with probability {engine.confidence:g}" if uncertain else ""
    return (
        f"No architecture of {where} meets the limits ({bounds or 'none set'}){sure}"
        f" and computes something (a cell cut off from its input does not). Closest: "
        f"{described}. Relax a limit"
        + (", lower the confidence, or measure costs on the device" if uncertain else "")
        + "."
    )


def exhausted(engine: SearchEngine) -> str:
    tried = sum(t.status != PENDING for t in engine.trials.values())
    pending = sum(t.status == PENDING for t in engine.trials.values())
    where = "of the space" if engine.listable else f"of a pool of {len(engine.pool_rows):,}"
    return (
        f"No architecture {where} is left to propose: {tried} tried, {pending} pending, the "
        f"rest break a limit or are cut off. Recommend from what was tried, relax a limit, "
        f"or widen the space."
    )
