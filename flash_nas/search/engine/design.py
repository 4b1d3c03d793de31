"""The initial design every method starts from, and when the method takes over.

``initial_samples`` architectures stratified over NN-Degree (the first feature) among those
that may be proposed (FLASH's sampling). While fewer labels than that have come back, further
requests get more of the design (then the untried architecture farthest in NN-Degree from
every one tried), so failures and concurrency keep the design spread. Once the method's
``min_labels`` and ``initial_samples`` labels are in, the method chooses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flash_nas.plugins.method import Choice
from flash_nas.search.engine.records import PENDING, SUCCEEDED

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["propose"]


def propose(engine: SearchEngine, n: int) -> list[Choice]:
    """Up to ``n`` choices, in order: the design's, then the method's."""
    succeeded = sum(t.status == SUCCEEDED for t in engine.trials.values())
    pending = sum(t.status == PENDING for t in engine.trials.values())
    room = max(0, engine.initial_samples - succeeded - pending)
    chosen: list[Choice] = []
    for row in engine.design_rows:
        if len(chosen) >= min(n, room):
            break
        if engine.candidates.archs[row] not in engine.trials:
            chosen.append(Choice(row, "initial"))
    rest = n - len(chosen)
    taken = {choice.row for choice in chosen}
    if rest and succeeded >= max(engine.strategy.min_labels, engine.initial_samples):
        chosen += [c for c in engine.strategy.propose(rest, taken) if c.row not in taken]
    elif rest:
        chosen += _spread(engine, rest, taken)
    return chosen[:n]


def _spread(engine: SearchEngine, count: int, taken: set[int]) -> list[Choice]:
    """Untried pool rows farthest in NN-Degree from every tried or chosen one."""
    rows = engine.pool_rows[engine.eligible(engine.pool_rows)]
    rows = rows[[r not in taken for r in rows]]
    degree = engine.candidates.column("value:" + engine.features[0])
    used = [engine.candidates.rows[a] for a in engine.trials] + list(taken)
    chosen: list[Choice] = []
    while rows.size and len(chosen) < count:
        gap = (
            np.min(np.abs(degree[rows][:, None] - degree[used][None, :]), axis=1)
            if used
            else np.zeros(len(rows))
        )
        best = rows[int(np.argmax(gap))]
        chosen.append(Choice(int(best), "initial"))
        used.append(int(best))
        rows = rows[rows != best]
    return chosen
