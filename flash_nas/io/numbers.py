"""Numbers written in text files: the one parser every reader uses (tables, option values
saved in a state file), so that a file's ``5_0`` or ``٥٠`` is refused everywhere alike.

Room: IO. Imports nothing from flash-nas, and no numpy: :mod:`flash_nas.validation` uses it.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_integer", "parse_number"]

#: A number as a table writes it: plain ASCII decimal, optional sign, fraction and exponent.
#: Python's float() takes more ("5_0", Arabic-Indic digits, "infinity"), which no table
#: means; every number read from a file goes through :func:`parse_number`.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INTEGER = re.compile(r"[+-]?\d{1,18}", re.ASCII)


def parse_number(text: str) -> float | None:
    """The finite number ``text`` writes in plain ASCII decimal (surrounding blanks allowed),
    or None when it writes none (``5_0``, ``٥٠``, ``nan``, ``1e999``, ``0x10``...)."""
    cell = text.strip()
    if not _DECIMAL.fullmatch(cell):
        return None
    value = float(cell)
    return value if math.isfinite(value) else None


def parse_integer(text: str) -> int | None:
    """The integer ``text`` writes in plain ASCII digits (at most 18), or None."""
    cell = text.strip()
    return int(cell) if _INTEGER.fullmatch(cell) else None
