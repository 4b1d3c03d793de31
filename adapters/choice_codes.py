"""Architectures written as a fixed number of integer choice codes (NAS-Bench-201's six ops,
TransNAS-Bench-101's six ops, FBNet's 22 blocks): one rule for what such a row may hold, so that
every space that takes one rejects the same bad input the same way."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = ["choice_codes"]


def choice_codes(arch: object, length: int, options: int) -> tuple[int, ...] | None:
    """``arch`` as a tuple of Python ints when it is a row of ``length`` codes in
    ``0..options-1``; None otherwise, for the caller to raise its own ArchFormatError.

    A row is any iterable but text and mappings (a tuple, a list, a numpy row); a code is a
    Python or numpy integer. Booleans and floats are not codes: ``True`` or ``1.7`` would
    otherwise pass as op 1, a guess the caller never made.
    """
    if (
        type(arch) is tuple
        and len(arch) == length
        and all(type(v) is int and 0 <= v < options for v in arch)
    ):
        return arch  # already a valid row of Python ints (the common case, checked fast)
    if isinstance(arch, (str, bytes, Mapping)) or not isinstance(arch, Iterable):
        return None
    values = tuple(arch)
    if len(values) != length:
        return None
    codes: list[int] = []
    for value in values:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            return None
        if not 0 <= value < options:
            return None
        codes.append(int(value))
    return tuple(codes)
