"""The packages that load their public names on first use list each name once: in their
``if TYPE_CHECKING:`` block, which type checkers read and :mod:`flash_nas._lazy` parses."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from flash_nas._lazy import typing_exports

LAZY_PACKAGES = ("flash_nas", "flash_nas.cost", "flash_nas.search")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_all_is_the_type_checking_block_and_each_name_is_its_modules_object(package):
    module = importlib.import_module(package)
    source = module.__file__
    exports = typing_exports(Path(source).read_text(encoding="utf-8"), source)
    assert set(module.__all__) - {"__version__"} == set(exports) != set()
    for name, home in exports.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name), name
    assert set(exports) <= set(dir(module))


def test_the_block_reads_only_explicit_reexports():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from flash_nas.graph.arch import (\n        ArchGraph as ArchGraph,\n        Op as Op,\n    )\n"
        "    from flash_nas.io.tables import Table as Table\n"
    )
    assert typing_exports(source, "pkg/__init__.py") == {
        "ArchGraph": "flash_nas.graph.arch",
        "Op": "flash_nas.graph.arch",
        "Table": "flash_nas.io.tables",
    }
    plain = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a.b import Name\n"
    with pytest.raises(ImportError, match=r"pkg/__init__.py:3: write `Name as Name`"):
        typing_exports(plain, "pkg/__init__.py")
    other = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a.b\n"
    with pytest.raises(ImportError, match=r"lists public names only"):
        typing_exports(other, "pkg/__init__.py")


def test_cost_exports_only_cost_names():
    import flash_nas.cost as cost

    for name in ("live_edges", "QUANTITIES", "HardwareModel", "op_macs"):
        assert name not in cost.__all__
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(cost, name)


@pytest.mark.parametrize("old", ["flash_nas.batch", "flash_nas.engine", "flash_nas.hardware"])
def test_the_paths_of_0_1_are_gone(old):
    code = f"import importlib\ntry:\n    importlib.import_module({old!r})\nexcept ModuleNotFoundError:\n    print('gone')\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "gone", done.stdout + done.stderr
