"""The import rules of the layout: the core never imports a built-in plugin, and no plugin
reaches into a private core module (what plugins need is public API)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_core_module_imports_a_built_in_plugin():
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for path in (ROOT / "flash_nas").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in ("flash_nas_adapters", "flash_nas_hardware")
    ]
    assert offenders == []


def test_no_plugin_imports_a_private_core_module():
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for folder in ("adapters", "hardware")
        for path in (ROOT / folder).rglob("*.py")
        for module in imported_modules(path)
        if module.startswith("flash_nas.") and any(p.startswith("_") for p in module.split("."))
    ]
    assert offenders == []
