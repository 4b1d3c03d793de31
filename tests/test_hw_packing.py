"""Block-diagonal packing of grouped layers onto IMC arrays: one implementation, used by the
analytical IMC model and by the ZigZag plugin's workload."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from flash_nas import Layer
from flash_nas.errors import ParameterError
from flash_nas_hardware.crossbar_packing import BlockDiagonalPacking, pack_block_diagonal
from flash_nas_hardware.imc.model import ImcModel
from flash_nas_hardware.zigzag.workload import ZigZagLayer, stored_block_diagonally


@pytest.mark.parametrize(
    ("groups", "rows", "columns", "array", "expected"),
    [
        # 3x3 depthwise, one weight column each: 128 // 9 = 14 to an array, 32 take 3
        (32, 9, 1, (128, 128), (1, 1, 14, 3, 3, 11)),
        # rows allow 8, columns only 2: the scarcer side decides
        (8, 16, 48, (128, 128), (1, 1, 2, 4, 4, 2)),
        # half an array each way: two on the diagonal, not four (inputs and outputs stay apart)
        (6, 64, 64, (128, 128), (1, 1, 2, 3, 3, 2)),
        # a group that fills an array exactly shares it with none
        (5, 128, 128, (128, 128), (1, 1, 1, 5, 5, 1)),
        # fewer groups than would fit: all on one array
        (3, 9, 1, (128, 128), (1, 1, 3, 1, 1, 3)),
        # a group larger than an array is tiled: 3 row blocks x 2 column blocks, per group
        (4, 300, 200, (128, 128), (3, 2, 1, 4, 24, 1)),
        # one group (a plain conv) over a 256 x 64 array
        (1, 27, 16, (256, 64), (1, 1, 1, 1, 1, 1)),
    ],
)
def test_packing_of_hand_made_layers(groups, rows, columns, array, expected):
    packing = pack_block_diagonal(groups, rows, columns, *array)
    assert (
        packing.row_blocks,
        packing.column_blocks,
        packing.groups_per_array,
        packing.group_sets,
        packing.arrays,
        packing.balanced_groups_per_array,
    ) == expected


@given(
    st.integers(1, 64),
    st.integers(1, 300),
    st.integers(1, 300),
    st.integers(1, 256),
    st.integers(1, 256),
)
def test_packing_puts_the_most_groups_that_fit_on_each_array(groups, rows, columns, height, width):
    packing = pack_block_diagonal(groups, rows, columns, height, width)
    assert packing == BlockDiagonalPacking(
        groups,
        math.ceil(rows / height),
        math.ceil(columns / width),
        packing.groups_per_array,
    )
    fits = rows <= height and columns <= width
    # the most groups whose rows and whose columns both fit beside each other, by counting
    most = max(
        (b for b in range(1, groups + 1) if b * rows <= height and b * columns <= width),
        default=1,
    )
    assert packing.groups_per_array == (most if fits else 1)
    # every group has a place, and no array more than needed
    capacity = packing.group_sets * packing.groups_per_array
    assert capacity >= groups > capacity - packing.groups_per_array
    # spreading evenly never puts more on an array than fits, nor leaves a group out
    balanced = packing.balanced_groups_per_array
    assert balanced <= packing.groups_per_array
    assert balanced * packing.group_sets >= groups
    assert packing.arrays == packing.group_sets * packing.row_blocks * packing.column_blocks


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, "4"])
def test_a_bad_size_is_one_clear_error(bad):
    with pytest.raises(ParameterError, match=r"'rows' parameter of pack_block_diagonal must be an int >= 1"):
        pack_block_diagonal(4, bad, 8, 128, 128)


# The conv layers below all fit ZigZag's aimc macro (128 rows by 128 8-bit weights) and
# imc:aimc (its 128 x 1024 one-bit cells): (channels in, channels out, kernel, groups).
GROUPED = [(32, 32, 3, 32), (96, 96, 3, 96), (64, 64, 1, 8), (48, 96, 3, 16), (16, 16, 5, 16)]


@pytest.mark.parametrize(("c_in", "c_out", "kernel", "groups"), GROUPED)
def test_imc_and_zigzag_pack_a_grouped_conv_the_same(c_in, c_out, kernel, groups):
    """The analytical model's crossbars for a grouped conv are the arrays ZigZag's stored layer
    takes, on the same macro."""
    layer = Layer("conv", c_in, c_out, kernel=kernel, padding=kernel // 2, groups=groups)
    crossbars = ImcModel(variant="aimc").map_layer(layer, 16, 16)
    native = ZigZagLayer(
        "Conv", c_out // groups, c_in // groups, groups, 16, 16, kernel, 1, kernel // 2, 16, 16
    )
    stored = stored_block_diagonally(native, 128, 128)
    assert crossbars.crossbars == stored.groups > 0
    per_array = math.ceil(groups / stored.groups)
    assert (stored.k, stored.c) == (native.k * per_array, native.c * per_array)
    assert stored.macs >= native.macs  # the zeros off the diagonal are computed too
    assert crossbars.groups_per_crossbar >= per_array


def test_zigzag_leaves_groups_that_fill_an_array_alone():
    # 3x3 over 16 inputs per group: 144 rows, more than the macro's 128
    native = ZigZagLayer("Conv", 16, 16, 4, 8, 8, 3, 1, 1, 8, 8)
    assert stored_block_diagonally(native, 128, 128) == native
    plain = ZigZagLayer("Conv", 8, 3, 1, 8, 8, 3, 1, 1, 8, 8)
    assert stored_block_diagonally(plain, 128, 128) == plain
