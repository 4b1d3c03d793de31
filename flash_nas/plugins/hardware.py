"""The interface every hardware plugin implements: :class:`HardwareModel` and the quantities it
may report. The analytical form most plugins build on is :class:`flash_nas.cost.LinearCostModel`.

Room: the plugin API. Imports the graph layer only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from flash_nas.graph.arch import ArchGraph
from flash_nas.graph.batch import GraphBatch

__all__ = ["QUANTITIES", "HardwareModel"]

#: The quantities a hardware model may report, with their units in the name.
QUANTITIES = ("latency_ms", "energy_mj", "area_mm2")


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
    #: Which of :data:`QUANTITIES` this model reports (a model whose quantities depend on its
    #: target, such as a table of one device's measurements, sets them per instance).
    quantities: tuple[str, ...] = ("latency_ms", "energy_mj")

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
