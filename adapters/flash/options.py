"""The options of :class:`~flash_nas_adapters.flash.space.FlashSpaceAdapter`: defaults, stated
limits, and the checks that turn a bad value into one clear :class:`ParameterError`.

The room of the adapter's parameters; the checks of architectures against them live with the
adapter (:meth:`FlashSpaceAdapter.check`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from flash_nas.errors import ParameterError, quote
from flash_nas.validation import check_int as declared_int

__all__ = [
    "DEFAULT_DEPTHS",
    "DEFAULT_WIDTHS",
    "ENUMERATE_LIMIT",
    "LIMITS",
    "check_int",
    "listing",
    "per_cell",
]

DEFAULT_WIDTHS = tuple(range(16, 65, 8))
DEFAULT_DEPTHS = tuple(range(2, 7))

#: The space's stated limits. Metrics are computed in float64, so no size overflows; these bound
#: what one network may cost to build and keep numbers meaningful (a 10^8-pixel input is a typo).
LIMITS = {
    "input_size": 4096,
    "width": 8192,
    "depth": 1024,
    "n_cells": 64,
    "num_classes": 1_000_000,
    "expansion": 64,
    "skip_seed": 2**63 - 1,
}
#: Most architectures :meth:`FlashSpaceAdapter.enumerate` lists (larger spaces are sampled).
ENUMERATE_LIMIT = 10_000_000


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_int(
    name: str,
    value: Any,
    minimum: int,
    owner: str = "FlashSpaceAdapter",
    maximum: int | None = None,
) -> int:
    """``value`` as an int in ``minimum..maximum`` (default: the stated limit of ``name``)."""
    maximum = LIMITS.get(name) if maximum is None else maximum
    return declared_int(value, name, owner=owner, low=minimum, high=maximum)


def per_cell(name: str, values: Iterable[Any], n_cells: int) -> tuple[tuple[int, ...], ...]:
    """Allowed values per cell: ints shared by every cell, or ``n_cells`` sequences of ints."""
    items = list(values) if isinstance(values, Iterable) else []
    if items and all(_is_int(item) for item in items):
        groups = [items] * n_cells
    elif len(items) == n_cells and all(isinstance(item, Iterable) for item in items):
        groups = [list(item) for item in items]
    else:
        groups = []
    limit = LIMITS[name.rstrip("s")]
    if not groups or any(
        not g or not all(_is_int(v) and 1 <= v <= limit for v in g) for g in groups
    ):
        raise ParameterError(
            f"The {name!r} parameter of FlashSpaceAdapter must be a non-empty sequence of ints "
            f"in 1..{limit} shared by every cell, or {n_cells} such sequences (one per cell; "
            f"n_cells={n_cells}). Got {quote(values)} instead."
        )
    return tuple(tuple(sorted({int(v) for v in group})) for group in groups)


def listing(values: Iterable[int]) -> str:
    """``values`` for a message: ``16, 24, 32``."""
    return ", ".join(map(str, values))
