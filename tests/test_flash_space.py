"""The FLASH space adapter: counting, text form, graphs, skip layout and closed-form metrics."""

from __future__ import annotations

import itertools
import math
import time
from fractions import Fraction

import numpy as np
import pytest

import flash_nas
from flash_nas import ArchFormatError, NotSupportedError, UnknownNameError, score, score_batch
from flash_nas.plugins.testing import AdapterContract
from flash_nas_adapters.flash.space import (
    BLOCKS,
    CellConfig,
    FlashBatch,
    FlashSpaceAdapter,
)

#: Metrics FlashBatch must give in closed form (for every block); integer-valued ones exactly.
CLOSED_FORM = ("nn_degree", "nn_degree_neuron", "nn_mass", "params", "macs", "flops", "activations")
INTEGER_VALUED = ("params", "macs", "flops", "activations")

#: A small space with every edge case: depth 1 and 2 (no skip capacity), odd spatial sizes
#: (30 -> 15 -> 8), per-cell width ranges and a non-default expansion and class count.
EDGE_SPACE = dict(
    widths=[(4, 6), (3, 8), (5,)],
    depths=(1, 2, 3, 4, 5),
    input_size=30,
    num_classes=7,
    expansion=3,
)


def pairs(depth: int) -> int:
    return (depth - 1) * (depth - 2) // 2


def edge_cases(space: FlashSpaceAdapter) -> list[tuple[CellConfig, ...]]:
    """Per (width, depth) of each cell, t = 0 and t = capacity, lined up across cells."""
    per_cell = [
        [
            CellConfig(width, depth, skips)
            for width in space.widths[cell]
            for depth in space.depths[cell]
            for skips in sorted({0, space.skip_capacity(width, depth)})
        ]
        for cell in range(space.n_cells)
    ]
    longest = max(map(len, per_cell))
    return [tuple(cells[k % len(cells)] for cells in per_cell) for k in range(longest)]


# ------------------------------------------------------------------------------- registration
def test_registered_through_the_entry_point():
    assert isinstance(flash_nas.get_adapter("flash"), FlashSpaceAdapter)
    assert isinstance(flash_nas.get_adapter("flash", block="resnet"), FlashSpaceAdapter)
    [registration] = [
        r for r in flash_nas.registrations() if r.name == "flash" and r.kind == "adapter"
    ]
    assert registration.factory is FlashSpaceAdapter
    assert registration.plugin == "flash"


@pytest.mark.parametrize("block", BLOCKS)
class TestContract(AdapterContract):
    @pytest.fixture
    def adapter(self, block):
        return FlashSpaceAdapter(block=block)


# ----------------------------------------------------------------------------------- counting
def test_default_dense_space_has_more_than_63_billion_architectures():
    space = FlashSpaceAdapter()
    assert space.widths == ((16, 24, 32, 40, 48, 56, 64),) * 3
    assert space.depths == ((2, 3, 4, 5, 6),) * 3
    per_cell = sum(w * pairs(d) + 1 for w in range(16, 65, 8) for d in range(2, 7))
    assert per_cell == 5635
    assert space.size() == per_cell**3 == 178_929_422_875
    assert space.size() >= 63e9


@pytest.mark.parametrize("block", BLOCKS)
def test_size_equals_a_brute_force_count(block):
    space = FlashSpaceAdapter(block=block, widths=[(1, 2), (3,)], depths=(1, 2, 3, 4), n_cells=2)
    valid_cells = []
    for cell in range(2):
        found = []
        for width, depth, skips in itertools.product(range(5), range(6), range(-1, 30)):
            arch = [(1, 1, 0), (3, 1, 0)]
            arch[cell] = (width, depth, skips)
            try:
                space.check(arch)
            except ArchFormatError:
                continue
            found.append((width, depth, skips))
        valid_cells.append(found)
    assert space.size() == len(valid_cells[0]) * len(valid_cells[1])
    expected_cell_2 = {"dense": 1 + 1 + 4 + 10, "resnet": 1 + 1 + 2 + 4, "mobilenet": 1 + 1 + 2 + 4}
    assert len(valid_cells[1]) == expected_cell_2[block]


def test_enumerate_is_refused_with_the_size_and_there_is_no_index():
    space = FlashSpaceAdapter()
    with pytest.raises(NotSupportedError, match="178,929,422,875 architectures"):
        space.enumerate()
    assert space.index(space.parse("dense:w=16,16,16;d=2,2,2;t=0,0,0")) is None


# --------------------------------------------------------------------------------- text form
def test_text_round_trips_and_arch_is_a_hashable_tuple():
    space = FlashSpaceAdapter()
    text = "dense:w=32,48,64;d=4,6,6;t=10,0,200"
    arch = space.parse(text)
    assert arch == ((32, 4, 10), (48, 6, 0), (64, 6, 200))
    assert arch[2] == CellConfig(width=64, depth=6, skips=200)
    assert hash(arch) == hash(((32, 4, 10), (48, 6, 0), (64, 6, 200)))
    assert space.format(arch) == text
    assert space.parse(f"  {text}\n") == arch
    assert space.format([[32, 4, 10], [48, 6, 0], [64, 6, 200]]) == text
    batch = space.sample(50, seed=3)
    for position, text in enumerate(batch.texts()):
        assert space.format(space.parse(text)) == text
        assert space.parse(text) == batch.arch(position)


def test_other_blocks_write_their_name_and_count_links():
    space = FlashSpaceAdapter(block="mobilenet")
    arch = space.parse("mobilenet:w=16,24,32;d=2,5,6;t=0,6,10")
    assert space.format(arch) == "mobilenet:w=16,24,32;d=2,5,6;t=0,6,10"
    assert space.to_graph(arch).name == "mobilenet:w=16,24,32;d=2,5,6;t=0,6,10"


FORM = "expected the form dense:w=W1,W2,W3;d=D1,D2,D3;t=T1,T2,T3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("w=32,48,64;d=4,6,6;t=1,0,2", f"Malformed FLASH architecture .*{FORM}"),
        ("dense:w=32,48,64;d=4,6,6", f"Malformed FLASH architecture .*{FORM}"),
        ("dense:w=32,48,64;t=1,0,2;d=4,6,6", f"Malformed FLASH architecture .*{FORM}"),
        ("dense: w=32,48,64;d=4,6,6;t=1,0,2", f"Malformed FLASH architecture .*{FORM}"),
        ("dense:w=32,x,64;d=4,6,6;t=1,0,2", "w= must list non-negative integers .* got '32,x,64'"),
        ("dense:w=32,48,64;d=4,6,6;t=1,-1,2", "t= must list non-negative integers"),
        ("dense:w=32,48,64;d=4,6,6;t=1,,2", "t= must list non-negative integers"),
        (
            "dense:w=32,48;d=4,6;t=1,0",
            r"gives 2 values in w=; this space has 3 cells \(n_cells=3\)",
        ),
        ("dense:w=32,48,64;d=4,6,6,6;t=1,0,2,3", "gives 4 values in d="),
        (
            "resnet:w=32,48,64;d=4,6,6;t=1,0,2",
            "written for the 'resnet' block, but this space builds 'dense' cells; pass block='resnet'",
        ),
        (
            "dense:w=33,48,64;d=4,6,6;t=1,0,2",
            "Cell 1: width 33 is not allowed; expected one of 16, 24,",
        ),
        (
            "dense:w=32,48,64;d=4,7,6;t=1,0,2",
            "Cell 2: depth 7 is not allowed; expected one of 2, 3, 4",
        ),
        (
            "dense:w=32,48,64;d=4,6,6;t=1,0,641",
            r"Cell 3: 641 skip channels is out of range for a dense cell of width 64 and depth 6; "
            r"expected 0\.\.640 \(capacity w\*\(d-1\)\*\(d-2\)/2\)",
        ),
        ("dense:w=32,48,64;d=2,6,6;t=1,0,2", r"Cell 1: 1 skip channels .* expected 0\.\.0"),
    ],
)
def test_malformed_text_says_what_was_expected(text, message):
    with pytest.raises(ArchFormatError, match=message):
        FlashSpaceAdapter().parse(text)


def test_resnet_skips_above_the_link_capacity_are_rejected():
    with pytest.raises(
        ArchFormatError, match=r"7 skip links .* expected 0\.\.6 \(capacity \(d-1\)"
    ):
        FlashSpaceAdapter(block="resnet").parse("resnet:w=16,16,16;d=5,2,2;t=7,0,0")


def test_non_text_is_rejected():
    with pytest.raises(ArchFormatError, match="Malformed FLASH architecture 42"):
        FlashSpaceAdapter().parse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("dense:w=16,16,16", "as 3 \\(width, depth, skips\\) triples of ints"),
        (((16, 2), (16, 2, 0), (16, 2, 0)), "triples of ints"),
        (((16, 2, 0.5), (16, 2, 0), (16, 2, 0)), "triples of ints"),
        (((16, 2, 0),) * 2, "one per cell \\(n_cells=3\\)"),
        (((16, 3, -1), (16, 2, 0), (16, 2, 0)), "Cell 1: -1 skip channels is out of range"),
    ],
)
def test_bad_arch_objects_are_rejected(arch, message):
    space = FlashSpaceAdapter()
    with pytest.raises(ArchFormatError, match=message):
        space.to_graph(arch)
    with pytest.raises(ArchFormatError, match=message):
        space.format(arch)


def test_bad_config_arrays_are_rejected():
    space = FlashSpaceAdapter()
    with pytest.raises(ArchFormatError, match=r"shape \(n, 3, 3\), .* got shape \(2, 3\)"):
        FlashBatch(space, np.zeros((2, 3), dtype=int))
    with pytest.raises(ArchFormatError, match="must be integers; got dtype float64"):
        FlashBatch(space, np.full((1, 3, 3), 16.0))
    configs = np.array([[[16, 2, 0]] * 3, [[16, 2, 0], [16, 3, 17], [16, 2, 0]]])
    with pytest.raises(ArchFormatError, match="Row 1: Cell 2: 17 skip channels"):
        FlashBatch(space, configs)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"block": "vgg"}, UnknownNameError, "Unknown FLASH block 'vgg'; expected one of dense, "),
        ({"widths": ()}, ValueError, "'widths' parameter .* non-empty sequence of ints in 1..8192"),
        ({"widths": 16}, ValueError, "'widths' parameter .* Got 16 instead"),
        ({"depths": (0, 2)}, ValueError, "'depths' parameter"),
        ({"depths": [(2,), (3,)]}, ValueError, r"or 3 such sequences \(one per cell; n_cells=3\)"),
        ({"widths": [(16,), (), (16,)]}, ValueError, "'widths' parameter"),
        (
            {"n_cells": 0},
            ValueError,
            "'n_cells' parameter of FlashSpaceAdapter must be an int in 1..64",
        ),
        ({"input_size": 0}, ValueError, "'input_size' parameter .* in 1..4096. Got 0"),
        ({"input_size": 100_000_000}, ValueError, "'input_size' parameter .* in 1..4096"),
        ({"widths": [16, 10**6]}, ValueError, "'widths' parameter .* ints in 1..8192"),
        ({"num_classes": 2.5}, ValueError, "'num_classes' parameter .* Got 2.5"),
        ({"skip_seed": -1}, ValueError, "'skip_seed' parameter .* in 0\\.\\."),
        ({"expansion": True}, ValueError, "'expansion' parameter .* Got True"),
    ],
)
def test_bad_parameters_are_rejected(options, error, message):
    with pytest.raises(error, match=message):
        FlashSpaceAdapter(**options)


def test_per_cell_ranges_apply_to_their_cell():
    space = FlashSpaceAdapter(widths=[(8,), (16, 8), (32,)], depths=[(3,), (2,), (4, 3)])
    assert space.widths == ((8,), (8, 16), (32,))
    assert space.size() == (8 + 1) * (1 + 1) * (32 * 3 + 1 + 32 + 1)
    space.check(((8, 3, 8), (16, 2, 0), (32, 4, 96)))
    with pytest.raises(
        ArchFormatError, match="Cell 1: width 16 is not allowed; expected one of 8."
    ):
        space.check(((16, 3, 0), (16, 2, 0), (32, 4, 0)))


# ---------------------------------------------------------------------------------- sampling
def test_sampling_is_reproducible_and_in_the_space():
    space = FlashSpaceAdapter()
    first = space.sample(1000, seed=7)
    assert isinstance(first, FlashBatch)
    assert first.configs.shape == (1000, 3, 3) and first.configs.dtype == np.int64
    np.testing.assert_array_equal(first.configs, space.sample(1000, seed=7).configs)
    assert not np.array_equal(first.configs, space.sample(1000, seed=8).configs)
    for arch in map(first.arch, range(1000)):
        space.check(arch)
    assert len(space.sample(0, seed=0)) == 0
    with pytest.raises(ValueError, match=r"'n' parameter .* in 0\.\.\d+. Got -1"):
        space.sample(-1, seed=0)


@pytest.mark.parametrize("block", BLOCKS)
def test_sampling_draws_without_replacement(block):
    space = FlashSpaceAdapter(block=block, widths=[16], depths=[2, 4], n_cells=2)
    size = space.size()
    texts = space.sample(size - 1, seed=3).texts()
    assert len(set(texts)) == size - 1  # with replacement, ~37 % of the draws would repeat
    assert set(space.sample(size, seed=3).texts()) == set(space.enumerate().texts())
    assert len(space.sample(size + 10, seed=0)) == size  # the whole space, never a repeat
    # the first draws of a sample without repeats are the same as those of independent draws
    large = FlashSpaceAdapter(block=block)
    np.testing.assert_array_equal(
        large.sample(500, seed=1).configs, large.sample(500, seed=1, replace=True).configs
    )


def test_enumerate_lists_a_small_space_once_each():
    space = FlashSpaceAdapter(widths=[16], depths=[2, 3], n_cells=3)
    texts = space.enumerate().texts()
    assert len(texts) == len(set(texts)) == space.size() == 18**3
    assert texts[0] == "dense:w=16,16,16;d=2,2,2;t=0,0,0"
    with pytest.raises(NotSupportedError, match="cannot be enumerated"):
        FlashSpaceAdapter().enumerate()


@pytest.mark.parametrize("block", BLOCKS)
def test_sampling_is_uniform_over_the_space(block):
    # cell 1: (2, 1) has 1 choice, (2, 4) has 7 (dense) or 4 (links); cell 2: (3, 3) has 4 or 2
    space = FlashSpaceAdapter(block=block, widths=[(2,), (3,)], depths=[(1, 4), (3,)], n_cells=2)
    size = space.size()
    draws = 200 * size
    counts: dict[str, int] = {}
    for text in space.sample(draws, seed=0, replace=True).texts():
        counts[text] = counts.get(text, 0) + 1
    assert len(counts) == size
    # every architecture's count is binomial(draws, 1/size): 5 standard deviations
    spread = 5 * math.sqrt(draws / size)
    assert all(abs(count - draws / size) < spread for count in counts.values()), counts


def test_batch_of_archs_keeps_order_and_texts():
    space = FlashSpaceAdapter()
    archs = [space.parse("dense:w=64,16,24;d=6,2,3;t=640,0,24"), ((16, 2, 0),) * 3]
    batch = space.batch(archs)
    assert isinstance(batch, FlashBatch)
    assert [batch.arch(i) for i in range(2)] == archs
    assert batch.texts() == [space.format(arch) for arch in archs]
    assert batch.graph(0).name == "dense:w=64,16,24;d=6,2,3;t=640,0,24"
    assert len(space.batch([])) == 0


# ----------------------------------------------------------------------------- skip layout
@pytest.mark.parametrize("block", BLOCKS)
def test_skip_layout_spreads_exactly_t_evenly_over_eligible_pairs(block):
    space = FlashSpaceAdapter(block=block, widths=(3, 8), depths=(1, 2, 3, 5, 7))
    batch = space.sample(300, seed=1)
    for position in range(len(batch)):
        arch = batch.arch(position)
        for config, layout in zip(arch, space.skip_layout(arch), strict=True):
            per_pair = config.width if block == "dense" else 1
            assert sum(layout.values()) == config.skips
            assert all(0 <= j <= i - 2 and i < config.depth for i, j in layout)
            assert all(1 <= count <= per_pair for count in layout.values())
            counts = [
                layout.get(pair, 0)
                for pair in itertools.combinations(range(7), 2)
                if pair[1] - pair[0] >= 2 and pair[1] < config.depth
            ]
            if counts:
                assert max(counts) - min(counts) <= 1


def test_skip_layout_is_fixed_by_the_seed():
    arch = ((16, 6, 5), (16, 6, 5), (16, 6, 5))
    layout = FlashSpaceAdapter().skip_layout(arch)
    assert FlashSpaceAdapter().skip_layout(arch) == layout
    assert len({tuple(cell) for cell in layout}) > 1, "cells should not share one layout"
    assert any(FlashSpaceAdapter(skip_seed=s).skip_layout(arch) != layout for s in range(1, 4))


# ------------------------------------------------------------------------------------- graphs
def test_dense_graph_is_a_densenet():
    space = FlashSpaceAdapter()
    arch = space.parse("dense:w=16,24,32;d=4,2,5;t=20,0,100")
    graph = space.to_graph(arch)
    assert [cell.name for cell in graph.cells] == ["c1", "c2", "c3"]
    c1, c2, c3 = graph.cells
    assert c1.nodes == (
        "stem",
        "c1.out0",
        "c1.in1",
        "c1.out1",
        "c1.in2",
        "c1.out2",
        "c1.in3",
        "c1.out3",
    )
    assert (c1.inputs, c1.output, c1.skip_capacity) == (("stem",), "c1.out3", 16 * 3)
    assert (c2.inputs, c2.output, c2.skip_capacity) == (("trans2",), "c2.out1", 0)
    assert (c3.inputs, c3.skip_capacity) == (("trans3",), 32 * 6)
    assert [graph.node(cell.output).height for cell in graph.cells] == [32, 16, 8]
    by_dst: dict[str, list] = {}
    for edge in graph.edges:
        by_dst.setdefault(edge.dst, []).append(edge)

    [stem] = by_dst["stem"]
    assert [layer.kind for layer in stem.op.layers] == ["conv", "bn"]
    [transition] = by_dst["trans2"]
    assert transition.src == "c1.out3"
    assert [(layer.kind, layer.kernel) for layer in transition.op.layers] == [
        ("bn", 1),
        ("relu", 1),
        ("conv", 1),
    ]
    assert (
        transition.op.layers[-1].in_channels == 16 and transition.op.layers[-1].out_channels == 24
    )
    [first] = by_dst["c2.out0"]
    assert first.src == "trans2"
    conv = first.op.layers[-1]
    assert [layer.kind for layer in first.op.layers] == ["bn", "relu", "conv"]
    assert (conv.kernel, conv.stride, conv.padding, conv.bias) == (3, 2, 1, False)

    total = 0
    for layer in range(1, 5):
        concat = graph.node(f"c3.in{layer}")
        previous, *skips = by_dst[concat.name]
        assert concat.combine == "concat"
        assert (previous.src, previous.op.is_identity, previous.channels) == (
            f"c3.out{layer - 1}",
            True,
            None,
        )
        for skip in skips:
            source = int(skip.src.removeprefix("c3.out"))
            assert skip.op.is_identity and skip.channel_offset == 0 and 1 <= skip.channels <= 32
            assert source <= layer - 2
        assert concat.channels == 32 + sum(skip.channels for skip in skips)
        [conv_edge] = by_dst[f"c3.out{layer}"]
        assert conv_edge.src == concat.name and conv_edge.op.layers[-1].stride == 1
        total += sum(skip.channels for skip in skips)
    assert total == 100

    head = by_dst["logits"][0]
    assert [layer.kind for layer in head.op.layers] == ["bn", "relu", "global_avg_pool", "linear"]
    assert head.op.layers[-1].bias and graph.node("logits").channels == 10


def test_resnet_and_mobilenet_layers_are_sum_nodes_with_whole_tensor_skips():
    for block in ("resnet", "mobilenet"):
        space = FlashSpaceAdapter(block=block, expansion=6)
        graph = space.to_graph(((16, 5, 6), (24, 4, 2), (32, 2, 0)))
        assert graph.cells[0].skip_capacity == 16 * 6
        into = [edge for edge in graph.edges if edge.dst == "c1.out4"]
        assert into[0].src == "c1.out3" and all(edge.op.is_identity for edge in into[1:])
        assert {edge.src for edge in into[1:]} == {"c1.out0", "c1.out1", "c1.out2"}
        assert all(edge.channels is None for edge in into)
        assert all(graph.node(f"c1.out{i}").combine == "sum" for i in range(5))
    layers = into[0].op.layers
    assert [layer.kind for layer in layers] == [
        "conv",
        "bn",
        "relu6",
        "conv",
        "bn",
        "relu6",
        "conv",
        "bn",
    ]
    assert (layers[0].out_channels, layers[3].groups, layers[3].kernel) == (96, 96, 3)
    first = next(edge for edge in graph.edges if edge.dst == "c2.out0")
    assert [layer.stride for layer in first.op.layers if layer.kind == "conv"] == [1, 2, 1]


def test_graph_shapes_follow_input_size_and_classes():
    space = FlashSpaceAdapter(input_size=30, num_classes=100, n_cells=4, widths=(8,), depths=(1,))
    graph = space.to_graph(((8, 1, 0),) * 4)
    assert [graph.node(cell.output).height for cell in graph.cells] == [30, 15, 8, 4]
    assert graph.node("logits").channels == 100


# --------------------------------------------------------------------------- NN-Degree, mass
def dense_examples() -> list[tuple[CellConfig, ...]]:
    space = FlashSpaceAdapter()
    batch = space.sample(40, seed=11)
    return [batch.arch(i) for i in range(len(batch))] + edge_cases(space)


@pytest.mark.parametrize("arch", dense_examples(), ids=str)
def test_dense_nn_degree_and_nn_mass_are_flashs_formulas(arch):
    values = score(FlashSpaceAdapter().to_graph(arch), ["nn_degree", "nn_mass"])
    # sum of the correctly rounded g_c: the graph's mean over a cell divides an exact integer sum
    assert values["nn_degree"] == sum(float(Fraction(w * d + t, d)) for w, d, t in arch)
    mass = sum(Fraction(t, w * pairs(d)) * w * d for w, d, t in arch if pairs(d) > 0)
    assert values["nn_mass"] == pytest.approx(float(mass), rel=1e-13, abs=0)


@pytest.mark.parametrize("block", ["resnet", "mobilenet"])
def test_link_blocks_nn_mass_uses_link_density(block):
    space = FlashSpaceAdapter(block=block)
    arch = ((16, 6, 7), (24, 3, 1), (32, 2, 0))
    values = score(space.to_graph(arch), ["nn_degree", "nn_mass"])
    assert values["nn_mass"] == pytest.approx(7 / 10 * 16 * 6 + 1 / 1 * 24 * 3)
    hidden = 1 if block == "resnet" else 4
    assert values["nn_degree"] == pytest.approx(sum(hidden * w + t / d for w, d, t in arch))


# ------------------------------------------------------------------------------ closed forms
def closed_form_cases() -> list[tuple[str, dict, int]]:
    cases = []
    for block in BLOCKS:
        cases.append((block, {}, 150))  # default ranges
        cases.append((block, EDGE_SPACE, 300))
    return cases


@pytest.mark.parametrize(
    ("block", "options", "n"), closed_form_cases(), ids=lambda value: str(value)[:12]
)
def test_closed_forms_equal_per_graph_metrics(block, options, n):
    space = FlashSpaceAdapter(block=block, **options)
    archs = [space.sample(n, seed=5).arch(i) for i in range(n)] + edge_cases(space)
    batch = space.batch(archs)
    assert set(CLOSED_FORM) <= set(flash_nas.METRICS), "a metric was renamed: update FlashBatch"
    fast = {name: batch.fast_metric(name) for name in flash_nas.METRICS}
    missing = [name for name in CLOSED_FORM if fast[name] is None]
    assert not missing, f"no closed form for {missing}"
    for position, arch in enumerate(archs):
        single = score(space.to_graph(arch))
        for name, values in fast.items():
            if values is None:
                continue
            if name in INTEGER_VALUED:
                assert values[position] == single[name], (name, space.format(arch))
            else:
                assert math.isclose(values[position], single[name], rel_tol=1e-12), (
                    name,
                    space.format(arch),
                )


def test_score_batch_uses_closed_forms_and_is_fast():
    space = FlashSpaceAdapter()
    batch = space.sample(100_000, seed=0)
    start = time.perf_counter()
    values = score_batch(batch, ["nn_degree", "params"])
    elapsed = time.perf_counter() - start
    assert values["nn_degree"].shape == values["params"].shape == (100_000,)
    assert elapsed < 1.0, f"scoring 100,000 took {elapsed:.2f} s"
    assert batch.fast_metric("no_such_metric") is None


@pytest.mark.parametrize("block", BLOCKS)
def test_graphs_build_and_run_in_torch(block):
    torch = pytest.importorskip("torch")
    from flash_nas.train.torch_builder import build_module

    space = FlashSpaceAdapter(block=block, input_size=30, num_classes=7)
    graph = space.to_graph(space.parse(f"{block}:w=16,24,32;d=5,2,4;t=6,0,3"))
    module = build_module(graph)
    assert module(torch.randn(2, 3, 30, 30)).shape == (2, 7)
    assert sum(p.numel() for p in module.parameters()) == score(graph, ["params"])["params"]


@pytest.mark.parametrize("block", BLOCKS)
def test_metrics_of_the_largest_networks_do_not_overflow(block):
    # int64 arithmetic gave negative FLOPs (-7.7e18) here; the closed forms now work in float64
    space = FlashSpaceAdapter(block=block, input_size=4096, widths=[8192], depths=[6])
    batch = space.sample(2, seed=0)
    fast = score_batch(batch, ["flops", "macs", "activations", "params"])
    for position in range(2):
        exact = score(batch.graph(position))  # Python ints per graph: no overflow possible
        for name, values in fast.items():
            assert values[position] > 2**31
            assert values[position] == pytest.approx(exact[name], rel=1e-12)


@pytest.mark.parametrize(
    "options",
    [{}, {"block": "resnet", "n_cells": 5}, {"n_cells": 40}, {"widths": [8192], "depths": [1024]}],
)
def test_batch_texts_are_the_texts_of_each_architecture(options):
    # the batched form (distinct w=/d= parts formatted once, skips from a table) and its
    # fallback (huge skip counts, many cells) must both equal format() row by row
    space = FlashSpaceAdapter(**options)
    batch = space.sample(3000, seed=2)
    texts = batch.texts()
    assert texts == [space.format(batch.arch(position)) for position in range(len(batch))]
    assert [space.parse(text) for text in texts[:50]] == [batch.arch(p) for p in range(50)]
    assert FlashBatch(space, batch.configs[:0]).texts() == []
