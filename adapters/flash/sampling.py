"""Drawing and listing FLASH architectures as config arrays ``(n, n_cells, 3)``.

The room of :meth:`FlashSpaceAdapter.sample` and :meth:`FlashSpaceAdapter.enumerate`. Both
work from each cell's options, ``(width, depth, capacity)`` for every allowed width and depth:
a cell's choices are those pairs with every skip count 0..capacity, and cells choose
independently, so the space is the product of the cells' choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flash_nas_adapters.flash.bulk import first_occurrences

__all__ = ["all_configs", "draw_configs"]

#: Per cell, every allowed ``(width, depth, capacity)``.
Options = Sequence[Sequence[tuple[int, int, int]]]


def all_configs(options: Options) -> np.ndarray:
    """Every architecture, cell 1's choices slowest."""
    choices = [
        np.array(
            [(w, d, t) for w, d, capacity in cell for t in range(capacity + 1)], dtype=np.int64
        )
        for cell in options
    ]
    grids = np.meshgrid(*(np.arange(len(c)) for c in choices), indexing="ij")
    configs = np.stack([choice[grid.ravel()] for choice, grid in zip(choices, grids)], axis=1)
    return configs.reshape(-1, len(options), 3)


def draw_configs(
    options: Options, n: int, rng: np.random.Generator, *, replace: bool
) -> np.ndarray:
    """``n`` architectures drawn uniformly, distinct unless ``replace``.

    Per cell, one integer uniform over that cell's choices picks both the (width, depth) -- so
    each is drawn in proportion to its capacity + 1 -- and the skip count within it. A draw that
    repeats an earlier one is replaced by a fresh draw (rejection keeps the sample uniform among
    the sets of ``n`` distinct architectures); ``n`` must then be well below the space's size.
    """
    per_cell = [np.array(cell, dtype=np.int64) for cell in options]
    ends = [np.cumsum(cell[:, 2] + 1) for cell in per_cell]
    draws = _draw(rng, ends, n)
    while not replace:
        first = first_occurrences(draws, ends)
        if len(first) == len(draws):
            break
        draws = np.concatenate([draws[first], _draw(rng, ends, n - len(first))])
    configs = np.empty((n, len(options), 3), dtype=np.int64)
    for cell, (choices, end) in enumerate(zip(per_cell, ends)):
        draw = draws[:, cell]
        choice = np.searchsorted(end, draw, side="right")
        configs[:, cell, :2] = choices[choice, :2]
        configs[:, cell, 2] = draw - (end - choices[:, 2] - 1)[choice]
    return configs


def _draw(rng: np.random.Generator, ends: list[np.ndarray], n: int) -> np.ndarray:
    """``(n, n_cells)`` uniform draws, cell after cell (the order earlier samples used)."""
    draws = np.empty((n, len(ends)), dtype=np.int64)
    for cell, end in enumerate(ends):
        draws[:, cell] = rng.integers(0, end[-1], size=n)
    return draws
