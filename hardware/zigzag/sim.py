"""ZigZag, KU Leuven's accelerator simulator (``zigzag-dse``), as a flash-nas hardware model.

FLASH checked its analytical in-memory-computing (IMC) models against architecture-level
simulation; here ZigZag plays that part. It is slow (a loop-order search per layer), so it is the
ground truth a fast model is fitted to, not a search-time objective.

Targets. ``--hardware zigzag:VARIANT`` names a hardware description shipped with ZigZag under
``zigzag/inputs/hardware`` (``aimc``: analog IMC, 128x128 cells; ``dimc``: digital IMC;
``tpu_like``: 32x32 systolic array; ``edge_tpu_like``, ``eyeriss_like``, ``ascend_like``,
``tesla_npu_like``, ``meta_prototype``...), each with the mapping ZigZag ships for it
(``default_imc.yaml`` for IMC, ``default.yaml`` where none is shipped). These defaults are
ZigZag's own files (KU Leuven, MIT licence), not ours; ``hardware_yaml=`` / ``mapping_yaml=`` take
a user's own. IMC hardware reports latency, energy and area (ZigZag models the macro's clock
period and area); the other targets report latency and energy only.

What is simulated: every executed conv and linear layer at batch size 1 (pooling, the adds of
sum nodes, concatenation, batch norm and activations are not costed, as in ZigZag itself); a
grouped conv on IMC hardware is simulated as the crossbar stores it, block-diagonal
(``imc_groups="block_diagonal"``, the default; ``"zigzag"`` keeps ZigZag's own far slower
answer). The details are in :mod:`flash_nas_hardware.zigzag.workload`.

Speed and its price. Layers are simulated one at a time and cached by their shape (in memory
always; on disk in ``cache_dir`` when given, keyed by the zigzag version, the hashes of the
hardware and mapping files, ``lpf_limit`` and the layer), so a network costs one simulation per
layer shape it has not met before. The sum over layers equals a whole-network run of the same
stages (checked on a NAS-Bench-201 network), but only because ZigZag's inter-layer data-locality
stages are off, and evaluating layers one at a time needs them off on IMC. Those stages (which
ZigZag's API turns on for IMC) keep activations on chip between layers: they moved single IMC
layers by 11--35 % and cut a whole NAS-Bench-201 network's energy by about a third on ``aimc``.
So these are the costs of layers that read their inputs from and write their outputs to DRAM.
The loop-order search is lowered with ``lpf_limit`` (ZigZag's default is 6; here 4 on IMC, where
2 moved results by 15--30 %, and 2 on arrays). The pipeline is built from ZigZag's stages without
its saving and visualisation stages, so nothing is written to ``./outputs`` and the root logger
is left alone (ZigZag's API sets it to INFO); ZigZag's own loggers are kept to errors while it
runs. Written against zigzag-dse 3.9.1; another version gives a warning.

Where the parts live: the workload (graph layers to ZigZag layers, grouped convs stored
block-diagonally) in :mod:`flash_nas_hardware.zigzag.workload`; running ZigZag (its import,
files and stages, the process pool) in :mod:`flash_nas_hardware.zigzag.driver`; the per-layer
cache in :mod:`flash_nas_hardware.zigzag.cache`; the :class:`ZigZagModel` plugin in
:mod:`flash_nas_hardware.zigzag.model`. This module is the entry point that registers it, and
the names it has always offered stay importable from here.
"""

from __future__ import annotations

from typing import Any

import flash_nas
from flash_nas_hardware.zigzag.driver import ZIGZAG_VERSION, shipped_variants
from flash_nas_hardware.zigzag.model import ZigZagModel
from flash_nas_hardware.zigzag.workload import ZigZagLayer, graph_layers

__all__ = [
    "ZIGZAG_VERSION",
    "ZigZagLayer",
    "ZigZagModel",
    "graph_layers",
    "register_hardware",
    "shipped_variants",
]


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("zigzag", ZigZagModel)
