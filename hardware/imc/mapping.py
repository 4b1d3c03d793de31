"""How a conv or linear layer lies on the IMC accelerator's crossbars, and what it runs.

:func:`map_layer` turns one layer and an :class:`~flash_nas_hardware.imc.structure.ImcStructure`
into a :class:`CrossbarMapping` (crossbars, tiles, ADCs, read cycles, and in the finite-array
mode passes, chunks and off-chip bytes), from which :mod:`flash_nas_hardware.imc.model` counts the
layer's events. Groups share crossbars by the block-diagonal packing of
:mod:`flash_nas_hardware.crossbar_packing`, the same one the ZigZag plugin stores grouped convs
with.

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

The finite-array mode's passes, chunks and memory schedules are described in
:mod:`flash_nas_hardware.imc.model`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flash_nas import Layer
from flash_nas_hardware.crossbar_packing import pack_block_diagonal
from flash_nas_hardware.imc.structure import ImcStructure

__all__ = ["CrossbarMapping", "map_layer", "mesh_hops"]


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
    packing = pack_block_diagonal(layer.groups, rows, columns, s.xbar_rows, s.xbar_cols)
    row_blocks, column_blocks = packing.row_blocks, packing.column_blocks
    # Crossbars fill one after the other: the fullest holds groups_per_array groups.
    packed = packing.groups_per_array
    crossbars = packing.arrays
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
