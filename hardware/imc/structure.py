"""The IMC accelerator's description: its organisation (:class:`ImcStructure`) and presets.

The structure sets how many events a layer makes (crossbar size, precisions, ADCs, tiles, mesh,
and in the finite-array mode the arrays, buffer and DRAM port), never what an event costs
(:mod:`flash_nas_hardware.imc.costs`).

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flash_nas.validation import ParameterError, check_int, check_optional

__all__ = ["FINITE_ONLY", "PRESETS", "ImcStructure"]

#: Structure parameters only the finite-array mode uses (left out of a weight-stationary
#: model's :meth:`ImcModel.structure_parameters`, so its profiles stay as they were).
FINITE_ONLY = ("arrays", "buffer_kib", "offchip_bytes_per_cycle")


@dataclass(frozen=True)
class ImcStructure:
    """The accelerator's organisation: what changes the event counts, not their costs.

    ``arrays=None``: weight-stationary, every layer on crossbars of its own; ``arrays=N``: one
    accelerator of ``N`` crossbars that every layer is time-multiplexed onto, with an
    activation buffer of ``buffer_kib`` KiB (:mod:`flash_nas_hardware.imc.model`). ``adc_bits=0``:
    digital IMC, adder trees instead of ADCs.
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
            low = 0 if name == "adc_bits" else 1
            if name == "arrays":  # None: as many arrays as the network needs
                check_optional(check_int, value, name, owner="ImcModel", low=low)
            else:
                check_int(value, name, owner="ImcModel", low=low)
        for name, most, limit in (
            ("bits_per_cell", self.weight_bits, "weight_bits"),
            ("input_bits_per_cycle", self.activation_bits, "activation_bits"),
            ("columns_per_adc", self.xbar_cols, "xbar_cols"),
        ):
            if getattr(self, name) > most:
                raise ParameterError(
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
