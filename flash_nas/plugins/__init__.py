"""The plugin API: what an adapter or a hardware model implements, how it is registered and
found, and the contract tests it runs.

* :mod:`.adapter` -- :class:`Adapter`, the base of every search space;
* :mod:`.relaxation` -- how an adapter describes its space to SHGO as continuous variables;
* :mod:`.hardware` -- :class:`HardwareModel`, the base of every hardware model;
* :mod:`.hookspecs` -- the pluggy hooks a plugin implements (``register_adapters``,
  ``register_hardware``, ``translate_search_space``);
* :mod:`.registry` -- loading plugins from the ``flash_nas`` entry points, lookup by name;
  hooks are called through pluggy's plugin manager, :mod:`.calls` naming the plugin behind
  each registration and error;
* :mod:`.testing` -- :class:`AdapterContract` and :class:`HardwareModelContract` (pytest).

Room rule: imports the graph layer, :mod:`flash_nas.io` and :mod:`flash_nas.errors`; the one
upward reference is a type annotation (the translation hook returns a
:class:`flash_nas.integrations.params.SpaceTranslator`). Built-in plugins (``adapters/``,
``hardware/``) use only public names from here and the layers below.
"""

from __future__ import annotations

from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import QUANTITIES, HardwareModel
from flash_nas.plugins.registry import (
    ENTRY_POINT_GROUP,
    Registration,
    adapter_names,
    add_plugin,
    get_adapter,
    get_hardware,
    hardware_names,
    hookimpl,
    load_plugins,
    registrations,
    remove_plugin,
    translate_search_space,
)
from flash_nas.plugins.relaxation import Relaxation, Variable

__all__ = [
    "ENTRY_POINT_GROUP",
    "QUANTITIES",
    "Adapter",
    "HardwareModel",
    "Registration",
    "Relaxation",
    "Variable",
    "adapter_names",
    "add_plugin",
    "get_adapter",
    "get_hardware",
    "hardware_names",
    "hookimpl",
    "load_plugins",
    "registrations",
    "remove_plugin",
    "translate_search_space",
]
