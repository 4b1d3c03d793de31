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

__all__ = ["SearchSpaceError", "TunerConfigError", "translate_space"]


def check_space_shape(space: Any) -> Mapping[str, Any]:
    if not isinstance(space, Mapping) or not space:
        raise SearchSpaceError(
            f"An NNI search space must be a non-empty dict of parameter name -> "
            f"{{'_type': ..., '_value': [...]}}; got {space!r}."
        )
    return space


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
