"""What a user tells the engine, checked before anything is recorded: labels (one per
architecture, in the label's scale) and measured costs (one list per quantity of the hardware
model, an entry per architecture)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from flash_nas.errors import CostError, LabelError
from flash_nas.io.tables import LabelScale
from flash_nas.plugins.quantities import LATENCY_MS

__all__ = ["check_costs", "check_value"]


def check_value(value: Any, arch: Any, scale: LabelScale) -> tuple[float | None, str]:
    """A label as a number and, for a failure (None, NaN), the reason."""
    if value is None:
        return None, "no result (None)"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise LabelError(
            f"The result for {str(arch)[:200]!r} must be a number (or None for a failure); "
            f"got {value!r}."
        )
    number = float(value)
    if math.isnan(number):
        return None, "the result is NaN"
    if not scale.contains(number):
        raise LabelError(
            f"The result {number!r} for {str(arch)[:200]!r} is outside the label's range "
            f"[{scale.low:g}, {scale.high:g}] ({scale.unit}); give accuracies in percent, "
            f"or declare the label's scale (label_scale=...)."
        )
    return number, ""


#: How a state file writes a measured cost of ``math.inf`` (JSON has no infinity).
DOES_NOT_RUN = "does not run"


def check_costs(
    costs: Any, texts: Sequence[str], quantities: Sequence[str], units: Mapping[str, str]
) -> list[dict[str, float]]:
    """Measured costs as one ``{quantity: value}`` per architecture (``None`` entries: not
    measured; ``math.inf``: the architecture does not run on the device, so it meets no
    limit), or :class:`CostError` naming the first problem."""
    if costs is None:
        return [{} for _ in texts]
    if not isinstance(costs, Mapping):
        raise CostError(
            "costs must map each measured quantity to one value per architecture, e.g. "
            f"costs={{{str(LATENCY_MS)!r}: [3.1]}}; got {type(costs).__name__}."
        )
    per_arch: list[dict[str, float]] = [{} for _ in texts]
    for quantity, values in costs.items():
        if quantity not in quantities:
            reported = ", ".join(quantities) if quantities else "nothing (no hardware model)"
            raise CostError(
                f"A measured cost for {quantity!r}, which the search's hardware model does not "
                f"report; it reports {reported}. Name one of those (a model that reports "
                f"{quantity!r} is needed to search with it)."
            )
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
            raise CostError(
                f"costs[{quantity!r}] must be a list with one value per architecture; got "
                f"{type(values).__name__}."
            )
        if len(values) != len(texts):
            raise CostError(
                f"costs[{quantity!r}] has {len(values)} values for {len(texts)} "
                f"architecture(s); give one per architecture (None where not measured)."
            )
        for position, value in enumerate(values):
            if value is None:
                continue
            per_arch[position][quantity] = _cost(value, quantity, units, texts[position])
    return per_arch


def _cost(value: Any, quantity: str, units: Mapping[str, str], text: str) -> float:
    unit = units.get(quantity, "")
    where = f"The measured {quantity} of {text[:200]!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CostError(f"{where} must be a number ({unit}); got {value!r}.")
    number = float(value)
    if math.isnan(number) or number <= 0:
        raise CostError(
            f"{where} is {number!r}; a measured cost is a positive number ({unit}), math.inf "
            f"where the architecture does not run on the device. Leave out (None) what was "
            f"not measured."
        )
    return number
