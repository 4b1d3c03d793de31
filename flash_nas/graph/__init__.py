"""The graph layer: one common form for every search space, and what is measured on it alone.

* :mod:`.arch` -- :class:`ArchGraph` (layers of cells of edges, each an :class:`Op`);
* :mod:`.structure` -- which edges are live, which a device executes, shapes, MACs, FLOPs;
* :mod:`.batch` -- whole spaces as arrays (:class:`GraphBatch` and its forms);
* :mod:`.metrics` -- training-free metrics (NN-Degree first, NN-Mass, parameters, FLOPs).

Room rule: imports :mod:`flash_nas.errors` and nothing else of flash-nas; every later stage
stands on this one.
"""

from __future__ import annotations

from flash_nas.graph.arch import LAYER_KINDS, ArchGraph, Cell, Edge, Layer, Op, Tensor

__all__ = ["LAYER_KINDS", "ArchGraph", "Cell", "Edge", "Layer", "Op", "Tensor"]
