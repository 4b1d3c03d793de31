"""The import rules of the layout: the core never imports a built-in plugin, and no plugin
reaches into a private core module (what plugins need is public API)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import flash_nas

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


# --- rooms: what each stage of the core may import at run time ------------------------------

#: Room -> the rooms it may import (besides itself). The package docstrings state the same rules.
ALLOWED = {
    "errors": set(),
    "validation": {"errors", "io"},
    # require() imports torchvision through its compatibility module before NNI and friends.
    "_imports": {"errors", "train"},
    "_lazy": set(),
    "io": {"errors"},
    "graph": {"errors"},
    "plugins": {"errors", "graph", "io", "_imports"},
    "cost": {"errors", "validation", "graph", "io", "plugins", "_imports", "_lazy"},
    "search": {"errors", "validation", "graph", "io", "plugins", "cost", "_imports", "_lazy"},
    "train": {"errors", "validation", "graph", "io", "_imports"},
    "integrations": {"errors", "validation", "graph", "io", "plugins", "search", "_imports"},
}
FRONT_ENDS = {"cli", "__main__", "__init__"}


def runtime_imports(path: Path) -> set[str]:
    """Modules imported outside ``if TYPE_CHECKING:`` blocks (annotations may point anywhere)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def room_of_module(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "flash_nas" or len(parts) == 1:
        return None
    return parts[1]


def test_each_stage_imports_only_the_stages_below_it():
    offenders = []
    for path in (ROOT / "flash_nas").rglob("*.py"):
        room = path.relative_to(ROOT / "flash_nas").parts[0].removesuffix(".py")
        if room in FRONT_ENDS:
            continue
        assert room in ALLOWED, f"{path}: a new room; add its import rule to ALLOWED"
        for module in runtime_imports(path):
            target = room_of_module(module)
            if target and target != room and target not in ALLOWED[room]:
                offenders.append((str(path.relative_to(ROOT)), module))
    assert offenders == []


def test_every_package_states_its_room_rule():
    missing = [
        str(init.relative_to(ROOT))
        for init in (ROOT / "flash_nas").glob("*/__init__.py")
        if "Room rule" not in (ast.get_docstring(ast.parse(init.read_text())) or "")
    ]
    assert missing == []


def test_the_rule_checker_sees_an_upward_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "from flash_nas.search.engine import SearchEngine\n"
        "if TYPE_CHECKING:\n    from flash_nas.cli import main\n"
    )
    rooms = {room_of_module(module) for module in runtime_imports(sample)}
    assert "search" in rooms and "cli" not in rooms


# --- sizes and type-checker escapes ------------------------------------------------------------

MAX_LINES = 500


def test_no_module_outside_tests_is_over_500_lines():
    long = {
        str(path.relative_to(ROOT)): count
        for folder in ("flash_nas", "adapters", "hardware", "benchmarks")
        for path in (ROOT / folder).rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_every_type_ignore_names_its_error_and_gives_a_reason():
    pattern = re.compile(r"#\s*type:\s*ignore(?P<code>\[[^\]]+\])?(?P<rest>.*)$")
    bare = []
    for folder in ("flash_nas", "adapters", "hardware"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = pattern.search(line)
                if match and (not match["code"] or "#" not in match["rest"]):
                    bare.append(f"{path.relative_to(ROOT)}:{number}")
    assert bare == []


# --- the package surface ---------------------------------------------------------------------


def test_import_flash_nas_loads_neither_numpy_nor_scipy():
    code = (
        "import sys, flash_nas\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pluggy'})\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_loading_every_plugin_loads_neither_the_engine_nor_scipy():
    # `flash-nas plugins`, `score`, `hw`, `calibrate` load every plugin, the built-in methods
    # too; the methods' models (the engine, its Gaussian process, scipy) load on first use.
    code = (
        "import sys\n"
        "from flash_nas.plugins.registry import method_names, registrations\n"
        "assert {'bo', 'flash'} <= set(method_names()), method_names()\n"
        "registrations()\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] == 'scipy'"
        " or m == 'flash_nas.search.engine.engine')\n"
        "print(','.join(heavy[:5]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_every_public_name_resolves():
    missing = [name for name in flash_nas.__all__ if not hasattr(flash_nas, name)]
    assert missing == []


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["no-such-command"]])
def test_the_command_line_answers_before_importing_any_stage(argv):
    code = (
        "import sys\n"
        "from flash_nas.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pluggy', 'torch'}\n"
        "stages = [m for m in sys.modules if m.startswith(('flash_nas.graph', 'flash_nas.plugins',"
        " 'flash_nas.search', 'flash_nas.cost', 'flash_nas_adapters', 'flash_nas_hardware'))]\n"
        "print(sorted(heavy) + stages)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_a_command_declared_lazily_has_the_same_line_as_in_full():
    from flash_nas.cli import build_parser
    from flash_nas.cli.commands import COMMANDS

    full = build_parser()
    light = build_parser(["--help"])
    choices = [action for action in full._actions if hasattr(action, "_choices_actions")]
    light_choices = [a for a in light._actions if hasattr(a, "_choices_actions")]
    lines = {a.dest: a.help for a in choices[0]._choices_actions}
    light_lines = {a.dest: a.help for a in light_choices[0]._choices_actions}
    assert lines == light_lines == {name: line for name, (_, line) in COMMANDS.items()}
    assert list(full._subparsers._group_actions[0].choices) == list(COMMANDS)


# --- the module import graph: no private name crosses a module, no circle ---------------------

#: Source folder -> the package it imports as.
PACKAGES = {"flash_nas": "flash_nas", "adapters": "flash_nas_adapters", "hardware": "flash_nas_hardware"}


def source_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> source file, for every module under ``root``'s source folders."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in (root / folder).rglob("*.py"):
            parts = [package, *path.relative_to(root / folder).with_suffix("").parts]
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def module_imports(name: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, str | None]]:
    """(module, imported name or None) for each run-time import (not under TYPE_CHECKING, those
    inside functions included), relative imports resolved against ``name``'s package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found += [(base, alias.name) for alias in node.names]
    return found


def import_graph(root: Path) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """The module import graph of ``root``'s sources, and every private name imported from
    another module as (file, module.name)."""
    modules = source_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for name, path in modules.items():
        for base, imported in module_imports(name, path, modules):
            submodule = f"{base}.{imported}"
            if imported and submodule in modules:
                graph[name].add(submodule)
                continue
            if base in modules and base != name:
                graph[name].add(base)
            if imported and imported.startswith("_") and not imported.startswith("__"):
                private.append((path.relative_to(root).as_posix(), submodule))
    return graph, private


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_module_imports_a_private_name_from_another_module():
    _, private = import_graph(ROOT)
    assert private == []


def test_no_modules_import_each_other_in_a_circle():
    graph, _ = import_graph(ROOT)
    assert circles(graph) == []


def test_the_graph_checks_see_a_circle_and_a_private_import(tmp_path):
    package = tmp_path / "flash_nas" / "room"
    package.mkdir(parents=True)
    (tmp_path / "flash_nas" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from flash_nas.room.b import _helper\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flash_nas.room import c\n"
        "def f():\n    from . import a\n"
    )
    (package / "c.py").write_text("from flash_nas.room import b\n")
    for folder in ("adapters", "hardware"):
        (tmp_path / folder).mkdir()
    graph, private = import_graph(tmp_path)
    assert circles(graph) == [["flash_nas.room.a", "flash_nas.room.b"]]
    assert private == [("flash_nas/room/a.py", "flash_nas.room.b._helper")]


# --- the vocabulary of costs lives once -------------------------------------------------------

#: The module that declares the standard quantities and, with them, their limits' names.
QUANTITY_MODULE = ROOT / "flash_nas" / "plugins" / "quantities.py"


def spelled_names(path: Path, names: set[str]) -> list[str]:
    """Standard quantity or limit names spelled in code (string literals, identifiers, attribute
    names), docstrings aside: what a reader of the code would have to keep in step."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    pattern = re.compile(r"\b(" + "|".join(sorted(names)) + r")\b")
    found = []
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = None if id(node) in docstrings else node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.keyword) and node.arg:
            text = node.arg
        if text and (match := pattern.search(text)):
            found.append(f"{path.name}:{getattr(node, 'lineno', '?')}: {match[0]}")
    return found


def test_no_quantity_or_limit_name_is_spelled_outside_the_module_that_declares_it():
    from flash_nas.plugins.quantities import standard_names

    names = set(standard_names())
    assert {"latency_ms", "max_latency_ms", "area_mm2"} <= names
    offenders = [
        spot
        for path in (ROOT / "flash_nas").rglob("*.py")
        if path != QUANTITY_MODULE
        for spot in [f"{path.parent.relative_to(ROOT)}/{s}" for s in spelled_names(path, names)]
    ]
    assert offenders == []


def test_the_spelling_check_sees_a_literal_and_a_keyword_but_not_a_docstring(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstrings may say latency_ms."""\n'
        'x = {"latency_ms": 1}\n'
        "f(max_energy_mj=2)\n"
    )
    names = {"latency_ms", "max_energy_mj"}
    assert [s.rsplit(": ", 1)[1] for s in spelled_names(sample, names)] == [
        "latency_ms",
        "max_energy_mj",
    ]
