"""What the NNI tuner, the Optuna sampler and the Ray Tune searcher share: their keyword
arguments (checked once, the same way), the engine they build, and how a reported metric
becomes a label.

All three take the same arguments, so one configuration moves between them:

* ``space`` (a registered adapter name) and ``space_options`` (a dict);
* ``hardware`` (a hardware model name), ``hardware_options`` (a dict) and ``profile`` (the
  path of a calibrated profile);
* ``objective`` and the hard limits ``max_<quantity>`` for any quantity the search has
  (``max_params``, ``max_latency_ms``, ``max_memory_mb`` for a model that declares
  ``memory_mb``...), as arguments of their own or as one ``limits`` dict;
* ``method`` (a registered method's name), ``initial_samples``, ``features``, ``strategy`` (how
  the initial design spreads over NN-Degree), ``pool_size``, ``seed``, ``confidence`` (the
  probability of meeting the limits an unmeasured architecture needs to count as feasible).

Measured costs reach the engine beside the label (:func:`reported_costs`): each front end reads
them where its framework keeps a trial's further results, by the name of a quantity the hardware
model reports (``latency_ms``...).

What only a front end has is checked here (argument names, a space given by name, option
dicts); everything the engine takes is checked by :class:`SearchEngine` itself, with its
defaults and errors, when the front end builds it, before any trial.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from flash_nas import plugins
from flash_nas.errors import quote
from flash_nas.integrations.params import TunerConfigError
from flash_nas.io.tables import PERCENT, LabelScale
from flash_nas.plugins.quantities import LIMIT_PREFIX
from flash_nas.plugins.translator import SpaceTranslator, is_number
from flash_nas.search.engine import SearchEngine
from flash_nas.validation import check_int

__all__ = ["ARGUMENTS", "EngineSettings", "read_metric", "reported_costs"]

#: The arguments every front end takes, besides the limits (``max_<quantity>``).
ARGUMENTS = (
    "space",
    "space_options",
    "hardware",
    "hardware_options",
    "profile",
    "objective",
    "limits",
    "method",
    "initial_samples",
    "features",
    "strategy",
    "pool_size",
    "seed",
    "confidence",
)
#: The engine keyword each front-end argument becomes (the rest keep their names).
_ENGINE_NAMES = {"strategy": "design"}


def _error(owner: str, name: str, expected: str, got: Any) -> TunerConfigError:
    return TunerConfigError(
        f"The {name!r} argument of {owner} must be {expected}. Got {quote(got)} instead."
    )


def _dict(owner: str, name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _error(owner, name, "a dict of option name -> value", value)
    return dict(value)


@dataclass
class EngineSettings:
    """A front end's arguments; :meth:`engine` builds (and so checks) the engine for a space."""

    owner: str
    space: str
    space_options: dict[str, Any] = field(default_factory=dict)
    hardware: str | None = None
    hardware_options: dict[str, Any] = field(default_factory=dict)
    #: Every other engine keyword given (objective, method, seed...), unchecked until then.
    options: dict[str, Any] = field(default_factory=dict)
    #: ``max_<quantity>`` -> bound.
    limits: dict[str, float] = field(default_factory=dict)

    @classmethod
    def check(cls, owner: str, **arguments: Any) -> EngineSettings:
        """Check what only a front end has, now; the engine checks the rest when built."""
        unknown = sorted(
            k for k in arguments if k not in ARGUMENTS and not k.startswith(LIMIT_PREFIX)
        )
        if unknown:
            raise TunerConfigError(
                f"{owner} got unknown argument(s) {', '.join(unknown)}; it takes "
                f"{', '.join(ARGUMENTS)} and limits {LIMIT_PREFIX}<quantity>."
            )
        space = arguments.pop("space", None)
        if not isinstance(space, str) or not space:
            names = ", ".join(plugins.adapter_names())
            raise _error(owner, "space", f"the name of a search space ({names})", space)
        space_options = _dict(owner, "space_options", arguments.pop("space_options", None))
        settings = cls(owner, space, space_options)
        plugins.get_adapter(space, **settings.space_options)  # fails now, not at trial one
        hardware = arguments.pop("hardware", None)
        options = _dict(owner, "hardware_options", arguments.pop("hardware_options", None))
        profile = arguments.pop("profile", None)
        if profile is not None:
            options["profile"] = str(profile)
        if hardware is not None and (not isinstance(hardware, str) or not hardware):
            raise _error(owner, "hardware", "a hardware model name", hardware)
        if hardware is None and options:
            raise TunerConfigError(
                f"{owner} got hardware_options or a profile but no 'hardware' to apply them to."
            )
        settings.hardware, settings.hardware_options = hardware, options
        limits = _dict(owner, "limits", arguments.pop("limits", None))
        for name in [k for k in arguments if k.startswith(LIMIT_PREFIX)]:
            if name in limits:
                raise TunerConfigError(
                    f"{owner} got {name} both as an argument and in limits; give it once."
                )
            limits[name] = arguments.pop(name)
        for name, value in limits.items():
            if value is not None and (not is_number(value) or not math.isfinite(value)):
                raise _error(owner, name, "a number (or None for no limit)", value)
        settings.limits = {k: float(v) for k, v in limits.items() if v is not None}
        seed = arguments.get("seed", 0)
        arguments["seed"] = check_int(
            seed, "seed", owner=owner, low=0, error=TunerConfigError, noun="argument"
        )
        settings.options = {
            _ENGINE_NAMES.get(k, k): v for k, v in arguments.items() if v is not None
        }
        # Everything else is the engine's to check: it does so now, as when it is built.
        SearchEngine.check(
            space,
            space_options=settings.space_options,
            hardware=hardware,
            hardware_options=options,
            limits=settings.limits,
            **settings.options,
        )
        return settings

    def engine(self, translator: SpaceTranslator, scale: LabelScale = PERCENT) -> SearchEngine:
        """The engine over the architectures ``translator``'s search space declares."""
        return SearchEngine(
            translator.adapter,
            hardware=self.hardware,
            hardware_options=self.hardware_options,
            label_scale=scale,
            domain=translator,
            limits=self.limits,
            **self.options,
        )


def read_metric(value: Any, key: str) -> tuple[float | None, str]:
    """A reported metric (a number, or a dict holding ``key``) -> (number, "") or (None, why)."""
    number = value
    if isinstance(value, Mapping):
        if key not in value:
            keys = ", ".join(map(repr, value)) or "none"
            return None, f"the metric dict has no {key!r} entry (it has {keys})"
        number = value[key]
    if not is_number(number):
        return None, f"the metric {str(number)[:100]!r} is not a number"
    number = float(number)
    if not math.isfinite(number):
        return None, f"the metric is {number}"
    return number, ""


def reported_costs(
    engine: SearchEngine, entries: Mapping[str, Any], skip: Collection[str] = ()
) -> dict[str, list[Any]]:
    """The entries of a trial's reported results named like a quantity of the engine's hardware
    model (``latency_ms``...), as ``engine.tell``'s ``costs`` for that one architecture; the
    label's own entry (``skip``) and every other name are not costs. The values are passed as
    reported: the engine refuses one that is not a cost (negative, NaN, text) before it records
    anything (:class:`~flash_nas.errors.CostError`)."""
    if engine.hardware is None:
        return {}
    quantities = set(engine.hardware.quantities)
    return {
        name: [value]
        for name, value in entries.items()
        if isinstance(name, str) and name in quantities and name not in skip
    }
