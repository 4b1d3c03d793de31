"""A FLASH architecture as numbers and as text.

The room of an architecture's written forms:

* **arch** -- a tuple of :class:`CellConfig` ``(width, depth, skips)``, one per cell (hashable;
  equal to the plain tuple of triples).
* **text** -- ``dense:w=32,48,64;d=4,6,8;t=10,0,200``: the block kind, then one width ``w_c``,
  depth ``d_c`` (layers) and skip count ``t_c`` per cell, cells in order. ``t_c`` counts skip
  *channels* in the dense block and skip *links* in the resnet and mobilenet blocks, so the text
  names its block and :func:`parse_text` refuses text written for another block.

Whether the numbers are allowed is the adapter's question (:meth:`FlashSpaceAdapter.check`);
this module only reads and writes them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from flash_nas import ArchFormatError
from flash_nas.errors import quote

__all__ = ["CellConfig", "FlashArch", "format_text", "parse_text", "text_form"]

_TEXT = re.compile(r"(?P<block>\w+):w=(?P<w>[^;]*);d=(?P<d>[^;]*);t=(?P<t>[^;]*)")
_NUMBER = re.compile(r"\d+")


class CellConfig(NamedTuple):
    """One cell's choices: width (channels), depth (layers), skips (channels or links)."""

    width: int
    depth: int
    skips: int


FlashArch = tuple[CellConfig, ...]


def text_form(block: str, n_cells: int) -> str:
    """The canonical text's shape, for error messages: ``dense:w=W1,W2,W3;d=...;t=...``."""
    w, d, t = (",".join(f"{key}{c + 1}" for c in range(n_cells)) for key in "WDT")
    return f"{block}:w={w};d={d};t={t}"


def format_text(block: str, cells: Iterable[CellConfig]) -> str:
    """The canonical text of checked ``cells``."""
    w, d, t = (",".join(map(str, column)) for column in zip(*cells, strict=True))
    return f"{block}:w={w};d={d};t={t}"


def parse_text(text: str, block: str, n_cells: int) -> tuple[tuple[int, int, int], ...]:
    """Per cell ``(width, depth, skips)`` as ``text`` writes them, for a space of ``n_cells``
    cells of kind ``block``; ArchFormatError if the text is malformed or for another block."""
    match = _TEXT.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ArchFormatError(
            f"Malformed FLASH architecture {quote(text)}: expected the form "
            f"{text_form(block, n_cells)} (block, then per cell its width, depth and skips)."
        )
    if match["block"] != block:
        raise ArchFormatError(
            f"FLASH architecture {quote(text)} is written for the {match['block']!r} block, "
            f"but "
            f"this space builds {block!r} cells; pass block={match['block']!r} to the "
            f"adapter or use {block!r} text."
        )
    widths, depths, skips = (_numbers(text, key, match[key], block, n_cells) for key in "wdt")
    return tuple(zip(widths, depths, skips, strict=True))


def _numbers(text: str, key: str, field: str, block: str, n_cells: int) -> list[int]:
    parts = field.split(",")
    if not all(_NUMBER.fullmatch(part) for part in parts):
        raise ArchFormatError(
            f"Malformed FLASH architecture {quote(text)}: {key}= must list non-negative "
            f"integers "
            f"separated by commas, as in {text_form(block, n_cells)}; got {field!r}."
        )
    if len(parts) != n_cells:
        raise ArchFormatError(
            f"FLASH architecture {quote(text)} gives {len(parts)} values in {key}=; this space "
            f"has "
            f"{n_cells} cells (n_cells={n_cells}), one value per cell."
        )
    return [int(part) for part in parts]
