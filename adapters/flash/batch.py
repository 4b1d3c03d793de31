"""Whole batches of FLASH-space architectures as arrays: closed-form metrics, per-part sums.

The room of :class:`FlashBatch`, the batch a
:class:`~flash_nas_adapters.flash.space.FlashSpaceAdapter` hands out; its numbers come from
:mod:`~flash_nas_adapters.flash.formulas` and :mod:`~flash_nas_adapters.flash.part_sums`
through the adapter.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from flash_nas import ArchGraph, GraphBatch
from flash_nas_adapters.flash.bulk import batch_texts
from flash_nas_adapters.flash.encoding import CellConfig, FlashArch
from flash_nas_adapters.flash.formulas import CellArrays
from flash_nas_adapters.flash.part_sums import EdgeCounter

if TYPE_CHECKING:  # for annotations only: the adapter's module imports this one
    from flash_nas_adapters.flash.space import FlashSpaceAdapter

__all__ = ["FlashBatch"]


class FlashBatch(GraphBatch):
    """Architectures of one :class:`FlashSpaceAdapter`: ``configs``, an int array of shape
    ``(n, n_cells, 3)`` holding (width, depth, skips) per cell.

    ``nn_degree``, ``nn_degree_neuron``, ``nn_mass``, ``params``, ``macs``, ``flops`` and
    ``activations`` come in closed form for every block, so scoring 100,000 architectures builds
    no graph; any other metric returns None and is scored graph by graph.
    """

    def __init__(self, adapter: FlashSpaceAdapter, configs: Any) -> None:
        self.adapter = adapter
        self.configs = adapter.check_configs(configs)

    def __len__(self) -> int:
        return len(self.configs)

    def arch(self, position: int) -> FlashArch:
        return tuple(CellConfig(*map(int, row)) for row in self.configs[position])

    def slice(self, start: int, stop: int) -> FlashBatch:
        return FlashBatch(self.adapter, self.configs[start:stop])

    def graph(self, position: int) -> ArchGraph:
        return self.adapter.to_graph(self.arch(position))

    def arch_text(self, position: int) -> str:
        return self.adapter.format(self.arch(position))

    def texts(self) -> list[str]:
        """Every canonical text at once (formatting 10^5 one by one took 4 s): see
        :func:`~flash_nas_adapters.flash.bulk.batch_texts`, or one %-format per row where its
        tables would be too large."""
        fast = batch_texts(self.adapter.block, self.configs)
        if fast is not None:
            return fast
        n_cells = self.adapter.n_cells
        numbers = ",".join(["%d"] * n_cells)
        form = f"{self.adapter.block}:w={numbers};d={numbers};t={numbers}"
        columns = self.configs.transpose(0, 2, 1).reshape(len(self), 3 * n_cells)
        texts: list[str] = []
        for start in range(0, len(self), 65_536):  # chunks: tolist() of all rows is ~200 MB
            texts += [form % row for row in map(tuple, columns[start : start + 65_536].tolist())]
        return texts

    @cached_property
    def _cells(self) -> CellArrays:
        return self.adapter._cell_arrays(self.configs)

    @cached_property
    def _closed_forms(self) -> dict[str, np.ndarray]:
        """The closed forms computed so far, by name."""
        return {}

    def fast_metric(self, name: str) -> np.ndarray | None:
        # Every node of a FLASH cell is written by a conv, so both node rules agree.
        if name == "nn_degree_computing":
            name = "nn_degree"
        if name not in self._closed_forms:
            found = self.adapter._metric_arrays(self._cells, [name])
            if name not in found:
                return None
            self._closed_forms[name] = found[name]
        return self._closed_forms[name]

    def edge_sums(self, count: EdgeCounter, size: int, *, executed: bool = False) -> np.ndarray:
        """Per architecture, the sum of ``count(edge)`` over its edges, without building graphs.

        A FLASH network is a chain of parts (stem, cells, transitions, head) and has no zero
        edge, so every edge is live and executed (``executed`` changes nothing), and the sum
        is a sum over parts; a cell is in turn the sum
        of its layers. Each distinct part -- a layer by its cell, position, width and the skips
        entering it, a transition by the cells it joins... -- is built once with the adapter's
        own builders (those of :meth:`FlashSpaceAdapter.to_graph`), and its sum is remembered
        per ``count`` (the adapter keeps the last few). ``count`` must therefore be a pure
        function of its edge, as a hardware model's ``edge_events`` is.
        """
        return self.adapter._edge_sums(self.configs, count, size)
