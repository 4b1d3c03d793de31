"""Raspberry Pi 3 Model B: FLASH's analytical latency and energy model of a CPU board.

Every edge the board executes (:func:`flash_nas.executed_edges`: a ``none`` edge is a
multiplication by zero that runs, and so do the convs behind it; a cut-off cell is dropped) is
broken into *events*, each priced by one named coefficient
(:class:`flash_nas.cost.linear.LinearCostModel`); the quantities are the sums, in ms and mJ:

==============  =========================================================================
event           what is counted, per layer of an edge's op
==============  =========================================================================
conv MAC        multiply-accumulates of dense k x k convolutions (k > 1, one group)
pointwise MAC   multiply-accumulates of 1 x 1 convolutions (one group)
depthwise MAC   multiply-accumulates of grouped and depthwise convolutions
linear MAC      multiply-accumulates of fully connected layers
byte            fp32 bytes moved: weights read, input read, output written (every layer,
                element-wise ones too, as a layer-by-layer runtime executes them); plus,
                for the node the edge writes into, the edge's output read and written again
element-wise    batch norm (2 per value), activations (1), pooling windows (k**2 per output,
op              one add per value a global pooling reads), and one add (``sum`` node) or
                copy (``concat`` node) per value the edge delivers to its node; a zero
                op (``none``) is one multiplication per value, reading and writing them
layer           one per computing layer (conv, linear, pooling): dispatch and the 4-thread
                fork/join of a layer-by-layer runtime
inference       one per network (:meth:`Pi3BModel.network_events`): the call itself
==============  =========================================================================

Latency costs are ``1 / effective rate`` (ms per event); energy costs are joules per event
(mJ per event). **The energy defaults are the board's power under load times the latency
defaults**, so at the defaults ``energy_mj = LOAD_POWER_W x latency_ms`` exactly (FLASH's
energy = power x latency). They are separate coefficients so that calibration can refit energy
on its own, from measured energy, without touching latency; calibrating latency alone carries
into energy (``energy_mj`` is a derived quantity), so a profile keeps energy = power x latency.

Specifications (public, of the board) versus assumptions (ours, to be replaced by a
calibrated profile, see :mod:`flash_nas.cost.calibration`):

* **specified**: BCM2837, 4 x Cortex-A53 at 1.2 GHz with NEON (128-bit: 4 fp32 lanes), so a
  nominal peak of one 4-lane fused multiply-add per cycle per core = 4 x 1.2 GHz x 4 =
  19.2 G MAC/s; 1 GB LPDDR2 at 900 MT/s on a 32-bit bus = 3.6 GB/s peak.
* **measured by others**: board power, ~1.2-1.3 W idle and ~4 W with all four cores busy
  (F. Guerraz, "Raspberry Pi 3 model B power consumption", Medium, measured at 5.00 V from a
  bench supply: 1.22 W idle after boot, 3.95 W under a 4-core sysbench plus SD writes; the
  often quoted ~260 mA at 5 V = 1.3 W idle). We take 3.7 W under load (an assumption): the
  whole board, as a meter at its power input sees it, a little below 3.95 W because inference
  writes no SD card. :data:`IDLE_POWER_W` is not part of the model: subtract
  ``IDLE_POWER_W x latency`` from the energy to get what inference adds to an idle board.
* **assumed**: the share of the peak each kind of work reaches, and the fixed overheads (see
  each coefficient's source). fp32 inference, 4 threads, one image per call.

**The default costs are measured**: :data:`DEFAULT_PROFILE` is these specification costs times
one speed factor (0.405) fitted to ncnn's latencies of 11 torchvision classifiers on a Raspberry Pi
3 Model B+ at 4 threads (``benchmarks/pi3_measured.py``; leave-one-network-out MAPE 9.4 %, against
145 % for the specifications alone, whose ranking of those networks is already exact).
``Pi3BModel(profile=None)`` keeps the specification costs.

The one simplification to know: a node that sums N edges does N - 1 adds, but an edge's events
cannot see how many edges share its node, so every edge into a ``sum`` node is charged one add
per value (one pass too many per node, a small cost next to the convolutions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

import flash_nas
from flash_nas import ArchGraph, HardwareModel, Layer, Op
from flash_nas.cost.linear import Coefficient, LinearCostModel
from flash_nas.graph.structure import EdgeShape, op_flops, op_macs

if TYPE_CHECKING:
    from flash_nas.cost.profile import Profile

__all__ = [
    "DEFAULT_PROFILE",
    "IDLE_POWER_W",
    "LOAD_POWER_W",
    "PEAK_BANDWIDTH",
    "PEAK_MACS",
    "Pi3BModel",
]

#: The default costs: the specification costs times one speed factor measured on a Raspberry
#: Pi 3 Model B+ (ncnn, fp32, 4 threads, 11 torchvision classifiers); written by
#: ``python -m benchmarks --suite pi3 --write-profile PATH``, provenance in its notes.
DEFAULT_PROFILE = Path(__file__).parent / "data" / "pi3b_ncnn_rpi3bplus_4t.json"

# Specifications of the board.
CORES = 4
CLOCK_HZ = 1.2e9
NEON_FP32_LANES = 4  # 128-bit NEON registers
#: Nominal NEON peak: one 4-lane fp32 multiply-accumulate per cycle on each core (MAC/s).
PEAK_MACS = CORES * CLOCK_HZ * NEON_FP32_LANES
#: LPDDR2 at 900 MT/s on a 32-bit bus (bytes/s).
PEAK_BANDWIDTH = 900e6 * 4
#: Whole-board power under a 4-core load, and idle (W); see the module docstring for sources.
LOAD_POWER_W = 3.7
IDLE_POWER_W = 1.3

BYTES_PER_VALUE = 4  # fp32

# Events, in the order of the coefficients (latency first, then energy, same order).
_CONV, _POINTWISE, _DEPTHWISE, _LINEAR, _BYTE, _ELEMENTWISE, _LAYER, _INFERENCE = range(8)

_PEAK = f"nominal NEON peak {PEAK_MACS / 1e9:.1f} G MAC/s (4 cores x 1.2 GHz x 4 fp32 lanes)"

# (event name, unit of the event, ms per event, source). Efficiencies and overheads are ours.
_LATENCY: tuple[tuple[str, str, float, str], ...] = (
    (
        "conv_mac",
        "MAC",
        1e3 / (0.15 * PEAK_MACS),
        f"assumed 15 % of the {_PEAK}: optimised fp32 runtimes (im2col or Winograd GEMM) keep "
        "10-25 % of peak on dense 3x3 convs on in-order A53 cores with a 512 KB shared L2",
    ),
    (
        "pointwise_mac",
        "MAC",
        1e3 / (0.20 * PEAK_MACS),
        f"assumed 20 % of the {_PEAK}: a 1x1 conv is a plain GEMM, no im2col",
    ),
    (
        "depthwise_mac",
        "MAC",
        1e3 / (0.03 * PEAK_MACS),
        f"assumed 3 % of the {_PEAK}: a depthwise conv does k*k MACs per value it loads, so it "
        "runs far below peak, bound by loads and shuffles rather than multiply-adds",
    ),
    (
        "linear_mac",
        "MAC",
        1e3 / (0.10 * PEAK_MACS),
        f"assumed 10 % of the {_PEAK}: at one image a linear layer is a matrix-vector product, "
        "each weight used once",
    ),
    (
        "byte",
        "byte",
        1e3 / (0.40 * PEAK_BANDWIDTH),
        f"assumed 40 % of the specified LPDDR2 peak {PEAK_BANDWIDTH / 1e9:.1f} GB/s (900 MT/s x "
        "32 bit); pessimistic for tensors that stay in the 512 KB L2",
    ),
    (
        "elementwise_op",
        "op",
        1e3 / (0.10 * PEAK_MACS),
        f"assumed 10 % of the nominal NEON rate {PEAK_MACS / 1e9:.1f} G op/s: element-wise "
        "layers run as separate kernels whose memory traffic is priced by the byte cost",
    ),
    (
        "layer",
        "layer",
        0.03,
        "assumed 30 us per computing layer: framework dispatch and waking and joining 4 "
        "threads, several us on a desktop core and ~5x that on a 1.2 GHz in-order A53",
    ),
    (
        "inference",
        "inference",
        0.5,
        "assumed 0.5 ms per call: entering the runtime, preparing input and output buffers",
    ),
)


def _coefficients() -> tuple[Coefficient, ...]:
    latency = [
        Coefficient(f"ms_per_{name}", "latency_ms", f"ms/{unit}", cost, source)
        for name, unit, cost, source in _LATENCY
    ]
    energy = [
        Coefficient(
            f"mj_per_{name}",
            "energy_mj",
            f"mJ/{unit}",
            LOAD_POWER_W * cost,
            f"board power under load ({LOAD_POWER_W} W, from public measurements) x ms_per_{name}",
        )
        for name, unit, cost, _ in _LATENCY
    ]
    return (*latency, *energy)


def _mac_event(layer: Layer) -> int:
    """Which kind of MAC a conv or linear layer does."""
    if layer.kind == "linear":
        return _LINEAR
    if layer.groups > 1:
        return _DEPTHWISE
    return _POINTWISE if layer.kernel == 1 else _CONV


class Pi3BModel(LinearCostModel):
    """Raspberry Pi 3B latency (ms) and energy (mJ) of one fp32 inference at batch size 1.

    ``Pi3BModel(profile=DEFAULT_PROFILE, **costs)``: the documented specification costs,
    replaced by a calibrated profile's costs, then by explicit costs by name
    (``ms_per_conv_mac=...``). The default profile is the measured one shipped with flash-nas
    (:data:`DEFAULT_PROFILE`: a Raspberry Pi 3 Model B+, ncnn, 4 threads);
    ``profile=None`` (or ``"specs"``, ``-H profile=specs``) keeps the specification costs.
    """

    description = (
        "Raspberry Pi 3B analytical model (4x Cortex-A53 1.2 GHz, LPDDR2): MACs per op kind, "
        "bytes moved, element-wise work and per-layer overhead; energy = power x latency"
    )
    quantities = ("latency_ms", "energy_mj")
    coefficients = _coefficients()
    #: The specification costs alone (``profile=specs``) overestimate the 11 networks of the
    #: ``pi3`` benchmark part by 145 % on average (a factor of about e^0.9); with a profile,
    #: its own held-out error sets the spread instead (:meth:`prior_log_spread`).
    log_spread = 0.9
    #: The shipped profile was measured on a Pi 3B+: another device's scale stays in doubt.
    reference_profile = DEFAULT_PROFILE
    derived_quantities: ClassVar[dict[str, tuple[str, str]]] = {
        "energy_mj": ("latency_ms", f"energy = board power under load ({LOAD_POWER_W} W) x latency")
    }

    def derive_costs(self, quantity: str, costs: Mapping[str, float]) -> dict[str, float]:
        if quantity != "energy_mj":
            return super().derive_costs(quantity, costs)
        return {f"mj_per_{name}": LOAD_POWER_W * costs[f"ms_per_{name}"] for name, *_ in _LATENCY}

    def __init__(
        self, profile: str | Path | Profile | None = DEFAULT_PROFILE, **costs: float
    ) -> None:
        if profile == "specs" or (profile is DEFAULT_PROFILE and type(self) is not Pi3BModel):
            profile = None  # a subclass counts other events: the shipped fit is not its own
        super().__init__(profile, **costs)

    def edge_events(self, edge: EdgeShape) -> np.ndarray:
        events = np.zeros(len(_LATENCY))
        height, width = edge.height, edge.width
        delivered = edge.channels * height * width  # what an identity edge passes on
        for layer in edge.op.layers:
            single = Op(layer.kind, (layer,))
            macs = op_macs(single, layer.in_channels, height, width)
            out_height, out_width = layer.output_size(height, width)
            delivered = layer.out_channels * out_height * out_width
            if macs:
                events[_mac_event(layer)] += macs
            events[_ELEMENTWISE] += op_flops(single, layer.in_channels, height, width) - macs
            events[_BYTE] += BYTES_PER_VALUE * (
                layer.params + layer.in_channels * height * width + delivered
            )
            events[_LAYER] += single.is_computing
            height, width = out_height, out_width
        if edge.op.is_zero:  # x * 0: one pass over the values, read and written
            events[_ELEMENTWISE] += delivered
            events[_BYTE] += 2 * BYTES_PER_VALUE * delivered
        # The node the edge writes into adds (sum) or copies (concat) what the edge delivers.
        events[_ELEMENTWISE] += delivered
        events[_BYTE] += 2 * BYTES_PER_VALUE * delivered
        return np.concatenate([events, events])  # energy prices the same events

    def network_events(self, graph: ArchGraph | None = None) -> np.ndarray:
        events = np.zeros(len(_LATENCY))
        events[_INFERENCE] = 1
        return np.concatenate([events, events])


@flash_nas.hookimpl
def register_hardware(register: Callable[[str, type[HardwareModel]], None]) -> None:
    register("pi3b", Pi3BModel)
