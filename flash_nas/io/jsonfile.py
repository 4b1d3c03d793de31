"""One reader for every JSON file flash-nas reads (engine states, profiles, checkpoints, NNI
trial data): whatever a file holds, the caller gets a dict or its own one-line error naming the
file and what is wrong, never a traceback and never the file's contents.

Python's :mod:`json` can fail in ways a ``JSONDecodeError`` handler misses: arrays nested a few
thousand deep raise ``RecursionError``, an integer of more than 4,300 digits raises a plain
``ValueError`` (``sys.get_int_max_str_digits``), and a file that is one number or a list is no
record at all. :func:`read_json` and :func:`parse_json` turn each into ``error``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flash_nas.errors import FlashNasError

__all__ = ["MAX_JSON_BYTES", "parse_json", "read_json"]

#: Largest JSON file read (a state with 10^5 trials is about 10 MB): a bigger one is no
#: flash-nas record, and reading it whole would take the memory first.
MAX_JSON_BYTES = 512 * 1024 * 1024


def read_json(path: str | Path, *, error: type[FlashNasError], what: str) -> dict[str, Any]:
    """The JSON object in ``path``; anything else raises ``error`` naming ``path`` and saying
    it should be ``what`` (e.g. "a flash-nas engine state")."""
    where = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_JSON_BYTES:
            raise error(
                f"{where}: {size:,} bytes; expected {what} (JSON of at most "
                f"{MAX_JSON_BYTES:,} bytes)."
            )
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{where} does not exist; expected {what} (JSON).") from None
    except OSError as exc:  # a folder, no permission...
        raise error(
            f"{where} cannot be read ({exc.strerror or type(exc).__name__}); expected {what}."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{where}: not UTF-8 text (a byte at offset {exc.start:,}); expected {what} (JSON)."
        ) from None
    return parse_json(text, error=error, what=what, where=where)


def parse_json(text: str, *, error: type[FlashNasError], what: str, where: str) -> dict[str, Any]:
    """The JSON object ``text`` holds (read from ``where``, which messages name)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # the position, never the text around it: the file may hold anything
        raise error(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"expected {what}."
        ) from None
    except RecursionError:
        raise error(
            f"{where}: JSON nested too deeply to read; expected {what}, which nests a few "
            f"levels at most."
        ) from None
    except ValueError:  # an integer longer than int() reads (sys.get_int_max_str_digits)
        raise error(
            f"{where}: holds a number with thousands of digits; expected {what}, whose numbers "
            f"are ordinary ones."
        ) from None
    if not isinstance(data, dict):
        raise error(f"{where}: a JSON {_kind(data)}, not an object; expected {what}.")
    return data


def _kind(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
