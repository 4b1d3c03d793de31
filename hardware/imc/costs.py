"""The IMC model's cost table: the events it counts and the default price of each.

Every event of :mod:`flash_nas_hardware.imc.model` is priced by one or two named coefficients (area,
latency, energy); a calibrated profile or explicit keywords replace these defaults.

Default costs (32 nm) come from published component figures: ISAAC (Shafiee et al., ISCA 2016,
Table I: 128x128 2-bit ReRAM crossbars, 8-bit 1.2 GS/s SAR ADCs, 32 nm), as tabulated with
their derivations in the Accelergy hwcomponents library (``isaac.py``), from NeuroSim's and
SIAM's parameter files, and from the PUMA simulator's constants. Where a number had to be
assumed, its source says "assumption" and why. Calibrate against a simulator before trusting
absolute values; the defaults are for ranking architectures.
"""

from __future__ import annotations

import numpy as np

from flash_nas.cost.linear import Coefficient

__all__ = ["EVENTS", "PRICED_EVENTS", "PRICES"]

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
PRICES: tuple[tuple[str, Coefficient], ...] = (
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
PRICED_EVENTS = np.array([EVENTS.index(event) for event, _ in PRICES])
