"""The IMC and ZigZag plugins, split into modules by room, keep the names their entry-point
modules offered, and every module of hardware/ stays small."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import flash_nas

HARDWARE = Path(__file__).resolve().parents[1] / "hardware"

# What `from flash_nas_hardware.imc.model import ...` and `... zigzag_sim import ...` gave before the
# split (their __all__ then, plus the module-level names tests and scripts used).
OLD_NAMES = {
    "flash_nas_hardware.imc.model": (
        "EVENTS",
        "PRESETS",
        "CrossbarMapping",
        "ImcModel",
        "ImcStructure",
        "mesh_hops",
        "map_layer",
        "Events",
        "register_hardware",
    ),
    "flash_nas_hardware.zigzag.sim": (
        "ZIGZAG_VERSION",
        "ZigZagLayer",
        "ZigZagModel",
        "graph_layers",
        "register_hardware",
        "shipped_variants",
    ),
}


@pytest.mark.parametrize("module_name", sorted(OLD_NAMES))
def test_the_entry_point_modules_keep_their_names(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in OLD_NAMES[module_name] if not hasattr(module, name)]
    assert missing == []
    assert set(module.__all__) <= set(dir(module))


def test_the_old_names_are_the_objects_of_the_new_modules():
    from flash_nas_hardware.imc.mapping import CrossbarMapping
    from flash_nas_hardware.zigzag.model import ZigZagModel
    from flash_nas_hardware.zigzag.sim import ZigZagModel as Registered
    from flash_nas_hardware.zigzag.workload import ZigZagLayer

    assert Registered is ZigZagModel
    assert importlib.import_module("flash_nas_hardware.imc.model").CrossbarMapping is CrossbarMapping
    assert importlib.import_module("flash_nas_hardware.zigzag.sim").ZigZagLayer is ZigZagLayer
    if "imc" in flash_nas.hardware_names():  # the entry points are installed
        model = flash_nas.get_hardware("imc:aimc")
        assert type(model).__module__ == "flash_nas_hardware.imc.model"


def test_every_hardware_module_is_small_and_says_its_room():
    for path in sorted(HARDWARE.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) <= 500, path.name
        assert source.startswith('"""'), f"{path.name} has no module docstring"
