"""Block-diagonal packing: how the groups of a grouped conv lie on in-memory-computing arrays.

One room, used by both IMC models: the analytical :mod:`flash_nas_hardware.imc.model` counts its
crossbars with it, and :mod:`flash_nas_hardware.zigzag.sim` rewrites a grouped conv into the
layer ZigZag simulates with it.

A group of a conv needs ``rows = kernel**2 x in_channels / groups`` rows of an array (its
unrolled receptive field, one input per row) and ``columns`` columns (its output channels, in
whatever unit the array counts them: one-bit cells for the analytical model, whole weights for
ZigZag, the caller gives both in the same unit). A group larger than an array spans
``row_blocks x column_blocks`` arrays, one group to each. Groups small enough to share an array
lie side by side on its diagonal, each on rows and columns of its own (their inputs and outputs
must not mix), as many as fit both ways: ``min(array_rows // rows, array_columns // columns)``
(3x3 depthwise convs: 14 to a 128-row array), the rest of the array left empty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flash_nas.validation import check_int

__all__ = ["BlockDiagonalPacking", "pack_block_diagonal"]


@dataclass(frozen=True)
class BlockDiagonalPacking:
    """Where the ``groups`` of one layer lie on arrays of one size."""

    groups: int
    row_blocks: int  # arrays one group spans along its rows (inputs)
    column_blocks: int  # arrays one group spans along its columns (outputs)
    groups_per_array: int  # the most groups side by side on one array; 1 when a group fills it

    @property
    def group_sets(self) -> int:
        """Sets of groups that share arrays: ``groups`` when no two fit one array."""
        return math.ceil(self.groups / self.groups_per_array)

    @property
    def arrays(self) -> int:
        """Arrays the layer's weights take."""
        return self.group_sets * self.row_blocks * self.column_blocks

    @property
    def balanced_groups_per_array(self) -> int:
        """Groups on each of the ``group_sets`` arrays when they are spread evenly, not filled
        one after the other (32 depthwise channels at 14 to an array: 11, 11 and 10, not 14,
        14 and 4): the most any array holds."""
        return math.ceil(self.groups / self.group_sets)


def pack_block_diagonal(
    groups: int, rows: int, columns: int, array_rows: int, array_columns: int
) -> BlockDiagonalPacking:
    """Pack ``groups`` groups of ``rows x columns`` each onto arrays of ``array_rows x
    array_columns``: block-diagonally where groups fit an array, tiled where they do not."""
    owner = "pack_block_diagonal"
    groups = check_int(groups, "groups", owner=owner, low=1)
    rows = check_int(rows, "rows", owner=owner, low=1)
    columns = check_int(columns, "columns", owner=owner, low=1)
    array_rows = check_int(array_rows, "array_rows", owner=owner, low=1)
    array_columns = check_int(array_columns, "array_columns", owner=owner, low=1)
    row_blocks = math.ceil(rows / array_rows)
    column_blocks = math.ceil(columns / array_columns)
    per_array = 1
    if row_blocks == column_blocks == 1:
        per_array = min(array_rows // rows, array_columns // columns, groups)
    return BlockDiagonalPacking(groups, row_blocks, column_blocks, per_array)
