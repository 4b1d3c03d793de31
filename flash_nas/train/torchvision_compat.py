"""Import torchvision's model definitions beside the CPU build of torch.

Why this module exists: ``torchvision==0.28.0`` (the release for torch 2.13) installs beside
``torch==2.13.0+cpu``, but its wheel's compiled operators (``torchvision::nms``, ``roi_align``...)
are built against the CUDA torch and do not load. ``import torchvision`` then fails in
``torchvision/_meta_registrations.py``, whose ``@torch.library.register_fake("torchvision::nms")``
raises ``RuntimeError: operator torchvision::nms does not exist``. Those fake (meta) kernels only
serve the detection operators; the model definitions flash-nas imports (``torchvision.models``,
built without weights) use none of them. So, during torchvision's import and only then, a failed
``register_fake`` of a ``torchvision::`` operator is tolerated (the decorated function is returned
unregistered); every other failure still raises, and ``torch.library.register_fake`` is restored
afterwards. With a torchvision whose operators load, nothing fails and nothing is skipped.

The alternative, copying standard CNN definitions into flash-nas, would drift from the real
models users name; this keeps ``torchvision.models:resnet18`` meaning torchvision's resnet18.

The same failure breaks every package that imports torchvision when it is installed:
``torchmetrics`` and ``pytorch_lightning``, hence ``nni.nas.hub.pytorch``. So
:func:`flash_nas._imports.require` imports torchvision through this module first
(:func:`import_torchvision_if_installed`) before it imports NNI; code of your own that imports
lightning beside the CPU torch and torchvision can call that function first too. This is why
torchvision is its own extra (``[torchvision]``) and not part of ``[all]``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from flash_nas.errors import MissingDependencyError

__all__ = [
    "import_torchvision",
    "import_torchvision_if_installed",
    "tolerate_missing_torchvision_ops",
]

_PREFIX = "torchvision::"


@contextlib.contextmanager
def tolerate_missing_torchvision_ops() -> Iterator[list[str]]:
    """Within the block, ``torch.library.register_fake`` of a ``torchvision::`` operator that
    does not exist is skipped; yields the list of operator names skipped."""
    import torch.library

    original = torch.library.register_fake
    skipped: list[str] = []

    def tolerant(op: Any, func: Callable | None = None, /, *args: Any, **kwargs: Any) -> Any:
        name = op if isinstance(op, str) else ""
        if not name.startswith(_PREFIX):
            return original(op, func, *args, **kwargs)
        if func is not None:
            try:
                return original(op, func, *args, **kwargs)
            except RuntimeError:
                skipped.append(name)
                return func
        try:
            register = original(op, None, *args, **kwargs)
        except RuntimeError:
            skipped.append(name)
            return lambda fn: fn

        def decorate(fn: Callable) -> Callable:
            try:
                return register(fn)
            except RuntimeError:
                skipped.append(name)
                return fn

        return decorate

    torch.library.register_fake = tolerant
    try:
        yield skipped
    finally:
        torch.library.register_fake = original


@functools.cache
def import_torchvision() -> ModuleType:
    """``torchvision``, imported with :func:`tolerate_missing_torchvision_ops`.

    Raises MissingDependencyError naming the ``[torchvision]`` extra when it is not installed.
    """
    if "torchvision" in sys.modules and hasattr(sys.modules["torchvision"], "models"):
        return sys.modules["torchvision"]
    # A failed plain import leaves half-initialised modules behind: start clean.
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    try:
        import torch  # noqa: F401  (checked first: the tolerance patches torch.library)
    except ImportError as exc:
        raise _missing(exc) from exc
    with tolerate_missing_torchvision_ops():
        try:
            import torchvision
            import torchvision.models
        except ImportError as exc:
            raise _missing(exc) from exc
    return torchvision


def _missing(exc: ImportError) -> MissingDependencyError:
    return MissingDependencyError(
        f"torchvision models need the optional packages torch and torchvision ({exc}). "
        "Install them with: pip install torch==2.13.0 'flash-nas[torchvision]'"
    )


def import_torchvision_if_installed() -> ModuleType | None:
    """:func:`import_torchvision` where torch and torchvision are installed, else None."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None:
        return None
    return import_torchvision()
