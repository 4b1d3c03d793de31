"""The engine's settings, checked in one place: :func:`configure` (the constructor and
:meth:`SearchEngine.check <flash_nas.search.engine.SearchEngine.check>`, which front ends call
before their search space is known, both run it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flash_nas import plugins
from flash_nas.graph.metrics import parse_metric_names
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.method import SearchMethod
from flash_nas.plugins.quantities import LIMIT_PREFIX, Vocabulary
from flash_nas.search.objective import default_objective, parse_objective
from flash_nas.search.sampling import STRATEGIES
from flash_nas.validation import ParameterError, check_choice, check_int

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["configure"]


def configure(
    engine: SearchEngine,
    space: str | Adapter,
    *,
    space_options: Mapping[str, Any] | None = None,
    hardware: str | HardwareModel | None = None,
    hardware_options: Mapping[str, Any] | None = None,
    objective: str | None = None,
    method: str = "bo",
    initial_samples: int | None = None,
    design: str = "stratified",
    features: Sequence[str] | None = None,
    seed: int = 0,
    pool_size: int = 20_000,
    confidence: float = 0.95,
    limits: Mapping[str, float | None],
    both: list[str],
) -> type[SearchMethod]:
    """Check every setting and keep it on ``engine`` (the one place they are checked); returns
    the method's class."""
    owner = "SearchEngine"
    if not isinstance(method, str):
        raise ParameterError(f"SearchEngine's method must be a method's name; got {method!r}.")
    engine.method = method
    method_class: type[SearchMethod] = plugins.get_method(method)
    engine.seed = check_int(seed, "seed", owner=owner, low=0)
    engine.pool_size = check_int(pool_size, "pool_size", owner=owner, low=10, high=2_000_000)
    initial = (
        method_class.default_initial_samples if initial_samples is None else initial_samples
    )
    engine.initial_samples = check_int(initial, "initial_samples", owner=owner, low=1)
    engine.design = check_choice(design, "design", STRATEGIES, owner=owner)
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not 0.5 <= confidence < 1
    ):
        raise ParameterError(
            f"SearchEngine's confidence must be a probability in [0.5, 1) (how sure a predicted "
            f"cost must be to meet a limit; default 0.95); got {confidence!r}."
        )
    engine.confidence = float(confidence)
    unknown = sorted(k for k in limits if not k.startswith(LIMIT_PREFIX))
    if unknown:
        raise ParameterError(
            f"SearchEngine got unknown keyword(s) {', '.join(unknown)}; hard limits are "
            f"{LIMIT_PREFIX}<quantity> (e.g. max_params), given as keywords or limits={{...}}."
        )
    if both:
        raise ParameterError(
            f"SearchEngine got {', '.join(both)} both as a keyword and in limits=; give it once."
        )
    engine.limits = {name: value for name, value in limits.items() if value is not None}
    engine.space_name = space if isinstance(space, str) else None
    engine.space_options = dict(space_options or {})
    engine.adapter = (
        plugins.get_adapter(space, **engine.space_options) if isinstance(space, str) else space
    )
    engine.hardware_name = hardware if isinstance(hardware, str) else None
    engine.hardware_options = dict(hardware_options or {})
    engine.hardware = (
        plugins.get_hardware(hardware, **engine.hardware_options)
        if isinstance(hardware, str)
        else hardware
    )
    #: The quantities this search may name (metrics and what the hardware model declares).
    engine.vocabulary = Vocabulary(engine.hardware)
    quantities = None if engine.hardware is None else engine.hardware.quantities
    engine.objective_text = objective or default_objective(quantities)
    engine.objective = parse_objective(
        engine.objective_text, engine.limits, engine.vocabulary
    )
    engine.features = parse_metric_names(features or method_class.default_features)
    return method_class
