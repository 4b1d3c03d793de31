"""The FLASH space's modules: no import cycle at run time, every old name still importable from
``flash_nas_adapters.flash.space``, and that module working as the ``flash`` entry point."""

from __future__ import annotations

import ast
import importlib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

FLASH = Path(__file__).resolve().parents[1] / "adapters" / "flash"
FLASH_MODULES = sorted(path.stem for path in FLASH.glob("*.py") if path.stem != "__init__")

#: What ``from flash_nas_adapters.flash.space import ...`` gave before the module was split
#: (tests, benchmarks, the README and users import these).
PUBLIC_NAMES = (
    "BLOCKS",
    "DEFAULT_DEPTHS",
    "DEFAULT_WIDTHS",
    "ENUMERATE_LIMIT",
    "LIMITS",
    "CellConfig",
    "FlashArch",
    "FlashBatch",
    "FlashRelaxation",
    "FlashSpaceAdapter",
    "register_adapters",
    "translate_search_space",
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_flash_imports(module: str) -> set[str]:
    """The modules of ``flash_nas_adapters.flash`` that ``module`` imports when it loads: top-level imports only, not
    those inside functions (run later) or under ``if TYPE_CHECKING`` (never run)."""
    tree = ast.parse((FLASH / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and not _is_type_checking(node):
            pending += node.body + node.orelse
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    prefix = "flash_nas_adapters.flash."
    return {
        name.removeprefix(prefix)
        for name in found
        if name.startswith(prefix) and name.removeprefix(prefix) in FLASH_MODULES
    }


def test_the_flash_modules_import_each_other_without_a_cycle():
    graph = {module: runtime_flash_imports(module) for module in FLASH_MODULES}
    assert graph["space"] >= {"batch", "relaxation"}  # plain imports now
    loaded: list[str] = []
    while len(loaded) < len(graph):
        ready = [m for m in graph if m not in loaded and graph[m] <= set(loaded)]
        assert ready, f"import cycle among {sorted(set(graph) - set(loaded))}"
        loaded += ready


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_old_names_still_import_from_flash_space(name):
    module = importlib.import_module("flash_nas_adapters.flash.space")
    assert name in module.__all__
    assert getattr(module, name) is not None


def test_flash_space_has_no_module_getattr_left():
    module = importlib.import_module("flash_nas_adapters.flash.space")
    assert not hasattr(module, "__getattr__")
    with pytest.raises(AttributeError):
        module.NoSuchName  # noqa: B018


def test_the_flash_entry_point_still_names_flash_space():
    (found,) = [ep for ep in entry_points(group="flash_nas") if ep.name == "flash"]
    assert found.value == "flash_nas_adapters.flash.space"
    plugin = found.load()
    assert hasattr(plugin, "register_adapters") and hasattr(plugin, "translate_search_space")


@pytest.mark.parametrize("module", FLASH_MODULES)
def test_every_flash_module_says_its_room_and_stays_small(module):
    text = (FLASH / f"{module}.py").read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(text)), f"{module} has no module docstring"
    assert len(text.splitlines()) <= 400, f"{module} has {len(text.splitlines())} lines"
