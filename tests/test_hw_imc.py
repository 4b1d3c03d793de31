"""The ReRAM in-memory-computing model: hand-checked mappings, monotonicity, calibration."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import flash_nas
from flash_nas import ArchGraph, Edge, FlashNasError, Layer, Op, Tensor, UnknownNameError
from flash_nas.cost.calibration import calibrate
from flash_nas.errors import ParameterError
from flash_nas.graph.structure import EdgeShape
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_hardware.imc import model as imc
from flash_nas_hardware.imc.model import PRESETS, ImcModel, mesh_hops

INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
BLOCKS = ("dense", "resnet", "mobilenet")


@cache
def nb201_space(**options):
    return flash_nas.get_adapter("nasbench201", **options)


@pytest.fixture
def nb201():
    return nb201_space()


@cache
def flash_space(block: str, input_size: int = 32):
    """A FLASH space with wide ranges, so that any width or depth may grow."""
    return flash_nas.get_adapter(
        "flash", block=block, widths=range(2, 129), depths=range(1, 10), input_size=input_size
    )


def one_layer(layer: Layer, channels: int, size: int, combine: str = "sum") -> ArchGraph:
    """A graph of a single edge applying ``layer`` to a ``channels x size x size`` input."""
    op = Op("layer", (layer,))
    out = Tensor("y", *op.output_shape(channels, size, size), combine=combine)
    return ArchGraph(
        (Tensor("x", channels, size, size), out), (Edge("x", "y", op),), "x", "y", name="one"
    )


def events(model: ImcModel, graph: ArchGraph) -> dict[str, float]:
    return dict(zip(model.coefficient_names(), model.events(graph)))


CONV_64 = Layer("conv", 64, 64, kernel=3, padding=1)
FINITE_COSTS = (
    "ms_per_weight_byte",
    "mj_per_weight_byte",
    "ms_per_stall_cycle",
    "mj_per_offchip_byte",
)


class TestImcContract(HardwareModelContract):
    @pytest.fixture(params=[None, "aimc", "dimc"])
    def model(self, request):
        return ImcModel(variant=request.param)

    @pytest.fixture
    def graphs(self, nb201):
        flash = [
            flash_space(block).to_graph(((32, 4, 3), (48, 3, 1), (64, 2, 0))) for block in BLOCKS
        ]
        nb = [nb201.to_graph(nb201.parse(text)) for text in (INDEX0, ALL_CONV3, ALL_SKIP)]
        return [*nb, *flash, one_layer(CONV_64, 64, 8)]


def test_registered_as_imc():
    added = "imc" not in flash_nas.hardware_names()
    if added:  # until the entry point is installed, register the module by hand
        flash_nas.plugins.add_plugin(imc, "imc")
    try:
        model = flash_nas.get_hardware("imc", xbar_rows=256)
        assert isinstance(model, ImcModel)
        assert model.structure.xbar_rows == 256
        assert model.quantities == ("latency_ms", "energy_mj", "area_mm2")
        aimc = flash_nas.get_hardware("imc:aimc")
        assert aimc.variant == "aimc" and aimc.structure.arrays == 1
        with pytest.raises(
            UnknownNameError, match=r"Unknown IMC preset 'tpu_like'; expected one of: aimc, dimc"
        ):
            flash_nas.get_hardware("imc:tpu_like")
    finally:
        if added:
            flash_nas.plugins.remove_plugin("imc")


# ------------------------------------------------------------------------- hand-checked events
def test_a_3x3_conv_64_to_64_by_hand():
    # rows 3*3*64 = 576 -> 5 crossbars of 128 rows; columns 64 weights x 4 cells = 256 -> 2
    model = ImcModel()
    mapping = model.map_layer(CONV_64, 8, 8)
    assert (mapping.rows, mapping.columns, mapping.crossbars, mapping.tiles) == (576, 256, 10, 1)
    assert (mapping.adcs, mapping.adc_rounds, mapping.hops) == (160, 8, 1.0)
    counted = events(model, one_layer(CONV_64, 64, 8))
    values = 64 * 8 * 8  # one byte each, in and out
    assert counted == {
        "mm2_per_crossbar": 10,
        "mm2_per_adc_bit": 10 * 16 * 8,  # 16 ADCs per crossbar (8 columns each), 8 bits
        "mm2_per_tile": 1,
        "ms_per_read_cycle": 64 * 8,  # 64 positions x 8 input bits
        "ms_per_adc_bit_cycle": 64 * 8 * 8 * 8,  # 8 columns per ADC in turn, 8 bits each
        "mj_per_row_read": 64 * 8 * 576 * 2,  # every row drives its 2 column blocks
        "mj_per_adc_bit": 64 * 8 * 256 * 5 * 8,  # every column of the 5 row blocks converts
        # input read, output written, then the accumulate pass into the sum node
        "ms_per_buffer_byte": 4 * values,
        "mj_per_buffer_byte": 4 * values,
        "ms_per_noc_byte_hop": values,  # one hop: the layer has a single tile
        "mj_per_noc_byte_hop": values,
        "ms_per_digital_op": values,  # the adds of the sum node
        "mj_per_digital_op": values,
        **dict.fromkeys(FINITE_COSTS, 0),  # weight-stationary: weights written before inference
    }
    area = model.estimate(one_layer(CONV_64, 64, 8))["area_mm2"]
    costs = {c.name: c.default for c in model.coefficients}
    assert area == pytest.approx(
        10 * costs["mm2_per_crossbar"] + 1280 * costs["mm2_per_adc_bit"] + costs["mm2_per_tile"]
    )


def test_large_grouped_and_linear_layers_by_hand():
    model = ImcModel()
    big = model.map_layer(Layer("conv", 256, 256, kernel=3, padding=1), 8, 8)
    assert (big.crossbars, big.tiles) == (18 * 8, 9)  # 2304 rows, 1024 columns
    assert big.hops == pytest.approx(1 + 2 * 8 / 9)  # 9 tiles on a 3 x 3 mesh
    depthwise = model.map_layer(Layer("conv", 256, 256, 3, padding=1, groups=256), 8, 8)
    # a 9-row, 4-column group: 14 side by side on a 128 x 128 crossbar, 56 columns in use
    assert (depthwise.groups_per_crossbar, depthwise.crossbars, depthwise.adc_rounds) == (14, 19, 4)
    grouped = model.map_layer(Layer("conv", 64, 64, 3, padding=1, groups=2), 8, 8)
    assert (grouped.rows, grouped.columns, grouped.crossbars) == (288, 128, 2 * 3)
    linear = model.map_layer(Layer("linear", 64, 10, bias=True), 1, 1)
    assert (linear.crossbars, linear.read_cycles, linear.adc_rounds) == (1, 8, 3)


def test_whole_nb201_networks_by_hand(nb201):
    model = ImcModel()
    # stem 1; 30 cell convs per stage at 2, 3 and 10 crossbars; reductions 2+3+1 and 6+10+2;
    # classifier 1. Every layer fits one tile.
    conv3 = events(model, nb201.to_graph(nb201.parse(ALL_CONV3)))
    assert (conv3["mm2_per_crossbar"], conv3["mm2_per_tile"]) == (476, 98)
    # index 0: two 1x1 convs per cell, at 1, 1 and 2 crossbars
    index0 = events(model, nb201.to_graph(nb201.parse(INDEX0)))
    assert (index0["mm2_per_crossbar"], index0["mm2_per_tile"]) == (66, 38)


def test_mesh_hops():
    assert mesh_hops(1) == 1.0
    assert mesh_hops(4) == pytest.approx(2.0)  # 2 x 2 mesh: mean distance 1
    assert mesh_hops(10) == pytest.approx(1 + 2 * 15 / 12)  # rounded up to a 4 x 4 mesh
    assert mesh_hops(4, tiles_per_router=4) == 1.0
    assert all(mesh_hops(n) <= mesh_hops(n + 1) for n in range(1, 300))


def test_what_reaches_a_node_is_copied_or_accumulated():
    model = ImcModel()
    names = model.coefficient_names()
    skip = Op.identity()
    into_concat = dict(
        zip(names, model.edge_events(EdgeShape(skip, 16, 4, 4, Tensor("y", 32, 4, 4, "concat"))))
    )
    into_sum = dict(zip(names, model.edge_events(EdgeShape(skip, 16, 4, 4, Tensor("y", 16, 4, 4)))))
    values = 16 * 4 * 4
    assert into_concat["mj_per_buffer_byte"] == into_sum["mj_per_buffer_byte"] == 2 * values
    assert into_concat["mj_per_noc_byte_hop"] == into_sum["mj_per_noc_byte_hop"] == values
    assert (into_concat["mj_per_digital_op"], into_sum["mj_per_digital_op"]) == (0, values)
    assert into_sum["mm2_per_crossbar"] == into_sum["ms_per_read_cycle"] == 0
    zero = model.edge_events(EdgeShape(Op.zero(), 16, 4, 4, Tensor("y", 16, 4, 4)))
    assert not zero.any()


def test_batch_norm_is_folded_and_activations_are_digital():
    model = ImcModel()
    assert model.layer_events(Layer("bn", 16, 16), 8, 8) == {}
    assert model.layer_events(Layer("relu", 16, 16), 8, 8) == {"digital_ops": 16 * 64}
    with_bn = Op("conv_bn", (CONV_64, Layer("bn", 64, 64)))
    shape = Tensor("y", 64, 8, 8)
    np.testing.assert_array_equal(
        model.edge_events(EdgeShape(with_bn, 64, 8, 8, shape)),
        model.edge_events(EdgeShape(Op("conv", (CONV_64,)), 64, 8, 8, shape)),
    )
    pool = model.layer_events(Layer("avg_pool", 16, 16, kernel=3, padding=1), 8, 8)
    assert pool == {"buffer_bytes": 2 * 16 * 64, "digital_ops": 9 * 16 * 64}


# ------------------------------------------------------------------------ structure parameters
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, {"crossbars": 10, "tiles": 1, "read_cycles": 512, "adc_bit_cycles": 32768}),
        ({"xbar_rows": 256, "xbar_cols": 256}, {"crossbars": 3}),  # 576/256 -> 3, 256/256 -> 1
        ({"bits_per_cell": 4}, {"crossbars": 5}),  # 128 columns
        ({"weight_bits": 4}, {"crossbars": 5}),
        ({"crossbars_per_tile": 4}, {"tiles": 3, "noc_byte_hops": 2 * 4096}),  # 2 x 2 mesh
        ({"crossbars_per_tile": 4, "tiles_per_router": 4}, {"tiles": 3, "noc_byte_hops": 4096}),
        ({"activation_bits": 4}, {"read_cycles": 256, "buffer_bytes": 4096}),
        ({"input_bits_per_cycle": 2}, {"read_cycles": 256, "adc_bit_cycles": 16384}),
        ({"adc_bits": 4}, {"adc_bits": 10 * 16 * 4, "adc_bit_cycles": 16384}),
        ({"columns_per_adc": 16}, {"adc_bits": 10 * 8 * 8, "adc_bit_cycles": 65536}),
    ],
)
def test_structure_changes_the_events(options, expected):
    counted = ImcModel(**options).layer_events(CONV_64, 8, 8)
    for event, value in expected.items():
        assert counted[event] == value, event


def test_bigger_crossbars_need_fewer_on_every_network(nb201):
    whole = nb201.sample(300, seed=4)
    column = ImcModel.coefficient_names().index("mm2_per_crossbar")
    small = ImcModel().events_batch(whole)[:, column]
    big = ImcModel(xbar_rows=256, xbar_cols=256).events_batch(whole)[:, column]
    assert (big <= small).all() and (big < small).any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"xbar_rows": 0},
            "The 'xbar_rows' parameter of ImcModel must be an int >= 1. Got 0 instead.",
        ),
        (
            {"adc_bits": 8.0},
            "The 'adc_bits' parameter of ImcModel must be an int >= 0. Got 8.0 instead.",
        ),
        (
            {"arrays": 0},
            "The 'arrays' parameter of ImcModel must be an int >= 1 or None. Got 0 instead.",
        ),
        (
            {"buffer_kib": -1},
            "The 'buffer_kib' parameter of ImcModel must be an int >= 1. Got -1 instead.",
        ),
        (
            {"tiles_per_router": True},
            "The 'tiles_per_router' parameter of ImcModel must be an int >= 1. Got True instead.",
        ),
        (
            {"bits_per_cell": 16},
            r"The 'bits_per_cell' parameter of ImcModel must be at most weight_bits \(8\). Got 16 instead.",
        ),
        ({"input_bits_per_cycle": 9}, r"must be at most activation_bits \(8\). Got 9 instead."),
        (
            {"columns_per_adc": 256},
            r"The 'columns_per_adc' parameter of ImcModel must be at most xbar_cols \(128\).",
        ),
    ],
)
def test_bad_structure_is_rejected(options, message):
    with pytest.raises(ValueError, match=message):
        ImcModel(**options)


def test_unknown_options_and_bad_costs_are_rejected():
    with pytest.raises(
        ParameterError,
        match=r"unexpected keyword argument\(s\) xbar_size; it takes variant, structure parameters \(xbar_rows, ",
    ):
        ImcModel(xbar_size=256)
    with pytest.raises(
        FlashNasError, match="'mj_per_adc_bit' cost of ImcModel must be a finite number >= 0"
    ):
        ImcModel(mj_per_adc_bit=-1.0)
    assert ImcModel(mj_per_adc_bit=0.5).cost("mj_per_adc_bit") == 0.5


def test_every_coefficient_is_documented():
    for coefficient in ImcModel.coefficients:
        assert coefficient.default > 0, coefficient.name
        assert coefficient.unit and len(coefficient.source) > 40, coefficient.name
    assert repr(ImcModel(xbar_rows=256)) == "ImcModel(xbar_rows=256)"


# ------------------------------------------------------------------- finite arrays and presets
CONV_16 = Layer("conv", 16, 16, kernel=3, padding=1)


def test_finite_arrays_by_hand():
    # CONV_64 on 8 x 8 needs 10 crossbars (see above); 4 arrays run them in 3 passes. An 8 KiB
    # buffer, 4 KiB a chunk: an input row is 8 x 64 bytes, an output row's partial sums
    # 8 x 64 x 2, and 2 input rows overlap: (4096 - 1024) // (512 + 1024) = 2 rows a chunk,
    # 4 chunks: the weights written 4 times and 3 x 2 input rows read again, 150,528 bytes.
    # Writing the weights once instead, the 8 KiB of partial sums (64 x 64 x 2 bytes) do not fit
    # beside anything in the 8 KiB buffer: they go off chip and back between the 5 row blocks'
    # passes, 2 x 4 x 8192 bytes; 36,864 + 65,536 bytes is fewer, so that schedule is taken.
    model = ImcModel(arrays=4, buffer_kib=8, offchip_bytes_per_cycle=1)
    mapping = model.map_layer(CONV_64, 8, 8)
    assert (mapping.crossbars, mapping.passes, mapping.chunks) == (10, 3, 1)
    weights = 64 * 64 * 9  # one byte each: 4 cells of 2 bits
    assert mapping.weight_bytes == weights
    assert mapping.reread_bytes == 0
    assert mapping.spill_bytes == 2 * 4 * 64 * 64 * 2
    assert mapping.read_cycles == 3 * 64 * 8
    counted = model.layer_events(CONV_64, 8, 8)
    offchip = 64 * 64 + 64 * 64 + 2 * 4 * 64 * 64 * 2  # inputs, outputs, spilled partial sums
    assert counted == {
        "read_cycles": 3 * 64 * 8,
        "adc_bit_cycles": 3 * 64 * 8 * 8 * 8,
        "row_reads": 64 * 8 * 576 * 2,  # as weight-stationary: each crossbar read as often
        "conversion_bits": 64 * 8 * 256 * 5 * 8,
        "noc_byte_hops": 64 * 64,  # 4 arrays in one tile
        "weight_bytes": weights,
        "offchip_bytes": offchip,
        "stall_cycles": offchip / 1 - 3 * 64 * 8,
    }
    # the accelerator's area belongs to the network, not to its edges
    network = dict(zip(model.coefficient_names(), model.network_events(None)))
    assert (network["mm2_per_crossbar"], network["mm2_per_adc_bit"], network["mm2_per_tile"]) == (
        4,
        4 * 16 * 8,
        1,
    )
    graph = one_layer(CONV_64, 64, 8)
    assert events(model, graph)["mm2_per_crossbar"] == 4
    assert model.estimate(graph)["area_mm2"] == pytest.approx(
        model.estimate(one_layer(CONV_16, 16, 32))["area_mm2"]
    )


def test_each_layer_takes_the_schedule_that_moves_fewer_offchip_bytes():
    # with a 16 KiB buffer the 8 KiB of partial sums stay on chip: weights once, nothing spilled
    roomy = ImcModel(arrays=4, buffer_kib=16).map_layer(CONV_64, 8, 8)
    assert (roomy.chunks, roomy.weight_bytes, roomy.spill_bytes) == (1, 64 * 64 * 9, 0)
    # a 3 KiB buffer: chunks of one output row each (8 of them, 7 x 2 rows read again) move
    # 8 x 36,864 + 7,168 bytes; spilling 8 KiB of partial sums 4 times moves fewer still
    tight = ImcModel(arrays=4, buffer_kib=3).map_layer(CONV_64, 8, 8)
    assert tight.chunks == 1 and tight.spill_bytes == 2 * 4 * 8192
    # one pass: no schedule to choose, weights once, nothing spilled or re-read
    single = ImcModel(arrays=16).map_layer(CONV_64, 8, 8)
    assert (single.passes, single.chunks, single.spill_bytes, single.reread_bytes) == (1, 1, 0, 0)
    # the aimc preset on NB201's first conv keeps chunks (next test): ZigZag's choice there too


def test_aimc_preset_on_a_nb201_conv_by_hand():
    # 16 -> 16 channels, 3x3, 32 x 32: 144 rows (2 blocks of 128) x 16 weights of 8 one-bit
    # cells (128 of 1024 columns): 2 crossbars, 2 passes on ZigZag's one macro, each 32 x 32
    # positions x 4 cycles of 2 input bits: 8192 read cycles, ZigZag's own ideal temporal count.
    # A 16 KiB half buffer holds (16384 - 2 x 512) // (512 + 1024) = 10 output rows: 4 chunks,
    # and ZigZag's mapping of this layer also loads its weights 4 times.
    model = ImcModel(variant="aimc")
    mapping = model.map_layer(CONV_16, 32, 32)
    assert (mapping.crossbars, mapping.passes, mapping.chunks, mapping.adc_rounds) == (2, 2, 4, 1)
    counted = model.layer_events(CONV_16, 32, 32)
    assert counted["read_cycles"] == 8192
    assert counted["weight_bytes"] == 4 * 16 * 16 * 9
    assert counted["offchip_bytes"] == 2 * 16 * 1024 + 3 * 2 * 32 * 16
    assert counted["stall_cycles"] == 0  # 4480 transfer cycles hide behind 8192 read cycles
    assert counted["conversion_bits"] == 1024 * 4 * 128 * 2 * 8  # 8-bit ADC on every column
    dimc = ImcModel(variant="dimc").layer_events(CONV_16, 32, 32)
    assert dimc["read_cycles"] == 2 * 8192  # 1 input bit a cycle
    assert dimc["conversion_bits"] == dimc["adc_bit_cycles"] == 0  # adder trees, no ADCs


def test_presets_read_from_zigzag_yaml():
    zigzag = pytest.importorskip("zigzag", reason="reading ZigZag's presets needs the [zigzag] extra")
    yaml = pytest.importorskip("yaml", reason="ZigZag's files need the [zigzag] extra")
    for variant, preset in PRESETS.items():
        path = Path(zigzag.__file__).parent / "inputs" / "hardware" / f"{variant}.yaml"
        spec = yaml.safe_load(path.read_text())
        array, memories = spec["operational_array"], spec["memories"]
        d1, d2 = array["sizes"]  # D1: weights along a wordline; D2: rows (inputs)
        activation_bits, weight_bits = array["input_precision"]
        cell_bits = memories["cells"]["size"]  # bits of one weight's cells
        assert preset["xbar_rows"] == d2 and preset["arrays"] == 1  # no third dimension
        assert preset["xbar_cols"] == d1 * cell_bits // preset["bits_per_cell"]
        assert (preset["weight_bits"], preset["activation_bits"]) == (weight_bits, activation_bits)
        assert preset["input_bits_per_cycle"] == array["bit_serial_precision"]
        assert preset["adc_bits"] == array.get("adc_resolution", 0)
        assert preset["adc_bits"] == 0 or preset["columns_per_adc"] == 1  # one ADC per column
        assert preset["buffer_kib"] * 1024 * 8 == memories["sram_256KB"]["size"]  # bits
        port = memories["dram"]["ports"][0]
        assert preset["offchip_bytes_per_cycle"] * 8 == port["bandwidth_max"]


def test_presets_and_explicit_structure():
    aimc = ImcModel(variant="aimc")
    assert aimc.structure.input_bits_per_cycle == 2 and aimc.structure.adc_bits == 8
    assert ImcModel(variant="dimc").structure.adc_bits == 0
    mine = ImcModel(variant="aimc", arrays=4, mj_per_adc_bit=1e-9)
    assert (mine.structure.arrays, mine.structure.xbar_cols) == (4, 1024)
    assert mine.cost("mj_per_adc_bit") == 1e-9
    assert repr(mine) == "ImcModel(variant='aimc', arrays=4)"
    assert repr(ImcModel(arrays=2)) == "ImcModel(arrays=2)"
    # finite-array parameters belong to a profile's structure only in finite-array mode
    assert "arrays" not in ImcModel().structure_parameters()
    assert aimc.structure_parameters()["buffer_kib"] == 32
    with pytest.raises(UnknownNameError, match="Unknown IMC preset 'AIMC'; expected one of"):
        ImcModel(variant="AIMC")


def test_finite_layers_grow_with_their_size_and_weight_stationary_ones_do_not(nb201):
    def read_cycles(model, channels):
        layer = Layer("conv", channels, channels, 3, padding=1)
        return model.layer_events(layer, 16, 16)["read_cycles"]

    for name in ("aimc", "dimc"):
        model = ImcModel(variant=name)
        assert read_cycles(model, 16) < read_cycles(model, 32) < read_cycles(model, 64)
        conv3, index0 = (
            model.estimate(nb201.to_graph(nb201.parse(text)))["latency_ms"]
            for text in (ALL_CONV3, INDEX0)
        )
        assert conv3 > 2 * index0
    ws = ImcModel()  # the crossbars of a layer work in parallel
    assert read_cycles(ws, 16) == read_cycles(ws, 64)


# ------------------------------------------------------------------------------ monotonicity
def never_less(before: dict[str, float], after: dict[str, float]) -> None:
    for quantity, value in before.items():
        assert after[quantity] >= value * (1 - 1e-12), (quantity, value, after[quantity])


@st.composite
def flash_growth(draw):
    """A FLASH-space architecture and the same one with one cell wider or deeper."""
    block = draw(st.sampled_from(BLOCKS))
    space = flash_space(block)
    cells = []
    for _ in range(3):
        width, depth = draw(st.integers(2, 96)), draw(st.integers(1, 7))
        cells.append([width, depth, draw(st.integers(0, space.skip_capacity(width, depth)))])
    grown = [list(cell) for cell in cells]
    cell = draw(st.integers(0, 2))
    if draw(st.booleans()):
        grown[cell][0] += draw(st.integers(1, 32))
    else:
        grown[cell][1] += draw(st.integers(1, 2))
    return block, tuple(map(tuple, cells)), tuple(map(tuple, grown))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flash_growth())
def test_wider_or_deeper_flash_cells_never_cost_less(case):
    block, arch, grown = case
    model, space = ImcModel(), flash_space(block)
    never_less(model.estimate(space.to_graph(arch)), model.estimate(space.to_graph(grown)))


@settings(max_examples=30, deadline=None)
@given(flash_growth(), st.integers(8, 40), st.integers(1, 24))
def test_larger_flash_inputs_never_cost_less(case, size, more):
    block, arch, _ = case
    model = ImcModel()
    small = model.estimate(flash_space(block, size).to_graph(arch))
    never_less(small, model.estimate(flash_space(block, size + more).to_graph(arch)))


def test_nb201_at_64_pixels_never_costs_less(nb201):
    model = ImcModel()
    at32 = model.estimate_batch(nb201.enumerate())
    large = nb201_space(input_size=64)
    at64 = model.estimate_batch(large.enumerate())
    for quantity in model.quantities:
        assert (at64[quantity] >= at32[quantity]).all(), quantity
    runs = at32["latency_ms"] > 0  # cut-off cells run nothing at either size
    assert (~runs).sum() == 341  # NB201's cells with every path to node 3 through a none edge
    assert (at64["latency_ms"][runs] > 3.9 * at32["latency_ms"][runs]).all()  # 4x the positions
    np.testing.assert_allclose(at64["area_mm2"], at32["area_mm2"])  # weights do not grow


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=6, max_size=6), st.integers(0, 5), st.integers(1, 4))
def test_an_nb201_edge_turned_on_never_costs_less(ops, position, op):
    nb201 = nb201_space()
    ops[position] = 0  # "none"
    more = list(ops)
    more[position] = op
    batch = nb201.batch([tuple(ops), tuple(more)])
    values = ImcModel().estimate_batch(batch)
    never_less(*({q: float(v[i]) for q, v in values.items()} for i in (0, 1)))


def test_wider_nb201_networks_never_cost_less():
    model = ImcModel()
    narrow = model.estimate_batch(flash_nas.get_adapter("nasbench201").sample(200, 1))
    wide = model.estimate_batch(
        flash_nas.get_adapter("nasbench201", stem_channels=24).sample(200, 1)
    )
    for quantity in model.quantities:
        assert (wide[quantity] >= narrow[quantity]).all(), quantity


@st.composite
def flash_superset_growth(draw):
    """A FLASH-space architecture and one that holds it: a cell wider, or deeper without skips.

    A deeper cell lays its skips out anew, so with skips it need not contain the shallower
    one; weight-stationary costs add up over channels and do not mind, finite arrays do (a
    layer that gathers many skip channels may need more chunks than two that share them).
    """
    block, cells, grown = draw(flash_growth())
    changed = next(i for i, (a, b) in enumerate(zip(cells, grown)) if a != b)
    if cells[changed][1] != grown[changed][1]:
        cells = tuple((w, d, 0) if i == changed else (w, d, t) for i, (w, d, t) in enumerate(cells))
        grown = tuple((w, d, 0) if i == changed else (w, d, t) for i, (w, d, t) in enumerate(grown))
    return block, cells, grown


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flash_superset_growth(), st.sampled_from(["aimc", "dimc"]), st.sampled_from([1, 4]))
def test_wider_or_deeper_flash_cells_never_cost_less_on_finite_arrays(case, variant, arrays):
    block, arch, grown = case
    model, space = ImcModel(variant=variant, arrays=arrays), flash_space(block)
    never_less(model.estimate(space.to_graph(arch)), model.estimate(space.to_graph(grown)))


@settings(max_examples=30, deadline=None)
@given(flash_growth(), st.integers(8, 40), st.integers(1, 24), st.sampled_from(["aimc", "dimc"]))
def test_larger_flash_inputs_never_cost_less_on_finite_arrays(case, size, more, variant):
    block, arch, _ = case
    model = ImcModel(variant=variant)
    small = model.estimate(flash_space(block, size).to_graph(arch))
    never_less(small, model.estimate(flash_space(block, size + more).to_graph(arch)))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=6, max_size=6), st.integers(0, 5), st.integers(1, 4))
def test_an_nb201_edge_turned_on_never_costs_less_on_finite_arrays(ops, position, op):
    nb201 = nb201_space()
    ops[position] = 0
    more = list(ops)
    more[position] = op
    batch = nb201.batch([tuple(ops), tuple(more)])
    for variant in ("aimc", "dimc"):
        values = ImcModel(variant=variant).estimate_batch(batch)
        never_less(*({q: float(v[i]) for q, v in values.items()} for i in (0, 1)))


def test_more_arrays_or_buffer_never_cost_time_or_energy():
    batch = flash_space("dense").sample(60, seed=3)
    previous = None
    for arrays in (1, 2, 4, 16, 64):
        # all in one tile: more tiles would put more mesh hops between them
        model = ImcModel(variant="aimc", arrays=arrays, crossbars_per_tile=64)
        values = model.estimate_batch(batch)
        if previous is not None:
            for quantity in ("latency_ms", "energy_mj"):
                assert (values[quantity] <= previous[quantity] * (1 + 1e-12)).all(), quantity
            assert (values["area_mm2"] > previous["area_mm2"]).all()
        previous = values
    small, large = (
        ImcModel(variant="aimc", buffer_kib=kib).estimate_batch(batch) for kib in (8, 256)
    )
    for quantity in ("latency_ms", "energy_mj"):
        assert (large[quantity] <= small[quantity] * (1 + 1e-12)).all(), quantity
        assert (large[quantity] < small[quantity]).any(), quantity


# ------------------------------------------------------------------------- numbers and speed
def test_nb201_numbers_are_plausible(nb201):
    model = ImcModel()
    conv3, index0, skip = (
        model.estimate(nb201.to_graph(nb201.parse(t))) for t in (ALL_CONV3, INDEX0, ALL_SKIP)
    )
    for quantity in model.quantities:
        assert conv3[quantity] > index0[quantity] > skip[quantity], quantity
    macs = flash_nas.score(nb201.to_graph(nb201.parse(ALL_CONV3)), ["macs"])["macs"]
    picojoules_per_mac = conv3["energy_mj"] * 1e9 / macs
    assert 0.1 < picojoules_per_mac < 10  # published ReRAM IMC macros: ~0.05-5 pJ per 8-bit MAC
    assert 1 < conv3["latency_ms"] < 20 and 5 < conv3["area_mm2"] < 100


def test_batch_agrees_with_graphs_on_many_nb201_cells(nb201):
    model = ImcModel()
    batch = nb201.sample(40, seed=7)
    batched = model.estimate_batch(batch)
    for position, graph in enumerate(batch.iter_graphs()):
        for quantity, value in model.estimate(graph).items():
            assert batched[quantity][position] == pytest.approx(value, rel=1e-9)


def test_the_whole_nb201_space_takes_well_under_half_a_second(nb201):
    whole = nb201.enumerate()
    model = ImcModel()
    start = time.perf_counter()
    values = model.estimate_batch(whole)
    assert time.perf_counter() - start < 0.5
    assert all(len(v) == 15_625 for v in values.values())
    # only the 341 cells whose output is cut off from their input (dead code) cost nothing
    assert all(((v > 0) == (values["area_mm2"] > 0)).all() for v in values.values())
    assert (values["area_mm2"] == 0).sum() == 341


# ------------------------------------------------------------------------------- calibration
def test_calibration_recovers_known_costs(tmp_path):
    batch = flash_space("dense").sample(60, seed=0)
    rng = np.random.default_rng(0)
    truth = {c.name: c.default * rng.uniform(0.5, 2.0) for c in ImcModel.coefficients}
    measured = ImcModel(**truth).estimate_batch(batch)
    profile = calibrate(ImcModel(), batch, measured, fit_samples=25, seed=0)
    for coefficient in ImcModel.coefficients:
        if coefficient.quantity != "area_mm2" and coefficient.name not in FINITE_COSTS:
            assert profile.costs[coefficient.name] == pytest.approx(
                truth[coefficient.name], rel=1e-6
            )
    # Every crossbar has 16 ADCs of 8 bits, so only crossbar + 128 ADC bits is identifiable.
    combined = {
        source: costs["mm2_per_crossbar"] + 128 * costs["mm2_per_adc_bit"]
        for source, costs in (("fit", profile.costs), ("truth", truth))
    }
    assert combined["fit"] == pytest.approx(combined["truth"], rel=1e-6)
    assert profile.costs["mm2_per_tile"] == pytest.approx(truth["mm2_per_tile"], rel=1e-6)
    for fit in profile.fit.values():
        assert fit.mape < 1e-9 and fit.within_10pct == 1.0
    path = tmp_path / "imc.json"
    profile.save(path)
    refitted = ImcModel(profile=path).estimate_batch(batch)
    for quantity, values in measured.items():
        np.testing.assert_allclose(refitted[quantity], values, rtol=1e-6)


def test_calibrating_a_preset_reproduces_it():
    batch = flash_space("dense").sample(60, seed=1)
    rng = np.random.default_rng(1)
    truth = {c.name: c.default * rng.uniform(0.5, 2.0) for c in ImcModel.coefficients}
    measured = ImcModel(variant="dimc", **truth).estimate_batch(batch)
    del measured["area_mm2"]  # one constant: nothing to rank
    profile = calibrate(ImcModel(variant="dimc"), batch, measured, fit_samples=25, seed=0)
    assert profile.structure["arrays"] == 1 and profile.structure["adc_bits"] == 0
    for fit in profile.fit.values():
        assert fit.mape < 1e-6 and fit.within_10pct == 1.0
    with pytest.raises(FlashNasError, match="fitted with other structure parameters"):
        ImcModel(profile=profile)
    assert ImcModel(profile=profile, variant="dimc").cost("ms_per_weight_byte") == pytest.approx(
        truth["ms_per_weight_byte"], rel=1e-6
    )
