"""The initial design every method starts from, and when the method takes over.

``initial_samples`` architectures stratified over NN-Degree (the first feature) among those
that may be proposed (FLASH's sampling). While fewer labels than that have come back, further
requests get more of the design (then the untried architecture farthest in NN-Degree from
every one tried), so failures, concurrency and measurements that rule design rows out keep the
design spread. Once the method's
``min_labels`` and ``initial_samples`` labels are in, the method chooses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flash_nas.plugins.method import Choice
from flash_nas.search.engine.records import PENDING, SUCCEEDED
from flash_nas.search.sampling import select_samples

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["propose"]


def propose(engine: SearchEngine, n: int) -> list[Choice]:
    """Up to ``n`` choices, in order: the design's, then the method's."""
    succeeded = sum(t.status == SUCCEEDED for t in engine.trials.values())
    pending = sum(t.status == PENDING for t in engine.trials.values())
    room = max(0, engine.initial_samples - succeeded - pending)
    chosen: list[Choice] = []
    # The design was drawn among what the model's own costs allowed; once a measurement
    # moves what meets the limits, the rest of the design is spread over what does now
    # (farthest in NN-Degree from every one tried, below), instead.
    moved = engine.candidates.beliefs.version > 0 and bool(engine.objective.limits)
    design = np.array([] if moved else engine.design_rows, dtype=np.int64)
    usable = design[engine.eligible(design)] if design.size else design
    for row in usable.tolist():
        if len(chosen) >= min(n, room):
            break
        chosen.append(Choice(int(row), "initial"))
    rest = n - len(chosen)
    taken = {choice.row for choice in chosen}
    if rest and succeeded >= max(engine.strategy.min_labels, engine.initial_samples):
        chosen += [c for c in engine.strategy.propose(rest, taken) if c.row not in taken]
    elif rest:
        chosen += _spread(engine, rest, taken)
    return chosen[:n]


def redesign(engine: SearchEngine, rng: np.random.Generator) -> list[int]:
    """The initial design: ``initial_samples`` eligible pool rows stratified over NN-Degree
    (:func:`~flash_nas.search.sampling.select_samples`), in a random order so that a run
    stopped early still spans NN-Degree."""
    rows = engine.pool_rows[engine.eligible(engine.pool_rows)]
    degree = engine.candidates.column("value:" + engine.features[0])[rows]
    count = min(engine.initial_samples, len(rows))
    picked = select_samples(degree, count, strategy=engine.design, seed=engine.seed)
    return [int(rows[k]) for k in rng.permutation(picked)]


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
