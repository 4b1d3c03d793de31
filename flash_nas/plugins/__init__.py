"""The plugin API: what an adapter or a hardware model implements, how it is registered and
found, and the contract tests it runs.

* :mod:`.adapter` -- :class:`Adapter`, the base of every search space;
* :mod:`.relaxation` -- how an adapter describes its space to SHGO as continuous variables;
* :mod:`.hardware` -- :class:`HardwareModel`, the base of every hardware model;
* :mod:`.quantities` -- :class:`Quantity` and the vocabulary of costs and limits;
* :mod:`.method` -- :class:`SearchMethod`, the base of every search method;
* :mod:`.hookspecs` -- the pluggy hooks a plugin implements (``register_adapters``,
  ``register_hardware``, ``register_methods``, ``translate_search_space``);
* :mod:`.domain` -- :class:`Domain`, the architectures a search may propose;
* :mod:`.translator` -- :class:`SpaceTranslator`, what ``translate_search_space`` returns: a
  tool's search-space parameters to architectures and back (NNI, Optuna and Ray Tune use it);
* :mod:`.registry` -- loading plugins from the ``flash_nas`` entry points, lookup by name;
  hooks are called through pluggy's plugin manager, :mod:`.calls` naming the plugin behind
  each registration and error;
* :mod:`.testing` -- :class:`AdapterContract`, :class:`HardwareModelContract` and
  :class:`MethodContract` (pytest).

Room rule: imports the graph layer, :mod:`flash_nas.io` and :mod:`flash_nas.errors`, nothing
above (the search engine and the integrations use this API, never the reverse). Built-in plugins
(``adapters/``, ``hardware/``) use only public names from here and the layers below.
"""

from __future__ import annotations

from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.domain import Domain
from flash_nas.plugins.hardware import QUANTITIES, HardwareModel
from flash_nas.plugins.method import Choice, Pick, SearchMethod
from flash_nas.plugins.quantities import Quantity
from flash_nas.plugins.registry import (
    ENTRY_POINT_GROUP,
    Registration,
    adapter_names,
    add_plugin,
    get_adapter,
    get_hardware,
    get_method,
    hardware_names,
    hookimpl,
    load_plugins,
    method_names,
    registrations,
    remove_plugin,
    translate_search_space,
)
from flash_nas.plugins.relaxation import Relaxation, Variable
from flash_nas.plugins.translator import Parameter, SampleTranslator, SpaceTranslator

__all__ = [
    "ENTRY_POINT_GROUP",
    "QUANTITIES",
    "Adapter",
    "Choice",
    "Domain",
    "HardwareModel",
    "Parameter",
    "Pick",
    "Quantity",
    "Registration",
    "Relaxation",
    "SampleTranslator",
    "SearchMethod",
    "SpaceTranslator",
    "Variable",
    "adapter_names",
    "add_plugin",
    "get_adapter",
    "get_hardware",
    "get_method",
    "hardware_names",
    "hookimpl",
    "load_plugins",
    "method_names",
    "registrations",
    "remove_plugin",
    "translate_search_space",
]
