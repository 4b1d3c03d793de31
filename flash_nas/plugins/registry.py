"""The plugin manager: finds plugins through entry points and collects what they register.

Built-in adapters, hardware models and search methods are ordinary plugins, declared in
flash-nas's own ``pyproject.toml`` under the same ``flash_nas`` entry-point group a third party
uses. Loading is lazy (the first lookup) and idempotent; every failure names the plugin at fault.
"""

from __future__ import annotations

import importlib.metadata
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pluggy

from flash_nas.errors import FlashNasError, ParameterError, PluginError, UnknownNameError
from flash_nas.plugins import hookspecs
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.calls import PluginView, current_plugin
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.method import SearchMethod

__all__ = [
    "ENTRY_POINT_GROUP",
    "Registration",
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

ENTRY_POINT_GROUP = "flash_nas"
hookimpl = pluggy.HookimplMarker("flash_nas")

Kind = Literal["adapter", "hardware", "method"]
KINDS: tuple[Kind, ...] = ("adapter", "hardware", "method")
_BASES: dict[Kind, type] = {"adapter": Adapter, "hardware": HardwareModel, "method": SearchMethod}
_HOOKS: dict[Kind, str] = {
    "adapter": "register_adapters",
    "hardware": "register_hardware",
    "method": "register_methods",
}
_FLAGS: dict[Kind, str] = {"adapter": "--space", "hardware": "--hardware", "method": "--method"}


@dataclass(frozen=True)
class Registration:
    """One registered adapter, hardware model or search method, and where it came from."""

    kind: Kind
    name: str
    factory: type
    plugin: str
    distribution: str | None


class _State:
    def __init__(self) -> None:
        self.manager = pluggy.PluginManager("flash_nas")
        self.manager.add_hookspecs(hookspecs)
        self.distributions: dict[str, str | None] = {}
        self.entry_points_loaded = False
        self.table: dict[Kind, dict[str, Registration]] | None = None


_state = _State()


def _load_entry_points() -> None:
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist else None
        if _state.manager.has_plugin(entry_point.name):
            if _state.distributions.get(entry_point.name) == distribution:
                continue  # the same distribution seen twice on sys.path
            raise PluginError(
                f"Two plugins are named {entry_point.name!r} (from {distribution} and "
                f"{_state.distributions.get(entry_point.name)}); uninstall one of them."
            )
        try:
            plugin = entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"Plugin {entry_point.name!r} (distribution {distribution}, entry point "
                f"{entry_point.value!r}) failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        _register_with_manager(plugin, entry_point.name, distribution)


def _register_with_manager(plugin: object, name: str, distribution: str | None) -> None:
    try:
        _state.manager.register(PluginView(plugin, name, _state.manager, _hook_error), name=name)
        _state.manager.check_pending()
    except pluggy.PluginValidationError as exc:
        _state.manager.unregister(name=name)
        raise PluginError(f"Plugin {name!r} does not match flash-nas's hooks: {exc}") from exc
    _state.distributions[name] = distribution


def load_plugins() -> None:
    """Load every ``flash_nas`` entry point once; later calls do nothing."""
    if not _state.entry_points_loaded:
        _state.entry_points_loaded = True
        try:
            _load_entry_points()
        except PluginError:
            _state.entry_points_loaded = False
            raise


def add_plugin(plugin: object, name: str) -> None:
    """Register a plugin object directly (tests, notebooks) and forget the collected table."""
    load_plugins()
    if _state.manager.has_plugin(name):
        raise PluginError(f"A plugin named {name!r} is already registered.")
    _register_with_manager(plugin, name, None)
    _state.table = None


def remove_plugin(name: str) -> None:
    """Unregister a plugin added with :func:`add_plugin`."""
    _state.manager.unregister(name=name)
    _state.distributions.pop(name, None)
    _state.table = None


def _hook_error(hook: str, plugin: str, exc: Exception) -> Exception | None:
    """What replaces an exception a plugin's hook implementation raised (None: it goes through)."""
    detail = f"{type(exc).__name__}: {exc}"
    for kind, registration_hook in _HOOKS.items():
        if hook == registration_hook:
            return PluginError(f"Plugin {plugin!r} raised while registering its {kind}s: {detail}")
    if isinstance(exc, FlashNasError):  # a translator refusing a search space, worded for users
        return None
    return PluginError(f"Plugin {plugin!r}'s {hook} hook failed: {detail}")


def _collect(kind: Kind) -> dict[str, Registration]:
    """Everything the plugins register, called through pluggy as any hook is (so hook wrappers
    and tryfirst/trylast apply); each name is attributed to the plugin running when it came."""
    found: dict[str, Registration] = {}
    hook = getattr(_state.manager.hook, _HOOKS[kind])
    try:
        hook(register=_registrar(kind, _BASES[kind], found))
    except PluginError:
        raise
    except Exception as exc:  # pluggy's own (a hook wrapper that yields twice...): no plugin known
        raise PluginError(f"The {_HOOKS[kind]} hook failed: {type(exc).__name__}: {exc}") from exc
    return found


def _registrar(
    kind: Kind, base: type, found: dict[str, Registration]
) -> Callable[[str, Any], None]:
    def register(name: str, factory: Any) -> None:
        plugin_name = current_plugin()
        if plugin_name is None:
            raise PluginError(
                f"register({name!r}, ...) was called after the {_HOOKS[kind]} hook returned; "
                "a plugin registers its names while the hook runs."
            )
        if not isinstance(name, str) or not name or ":" in name or name != name.strip():
            raise PluginError(
                f"Plugin {plugin_name!r} registered the {kind} name {name!r}; a name must be a "
                f"non-empty string without ':' or surrounding spaces."
            )
        if not (isinstance(factory, type) and issubclass(factory, base)):
            raise PluginError(
                f"Plugin {plugin_name!r} registered {kind} {name!r} as {factory!r}; expected a "
                f"subclass of flash_nas.{base.__name__} (the class, not an instance)."
            )
        if name in found:
            raise PluginError(
                f"The {kind} name {name!r} is registered twice: by plugin "
                f"{found[name].plugin!r} and by plugin {plugin_name!r}. Rename one of them."
            )
        found[name] = Registration(
            kind, name, factory, plugin_name, _state.distributions.get(plugin_name)
        )

    return register


def _table() -> dict[Kind, dict[str, Registration]]:
    load_plugins()
    if _state.table is None:
        _state.table = {kind: _collect(kind) for kind in KINDS}
    return _state.table


def registrations() -> list[Registration]:
    """Everything registered, adapters, then hardware models, then methods, each by name."""
    table = _table()
    return [table[kind][name] for kind in KINDS for name in sorted(table[kind])]


def adapter_names() -> list[str]:
    return sorted(_table()["adapter"])


def hardware_names() -> list[str]:
    return sorted(_table()["hardware"])


def method_names() -> list[str]:
    return sorted(_table()["method"])


def get_method(name: str) -> type[SearchMethod]:
    """The search method class registered as ``name`` (the engine instantiates it)."""
    return _lookup("method", name).factory


def _lookup(kind: Kind, name: str) -> Registration:
    table = _table()[kind]
    if name not in table:
        known = ", ".join(sorted(table)) or "none registered"
        if kind == "method" and not table:
            known += (
                " (flash-nas's own entry points are missing: reinstall it, e.g. "
                "`pip install -e .` in a checkout)"
            )
        flag = _FLAGS[kind]
        raise UnknownNameError(
            f"Unknown {kind} {name!r} ({flag}); expected one of: {known}. "
            f"`flash-nas plugins` lists them with the plugin that provides each."
        )
    return table[name]


def get_adapter(name: str, **options: Any) -> Adapter:
    """A new instance of the adapter registered as ``name``, built with ``options``."""
    return _build(f"Adapter {name!r}", _lookup("adapter", name), options)


def get_hardware(name: str, **options: Any) -> HardwareModel:
    """A new instance of the hardware model registered as ``name``, built with ``options``.

    ``"model:variant"`` (``zigzag:aimc``, ``hwnasbench:raspi4``) passes ``variant="aimc"`` to the
    model registered as ``model``: one plugin, many targets.
    """
    base, sep, variant = name.partition(":")
    registration = _lookup("hardware", base)
    if sep:
        if not variant:
            raise UnknownNameError(f"Hardware name {name!r} ends with ':'; write MODEL:VARIANT.")
        options = {**options, "variant": variant}
    return _build(f"Hardware model {base!r}", registration, options)


def translate_search_space(
    adapter: Adapter, search_space: dict[str, Any], build: Callable[..., Adapter]
) -> Any:
    """The first translator a plugin's ``translate_search_space`` hook returns, or None."""
    load_plugins()
    try:
        return _state.manager.hook.translate_search_space(
            adapter=adapter, search_space=search_space, build=build
        )
    except PluginError:
        raise
    except FlashNasError:
        raise
    except Exception as exc:
        raise PluginError(
            f"A plugin's translate_search_space hook failed for {type(adapter).__name__}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _build(what: str, registration: Registration, options: dict[str, Any]) -> Any:
    """``registration``'s factory called with ``options``. An option it does not take is the
    caller's mistake (a ParameterError naming the ones it takes); a TypeError raised inside the
    plugin is the plugin's (a PluginError naming it)."""
    _check_option_names(what, registration.factory, options)
    try:
        return registration.factory(**options)
    except TypeError as exc:
        raise PluginError(
            f"{what} (plugin {registration.plugin!r}) rejected options {options}: {exc}"
        ) from exc


def _check_option_names(what: str, factory: Callable[..., Any], options: dict[str, Any]) -> None:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):  # a factory without a readable signature: let it decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) if accepted else "no options"
        raise ParameterError(
            f"{what} has no option {', '.join(map(repr, unknown))}; it takes: {takes}."
        )
