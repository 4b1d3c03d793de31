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
from flash_nas._moved import MOVED, new_name

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
    "_moved": set(),
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


# --- the old flat layout still imports ---------------------------------------------------------


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_is_the_new_module_with_a_warning(old):
    new = new_name(old)
    if old in ("flash_nas.nni_tuner",):
        pytest.importorskip("nni", reason="the NNI tuner needs the nni extra")
    code = (
        "import importlib, warnings, sys\n"
        "warnings.simplefilter('error')\n"
        f"new = importlib.import_module({new!r})\n"
        "try:\n"
        f"    importlib.import_module({old!r})\n"
        "except DeprecationWarning as warning:\n"
        f"    assert {new!r} in str(warning), warning\n"
        "else:\n"
        "    raise SystemExit('no DeprecationWarning')\n"
        "warnings.simplefilter('ignore')\n"
        f"assert importlib.import_module({old!r}) is new\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_old_submodule_paths_resolve_to_the_same_objects():
    with pytest.warns(DeprecationWarning, match="flash_nas.graph.structure"):
        from flash_nas.metrics._structure import live_edges as old_live_edges
    with pytest.warns(DeprecationWarning, match="flash_nas.search.engine.engine"):
        from flash_nas.engine.engine import SearchEngine as OldEngine
    from flash_nas.graph.structure import live_edges
    from flash_nas.search.engine import SearchEngine

    assert old_live_edges is live_edges and OldEngine is SearchEngine
    assert new_name("flash_nas.metricsx") is None and new_name("flash_nas.cli.search") is None


def test_the_split_modules_keep_every_name_they_had():
    import flash_nas.cost as cost

    old_hardware = {"QUANTITIES", "Coefficient", "HardwareModel", "LinearCostModel", "EdgeShape",
                    "edge_sums", "executed_edges", "live_edges", "op_flops", "op_macs"}
    old_calibration = {"Fit", "Profile", "calibrate", "check_measurements", "fit_quality",
                       "load_profile", "profile_status", "profile_summary"}
    for name in old_hardware | old_calibration:
        assert getattr(cost, name) is getattr(flash_nas, name, getattr(cost, name))
    assert set(cost.__all__) >= old_hardware | old_calibration


def test_import_flash_nas_loads_neither_numpy_nor_scipy():
    code = (
        "import sys, flash_nas\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'scipy', 'pluggy'})\n"
        "print(','.join(heavy))\n"
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


def test_nothing_in_the_repository_imports_an_old_path():
    offenders = [
        (str(path.relative_to(ROOT)), module)
        for folder in ("flash_nas", "adapters", "hardware", "benchmarks", "tests", "examples", "docs")
        for path in (ROOT / folder).rglob("*.py")
        if path.name != "test_layout.py" and "build" not in path.parts
        for module in imported_modules(path) | runtime_imports(path)
        if new_name(module) is not None
    ]
    assert offenders == []
    sample = ROOT / "tests" / "test_layout.py"  # this file names old paths on purpose
    assert any(new_name(module) for module in imported_modules(sample) | runtime_imports(sample))
