"""Hook calls that know which plugin is running: what lets the registry call each hook through
pluggy (so ``wrapper=True``, ``hookwrapper=True``, ``tryfirst`` and ``trylast`` work as pluggy
documents them) and still name the plugin behind every registration and every error.

pluggy calls a hook's implementations one after another inside ``pm.hook.NAME(...)`` and tells the
caller nothing about which one is running. So the registry registers, in place of each plugin, a
:class:`PluginView`: an object with the plugin's hook implementations only, each wrapped to run
with :func:`current_plugin` set to the plugin's name (a context variable) and to turn an exception
it raises into a :class:`~flash_nas.errors.PluginError` naming the plugin. The wrapped functions
keep the originals' signature and hookimpl options (``functools.wraps``), which is all pluggy reads
(public API: ``PluginManager.parse_hookimpl_opts`` finds them, ``register`` takes the view).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import pluggy

from flash_nas.errors import PluginError

__all__ = ["ErrorPolicy", "PluginView", "current_plugin"]

#: (hook name, plugin name, the exception an implementation raised) -> the error to raise in its
#: place, or None to let the exception through unchanged.
ErrorPolicy = Callable[[str, str, Exception], "Exception | None"]

_running: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "flash_nas_running_plugin", default=None
)


def current_plugin() -> str | None:
    """The name of the plugin whose hook implementation is running now, or None outside one."""
    return _running.get()


@contextmanager
def _running_as(plugin: str, hook: str, policy: ErrorPolicy) -> Iterator[None]:
    token = _running.set(plugin)
    try:
        yield
    except PluginError:
        raise
    except Exception as exc:
        replacement = policy(hook, plugin, exc)
        if replacement is None:
            raise
        raise replacement from exc
    finally:
        _running.reset(token)


def _attributed(plugin: str, hook: str, function: Any, policy: ErrorPolicy) -> Any:
    """``function`` run as ``plugin``'s; a generator (a hook wrapper) is run so, step by step."""
    if not inspect.isgeneratorfunction(function):

        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            with _running_as(plugin, hook, policy):
                return function(*args, **kwargs)

        return call

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        # The wrapper's own code (before and after its yield) runs as its plugin; what pluggy
        # runs while it is suspended (the other implementations) runs as theirs.
        steps = function(*args, **kwargs)
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            with _running_as(plugin, hook, policy):
                try:
                    value = steps.send(sent) if thrown is None else steps.throw(thrown)
                except StopIteration as stop:
                    return stop.value
            try:
                sent, thrown = (yield value), None
            except BaseException as exc:  # pluggy throws an inner error (or GeneratorExit) in
                sent, thrown = None, exc

    return wrapper


class PluginView:
    """What the plugin manager holds for one plugin: its hook implementations, attributed."""

    def __init__(
        self, plugin: object, name: str, manager: pluggy.PluginManager, policy: ErrorPolicy
    ) -> None:
        self.plugin = plugin
        for attribute in dir(plugin):
            options = manager.parse_hookimpl_opts(plugin, attribute)
            if options is None:
                continue
            hook = options.get("specname") or attribute
            setattr(self, attribute, _attributed(name, hook, getattr(plugin, attribute), policy))

    def __repr__(self) -> str:
        return repr(self.plugin)
