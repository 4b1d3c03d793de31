"""The built-in search methods, registered as a plugin (the ``methods`` entry point in
flash-nas's ``pyproject.toml``), the way a third party registers its own:

* ``bo`` (:class:`~.bo.BayesianOptimisation`, the default);
* ``flash`` (:class:`~.flash.FlashMethod`, FLASH as published).
"""

from __future__ import annotations

from collections.abc import Callable

from flash_nas.plugins.method import SearchMethod
from flash_nas.plugins.registry import hookimpl
from flash_nas.search.engine.bo import BayesianOptimisation
from flash_nas.search.engine.flash import FlashMethod

__all__ = ["register_methods"]


@hookimpl
def register_methods(register: Callable[[str, type[SearchMethod]], None]) -> None:
    register("bo", BayesianOptimisation)
    register("flash", FlashMethod)
