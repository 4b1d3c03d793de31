"""Optional dependencies stay out of the import path until a feature needs them."""

from __future__ import annotations

import importlib
from types import ModuleType

from flash_nas.errors import MissingDependencyError

# import name -> (extra that installs it, what needs it)
_EXTRAS = {
    "torch": "torch",
    "nas_201_api": "nb201",
    "nni": "nni",
    "zigzag": "zigzag",
    "matplotlib": "plot",
    "torchvision": "torchvision",
    "optuna": "optuna",
    "ray": "ray",
}


#: Packages that import torchvision when it is installed, which fails beside the CPU torch
#: unless torchvision was imported through :mod:`flash_nas.train.torchvision_compat` first.
_IMPORT_TORCHVISION = ("nni", "torchmetrics", "pytorch_lightning", "lightning", "torchvision")


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` or raise an error naming the extra that provides it."""
    if module.split(".")[0] in _IMPORT_TORCHVISION:
        from flash_nas.train.torchvision_compat import import_torchvision_if_installed

        import_torchvision_if_installed()
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRAS.get(module.split(".")[0], "all")
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}, which is not installed "
            f"({exc}). Install it with: pip install 'flash-nas[{extra}]'"
        ) from exc
