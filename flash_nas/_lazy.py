"""Names a package exports but loads on first use (PEP 562): one implementation for the
packages whose public names live in heavier modules (``flash_nas``, ``flash_nas.cost``,
``flash_nas.search``).

Each public name is written once, in the package's ``if TYPE_CHECKING:`` block, as an explicit
re-export (``from flash_nas.graph.arch import ArchGraph as ArchGraph``). Type checkers and IDEs
read that block as they read any import; at run time the block does not run, and
:func:`lazy_names` reads the same block from the package's source (``ast``, no import) to learn
which module defines each name and what ``__all__`` holds. A second list of names beside the
block (a dict for the loader) would be the copy that drifts from it.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def typing_exports(source: str, where: str) -> dict[str, str]:
    """Public name -> defining module, from the top-level ``if TYPE_CHECKING:`` block of
    ``source`` (the text of the file ``where``). Only ``from module import name as name`` is a
    re-export there; anything else in the block is refused, so the block stays the one list."""
    found: dict[str, str] = {}
    for node in ast.parse(source, filename=where).body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for statement in node.body:
            if not (
                isinstance(statement, ast.ImportFrom) and statement.module and not statement.level
            ):
                raise ImportError(
                    f"{where}:{statement.lineno}: the TYPE_CHECKING block lists public names "
                    "only, as `from package.module import name as name`."
                )
            for alias in statement.names:
                if alias.asname != alias.name:
                    raise ImportError(
                        f"{where}:{statement.lineno}: write `{alias.name} as {alias.name}` (an "
                        f"explicit re-export); got {alias.name!r} as {alias.asname!r}."
                    )
                found[alias.name] = statement.module
    return found


def lazy_names(
    package: str,
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose ``if TYPE_CHECKING:``
    block lists its public names. A loaded name is kept in the package, so it loads once."""
    source_file = sys.modules[package].__file__
    assert source_file is not None  # a package's __init__ has a file
    where = typing_exports(Path(source_file).read_text(encoding="utf-8"), source_file)

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__, sorted(where)
