"""What the search engine hands out and keeps: trials, proposals, recommendations, the front."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FrontPoint", "Proposal", "Recommendation", "Trial"]

#: A trial's states: asked and not yet told, told with a usable label, told as failed.
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


@dataclass
class Trial:
    """One architecture the engine proposed or was told about."""

    arch: Hashable
    text: str
    status: str = PENDING
    #: The result as told, in the label's own scale (None while pending or when it failed).
    value: float | None = None
    reason: str = ""
    #: ``initial`` (the design spread over NN-Degree), ``model`` (chosen by the accuracy
    #: model), or ``told`` (a result for an architecture the engine did not propose).
    source: str = "told"
    #: What the model predicted for it when :meth:`SearchEngine.ask` proposed it, and that
    #: prediction's standard deviation, in the label's scale (None: proposed before any model,
    #: told without being proposed, or a method without a spread).
    predicted: float | None = None
    predicted_std: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.text,
            "status": self.status,
            "value": self.value,
            "reason": self.reason,
            "source": self.source,
            "predicted": self.predicted,
            "predicted_std": self.predicted_std,
        }


@dataclass(frozen=True)
class Proposal:
    """An architecture to train next, with what the engine expects of it."""

    arch: Hashable
    text: str
    #: ``initial`` or ``model`` (see :class:`Trial`).
    source: str
    #: Predicted label and its standard deviation (None before any model is fitted).
    predicted: float | None
    std: float | None
    #: Training-free metrics and hardware quantities of the architecture (measured costs
    #: where measured, else the model's refitted predictions).
    values: Mapping[str, float] = field(default_factory=dict)
    #: The probability that it meets every limit (1 without limits; 1 or 0 once measured).
    p_feasible: float = 1.0


@dataclass(frozen=True)
class Recommendation:
    """The architecture to deploy.

    ``measured`` says whether ``accuracy`` is a told label or a prediction; ``note`` says what
    the engine weighed (a predicted architecture that might beat the measured one, or the
    measured one beside a predicted pick), so a prediction is never silently preferred.
    """

    arch: Hashable
    text: str
    accuracy: float
    std: float | None
    measured: bool
    objective: float
    values: Mapping[str, float] = field(default_factory=dict)
    note: str = ""
    #: Whether this architecture's costs were measured: every hardware quantity with a limit
    #: (without limits, every one the objective reads); ``values`` then holds the measurements.
    costs_measured: bool = False
    #: The probability that it meets every limit (1 or 0 when its costs were measured).
    p_feasible: float = 1.0


@dataclass(frozen=True)
class FrontPoint:
    """One architecture on the accuracy-cost Pareto front."""

    arch: Hashable
    text: str
    accuracy: float
    measured: bool
    #: The objective's hardware side, ``prod(quantity ** -exponent)`` (1 for accuracy alone).
    cost: float
    values: Mapping[str, float] = field(default_factory=dict)
    #: The objective's value, and the accuracy's standard deviation where it is predicted.
    objective: float = float("nan")
    std: float | None = None
