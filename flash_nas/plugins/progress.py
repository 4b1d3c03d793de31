"""Whether progress bars show: one switch for flash-nas and every plugin.

The command line sets it from ``--quiet`` / ``--progress``; otherwise the environment variable
``FLASH_NAS_PROGRESS`` (1 or 0) decides, else whether standard error is a terminal (a person
watching). A plugin that draws its own bar (ZigZag's per-layer simulation, a benchmark file's
reader) asks :func:`progress_wanted` instead of deciding alone, so that ``--quiet`` silences it.
"""

from __future__ import annotations

import os
import sys

__all__ = ["PROGRESS_ENV", "progress_wanted", "set_progress"]

#: Environment variable that forces progress bars on (1) or off (0), as --progress / --quiet do.
PROGRESS_ENV = "FLASH_NAS_PROGRESS"

_setting: bool | None = None


def set_progress(setting: bool | None) -> None:
    """Force bars on (True) or off (False), or leave it to the environment (None)."""
    global _setting
    _setting = setting


def progress_wanted() -> bool:
    """Whether to show a progress bar on standard error now (see the module docstring)."""
    if _setting is not None:
        return _setting
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on", "always"):
        return True
    if forced in ("0", "false", "no", "off", "never"):
        return False
    return sys.stderr.isatty()
