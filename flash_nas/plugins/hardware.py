"""The interface every hardware plugin implements: :class:`HardwareModel`, which declares the
quantities it reports (:mod:`.quantities`). The analytical form most plugins build on is
:class:`flash_nas.cost.LinearCostModel`.

Room: the plugin API. Imports the graph layer and the quantities only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from flash_nas.graph.arch import ArchGraph
from flash_nas.graph.batch import GraphBatch
from flash_nas.plugins.quantities import ENERGY_MJ, LATENCY_MS, QUANTITIES, Quantity

__all__ = ["QUANTITIES", "HardwareModel", "Quantity"]


class HardwareModel(ABC):
    """Maps an ArchGraph to the cost of running it on one target.

    Subclasses set :attr:`quantities` and implement :meth:`estimate`. ``__init__`` takes the
    model's parameters as keyword arguments, all with defaults.
    """

    #: One line that ``flash-nas plugins`` shows.
    description: ClassVar[str] = ""
    #: The keyword options whose values are files the model reads (a profile, a table): the
    #: command line refuses an output that would overwrite one of them (``-H KEY=PATH``).
    file_options: ClassVar[tuple[str, ...]] = ()
    #: What this model reports: standard quantities by name (:data:`QUANTITIES`: latency_ms,
    #: energy_mj, area_mm2) or any other declared with its unit, e.g.
    #: ``Quantity("memory_mb", "MB", "peak memory")``; objectives and limits (``max_memory_mb``)
    #: may then name it. A model whose quantities depend on its target (a table of one device's
    #: measurements) sets them per instance.
    quantities: tuple[str, ...] = (LATENCY_MS, ENERGY_MJ)
    #: How far the model's predictions are expected to be from measurements on the device it
    #: describes, before any measurement: the standard deviation of ``log(measured /
    #: predicted)``. 0 (the default) takes the predictions as exact, as for a table of
    #: measurements; the search engine widens it from the measurements a search is told
    #: (:mod:`flash_nas.search.engine.cost_beliefs`), and judges limits with it.
    log_spread: ClassVar[float] = 0.0

    def prior_log_spread(self, quantity: str) -> float:
        """:attr:`log_spread` for one quantity (a model that knows better overrides this)."""
        return float(self.log_spread)

    def prior_scale_spread(self, quantity: str) -> float:
        """How far the model's overall scale may be from the device a search measures, before
        any measurement sets it: a log-space standard deviation. 0 (this default) takes the
        scale as the device's (a table of its measurements, a profile calibrated on it). The
        search engine reads it for one question only: whether measuring could bring an
        architecture within a limit that the model's own scale puts out of reach (a device
        several times faster than the one the model describes); feasibility never uses it."""
        return 0.0

    @abstractmethod
    def estimate(self, graph: ArchGraph) -> dict[str, float]:
        """Every quantity in :attr:`quantities` for one network at batch size 1."""

    def estimate_batch(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        """:meth:`estimate` for every architecture; override with a vectorized form."""
        columns = {name: np.empty(len(batch)) for name in self.quantities}
        for position, graph in enumerate(batch.iter_graphs()):
            for name, value in self.estimate(graph).items():
                columns[name][position] = value
        return columns
