"""Old import paths of the flat layout (flash-nas 0.1), kept working after the move to packages
by stage: ``import flash_nas.batch`` returns :mod:`flash_nas.graph.batch` itself (the same module
object, so classes and ``isinstance`` agree) and warns once with the new path.

A meta-path finder rather than one stub file per old module: the folders then hold only the
rooms of the new layout, and this table is the one record of what moved where.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

#: Old module -> new module. A name that was split (hardware, calibration) points at the package
#: that re-exports every name the old module had.
MOVED = {
    "flash_nas.batch": "flash_nas.graph.batch",
    "flash_nas.metrics": "flash_nas.graph.metrics",
    "flash_nas.adapter": "flash_nas.plugins.adapter",
    "flash_nas.hookspecs": "flash_nas.plugins.hookspecs",
    "flash_nas.testing": "flash_nas.plugins.testing",
    "flash_nas.hardware": "flash_nas.cost",
    "flash_nas.calibration": "flash_nas.cost",
    "flash_nas.tables": "flash_nas.io.tables",
    "flash_nas.outputs": "flash_nas.io.outputs",
    "flash_nas.engine": "flash_nas.search.engine",
    "flash_nas.gp": "flash_nas.search.gp",
    "flash_nas.predictor": "flash_nas.search.predictor",
    "flash_nas.sampling": "flash_nas.search.sampling",
    "flash_nas.objective": "flash_nas.search.objective",
    "flash_nas.relaxation": "flash_nas.plugins.relaxation",
    "flash_nas.baselines": "flash_nas.search.baselines",
    "flash_nas.evaluation": "flash_nas.search.evaluation",
    "flash_nas.pipeline": "flash_nas.search.pipeline",
    "flash_nas.cifar": "flash_nas.train.cifar",
    "flash_nas.training": "flash_nas.train.training",
    "flash_nas.torch_builder": "flash_nas.train.torch_builder",
    "flash_nas.torchvision_compat": "flash_nas.train.torchvision_compat",
    "flash_nas.nni_tuner": "flash_nas.integrations.nni",
}
#: Old submodules that are not under their old package's new place.
MOVED_SUBMODULES = {"flash_nas.metrics._structure": "flash_nas.graph.structure"}


def new_name(old: str) -> str | None:
    """Where module ``old`` lives now, or None if it did not move."""
    if not old.startswith("flash_nas."):  # the finder sees every import: leave others at once
        return None
    if old in MOVED_SUBMODULES:
        return MOVED_SUBMODULES[old]
    for before, after in MOVED.items():
        if old == before or old.startswith(before + "."):
            return after + old[len(before) :]
    return None


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if new_name(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        target = new_name(spec.name)
        assert target is not None  # find_spec only answers for moved names
        warnings.warn(
            f"{spec.name} moved to {target} in flash-nas 0.2; import it from there (or the "
            f"public name from flash_nas). The old path will be removed in 0.3.",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(target)

    def exec_module(self, module: ModuleType) -> None:
        """The module already ran under its new name."""


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        # First: otherwise the path finder would load e.g. ``flash_nas.engine.engine`` a
        # second time from the new folder, as a distinct module under the old name.
        sys.meta_path.insert(0, _MovedModuleFinder())
