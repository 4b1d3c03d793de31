"""The ``torch`` search space: any model you can build in Python, named ``module:callable``.

Each architecture is a line such as ``torchvision.models:mobilenet_v2`` or ``mypkg.nets:build``:
flash-nas imports ``module``, calls ``callable()`` with no arguments, and reads the returned
``torch.nn.Module`` through ``torch.fx`` (:mod:`flash_nas_adapters.torch.fx`). torchvision's
builders make their models without weights by default, so nothing is downloaded.

**Importing a module runs its code**: name only modules you trust, as you would when you
``import`` them yourself. Your own modules must be importable (installed, or on ``PYTHONPATH``).
So the adapter imports nothing unless a person asked for this space: ``--space torch`` on the
command line, or in Python an adapter built inside ``flash_nas.allow_code_imports("torch")``
(:mod:`flash_nas.plugins.code_imports`). A space named by a file, or guessed, imports nothing.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable, Hashable
from typing import Any

import flash_nas
from flash_nas import Adapter, ArchFormatError, ArchGraph, UnknownNameError
from flash_nas.plugins.code_imports import code_imports_allowed, require_code_imports
from flash_nas.train.torchvision_compat import import_torchvision
from flash_nas.validation import check_int
from flash_nas_adapters.torch.fx import graph_from_module

__all__ = ["TorchAdapter", "load_model"]

_LINE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")
#: The name this adapter is registered under, which consent to its imports names.
SPACE = "torch"


def load_model(text: str) -> Any:
    """Import ``module:callable`` and return ``callable()`` (runs that module's code); only
    inside ``flash_nas.allow_code_imports("torch")``."""
    require_code_imports(code_imports_allowed(SPACE), SPACE, text)
    return _import_model(text)


def _import_model(text: str) -> Any:
    # The one place that imports what an architecture names: every caller checks consent first
    # (tests/test_code_imports.py holds this file to that).
    module_name, _, attribute = text.partition(":")
    if module_name == "torchvision" or module_name.startswith("torchvision."):
        import_torchvision()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UnknownNameError(
            f"Cannot import module {module_name!r} for {text!r} ({exc}); it must be installed "
            f"or on PYTHONPATH."
        ) from None
    builder = getattr(module, attribute, None)
    if not callable(builder):
        public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        close = difflib.get_close_matches(attribute, public, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise UnknownNameError(f"Module {module_name!r} has no callable {attribute!r}.{hint}")
    import torch

    model = builder()
    if not isinstance(model, torch.nn.Module):
        raise ArchFormatError(f"{text} returned a {type(model).__name__}, not a torch.nn.Module.")
    return model


class TorchAdapter(Adapter):
    """Models named ``module:callable``, each built and traced on an input of
    ``in_channels`` x ``input_size`` x ``input_size`` (default 3 x 224 x 224)."""

    description = (
        "any torch.nn.Module through torch.fx; text: module:callable, e.g. "
        "torchvision.models:resnet18 (imports and runs that module; only with --space torch)"
    )
    names_code = True

    def __init__(self, *, input_size: int = 224, in_channels: int = 3) -> None:
        for name, value in (("input_size", input_size), ("in_channels", in_channels)):
            check_int(value, name, owner="TorchAdapter", low=1)
        self.input_size = input_size
        self.in_channels = in_channels
        # consent is taken once, when built: it then travels with the adapter (a pickled copy
        # in a worker keeps it), and nothing read later can grant it
        self._imports_allowed = code_imports_allowed(SPACE)
        self._graphs: dict[str, ArchGraph] = {}

    def parse(self, text: str) -> Hashable:
        line = text.strip()
        if not _LINE.match(line):
            raise ArchFormatError(
                f"Expected module:callable (e.g. torchvision.models:resnet18), got {text!r}."
            )
        return line

    def format(self, arch: Hashable) -> str:
        # An architecture here is its own text: anything else (a number, a tuple) is no model
        # name, and str() of it would write a line that no later run could parse.
        if not isinstance(arch, str):
            raise ArchFormatError(
                f"A torch architecture is its text module:callable (e.g. "
                f"torchvision.models:resnet18); got {arch!r}."
            )
        return str(self.parse(arch))

    def to_graph(self, arch: Hashable) -> ArchGraph:
        text = str(self.parse(str(arch)))
        if text not in self._graphs:
            require_code_imports(self._imports_allowed, SPACE, text)
            shape = (self.in_channels, self.input_size, self.input_size)
            self._graphs[text] = graph_from_module(_import_model(text), shape, name=text)
        return self._graphs[text]


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register(SPACE, TorchAdapter)
