"""Shared fixtures: the reference data beside the clone, and plugin registration helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import flash_nas.plugins
from flash_nas.train.torchvision_compat import import_torchvision_if_installed

# Where torchvision is installed beside the CPU torch, importing it plainly fails, and with it
# torchmetrics, lightning and NNI's model hub, which the NNI tests import directly.
import_torchvision_if_installed()

#: ``../shared/data`` beside the repository: real published NAS-Bench-201 measurements. CI has it;
#: a user's clone may not, and then the tests that need it skip.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"reference data not found at {SHARED_DATA} (only CI and developers have it)")
    return SHARED_DATA


@pytest.fixture
def add_plugin() -> Iterator:
    """Register plugin objects for one test; they are removed afterwards, even on failure."""
    added: list[str] = []

    def add(plugin: object, name: str) -> None:
        flash_nas.plugins.add_plugin(plugin, name)
        added.append(name)

    try:
        yield add
    finally:
        for name in added:
            flash_nas.plugins.remove_plugin(name)
