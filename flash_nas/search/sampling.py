"""Which architectures to label: FLASH trains ~25, chosen to span NN-Degree, not at random.

Strategies, each seeded and returning positions into the candidate pool:

* ``stratified`` (FLASH's): split the range of the feature into ``n`` equal-width bins and draw
  one architecture from each; bins left empty give their draw to the fullest bins, so exactly
  ``n`` distinct architectures come back and the extremes of the range are represented.
* ``quantile``: ``n`` equal-count groups of the sorted feature, one draw from each.
* ``random``: ``n`` draws without replacement.
"""

from __future__ import annotations

import numpy as np

from flash_nas.errors import FlashNasError, UnknownNameError

__all__ = ["STRATEGIES", "select_samples"]

STRATEGIES = ("stratified", "quantile", "random")


def select_samples(
    values: np.ndarray, n: int, *, strategy: str = "stratified", seed: int = 0
) -> np.ndarray:
    """Positions of ``n`` distinct candidates chosen by ``strategy`` from their feature values."""
    values = np.asarray(values, dtype=float)
    if strategy not in STRATEGIES:
        raise UnknownNameError(
            f"Unknown sampling strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}."
        )
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(values):
        raise FlashNasError(
            f"Cannot choose {n!r} architectures from a pool of {len(values)}; ask for 1.."
            f"{len(values)} or enlarge the pool."
        )
    if not np.isfinite(values).all():
        raise FlashNasError("Sampling needs finite feature values for every candidate.")
    rng = np.random.default_rng(seed)
    if strategy == "random":
        return np.sort(rng.choice(len(values), size=int(n), replace=False))
    if strategy == "quantile":
        groups = np.array_split(np.argsort(values, kind="stable"), int(n))
        return np.sort([int(rng.choice(group)) for group in groups])
    return _stratified(values, int(n), rng)


def _stratified(values: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.sort(rng.choice(len(values), size=n, replace=False))
    bins = np.minimum(((values - low) / (high - low) * n).astype(int), n - 1)
    members = [list(rng.permutation(np.flatnonzero(bins == b))) for b in range(n)]
    chosen = [group.pop() for group in members if group]
    while len(chosen) < n:  # give empty bins' draws to the fullest remaining bins
        fullest = max(members, key=len)
        chosen.append(fullest.pop())
    return np.sort(np.array(chosen, dtype=np.int64))
