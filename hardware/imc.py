"""ReRAM in-memory-computing accelerator: FLASH's fast analytical IMC model.

By default weights stay in ReRAM crossbars (weight-stationary, one set of crossbars per layer,
no reuse of crossbars between layers; a *finite-array mode* below time-multiplexes layers onto
a fixed number of crossbars instead), in the style of NeuroSim (Peng, Yu et al.) and SIAM (Krishnan,
Mandal, ..., Ogras, Cao, "SIAM: Chiplet-based Scalable In-Memory Acceleration with Mesh for
Deep Neural Networks", ACM TECS 2021). Every live edge of the network is broken into *events*,
each priced by one named coefficient (:class:`flash_nas.hardware.LinearCostModel`), so every
quantity is linear in the costs and can be refitted to a simulator or a chip
(:mod:`flash_nas.calibration`). The *structure* (crossbar size, precisions, ADCs, tiles, mesh)
is set by constructor arguments and changes the event counts; the *costs* per event are the
coefficients below.

**Mapping a conv or linear layer** (input ``C_in x H x W``, output ``C_out x H_o x W_o``, kernel
``k``, ``g`` groups; a linear layer is a 1x1 conv at one position):

* one group needs ``rows = k*k*C_in/g`` crossbar rows (its unrolled receptive field) and
  ``columns = C_out/g * ceil(weight_bits/bits_per_cell)`` columns (each weight spread over
  cells of ``bits_per_cell`` bits);
* a group larger than a crossbar is tiled over ``ceil(rows/xbar_rows) * ceil(columns/xbar_cols)``
  crossbars; groups small enough to share one are packed **block-diagonally**,
  ``min(xbar_rows // rows, xbar_cols // columns)`` to a crossbar (depthwise 3x3 convs: 14 per
  128x128 crossbar), the rest of the crossbar left empty. ``g = 1`` is the usual case;
* ``tiles = ceil(crossbars / crossbars_per_tile)``: a tile holds crossbars of one layer only;
* every crossbar has ``ceil(xbar_cols / columns_per_adc)`` ADCs, each shared by
  ``columns_per_adc`` columns through a multiplexer.

**Running it**: activations enter bit-serially, ``input_bits_per_cycle`` bits per read cycle, so
an output position takes ``ceil(activation_bits/input_bits_per_cycle)`` read cycles. The
crossbars of a layer work in parallel, so the layer takes ``positions x bit cycles`` read cycles
in sequence; in each, every ADC converts its used columns one after the other, so a read cycle
costs a read plus ``rounds`` conversions, ``rounds = ceil(used columns of the fullest crossbar /
ADCs per crossbar)`` (``columns_per_adc`` when a crossbar is full, fewer when a small layer
leaves columns empty: the multiplexer skips them). Layers run one after the other (batch 1, no
pipelining).

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
  the other (``benchmarks.imc_vs_zigzag``; chunks alone left FLASH-space networks at 14 % MAPE);
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

Presets (``ImcModel(variant="aimc")``, ``--hardware imc:aimc``) set the structure of ZigZag's
in-memory-computing descriptions, read from zigzag-dse 3.9.1's
``zigzag/inputs/hardware/{aimc,dimc}.yaml``: one macro (``arrays=1``) of 128 rows (``D2``) by
128 8-bit weights (``D1``), each weight in eight 1-bit cells (``cells: size 8``), so 1024
one-bit columns; 8-bit activations fed ``bit_serial_precision`` bits a cycle (2 on ``aimc``, 1
on ``dimc``); on ``aimc`` one ``adc_resolution`` = 8-bit ADC per 1-bit column (ZigZag counts
``weight_precision x wordline_dim_size`` ADCs), on ``dimc`` adder trees and no ADC
(``adc_bits=0``); and its ``sram_256KB`` activation buffer, which holds 262,144 *bits*
(ZigZag's memory sizes are in bits, its ``rf_1B`` register holds 8): ``buffer_kib=32``; its
DRAM port moves 64 bits a cycle: ``offchip_bytes_per_cycle=8``.
Explicit structure keywords override a preset's. Presets set the structure only: the costs
stay the 32 nm defaults until calibrated.

Consequences worth knowing: in the weight-stationary mode a layer's latency does not depend
on its kernel or channel count (its crossbars work in parallel), only on its output positions
and, through the ADC rounds, on how full its crossbars are; wider layers cost area and energy
instead. For one structure every crossbar has the same ADCs, so the crossbar and ADC-bit area
events are proportional: a calibration can fit their sum but not split it (non-negative least
squares keeps one of the two and zeroes the other). In the finite-array mode the area is one
constant per structure: a calibration matches it but cannot split it among its parts.

Default costs (32 nm) come from published component figures: ISAAC (Shafiee et al., ISCA 2016,
Table I: 128x128 2-bit ReRAM crossbars, 8-bit 1.2 GS/s SAR ADCs, 32 nm), as tabulated with
their derivations in the Accelergy hwcomponents library (``isaac.py``), from NeuroSim's and
SIAM's parameter files, and from the PUMA simulator's constants. Where a number had to be
assumed, its source says "assumption" and why. Calibrate against a simulator before trusting
absolute values; the defaults are for ranking architectures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import flash_nas
from flash_nas import ArchGraph, Layer, NotSupportedError, UnknownNameError
from flash_nas.hardware import Coefficient, EdgeShape, LinearCostModel

__all__ = ["EVENTS", "PRESETS", "CrossbarMapping", "ImcModel", "ImcStructure", "mesh_hops"]

_NS = 1e-6  # ms per ns
_PJ = 1e-9  # mJ per pJ

#: Event names: the keys of :meth:`ImcModel.layer_events`.
EVENTS = (
    "crossbars",
    "adc_bits",
    "tiles",
    "read_cycles",
    "adc_bit_cycles",
    "row_reads",
    "conversion_bits",
    "buffer_bytes",
    "noc_byte_hops",
    "digital_ops",
    "weight_bytes",
    "offchip_bytes",
    "stall_cycles",
)

# ISAAC Table I (32 nm): one IMA holds 8 crossbars of 128x128 2-bit cells, 8 x 128 1-bit DACs,
# 8 x 128 sample-and-holds, 4 shift-and-add units, a 2 KB input and a 256 B output register.
_ISAAC = "ISAAC (Shafiee et al., ISCA 2016) Table I, 32 nm"
_ACCELERGY = "Accelergy hwcomponents library, isaac.py"
_ZIGZAG_HW = "ZigZag 3.9.1 zigzag/inputs/hardware/aimc.yaml and dimc.yaml"

# (event priced, coefficient). The defaults show their arithmetic.
_PRICES: tuple[tuple[str, Coefficient], ...] = (
    (
        "crossbars",
        Coefficient(
            "mm2_per_crossbar",
            "area_mm2",
            "mm2/crossbar",
            0.0002 / 8 + 128 * 0.166e-6 + 0.00004 / 8 + (0.0021 + 0.00077 + 0.00024) / 8,
            f"{_ISAAC}: one 128x128 crossbar with its periphery, i.e. the array (0.0002 mm2 per "
            "8), 128 1-bit DACs (0.166 um2 each) and sample-and-holds (0.00004 mm2 per 8 x 128), "
            "and an eighth of an IMA's input register, output register and shift-and-add units "
            "(0.0021 + 0.00077 + 0.00024 mm2): 4.4e-4 mm2; ADCs are priced on their own",
        ),
    ),
    (
        "adc_bits",
        Coefficient(
            "mm2_per_adc_bit",
            "area_mm2",
            "mm2/(ADC x bit)",
            0.0012 / 8,
            f"{_ISAAC} and {_ACCELERGY}: an 8-bit 1.2 GS/s SAR ADC (Kull et al., ISSCC 2013, 32 "
            "nm SOI) takes 1200 um2, so 150 um2 per bit of resolution; linear in bits is our "
            "assumption (the scaled table there gives 361 um2 at 4 bits, so lower resolutions "
            "save more than this says)",
        ),
    ),
    (
        "tiles",
        Coefficient(
            "mm2_per_tile",
            "area_mm2",
            "mm2/tile",
            0.083 + 0.090 + 0.150 / 4 + 0.0041,
            f"{_ISAAC}: a tile's own parts, i.e. 64 KB eDRAM buffer (0.083 mm2), eDRAM bus "
            "(0.090), a quarter of a router shared by 4 tiles (0.150 / 4), and its max-pool, "
            "sigmoid, shift-and-add units and 3 KB output register (0.0041): 0.215 mm2",
        ),
    ),
    (
        "read_cycles",
        Coefficient(
            "ms_per_read_cycle",
            "latency_ms",
            "ms/read cycle",
            10 * _NS,
            "NeuroSim (DNN_NeuroSim V1.3) and SIAM Param.cpp: readPulseWidth = 10 ns; "
            "assumption that the read pulse sets the cycle, the ADCs' time being priced apart",
        ),
    ),
    (
        "adc_bit_cycles",
        Coefficient(
            "ms_per_adc_bit_cycle",
            "latency_ms",
            "ms/(conversion round x bit)",
            1 / 1.2e9 / 8 * 1e3,
            f"{_ACCELERGY}: one 8-bit conversion takes 1 / 1.2 GHz = 0.83 ns (ISAAC's SAR ADC), "
            "0.104 ns per bit decided",
        ),
    ),
    (
        "row_reads",
        Coefficient(
            "mj_per_row_read",
            "energy_mj",
            "mJ/(row x read cycle)",
            (0.417 + 0.3 * 100 / 128) * _PJ,
            f"{_ISAAC} and {_ACCELERGY}: driving one row for one input bit costs 0.417 pJ in its "
            "1-bit DAC, and the array draws 0.3 mW over a 100 ns read, 0.234 pJ per row of 128: "
            "0.65 pJ",
        ),
    ),
    (
        "conversion_bits",
        Coefficient(
            "mj_per_adc_bit",
            "energy_mj",
            "mJ/(conversion x bit)",
            1.667 / 8 * _PJ,
            f"{_ACCELERGY}: ISAAC's 8-bit SAR ADC spends 16 mW / (8 x 1.2 GS/s) = 1.67 pJ per "
            "conversion, 0.21 pJ per bit (its resolution table scales nearly linearly: 0.79 pJ "
            "at 4 bits)",
        ),
    ),
    (
        "buffer_bytes",
        Coefficient(
            "ms_per_buffer_byte",
            "latency_ms",
            "ms/byte",
            1 / 32 * _NS,
            f"{_ACCELERGY}: ISAAC's eDRAM buffer has a 256-bit port; assumption of one access "
            "per 1 ns cycle (NeuroSim's and SIAM's 1 GHz clock), 32 bytes/ns",
        ),
    ),
    (
        "buffer_bytes",
        Coefficient(
            "mj_per_buffer_byte",
            "energy_mj",
            "mJ/byte",
            20.45 / 32 * _PJ,
            f"{_ACCELERGY}: 20.45 pJ per 256-bit eDRAM read or write (ISAAC's 64 KB tile "
            "buffer), 0.64 pJ per byte",
        ),
    ),
    (
        "noc_byte_hops",
        Coefficient(
            "ms_per_noc_byte_hop",
            "latency_ms",
            "ms/(byte x hop)",
            1 / 4 * _NS,
            "SIAM's mesh NoC (BookSim config: channel_width = 32 bits) at its 1 GHz clock: 4 "
            "bytes/ns per link; assumption that each hop serialises the bytes (an upper bound: "
            "wormhole routing overlaps hops)",
        ),
    ),
    (
        "noc_byte_hops",
        Coefficient(
            "mj_per_noc_byte_hop",
            "energy_mj",
            "mJ/(byte x hop)",
            20.74 / 32 * _PJ,
            f"{_ACCELERGY}: 20.74 pJ per 256 bits through ISAAC's router (42 mW, shared by 4 "
            "tiles), 0.65 pJ per byte and hop",
        ),
    ),
    (
        "digital_ops",
        Coefficient(
            "ms_per_digital_op",
            "latency_ms",
            "ms/op",
            1 / 16 * _NS,
            "assumption: a 16-lane digital unit per tile at 1 GHz (NeuroSim's and SIAM's "
            "clock); no published figure for this unit's width",
        ),
    ),
    (
        "digital_ops",
        Coefficient(
            "mj_per_digital_op",
            "energy_mj",
            "mJ/op",
            0.373 * 32 / 45 * _PJ,
            "PUMA simulator (Ankit et al., ASPLOS 2019) constants.py: ALU add/compare/ReLU at "
            "0.373 mW for 1 ns at 45 nm, scaled by 32/45 to 32 nm: 0.27 pJ per op",
        ),
    ),
    (
        "weight_bytes",
        Coefficient(
            "ms_per_weight_byte",
            "latency_ms",
            "ms/byte",
            10 / 8 * _NS,
            f"{_ZIGZAG_HW}: weights reach the cells from DRAM over a 64-bit port, one word a "
            "cycle (offchip_bytes_per_cycle = 8); assumption that the cycle is a read cycle "
            "(10 ns, as ms_per_read_cycle) and that an array being written does not compute",
        ),
    ),
    (
        "weight_bytes",
        Coefficient(
            "mj_per_weight_byte",
            "energy_mj",
            "mJ/byte",
            (700 / 8 + 0.095) * _PJ,
            f"{_ZIGZAG_HW}: a 64-bit DRAM read costs 700 pJ (87.5 pJ per byte) and writing an "
            "8-bit weight into its cells 0.095 pJ: 87.6 pJ per byte; assumption: ReRAM cells "
            "cost more to program (no figure for ISAAC's), so this is a lower bound there",
        ),
    ),
    (
        "stall_cycles",
        Coefficient(
            "ms_per_stall_cycle",
            "latency_ms",
            "ms/cycle",
            10 * _NS,
            "assumption: the arrays wait whole read cycles (10 ns, NeuroSim's and SIAM's "
            "readPulseWidth, as ms_per_read_cycle) for off-chip transfers compute cannot hide",
        ),
    ),
    (
        "offchip_bytes",
        Coefficient(
            "mj_per_offchip_byte",
            "energy_mj",
            "mJ/byte",
            700 / 8 * _PJ,
            f"{_ZIGZAG_HW}: a 64-bit DRAM read costs 700 pJ, 87.5 pJ per byte",
        ),
    ),
)


#: Position in :data:`EVENTS` of the event each coefficient prices.
_PRICED_EVENTS = np.array([EVENTS.index(event) for event, _ in _PRICES])


# ------------------------------------------------------------------------------- structure
#: Structure parameters only the finite-array mode uses (left out of a weight-stationary
#: model's :meth:`ImcModel.structure_parameters`, so its profiles stay as they were).
_FINITE_ONLY = ("arrays", "buffer_kib", "offchip_bytes_per_cycle")


@dataclass(frozen=True)
class ImcStructure:
    """The accelerator's organisation: what changes the event counts, not their costs.

    ``arrays=None``: weight-stationary, every layer on crossbars of its own; ``arrays=N``: one
    accelerator of ``N`` crossbars that every layer is time-multiplexed onto, with an
    activation buffer of ``buffer_kib`` KiB (module docstring). ``adc_bits=0``: digital IMC,
    adder trees instead of ADCs.
    """

    xbar_rows: int = 128
    xbar_cols: int = 128
    bits_per_cell: int = 2
    weight_bits: int = 8
    activation_bits: int = 8
    input_bits_per_cycle: int = 1
    adc_bits: int = 8
    columns_per_adc: int = 8
    crossbars_per_tile: int = 16
    tiles_per_router: int = 1
    arrays: int | None = None
    # ISAAC Table I: each tile's eDRAM buffer holds 64 KB.
    buffer_kib: int = 64
    # ZigZag's aimc/dimc DRAM port: 64 bits a cycle.
    offchip_bytes_per_cycle: int = 8

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if name == "arrays" and value is None:
                continue
            least = 0 if name == "adc_bits" else 1
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < least:
                none = " or None" if name == "arrays" else ""
                raise ValueError(
                    f"The {name!r} parameter of ImcModel must be an int >= {least}{none}. Got "
                    f"{value!r} instead."
                )
        for name, most, limit in (
            ("bits_per_cell", self.weight_bits, "weight_bits"),
            ("input_bits_per_cycle", self.activation_bits, "activation_bits"),
            ("columns_per_adc", self.xbar_cols, "xbar_cols"),
        ):
            if getattr(self, name) > most:
                raise ValueError(
                    f"The {name!r} parameter of ImcModel must be at most {limit} ({most}). Got "
                    f"{getattr(self, name)!r} instead."
                )

    @property
    def cells_per_weight(self) -> int:
        return math.ceil(self.weight_bits / self.bits_per_cell)

    @property
    def bit_cycles(self) -> int:
        """Read cycles per output position: the input bits, fed a few at a time."""
        return math.ceil(self.activation_bits / self.input_bits_per_cycle)

    @property
    def adcs_per_crossbar(self) -> int:
        return math.ceil(self.xbar_cols / self.columns_per_adc) if self.adc_bits else 0

    @property
    def activation_bytes(self) -> float:
        return self.activation_bits / 8

    @property
    def finite(self) -> bool:
        """Whether layers share a fixed set of ``arrays`` crossbars."""
        return self.arrays is not None


#: Structure presets by variant name (``imc:aimc``), read from ZigZag 3.9.1's hardware files
#: ``zigzag/inputs/hardware/aimc.yaml`` and ``dimc.yaml`` (module docstring).
PRESETS: dict[str, dict[str, int]] = {
    "aimc": {
        "xbar_rows": 128,  # operational_array sizes: D2 (bitlines, inputs) = 128
        "xbar_cols": 128 * 8,  # D1 = 128 weights of input_precision 8 bits, 1-bit cells
        "bits_per_cell": 1,
        "weight_bits": 8,
        "activation_bits": 8,
        "input_bits_per_cycle": 2,  # bit_serial_precision
        "adc_bits": 8,  # adc_resolution
        "columns_per_adc": 1,  # weight_precision x wordline_dim_size ADCs
        "crossbars_per_tile": 1,
        "tiles_per_router": 1,
        "arrays": 1,  # dimensions D1, D2 only: one macro (nb_of_banks = 1)
        "buffer_kib": 32,  # sram_256KB: size 262144 bits
        "offchip_bytes_per_cycle": 8,  # dram: bandwidth 64 bits
    },
    "dimc": {
        "xbar_rows": 128,
        "xbar_cols": 128 * 8,
        "bits_per_cell": 1,
        "weight_bits": 8,
        "activation_bits": 8,
        "input_bits_per_cycle": 1,  # bit_serial_precision
        "adc_bits": 0,  # imc_type: digital, adder trees instead of ADCs
        "columns_per_adc": 1,
        "crossbars_per_tile": 1,
        "tiles_per_router": 1,
        "arrays": 1,
        "buffer_kib": 32,
        "offchip_bytes_per_cycle": 8,
    },
}


def mesh_hops(tiles: int, tiles_per_router: int = 1) -> float:
    """Hops a layer's output travels: across its own ``k x k`` routers, then one to the next.

    ``2 (k**2 - 1) / (3 k)`` is the mean Manhattan distance between two routers drawn
    uniformly from a ``k x k`` mesh (each axis contributes ``(k**2 - 1) / (3 k)``).
    """
    side = math.ceil(math.sqrt(math.ceil(tiles / tiles_per_router)))
    return 1 + 2 * (side * side - 1) / (3 * side)


@dataclass(frozen=True)
class CrossbarMapping:
    """How one conv or linear layer lies on the crossbars, and what one inference costs it."""

    rows: int  # crossbar rows one group needs
    columns: int  # crossbar columns one group needs
    groups_per_crossbar: int
    crossbars: int
    tiles: int
    adcs: int
    positions: int  # output positions, one crossbar read per input bit cycle each
    read_cycles: int
    adc_rounds: int  # conversions each ADC makes per read cycle
    row_reads: int  # rows driven per read cycle, summed over the layer's crossbars
    conversions: int  # columns converted per read cycle, summed over the layer's crossbars
    hops: float
    # Finite-array mode (1, 1, 0 and 0 when weight-stationary):
    passes: int = 1  # sets of arrays run one after the other
    chunks: int = 1  # groups of output rows, each run over every pass before the next
    weight_bytes: float = 0.0  # written into the arrays per inference
    reread_bytes: float = 0.0  # input rows read again at chunk boundaries
    spill_bytes: float = 0.0  # partial sums sent off chip and back between row passes


def _chunks(s: ImcStructure, layer: Layer, width: int, height_out: int, width_out: int) -> int:
    """Groups of output rows whose inputs and partial sums fit half the activation buffer."""
    if layer.kind != "conv":
        return 1
    budget = s.buffer_kib * 1024 / 2  # double-buffered: the next chunk loads meanwhile
    input_row = width * layer.in_channels * s.activation_bytes
    output_row = width_out * layer.out_channels * 2 * s.activation_bytes  # partial sums
    # h output rows read (h - 1) * stride + kernel input rows.
    overlap = max(layer.kernel - layer.stride, 0) * input_row
    rows = int((budget - overlap) // (layer.stride * input_row + output_row))
    return math.ceil(height_out / min(max(rows, 1), height_out))


def map_layer(
    s: ImcStructure, layer: Layer, out_height: int, out_width: int, width: int | None = None
) -> CrossbarMapping:
    """The mapping of a conv or linear ``layer`` writing ``out_height x out_width``.

    ``width``: the input's width, which the finite-array mode's chunks need (default:
    ``out_width``).
    """
    rows = layer.kernel * layer.kernel * (layer.in_channels // layer.groups)
    columns = layer.out_channels // layer.groups * s.cells_per_weight
    row_blocks = math.ceil(rows / s.xbar_rows)
    column_blocks = math.ceil(columns / s.xbar_cols)
    packed = 1  # groups side by side on one crossbar, when a group fits in one
    if row_blocks == column_blocks == 1:
        packed = min(s.xbar_rows // rows, s.xbar_cols // columns, layer.groups)
    crossbars = math.ceil(layer.groups / packed) * row_blocks * column_blocks
    tiles = math.ceil(crossbars / s.crossbars_per_tile)
    fullest = min(columns * packed, s.xbar_cols)
    positions = out_height * out_width if layer.kind == "conv" else 1
    passes, chunks, weight_bytes, reread_bytes, spill_bytes = 1, 1, 0.0, 0.0, 0.0
    in_use = tiles  # tiles a layer's output is gathered from
    if s.arrays is not None:
        passes = math.ceil(crossbars / s.arrays)
        in_use = math.ceil(min(crossbars, s.arrays) / s.crossbars_per_tile)
        if passes > 1:
            chunks = _chunks(s, layer, width or out_width, out_height, out_width)
        weights = layer.groups * rows * columns * s.bits_per_cell / 8
        shared_rows = (chunks - 1) * max(layer.kernel - layer.stride, 0)
        reread_bytes = shared_rows * (width or out_width) * layer.in_channels * s.activation_bytes
        # The other schedule: weights written once, partial sums off chip if they overflow.
        partial_sums = layer.out_channels * out_height * out_width * 2 * s.activation_bytes
        if row_blocks > 1 and partial_sums >= s.buffer_kib * 1024:
            spill_bytes = 2 * (row_blocks - 1) * partial_sums
        if passes > 1 and weights + spill_bytes < weights * chunks + reread_bytes:
            chunks, reread_bytes = 1, 0.0
        else:
            spill_bytes = 0.0
        weight_bytes = weights * chunks
    read_cycles = passes * positions * s.bit_cycles
    return CrossbarMapping(
        rows=rows,
        columns=columns,
        groups_per_crossbar=packed,
        crossbars=crossbars,
        tiles=tiles,
        adcs=crossbars * s.adcs_per_crossbar,
        positions=positions,
        read_cycles=read_cycles,
        adc_rounds=math.ceil(fullest / s.adcs_per_crossbar) if s.adc_bits else 0,
        row_reads=layer.groups * rows * column_blocks,
        conversions=layer.groups * columns * row_blocks,
        hops=mesh_hops(in_use, s.tiles_per_router),
        passes=passes,
        chunks=chunks,
        weight_bytes=weight_bytes,
        reread_bytes=reread_bytes,
        spill_bytes=spill_bytes,
    )


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
    coefficients = tuple(coefficient for _, coefficient in _PRICES)

    def __init__(self, profile: Any = None, *, variant: str | None = None, **options: Any) -> None:
        fields = ImcStructure.__dataclass_fields__
        unknown = set(options) - set(fields) - set(self.coefficient_names())
        if unknown:
            raise TypeError(
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
            for name in _FINITE_ONLY:
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
        return totals[_PRICED_EVENTS]

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
            return totals[_PRICED_EVENTS]
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
        return totals[_PRICED_EVENTS]


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("imc", ImcModel)
