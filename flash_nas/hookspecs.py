"""The hooks a flash-nas plugin may implement.

A plugin is a module (or object) named by an entry point in the ``flash_nas`` group::

    [project.entry-points.flash_nas]
    my_space = "my_package.flash_plugin"

whose functions are decorated with :data:`flash_nas.hookimpl`. Every hook receives a
``register`` callable and returns nothing.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from flash_nas.adapter import Adapter
from flash_nas.hardware import HardwareModel

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
