"""What the NNI tuner, the Optuna sampler and the Ray Tune searcher share: their keyword
arguments (checked once, the same way), the engine they build, and how a reported metric
becomes a label.

All three take the same arguments, so one configuration moves between them:

* ``space`` (a registered adapter name) and ``space_options`` (a dict);
* ``hardware`` (a hardware model name), ``hardware_options`` (a dict) and ``profile`` (the
  path of a calibrated profile);
* ``objective`` (default: accuracy alone without hardware, else accuracy over every cost the
  model reports) and the hard limits ``max_latency_ms``, ``max_energy_mj``, ``max_area_mm2``,
  ``max_params``;
* ``method`` (``bo`` or ``flash``), ``initial_samples``, ``features``, ``strategy`` (how the
  initial design spreads over NN-Degree), ``pool_size``, ``seed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flash_nas import plugins
from flash_nas.errors import quote
from flash_nas.graph.metrics import parse_metric_names
from flash_nas.integrations.params import TunerConfigError
from flash_nas.io.tables import PERCENT, LabelScale
from flash_nas.plugins.translator import SpaceTranslator, is_number
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.engine import METHODS
from flash_nas.search.objective import LIMITS, default_objective, parse_objective
from flash_nas.search.sampling import STRATEGIES
from flash_nas.validation import check_int

__all__ = ["ARGUMENTS", "EngineSettings", "read_metric"]

ARGUMENTS = (
    "space",
    "space_options",
    "hardware",
    "hardware_options",
    "profile",
    "objective",
    *LIMITS,
    "method",
    "initial_samples",
    "features",
    "strategy",
    "pool_size",
    "seed",
)


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


def _int(owner: str, name: str, value: Any, low: int) -> int:
    return check_int(value, name, owner=owner, low=low, error=TunerConfigError, noun="argument")


@dataclass
class EngineSettings:
    """Checked front-end arguments; :meth:`engine` builds the engine for a search space."""

    owner: str
    space: str
    space_options: dict[str, Any] = field(default_factory=dict)
    hardware: str | None = None
    hardware_options: dict[str, Any] = field(default_factory=dict)
    objective: str = "acc"
    limits: dict[str, float] = field(default_factory=dict)
    method: str = "bo"
    initial_samples: int | None = None
    features: list[str] | None = None
    strategy: str = "stratified"
    pool_size: int = 20_000
    seed: int = 0

    @classmethod
    def check(cls, owner: str, **arguments: Any) -> EngineSettings:
        """Check every argument now, so that a mistake stops the run before any trial."""
        unknown = sorted(set(arguments) - set(ARGUMENTS))
        if unknown:
            raise TunerConfigError(
                f"{owner} got unknown argument(s) {', '.join(unknown)}; it takes "
                f"{', '.join(ARGUMENTS)}."
            )
        space = arguments.get("space")
        if not isinstance(space, str) or not space:
            names = ", ".join(plugins.adapter_names())
            raise _error(owner, "space", f"the name of a search space ({names})", space)
        settings = cls(owner, space, _dict(owner, "space_options", arguments.get("space_options")))
        plugins.get_adapter(space, **settings.space_options)  # fails now, not at trial one
        hardware = arguments.get("hardware")
        options = _dict(owner, "hardware_options", arguments.get("hardware_options"))
        if arguments.get("profile") is not None:
            options["profile"] = str(arguments["profile"])
        quantities = None
        if hardware is not None:
            if not isinstance(hardware, str) or not hardware:
                raise _error(owner, "hardware", "a hardware model name", hardware)
            quantities = plugins.get_hardware(hardware, **options).quantities
        elif options:
            raise TunerConfigError(
                f"{owner} got hardware_options or a profile but no 'hardware' to apply them to."
            )
        settings.hardware, settings.hardware_options = hardware, options
        objective = arguments.get("objective")
        if objective is not None and not isinstance(objective, str):
            raise _error(owner, "objective", "a formula such as 'acc/(latency*energy)'", objective)
        settings.objective = objective or default_objective(quantities)
        for name in LIMITS:
            value = arguments.get(name)
            if value is not None and (not is_number(value) or not math.isfinite(value)):
                raise _error(owner, name, "a number (or None for no limit)", value)
            if value is not None:
                settings.limits[name] = float(value)
        objective_ = parse_objective(settings.objective, settings.limits)
        needed = [c for c in objective_.columns if c in ("latency_ms", "energy_mj", "area_mm2")]
        if needed and hardware is None:
            raise TunerConfigError(
                f"The objective {settings.objective!r} and limits {sorted(settings.limits)} need "
                f"hardware cost; set the 'hardware' argument of {owner} (e.g. "
                f"hwnasbench:edgegpu, pi3b, imc)."
            )
        missing = [c for c in needed if quantities is not None and c not in quantities]
        if missing:
            raise TunerConfigError(
                f"The objective {settings.objective!r} or a limit needs {', '.join(missing)}, "
                f"which the hardware model {hardware} does not report (it reports "
                f"{', '.join(quantities or ())})."
            )
        method = arguments.get("method", "bo")
        if method not in METHODS:
            raise _error(owner, "method", f"one of {', '.join(METHODS)}", method)
        settings.method = method
        if arguments.get("initial_samples") is not None:
            initial = arguments["initial_samples"]
            settings.initial_samples = _int(owner, "initial_samples", initial, 1)
        features = arguments.get("features")
        if features is not None:
            if not isinstance(features, (str, list, tuple)):
                raise _error(owner, "features", "metric names, e.g. 'nn_degree'", features)
            settings.features = parse_metric_names(features)
        strategy = arguments.get("strategy", "stratified")
        if strategy not in STRATEGIES:
            raise _error(owner, "strategy", f"one of {', '.join(STRATEGIES)}", strategy)
        settings.strategy = strategy
        settings.pool_size = _int(owner, "pool_size", arguments.get("pool_size", 20_000), 10)
        settings.seed = _int(owner, "seed", arguments.get("seed", 0), 0)
        return settings

    def engine(self, translator: SpaceTranslator, scale: LabelScale = PERCENT) -> SearchEngine:
        """The engine over the architectures ``translator``'s search space declares."""
        return SearchEngine(
            translator.adapter,
            hardware=self.hardware,
            hardware_options=self.hardware_options,
            objective=self.objective,
            method=self.method,
            initial_samples=self.initial_samples,
            design=self.strategy,
            features=self.features,
            label_scale=scale,
            seed=self.seed,
            pool_size=self.pool_size,
            domain=translator,
            # mypy matches a dict[str, float] against every keyword parameter; the keys are
            # limit names only (checked when the settings were read).
            **cast("dict[str, Any]", self.limits),
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
