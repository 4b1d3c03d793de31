"""NNI-style search spaces (``{"name": {"_type": ..., "_value": [...]}}``) handed to the NNI
tuner, the Optuna sampler and the Ray Tune searcher: :func:`translate_space` finds, through the
``translate_search_space`` plugin hook, the :class:`~flash_nas.plugins.translator.SpaceTranslator`
that maps one onto a space's architectures (the plugin API, :mod:`flash_nas.plugins.translator`).
Nothing here imports NNI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flash_nas import plugins
from flash_nas.errors import ArchFormatError, SearchSpaceError, TunerConfigError
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.translator import SampleTranslator, SpaceTranslator

__all__ = ["SearchSpaceError", "TunerConfigError", "adapter_search_space", "translate_space"]


def check_space_shape(space: Any) -> Mapping[str, Any]:
    if not isinstance(space, Mapping) or not space:
        raise SearchSpaceError(
            f"An NNI search space must be a non-empty dict of parameter name -> "
            f"{{'_type': ..., '_value': [...]}}; got {space!r}."
        )
    return space


#: Spaces without parameters of their own are searched through one ``arch`` choice over
#: their architectures' texts up to this many (a larger choice bloats every stored trial).
ARCH_CHOICE_LIMIT = 1_000


def adapter_search_space(space_name: str, space_options: Mapping[str, Any]) -> dict[str, Any]:
    """The NNI-style search space the adapter declares for itself (its ``search_space()``
    method: NAS-Bench-201's six ``cell/{j}_{i}`` choices), or, for a small space without one,
    one ``arch`` choice over every architecture's text. What the Optuna sampler and the Ray
    searcher use when given no search space."""
    adapter = plugins.get_adapter(space_name, **space_options)
    declared = getattr(adapter, "search_space", None)
    if callable(declared):
        return dict(check_space_shape(declared()))
    size = adapter.size()
    if size is not None and size <= ARCH_CHOICE_LIMIT:
        texts = adapter.enumerate().texts()
        return {"arch": {"_type": "choice", "_value": list(texts)}}
    count = "an uncounted number of" if size is None else f"{size:,}"
    raise SearchSpaceError(
        f"The {space_name!r} space declares no parameters of its own (no search_space() "
        f"method) and has {count} architectures, too many for one 'arch' choice (at most "
        f"{ARCH_CHOICE_LIMIT:,}); pass search_space= (an NNI-style search space, "
        f"docs/optuna_ray.md)."
    )


def translate_space(
    space_name: str, space_options: Mapping[str, Any], search_space: Any
) -> SpaceTranslator:
    """The translator of ``search_space`` for the adapter registered as ``space_name``: the
    first plugin whose ``translate_search_space`` hook answers for that adapter."""
    search_space = check_space_shape(search_space)

    def build(**derived: Any) -> Adapter:
        clash = sorted(set(derived) & set(space_options))
        if clash:
            raise TunerConfigError(
                f"space_options sets {', '.join(clash)}, which the {space_name} search space "
                f"itself decides (from its parameters); remove them from space_options."
            )
        return plugins.get_adapter(space_name, **{**space_options, **derived})

    adapter = plugins.get_adapter(space_name, **space_options)
    translator = plugins.translate_search_space(adapter, dict(search_space), build)
    if translator is None and set(search_space) == {"arch"}:
        # Any space: one choice over the architectures' own texts.
        translator = SampleTranslator(
            adapter,
            search_space,
            lambda params: adapter.parse(_text(params["arch"])),
            lambda arch: {"arch": adapter.format(arch)},
        )
    if translator is None:
        raise SearchSpaceError(
            f"The {space_name!r} adapter ({type(adapter).__name__}) cannot read NNI-style "
            f"search spaces: no plugin implements the translate_search_space hook for it "
            f"(see docs/plugins.md). Any space takes one 'choice' parameter named 'arch' over "
            f"architecture texts."
        )
    return translator


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ArchFormatError(f"Parameter 'arch' must be an architecture's text; got {value!r}.")
    return value
