"""The hooks a flash-nas plugin may implement.

A plugin is a module (or object) named by an entry point in the ``flash_nas`` group::

    [project.entry-points.flash_nas]
    my_space = "my_package.flash_plugin"

whose functions are decorated with :data:`flash_nas.hookimpl`. The registration hooks receive
a ``register`` callable and return nothing; :func:`translate_search_space` is a
``firstresult`` hook: flash-nas stops at the first implementation that returns a translator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.method import SearchMethod
from flash_nas.plugins.translator import SpaceTranslator

hookspec = pluggy.HookspecMarker("flash_nas")


@hookspec
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    """Register search-space adapters.

    Called once per plugin, the first time flash-nas needs the list of spaces. Call
    ``register(name, AdapterSubclass)`` for each space; ``name`` is what ``--space`` takes. The
    class, not an instance, is registered: flash-nas instantiates it with the user's options. A
    name registered twice, by one plugin or two, is an error naming both plugins.
    """


@hookspec
def register_hardware(register: Callable[[str, type[HardwareModel]], None]) -> None:
    """Register hardware models.

    Called once per plugin, the first time flash-nas needs the list of hardware models. Call
    ``register(name, HardwareModelSubclass)`` for each model; ``name`` is what ``--hardware``
    takes. Same rules as :func:`register_adapters`.
    """


@hookspec
def register_methods(register: Callable[[str, type[SearchMethod]], None]) -> None:
    """Register search methods.

    Called once per plugin, the first time flash-nas needs the list of methods. Call
    ``register(name, SearchMethodSubclass)`` for each method; ``name`` is what ``--method`` and
    ``SearchEngine(method=...)`` take. The engine instantiates the class with itself
    (:class:`flash_nas.plugins.method.SearchMethod` says when it calls each method). The
    built-in ``bo`` and ``flash`` are registered the same way. Same rules as
    :func:`register_adapters`.
    """


@hookspec(firstresult=True)
def translate_search_space(
    adapter: Adapter, search_space: dict[str, Any], build: Callable[..., Adapter]
) -> SpaceTranslator | None:
    """Translate an NNI-style search space over ``adapter``'s architectures.

    Called by the NNI tuner, the Optuna sampler and the Ray Tune searcher when they receive a
    search space (``{"name": {"_type": ..., "_value": [...]}}``) for a space given by name.
    Return a :class:`flash_nas.plugins.translator.SpaceTranslator` when ``adapter`` is one of
    yours (check with ``isinstance``), else None so that other plugins are asked. Raise
    :class:`~flash_nas.errors.SearchSpaceError` naming any parameter or ``_type``
    you cannot take. ``build(**options)`` makes a new adapter of the same registered name with
    the user's options plus yours, for spaces whose shape the search space decides (FLASH's
    widths and depths). Stops at the first non-None result.
    """
