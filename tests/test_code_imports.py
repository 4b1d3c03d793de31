"""Nothing a data file names is imported unless a person named the ``torch`` space (issue 19).

A torch architecture is ``module:callable`` and building it imports ``module``: a CSV, state or
profile that could choose that module would run code. These tests plant a module that leaves a
marker file when imported, and check every way data could reach it.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import pytest

import flash_nas
from flash_nas.errors import NotSupportedError, StateError
from tests.cli_helpers import fail, run

ROOT = Path(__file__).resolve().parent.parent

MARKER_MODULE = """
from pathlib import Path
Path({marker!r}).write_text("imported")

def build():
    import torch
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
"""


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """A module ``planted_mod`` in the current folder (and on sys.path) that writes
    ``marker`` when imported."""
    marker = tmp_path / "IMPORTED"
    (tmp_path / "planted_mod.py").write_text(MARKER_MODULE.format(marker=str(marker)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    sys.modules.pop("planted_mod", None)


def test_calibrate_without_space_never_guesses_torch_the_zen_repro(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("m.csv").write_text("arch,latency_ms\nthis:main,5\nthis:x,6\nthis:y,7\n")
    sys.modules.pop("this", None)
    try:
        code, err = fail(
            capsys, "calibrate", "--hardware", "pi3b", "--measurements", "m.csv",
            "--target", "latency_ms", "--fit-samples", "1", "--output", "p.json",
        )  # fmt: skip
        assert "this" not in sys.modules
    finally:
        sys.modules.pop("this", None)
    assert code == 2
    assert "Cannot tell the search space from the architecture 'this:main'" in err
    assert "pass --space" in err
    assert not Path("p.json").exists()


def test_calibrate_does_not_import_a_module_in_the_folder_the_csv_names(planted, capsys):
    Path("m.csv").write_text("arch,latency_ms\nplanted_mod:build,5\nplanted_mod:x,6\n")
    code, err = fail(
        capsys, "calibrate", "--hardware", "pi3b", "--measurements", "m.csv",
        "--target", "latency_ms", "--fit-samples", "1", "--output", "p.json",
    )  # fmt: skip
    assert code == 2 and "pass --space" in err
    assert not planted.exists() and not Path("p.json").exists()


def test_an_option_cannot_grant_the_import(planted, capsys):
    """No -O key carries consent: the space guessed stays without it."""
    Path("m.csv").write_text("arch,latency_ms\nplanted_mod:build,5\nplanted_mod:x,6\n")
    fail(
        capsys, "calibrate", "--hardware", "pi3b", "--measurements", "m.csv", "-O",
        "imports_allowed=True", "--target", "latency_ms", "--fit-samples", "1", "-o", "p.json",
    )  # fmt: skip
    assert not planted.exists()


def test_the_adapter_built_without_consent_refuses_to_import(planted):
    pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
    adapter = flash_nas.get_adapter("torch", input_size=8)
    with pytest.raises(NotSupportedError, match=r"--space torch.*allow_code_imports\('torch'\)"):
        adapter.to_graph("planted_mod:build")
    # consent given after the adapter was built does not reach it
    with (
        flash_nas.allow_code_imports("torch"),
        pytest.raises(NotSupportedError, match="nobody asked for that"),
    ):
        adapter.to_graph("planted_mod:build")
    # consent for another space is no consent for torch
    with flash_nas.allow_code_imports("nasbench201"):
        other = flash_nas.get_adapter("torch", input_size=8)
    with pytest.raises(NotSupportedError):
        other.to_graph("planted_mod:build")
    from flash_nas_adapters.torch.space import load_model

    with pytest.raises(NotSupportedError):
        load_model("planted_mod:build")
    assert not planted.exists()


def test_the_adapter_built_with_consent_imports(planted):
    pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
    with flash_nas.allow_code_imports("torch"):
        adapter = flash_nas.get_adapter("torch", input_size=8)
    assert adapter.to_graph("planted_mod:build").name == "planted_mod:build"
    assert planted.exists()


def test_typing_space_torch_grants_the_import(planted, capsys):
    pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
    Path("models.txt").write_text("planted_mod:build\n")
    code, out, _ = run(
        capsys, "score", "--space", "torch", "--archs", "models.txt", "-O", "input_size=8",
        "--metrics", "params",
    )  # fmt: skip
    assert code == 0 and "planted_mod:build" in out and planted.exists()


def test_a_state_file_naming_torch_imports_nothing(planted):
    """The space a state file names is data: loading it without consent imports nothing."""
    pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
    state = Path("s.json")
    flash_nas.SearchEngine("nasbench201").save(state)
    data = json.loads(state.read_text())
    data["settings"].update(space="torch", space_options={"input_size": 8})
    data["trials"] = [{"arch": "planted_mod:build", "status": "succeeded", "value": 50.0,
                       "source": "tell"}]  # fmt: skip
    state.write_text(json.dumps(data))
    with pytest.raises((NotSupportedError, StateError)):
        flash_nas.SearchEngine.load(state)
    assert not planted.exists()


# ---------------------------------------------------------------- the code paths that import

#: Every place in flash_nas, adapters/ and hardware/ that imports a module by a computed name,
#: and why its name cannot come from data.
ALLOWED_IMPORT_SITES = {
    ("flash_nas/_lazy.py", "__getattr__"): "a public name's module, from a fixed table",
    ("flash_nas/_imports.py", "require"): "callers pass string literals (checked below)",
    ("flash_nas/io/locks.py", "_module"): "the platform's lock module: fcntl or msvcrt, literals",
    ("flash_nas/train/cifar.py", "_numpy_globals"): "numpy's own core modules",
    ("flash_nas/cli/__init__.py", "build_parser"): "the CLI's own modules, from COMMANDS",
    ("adapters/torch/space.py", "_import_model"): "guarded: callers check consent first",
}
IMPORTERS = {"import_module", "__import__"}


def _sources() -> list[tuple[str, ast.Module]]:
    files = []
    for folder in ("flash_nas", "adapters", "hardware"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            files.append((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())))
    return files


def _calls(tree: ast.AST, function: ast.AST | None = None):
    """(innermost enclosing function, call node) for every call inside a function."""
    for node in ast.iter_child_nodes(tree):
        inner = node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else function
        if isinstance(node, ast.Call) and inner is not None:
            yield inner, node
        yield from _calls(node, inner)


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def test_every_dynamic_import_site_is_listed_and_none_is_at_module_level():
    found = set()
    for path, tree in _sources():
        in_functions = set()
        for function, node in _calls(tree):
            if _callee(node) in IMPORTERS:
                found.add((path, function.name))
                in_functions.add(id(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) in IMPORTERS:
                assert id(node) in in_functions, f"{path}:{node.lineno}: import at module level"
    assert found == set(ALLOWED_IMPORT_SITES)


def test_require_is_only_called_with_a_literal_module_name():
    for path, tree in _sources():
        for _, node in _calls(tree):
            if _callee(node) == "require" and node.args:
                name = node.args[0]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str), (
                    f"{path}:{node.lineno}: require() with a computed module name"
                )


def test_the_torch_import_is_reached_only_after_a_consent_check():
    """Every call of ``_import_model`` is preceded, in its function, by
    ``require_code_imports``; and the consent the adapter holds is only ever taken from
    ``code_imports_allowed`` (never from an option)."""
    callers = []
    for path, tree in _sources():
        for function, node in _calls(tree):
            if _callee(node) != "_import_model":
                continue
            checks = [
                call.lineno
                for call in ast.walk(function)
                if isinstance(call, ast.Call) and _callee(call) == "require_code_imports"
            ]
            assert checks and min(checks) < node.lineno, f"{path}:{node.lineno}: unguarded"
            callers.append((path, function.name))
    assert sorted(callers) == [
        ("adapters/torch/space.py", "load_model"),
        ("adapters/torch/space.py", "to_graph"),
    ]
    source = (ROOT / "adapters/torch/space.py").read_text()
    assigned = [
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Attribute) and t.attr == "_imports_allowed" for t in node.targets)
    ]
    assert len(assigned) == 1
    value = assigned[0].value
    assert isinstance(value, ast.Call) and _callee(value) == "code_imports_allowed"
