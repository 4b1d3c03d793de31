"""ReRAM in-memory-computing accelerator: FLASH's fast analytical IMC model.

By default weights stay in ReRAM crossbars (weight-stationary, one set of crossbars per layer,
no reuse of crossbars between layers; a *finite-array mode* below time-multiplexes layers onto
a fixed number of crossbars instead), in the style of NeuroSim (Peng, Yu et al.) and SIAM (Krishnan,
Mandal, ..., Ogras, Cao, "SIAM: Chiplet-based Scalable In-Memory Acceleration with Mesh for
Deep Neural Networks", ACM TECS 2021). Every live edge of the network is broken into *events*,
each priced by one named coefficient (:class:`flash_nas.cost.linear.LinearCostModel`), so every
quantity is linear in the costs and can be refitted to a simulator or a chip
(:mod:`flash_nas.cost.calibration`). The *structure* (crossbar size, precisions, ADCs, tiles, mesh)
is set by constructor arguments and changes the event counts; the *costs* per event are the
model's coefficients.

Where the parts live: the structure and its presets (``imc:aimc``, ``imc:dimc``) in
:mod:`flash_nas_hardware.imc.structure`; **mapping a conv or linear layer** onto crossbars
(rows for its unrolled receptive field, columns for its output channels and weight bits,
groups packed block-diagonally, tiles, ADCs) and **running it** (bit-serial inputs, read
cycles, ADC rounds) in :mod:`flash_nas_hardware.imc.mapping`; the default costs and their
sources in :mod:`flash_nas_hardware.imc.costs`. This module counts the events and is the
:class:`ImcModel` plugin.

**Events**, summed over the live edges (every quantity is events x costs):

==============  =============================================================  =============
event           counted per conv/linear layer (``g`` groups)                   priced in
==============  =============================================================  =============
crossbar        crossbars                                                      area
ADC bit         ADCs x ``adc_bits`` (SAR ADCs: about linear in resolution)     area
tile            tiles                                                          area
read cycle      positions x input bit cycles                                   latency
ADC bit-cycle   read cycles x rounds x ``adc_bits`` (a SAR decides a bit a     latency
                cycle)
row read        read cycles x rows driven, ``g * rows * column blocks``        energy
conversion bit  read cycles x columns converted, ``g * columns * row blocks``  energy
                x ``adc_bits``
buffer byte     bytes read or written in the tile buffers (below)              latency, energy
NoC byte-hop    bytes sent x the hops they travel (below)                      latency, energy
digital op      activations, pooling windows, global-pooling adds, sums        latency, energy
==============  =============================================================  =============

* **Buffers**: a conv/linear layer reads its input once (the tile's input registers reuse it
  across the kernel window) and writes its output; pooling reads its input and writes its
  output. A live edge into a ``concat`` node copies its channels (read + write), a live edge
  into a ``sum`` node adds one accumulate pass (read the running sum, write it back, one add per
  value). Edges see only themselves, so the first edge into a sum node also pays that pass.
* **Interconnect**: tiles sit on a square mesh, ``tiles_per_router`` to a router. A layer's
  output is gathered across its own ``n = ceil(tiles / tiles_per_router)`` routers, placed as a
  ``k x k`` block with ``k = ceil(sqrt(n))``, and sent one hop on to the next layer's tiles, which
  SIAM places next to it: ``hops = 1 + 2 (k**2 - 1) / (3 k)``, the second term being the mean
  Manhattan distance between two uniformly random routers of a ``k x k`` mesh (about
  ``2/3 sqrt(n)``; 0 for one router). Outputs of ops without crossbars (identity, pooling)
  travel one hop. SIAM's own traces send every source tile's packets to every destination
  tile, which couples neighbouring layers; this edge-local form keeps the model additive.
* **Batch norm is folded** into the neighbouring conv's weights and bias at inference: no
  events. (A pre-activation BN, before a ReLU, cannot fold into the conv after it; we count its
  per-channel scale and shift as part of the producing layer's digital post-processing.)
  Activations are applied by the tile's digital unit as values stream past (digital ops, no
  extra buffer traffic).
* Not modelled: leakage, weight programming (weights are written once, before inference),
  off-chip DRAM (every weight is on chip), pipelining across layers. (The finite-array mode
  below models weight writes and off-chip traffic.)

**Finite-array mode** (``arrays=N``; the default ``arrays=None`` is the weight-stationary
accelerator above). The accelerator has ``N`` crossbars, shared by every layer in turn, as in
ZigZag's ``aimc``/``dimc`` (one 128 x 128 macro) and most fabricated IMC macros, and an
activation buffer of ``buffer_kib`` KiB that stages one layer at a time; activations between
layers are kept off chip (our assumption, and what ZigZag simulates when it costs layers one
by one). A layer whose mapping needs ``crossbars`` runs in ``passes = ceil(crossbars /
arrays)`` passes, one set of arrays after the other, and its weights are written into the
arrays before each:

* **read cycles** and the ADCs' time multiply by ``passes``; row reads and conversions do not
  change (every crossbar is still read once per output position and input bit cycle, only no
  longer all at the same time);
* **weight bytes**: the bits a layer's weights occupy on its crossbars, ``groups x rows x
  columns x bits_per_cell / 8``, written once per inference (the arrays hold other layers'
  weights in between) and once more per extra *chunk* (below). Writing is serial: an array
  being written does not compute;
* **chunks**: a layer of several passes keeps its inputs and the partial sums of its outputs
  (``2 x activation_bits`` wide) in the buffer between passes. When they do not fit in *half*
  of it (double-buffered: the next chunk's inputs arrive in the other half, ZigZag's own rule
  for overlapping transfers with compute), its output rows are split into ``chunks`` groups,
  each of the most rows that fit, and each group runs every pass before the next: the weights
  are written ``chunks`` times, and the ``kernel - stride`` input rows two neighbouring chunks
  share are read twice. A layer of one pass streams its outputs and needs no chunks;
* **schedule**: chunks are one of two memory schedules. In the other, every pass runs over all
  output positions, so each weight is written once, but the partial sums of the passes over a
  layer's rows (its input channels) stay in the buffer only if they fit in the *whole* of it;
  otherwise they go off chip and come back between row passes, ``2 x (row blocks - 1) x
  partial-sum bytes``. Each layer takes the schedule that moves fewer off-chip bytes (weights
  written plus spilled partial sums or re-read rows), as ZigZag's loop-order search, minimising
  energy that DRAM traffic dominates, does: per layer its weight loads match one schedule or
  the other (the ``imc_zigzag`` benchmark part; chunks alone left FLASH-space networks at 14 %
  MAPE);
* **off-chip bytes**: what a crossbar layer reads and writes off chip: its inputs and outputs
  (instead of buffer bytes) plus the shared input rows read again, ``(chunks - 1) x (kernel -
  stride) x width x in_channels`` activations, or the spilled partial sums. Pooling, sums
  and concatenation stay buffer traffic;
* **stall cycles**: off-chip transfers overlap computing (double-buffered); the arrays wait
  only for the rest, ``max(0, off-chip bytes / offchip_bytes_per_cycle - read cycles)``;
* **area** is the fixed accelerator's, the same for every network (a per-network event, not
  an edge's): ``arrays`` crossbars, their ADCs and ``ceil(arrays / crossbars_per_tile)``
  tiles. A layer's output is gathered across the tiles it uses at a time
  (``ceil(min(crossbars, arrays) / crossbars_per_tile)``).

==============  =============================================================  =============
event           counted per conv/linear layer in finite-array mode             priced in
==============  =============================================================  =============
read cycle      passes x positions x input bit cycles                          latency
weight byte     weight bytes x chunks (x 1 in the weights-once schedule)       latency, energy
off-chip byte   input and output bytes + input rows read again or partial      energy
                sums spilled
stall cycle     off-chip transfer cycles not hidden behind read cycles         latency
==============  =============================================================  =============

With the default costs a layer's latency is ``max(read cycles, transfer cycles) + weight bytes
/ 8`` read cycles: it grows with the layer's size now, through its passes, its weights and its
traffic, where a weight-stationary layer's does not.

Consequences worth knowing: in the weight-stationary mode a layer's latency does not depend
on its kernel or channel count (its crossbars work in parallel), only on its output positions
and, through the ADC rounds, on how full its crossbars are; wider layers cost area and energy
instead. For one structure every crossbar has the same ADCs, so the crossbar and ADC-bit area
events are proportional: a calibration can fit their sum but not split it (non-negative least
squares keeps one of the two and zeroes the other). In the finite-array mode the area is one
constant per structure: a calibration matches it but cannot split it among its parts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

import flash_nas
from flash_nas import ArchGraph, Layer, NotSupportedError, UnknownNameError
from flash_nas.cost.linear import LinearCostModel
from flash_nas.graph.structure import EdgeShape
from flash_nas.validation import ParameterError
from flash_nas_hardware.imc.costs import EVENTS, PRICED_EVENTS, PRICES
from flash_nas_hardware.imc.mapping import CrossbarMapping, map_layer, mesh_hops
from flash_nas_hardware.imc.structure import FINITE_ONLY, PRESETS, ImcStructure

# The names importable from here before the cost table, the structure and the mapping moved
# to modules of their own stay importable from here.
__all__ = [
    "EVENTS",
    "PRESETS",
    "CrossbarMapping",
    "Events",
    "ImcModel",
    "ImcStructure",
    "map_layer",
    "mesh_hops",
    "register_hardware",
]


# ---------------------------------------------------------------------- events per layer kind
Events = dict[str, float]
_LayerCounter = Callable[[ImcStructure, Layer, int, int, int, int], Events]


def _crossbar_layer(s: ImcStructure, layer: Layer, h: int, w: int, oh: int, ow: int) -> Events:
    m = map_layer(s, layer, oh, ow, w)
    out_bytes = layer.out_channels * oh * ow * s.activation_bytes
    # Every crossbar is read once per output position and input bit cycle, in one pass or many.
    reads = m.positions * s.bit_cycles
    events = {
        "read_cycles": m.read_cycles,
        "adc_bit_cycles": m.read_cycles * m.adc_rounds * s.adc_bits,
        "row_reads": reads * m.row_reads,
        "conversion_bits": reads * m.conversions * s.adc_bits,
        "buffer_bytes": layer.in_channels * h * w * s.activation_bytes + out_bytes,
        "noc_byte_hops": out_bytes * m.hops,
    }
    if s.finite:  # inputs and outputs live off chip; the arrays' area is the network's
        offchip = events.pop("buffer_bytes") + m.reread_bytes + m.spill_bytes
        events["weight_bytes"] = m.weight_bytes
        events["offchip_bytes"] = offchip
        events["stall_cycles"] = max(0.0, offchip / s.offchip_bytes_per_cycle - m.read_cycles)
    else:
        events.update(crossbars=m.crossbars, adc_bits=m.adcs * s.adc_bits, tiles=m.tiles)
    return events


def _pooling(s: ImcStructure, layer: Layer, h: int, w: int, oh: int, ow: int) -> Events:
    outputs = layer.out_channels * oh * ow
    return {
        "buffer_bytes": (layer.in_channels * h * w + outputs) * s.activation_bytes,
        "digital_ops": outputs * layer.kernel * layer.kernel,
    }


def _global_pooling(s: ImcStructure, layer: Layer, h: int, w: int, oh: int, ow: int) -> Events:
    inputs = layer.in_channels * h * w
    return {
        "buffer_bytes": (inputs + layer.out_channels) * s.activation_bytes,
        "digital_ops": inputs,
    }


def _activation(s: ImcStructure, layer: Layer, h: int, w: int, oh: int, ow: int) -> Events:
    return {"digital_ops": layer.out_channels * oh * ow}


def _folded(s: ImcStructure, layer: Layer, h: int, w: int, oh: int, ow: int) -> Events:
    return {}


_CROSSBAR = ("conv", "linear")
_POOLING = ("avg_pool", "max_pool", "global_avg_pool")
_LAYER_EVENTS: dict[str, _LayerCounter] = {
    "conv": _crossbar_layer,
    "linear": _crossbar_layer,
    "avg_pool": _pooling,
    "max_pool": _pooling,
    "global_avg_pool": _global_pooling,
    "relu": _activation,
    "relu6": _activation,
    "hswish": _activation,
    "hsigmoid": _activation,
    "sigmoid": _activation,
    "silu": _activation,
    "bn": _folded,
    "flatten": _folded,  # a view: nothing moves
}


def _into_node(s: ImcStructure, values: int, combine: str, sent: bool) -> Events:
    """Delivering an edge's ``values`` to its node: a copy (concat) or an accumulate (sum).

    Outputs of identity and pooling ops (``sent`` False) also travel one hop to the consumer.
    """
    data = values * s.activation_bytes
    events = {"buffer_bytes": 2 * data, "noc_byte_hops": 0 if sent else data}
    if combine in ("sum", "mul"):  # an accumulate or a multiply per value
        events["digital_ops"] = values
    return events


# ----------------------------------------------------------------------------------- model
class ImcModel(LinearCostModel):
    """ReRAM crossbar accelerator: latency (ms), energy (mJ) and area (mm2) at batch size 1.

    ``ImcModel(profile=None, *, variant=None, <structure>, **costs)``: a structure preset by
    name (``variant="aimc"``; :data:`PRESETS`), then the structure parameters of
    :class:`ImcStructure` as keywords (``xbar_rows=256``, ``arrays=4``...), then the
    documented default costs, replaced by a calibrated profile's, then by explicit costs by name
    (``mj_per_adc_bit=...``).
    """

    description = (
        "ReRAM in-memory-computing accelerator (NeuroSim/SIAM style, 32 nm): crossbars, ADCs, "
        "tiles on a mesh NoC; weight-stationary, or a fixed number of arrays (imc:aimc, "
        "imc:dimc: ZigZag's); area, latency and energy from per-layer events"
    )
    quantities = ("latency_ms", "energy_mj", "area_mm2")
    coefficients = tuple(coefficient for _, coefficient in PRICES)

    def __init__(self, profile: Any = None, *, variant: str | None = None, **options: Any) -> None:
        fields = ImcStructure.__dataclass_fields__
        unknown = set(options) - set(fields) - set(self.coefficient_names())
        if unknown:
            raise ParameterError(
                f"ImcModel got unexpected keyword argument(s) {', '.join(sorted(unknown))}; it "
                f"takes variant, structure parameters ({', '.join(fields)}) and costs "
                f"({', '.join(self.coefficient_names())})."
            )
        if variant is not None and variant not in PRESETS:
            raise UnknownNameError(
                f"Unknown IMC preset {variant!r}; expected one of: {', '.join(PRESETS)} (e.g. "
                f"--hardware imc:aimc), or give the structure parameters yourself."
            )
        self.variant = variant
        self._preset = ImcStructure(**PRESETS[variant]) if variant else ImcStructure()
        given = {k: options.pop(k) for k in list(options) if k in fields}
        self.structure = ImcStructure(**{**vars(self._preset), **given})
        super().__init__(profile, **options)

    def structure_parameters(self) -> dict[str, Any]:
        parameters = dict(vars(self.structure))
        if not self.structure.finite:
            for name in FINITE_ONLY:
                del parameters[name]
        return parameters

    def __repr__(self) -> str:
        changed = [f"variant={self.variant!r}"] if self.variant else []
        changed += [
            f"{name}={value!r}"
            for name, value in vars(self.structure).items()
            if value != getattr(self._preset, name)
        ]
        return f"ImcModel({', '.join(changed)})"

    def network_events(self, graph: ArchGraph | None = None) -> np.ndarray:
        """In finite-array mode, the accelerator's own area: its arrays, ADCs and tiles."""
        totals = np.zeros(len(EVENTS))
        s = self.structure
        if s.arrays is not None:
            totals[EVENTS.index("crossbars")] = s.arrays
            totals[EVENTS.index("adc_bits")] = s.arrays * s.adcs_per_crossbar * s.adc_bits
            totals[EVENTS.index("tiles")] = math.ceil(s.arrays / s.crossbars_per_tile)
        return totals[PRICED_EVENTS]

    def map_layer(self, layer: Layer, height: int, width: int) -> CrossbarMapping:
        """The crossbar mapping of a conv or linear ``layer`` reading ``height x width``."""
        return map_layer(self.structure, layer, *layer.output_size(height, width), width)

    def layer_events(self, layer: Layer, height: int, width: int) -> Events:
        """Events of one layer reading ``height x width``, by event name (see :data:`EVENTS`)."""
        out_height, out_width = layer.output_size(height, width)
        counter = _LAYER_EVENTS.get(layer.kind)
        if counter is None:
            raise NotSupportedError(
                f"ImcModel has no events for layer kind {layer.kind!r}; it knows "
                f"{', '.join(_LAYER_EVENTS)}."
            )
        return counter(self.structure, layer, height, width, out_height, out_width)

    def edge_events(self, edge: EdgeShape) -> np.ndarray:
        totals = np.zeros(len(EVENTS))
        if edge.op.is_zero:
            return totals[PRICED_EVENTS]
        channels, height, width = edge.channels, edge.height, edge.width
        sent = False  # whether the last computing layer already sent its output over the NoC
        for layer in edge.op.layers:
            for event, count in self.layer_events(layer, height, width).items():
                totals[EVENTS.index(event)] += count
            if layer.kind in _CROSSBAR or layer.kind in _POOLING:
                sent = layer.kind in _CROSSBAR
            channels = layer.out_channels
            height, width = layer.output_size(height, width)
        values = channels * height * width
        for event, count in _into_node(self.structure, values, edge.dst.combine, sent).items():
            totals[EVENTS.index(event)] += count
        return totals[PRICED_EVENTS]


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("imc", ImcModel)
