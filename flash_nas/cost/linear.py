"""FLASH's analytical hardware form, :class:`LinearCostModel`: each quantity is a sum, over
the edges the device executes (:func:`~flash_nas.graph.metrics.executed_edges`), of *events*
(MACs of a kind, bytes moved, crossbar reads, layers...) times a non-negative *cost per event*
(seconds per MAC, joules per byte...). Costs are named, documented coefficients with their
sources; a profile (JSON, :mod:`flash_nas.cost.profile`) replaces them with values fitted to
measurements (:mod:`flash_nas.cost.calibration`). Because every quantity is linear in the costs,
refitting is a non-negative least-squares problem, and scoring a batched space is one array
operation per event.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from flash_nas.cost.profile import Profile, check_cost, load_profile
from flash_nas.errors import FlashNasError, ParameterError
from flash_nas.graph import ArchGraph
from flash_nas.graph.batch import GraphBatch
from flash_nas.graph.structure import (
    EdgeShape,
    edge_sums,
    executed_edges,
    live_edges,
    op_flops,
    op_macs,
)
from flash_nas.plugins.hardware import HardwareModel

__all__ = [
    "SCALE_SPREAD",
    "Coefficient",
    "EdgeShape",
    "LinearCostModel",
    "edge_sums",
    "executed_edges",
    "live_edges",
    "op_flops",
    "op_macs",
]

#: The log-space spread of an uncalibrated model's overall scale on a device it was not written
#: for: a factor of ten either way at 95 % (ln 10 / 1.96). The six HW-NAS-Bench devices' median
#: latencies on NAS-Bench-201 span more than that, and `pi3b`'s fastest cell (2.4 ms) is about
#: four times slower than the Edge TPU's 10 % quantile (0.61 ms).
SCALE_SPREAD = math.log(10.0) / 1.96


@dataclass(frozen=True)
class Coefficient:
    """A cost per event: which quantity it adds to, its unit, default value and where it is from."""

    name: str
    quantity: str
    unit: str
    default: float
    source: str


class LinearCostModel(HardwareModel):
    """quantity = sum over executed edges of events x cost per event (plus per-network events).

    Subclasses declare :attr:`coefficients` and implement :meth:`edge_events`, which counts, for
    one edge, the events each coefficient prices (in the same order). The edges are those the
    device runs (:func:`executed_edges`: a node fed by ``none`` edges only holds computed zeros
    and the convs behind it run; cut-off cells are dropped); a zero op reaches
    :meth:`edge_events` too. :meth:`network_events` counts events that belong to the whole
    network (one inference's fixed overhead).

    ``__init__(profile=None, **costs)``: start from the defaults, replace them with a profile's
    fitted values, then with explicit keyword costs (by coefficient name).
    """

    coefficients: ClassVar[tuple[Coefficient, ...]] = ()
    #: Quantities the model defines through another one: ``{derived: (source, how)}``, e.g. the
    #: Pi-3B's energy = board power x latency. Calibrating ``source`` alone carries into
    #: ``derived`` (:meth:`derive_costs`), so a profile never mixes fitted and default halves.
    derived_quantities: ClassVar[dict[str, tuple[str, str]]] = {}
    file_options: ClassVar[tuple[str, ...]] = ("profile",)
    #: A profile the model ships, fitted on its reference device rather than on the one a user
    #: searches for: with it, as with no profile, the model's scale stays in doubt
    #: (:meth:`prior_scale_spread`).
    reference_profile: ClassVar[Path | None] = None

    def __init__(self, profile: str | Path | Profile | None = None, **costs: float) -> None:
        self.costs = np.array([coefficient.default for coefficient in self.coefficients])
        self.profile: Profile | None = None
        self._reference = profile is None or (
            isinstance(profile, (str, Path))
            and self.reference_profile is not None
            and Path(profile).resolve() == self.reference_profile.resolve()
        )
        if profile is not None:
            self.profile = profile if isinstance(profile, Profile) else load_profile(profile)
            self.profile.check_model(self)
            self.set_costs(self.profile.costs)
        self.set_costs(costs)

    def structure_parameters(self) -> dict[str, Any]:
        """Parameters that change the events (crossbar size...): a profile fitted under one
        structure does not apply to another. Models with such parameters override this."""
        return {}

    @classmethod
    def coefficient_names(cls) -> list[str]:
        return [coefficient.name for coefficient in cls.coefficients]

    def set_costs(self, costs: Mapping[str, Any]) -> None:
        """Replace named costs; unknown names, and values that are no number (a bool), negative,
        non-finite or so large they overflow (:func:`~flash_nas.cost.profile.check_cost`), are
        errors."""
        names = self.coefficient_names()
        for name, value in costs.items():
            if name not in names:
                raise FlashNasError(
                    f"{type(self).__name__} has no cost coefficient {name!r}; expected one of "
                    f"{', '.join(names)}."
                )
            self.costs[names.index(name)] = check_cost(
                value, name, owner=type(self).__name__, error=ParameterError
            )

    def prior_log_spread(self, quantity: str) -> float:
        """The spread the profile's own fit measured (its MAPE on rows it was not fitted on,
        as a log-space standard deviation: ``MAPE * sqrt(pi / 2)`` for normal errors), for the
        quantity or the one it derives from; else the class's :attr:`log_spread`."""
        source = self.derived_quantities.get(quantity, (quantity, ""))[0]
        fits = self.profile.fit if self.profile is not None else {}
        fit = fits.get(quantity) or fits.get(source)
        if fit is not None and math.isfinite(fit.mape):
            return float(fit.mape) * math.sqrt(math.pi / 2)
        return float(self.log_spread)

    def prior_scale_spread(self, quantity: str) -> float:
        """:data:`SCALE_SPREAD` with the model's own costs or its shipped
        :attr:`reference_profile` (they describe its reference device, and the device searched
        for may be several times faster or slower); 0 with any other profile, taken as fitted
        on measurements of the device searched for."""
        return SCALE_SPREAD if self._reference else 0.0

    def cost(self, name: str) -> float:
        return float(self.costs[self.coefficient_names().index(name)])

    def derive_costs(self, quantity: str, costs: Mapping[str, float]) -> dict[str, float]:
        """The costs of ``quantity``, one of :attr:`derived_quantities`, computed from ``costs``
        (every coefficient by name, its source's freshly fitted). Models that declare derived
        quantities override this."""
        raise NotImplementedError(f"{type(self).__name__} derives no quantity {quantity!r}.")

    @abstractmethod
    def edge_events(self, edge: EdgeShape) -> Sequence[float] | np.ndarray:
        """Events of one executed edge, one count per coefficient (zero where it does not
        apply). ``edge.op`` may be a zero op: a multiplication by zero the device runs."""

    def network_events(self, graph: ArchGraph | None = None) -> Sequence[float] | np.ndarray:
        """Events of a whole network beyond its edges (default: none).

        Called with ``graph=None`` for batches, so it must not depend on the architecture.
        """
        return np.zeros(len(self.coefficients))

    # -------------------------------------------------------------------------- evaluation
    def events(self, graph: ArchGraph) -> np.ndarray:
        """Event counts of one network, one per coefficient."""
        size = len(self.coefficients)
        events = edge_sums(graph, self.edge_events, size, executed=True)
        return events + np.asarray(self.network_events(graph))

    def events_batch(self, batch: GraphBatch) -> np.ndarray:
        """Event counts of every architecture: shape ``(n, n_coefficients)``."""
        size = len(self.coefficients)
        events = batch.edge_sums(self.edge_events, size, executed=True)
        return events + np.asarray(self.network_events(None))

    def from_events(self, events: np.ndarray) -> dict[str, np.ndarray]:
        """Quantities from event counts (any leading shape)."""
        out = {}
        for quantity in self.quantities:
            mask = np.array([c.quantity == quantity for c in self.coefficients])
            out[quantity] = events[..., mask] @ self.costs[mask]
        return out

    def estimate(self, graph: ArchGraph) -> dict[str, float]:
        return {name: float(value) for name, value in self.from_events(self.events(graph)).items()}

    def estimate_batch(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        return self.from_events(self.events_batch(batch))
