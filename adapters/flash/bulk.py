"""Bulk operations on FLASH-space config arrays ``(n, n_cells, 3)``: finding repeated draws and
formatting canonical texts, both as numpy operations (a million rows one at a time in Python
take seconds). Used by :mod:`flash_nas_adapters.flash.sampling` and
:mod:`flash_nas_adapters.flash.batch`."""

from __future__ import annotations

import numpy as np

__all__ = ["batch_texts", "first_occurrences"]


def first_occurrences(draws: np.ndarray, ends: list[np.ndarray]) -> np.ndarray:
    """Positions of the first occurrence of each distinct row of ``draws``, in order."""
    radices = [int(end[-1]) for end in ends]
    if np.prod(np.array(radices, dtype=float)) < 2.0**62:  # one int64 key per row
        keys = np.zeros(len(draws), dtype=np.int64)
        for cell, radix in enumerate(radices):
            keys = keys * radix + draws[:, cell]
        # a plain sort finds the few repeated keys; only their rows are then looked at (a
        # stable argsort of every key, as np.unique(return_index=True) does, is 3x slower)
        ordered = np.sort(keys)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        if not len(repeated):
            return np.arange(len(draws))
        later = np.zeros(len(draws), dtype=bool)
        seen: set[int] = set()
        for position in np.flatnonzero(np.isin(keys, repeated)).tolist():
            later[position] = int(keys[position]) in seen
            seen.add(int(keys[position]))
        return np.flatnonzero(~later)
    else:
        _, first = np.unique(draws, axis=0, return_index=True)
    return np.sort(first)


def batch_texts(block: str, configs: np.ndarray) -> list[str] | None:
    """Canonical texts of ``configs`` as numpy operations on Python strings: the ``w=`` and
    ``d=`` parts take few distinct values (a few hundred combinations), so each is formatted
    once and indexed; the skips come from a table of numbers. Twice as fast as formatting each
    row. None where a table would be too large (many cells or huge skip counts)."""
    n, n_cells, _ = configs.shape
    top = int(configs[:, :, 2].max(initial=0)) + 1
    if not n or top > max(n, 1024):
        return None
    text = np.full(n, "", dtype=object)
    for field, (head, tail) in enumerate(((f"{block}:w=", ";d="), ("", ";t="))):
        codes = np.zeros(n, dtype=np.int64)
        uniques: list[np.ndarray] = []
        for cell in range(n_cells):
            values, inverse = np.unique(configs[:, cell, field], return_inverse=True)
            if len(uniques) and codes.max(initial=0) >= 2**62 // len(values):
                return None  # the combined code would overflow: too many combinations
            codes = codes * len(values) + inverse.reshape(-1)
            uniques.append(values)
        keys, inverse = np.unique(codes, return_inverse=True)
        digits = []
        for values in reversed(uniques):  # decode each distinct combination
            digits.append(values[keys % len(values)])
            keys = keys // len(values)
        rows = zip(*(column.tolist() for column in reversed(digits)))
        formatted = [head + ",".join(map(str, row)) + tail for row in rows]
        text = text + np.array(formatted, dtype=object)[inverse.reshape(-1)]
    plain = np.array([str(value) for value in range(top)], dtype=object)
    after_comma = np.array(["," + str(value) for value in range(top)], dtype=object)
    for cell in range(n_cells):
        text = text + (after_comma if cell else plain)[configs[:, cell, 2]]
    return text.tolist()
