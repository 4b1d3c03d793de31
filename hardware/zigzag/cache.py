"""The per-layer result cache of the ZigZag plugin: each layer shape is simulated once.

Costs live in memory always and, when the model has a ``cache_dir``, in one JSON file per
hardware, mapping, loop-order search depth and zigzag version (the file's name holds a digest of
:meth:`~flash_nas_hardware.zigzag.model.ZigZagModel.cache_settings`). The file is read once, on
the first layer the memory lacks, and every batch of fresh results is merged into it, written
whole to a temporary file and renamed, so a crash never leaves it half-written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flash_nas import FlashNasError
from flash_nas.io.jsonfile import read_json
from flash_nas_hardware.zigzag.driver import Cost
from flash_nas_hardware.zigzag.workload import ZigZagLayer

__all__ = ["LayerCache", "cache_path", "read_cache_file", "write_cache_file"]


def cache_path(folder: Path, variant: str, settings: Mapping[str, Any]) -> Path:
    """The file in ``folder`` of the layers simulated under ``settings``."""
    text = json.dumps(settings, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return folder / f"zigzag-{variant}-{digest}.json"


def read_cache_file(path: Path) -> dict[ZigZagLayer, Cost]:
    """The layers cached in ``path`` (none when it does not exist)."""
    if not path.is_file():
        return {}
    content = read_json(path, error=FlashNasError, what="a ZigZag cache file (delete it)")
    try:
        return {
            ZigZagLayer(*json.loads(key)): (float(value[0]), float(value[1]))
            for key, value in content["layers"].items()
        }
    except (ValueError, KeyError, TypeError, IndexError, RecursionError, OverflowError) as exc:
        # the error's kind only: its text would quote the file
        raise FlashNasError(
            f"The ZigZag cache file {path} is damaged ({type(exc).__name__}); delete it and "
            f"the layers will be simulated again."
        ) from exc


def write_cache_file(
    path: Path, done: Mapping[ZigZagLayer, Cost], settings: Mapping[str, Any]
) -> None:
    """Merge ``done`` into the cache file; written whole and renamed, so never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**read_cache_file(path), **done}
    content = {
        "settings": settings,
        "fields": [field.name for field in dataclasses.fields(ZigZagLayer)],
        "values": ["energy_pj", "cycles"],
        "layers": {layer.key(): list(cost) for layer, cost in merged.items()},
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(content, stream, indent=1)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class LayerCache:
    """Simulated layer costs in memory, filled from a cache file once when one is given."""

    def __init__(self) -> None:
        self._costs: dict[ZigZagLayer, Cost] = {}
        self.file_read = False

    def __getitem__(self, layer: ZigZagLayer) -> Cost:
        return self._costs[layer]

    def missing(self, layers: Iterable[ZigZagLayer]) -> list[ZigZagLayer]:
        """The layers not cached, each once, in the order first met."""
        return [layer for layer in dict.fromkeys(layers) if layer not in self._costs]

    def read(self, path: Path) -> None:
        """Add the layers cached in ``path``; what memory holds already takes precedence."""
        for layer, cost in read_cache_file(path).items():
            self._costs.setdefault(layer, cost)
        self.file_read = True

    def add(self, done: Mapping[ZigZagLayer, Cost]) -> None:
        self._costs.update(done)
