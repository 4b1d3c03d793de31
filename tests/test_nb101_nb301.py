"""NAS-Bench-101 and NAS-Bench-301: the benchmarks' own networks (parameter counts equal the
published ones on every shipped row), their text forms both ways, and one clear error per kind of
bad input."""

from __future__ import annotations

import ast
import csv

import numpy as np
import pytest

import flash_nas
from flash_nas import Adapter, ArchFormatError, score, score_batch
from flash_nas.graph.structure import live_edges
from flash_nas_adapters.nasbench101 import (
    NasBench101Adapter,
    from_naslib,
    prune,
    to_naslib,
    vertex_channels,
)
from flash_nas_adapters.nasbench301 import (
    NasBench301Adapter,
    arch_to_compact,
    compact_to_arch,
    parse_genotype,
)
from flash_nas_adapters.nni.darts import NniDartsAdapter
from flash_nas_adapters.space_tables import nasbench101_table, nasbench301_table

CELL_5 = (
    "0111101/0000011/0000001/0000110/0000011/0000000/0000000;input|maxpool3x3|maxpool3x3|"
    "conv3x3-bn-relu|conv3x3-bn-relu|conv3x3-bn-relu|output"
)
GENOTYPE = (
    "Genotype(normal=[('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), "
    "('sep_conv_3x3', 2), ('sep_conv_3x3', 2), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2), "
    "('dil_conv_3x3', 3)], normal_concat=[2, 3, 4, 5], reduce=[('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('avg_pool_3x3', 1), ('dil_conv_3x3', 0), ('sep_conv_3x3', 2), "
    "('skip_connect', 0), ('sep_conv_5x5', 4), ('avg_pool_3x3', 3)], reduce_concat=[2, 3, 4, 5])"
)


def rows(shared_data, folder: str, name: str) -> list[dict[str, str]]:
    with (shared_data / folder / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------ NAS-Bench-101
# (the plugin contract over this space: tests/test_contracts.py)
def test_nb101_params_equal_published_on_all_500(shared_data) -> None:
    adapter = flash_nas.get_adapter("nasbench101")
    table = rows(shared_data, "nasbench101_500", "nb101_zc_500.csv")
    archs = [adapter.parse(f"{r['matrix']};{r['ops']}") for r in table]
    scores = score_batch(adapter.batch(archs), ["params", "flops"])
    published = np.array([float(r["params"]) for r in table]) * 1e6
    assert np.abs(scores["params"] - published).max() < 0.5
    # NAS-Lib's FLOPs leave out the global pooling's 512 x 8 x 8 adds; nothing else differs.
    flops = np.array([float(r["flops"]) for r in table]) * 1e6
    assert np.abs(scores["flops"] - flops - 512 * 8 * 8).max() < 1e-3


def test_nb101_pruning_matches_published_pruned_cells(shared_data) -> None:
    adapter = NasBench101Adapter()
    for r in rows(shared_data, "nasbench101_500", "nb101_zc_500.csv")[:120]:
        matrix, ops = adapter.parse(f"{r['matrix']};{r['ops']}")
        pruned, pruned_ops = prune(matrix, ops)
        assert "/".join("".join(map(str, row)) for row in pruned) == r["pruned_matrix"]
        assert "|".join(pruned_ops) == r["pruned_ops"]
        # The raw cell and its pruned form are the same network.
        same = adapter.parse(f"{r['pruned_matrix']};{r['pruned_ops']}")
        names = ["nn_degree", "nn_degree_neuron", "params", "macs", "flops", "activations"]
        assert score(adapter.to_graph(same), names) == score(adapter.to_graph((matrix, ops)), names)


def test_nb101_naslib_tuple_both_ways(shared_data) -> None:
    adapter = NasBench101Adapter()
    for r in rows(shared_data, "nasbench101_500", "nb101_zc_500.csv")[:100]:
        values = ast.literal_eval(r["naslib_arch"])
        arch = from_naslib(values)
        assert adapter.format(arch) == f"{r['matrix']};{r['ops']}" and to_naslib(arch) == values
    with pytest.raises(ArchFormatError, match="56-tuple|49 matrix entries"):
        from_naslib([0] * 55)


def test_nb101_text_is_the_table_columns_both_ways() -> None:
    adapter = NasBench101Adapter()
    assert adapter.format(adapter.parse(CELL_5)) == CELL_5
    table = nasbench101_table()
    assert len(table) == 500 and all(adapter.format(adapter.parse(a)) == a for a in table.archs)


def test_nb101_isomorphic_cells_score_equal_where_the_split_is_even() -> None:
    # Vertices 1 and 2 swapped: the same network; 128 channels split evenly over two vertices.
    first = "0110/0001/0001/0000;input|conv3x3-bn-relu|conv1x1-bn-relu|output"
    second = "0110/0001/0001/0000;input|conv1x1-bn-relu|conv3x3-bn-relu|output"
    adapter = NasBench101Adapter()
    names = ["nn_degree", "nn_degree_neuron", "params", "flops"]
    one, two = (score(adapter.to_graph(adapter.parse(t)), names) for t in (first, second))
    assert one == two
    other = score(adapter.to_graph(adapter.parse(first.replace("conv1x1", "conv3x3"))), names)
    assert other["nn_degree_neuron"] > one["nn_degree_neuron"]


def test_nb101_vertex_channels_follow_the_official_rule() -> None:
    # Three vertices feed the output: 128 splits 43, 43, 42; vertex 1 feeds only vertex 2.
    matrix = np.array(
        [
            [0, 1, 1, 0, 0],
            [0, 0, 1, 0, 0],
            [0, 0, 0, 1, 1],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0],
        ]
    )
    assert vertex_channels(64, 128, matrix) == [64, 64, 64, 64, 128]
    matrix[1, 4] = 1
    assert vertex_channels(64, 128, matrix) == [64, 43, 43, 42, 128]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("011/001/010;input|conv1x1-bn-relu|output", "not upper-triangular"),
        ("011/001;input|conv1x1-bn-relu|output", "not square"),
        ("011/001/000;input|output", "2 ops for a 3 x 3 matrix"),
        ("011/001/000;input|conv5x5-bn-relu|output", "Unknown NAS-Bench-101 op 'conv5x5-bn-relu'"),
        (
            "0111111/0011111/0001111/0000111/0000011/0000001/0000000;input|"
            + "|".join(["conv1x1-bn-relu"] * 5)
            + "|output",
            "21 edges after pruning",
        ),
        ("0111/0000 input|output", "expected 'MATRIX;OPS'"),
    ],
)
def test_nb101_bad_input_gets_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ArchFormatError, match=message) as raised:
        NasBench101Adapter().parse(text)
    assert "\n" not in str(raised.value)


def test_nb101_dead_vertices_do_not_count_against_the_limits(shared_data) -> None:
    # 10 edges raw, but vertex 5 feeds nothing: pruned, the chain 0-1-2-3-4-6 has 5.
    text = "0100010/0010010/0001010/0000110/0000011/0000000/0000000;" + "|".join(
        ["input", *["conv3x3-bn-relu"] * 5, "output"]
    )
    matrix, ops = NasBench101Adapter().parse(text)
    pruned, pruned_ops = prune(matrix, ops)
    assert int(np.sum(matrix)) == 10 and int(pruned.sum()) == 5 and len(pruned_ops) == 6
    # The published rows include such cells; every one of them reads.
    table = rows(shared_data, "nasbench101_500", "nb101_zc_500.csv")
    crowded = [r for r in table if r["matrix"].count("1") > 9]
    assert crowded and all(int(r["n_edges"]) <= 9 for r in crowded)
    for r in crowded:
        NasBench101Adapter().parse(f"{r['matrix']};{r['ops']}")


def test_nb101_cut_off_is_the_graphs_verdict_vectorised() -> None:
    adapter = NasBench101Adapter()
    archs = [adapter.parse(text) for text in adapter.sample(40, seed=3).texts()]
    cut = "0100/0000/0001/0000;input|conv1x1-bn-relu|maxpool3x3|output"  # 1 dead-ends, 2 unfed
    archs.append(adapter.parse(cut))
    fast = adapter.cut_off(archs)
    slow = Adapter.cut_off(adapter, archs)
    assert fast.tolist() == slow.tolist() and fast[-1] and not fast[:-1].any()


def test_nb101_encoding_is_of_the_pruned_cell() -> None:
    adapter = NasBench101Adapter()
    raw = adapter.parse(
        "0110000/0001000/0001000/0000001/0000001/0000000/0000000;"
        + "|".join(["input", *["conv3x3-bn-relu"] * 5, "output"])
    )
    pruned = adapter.parse(
        "01100/00010/00010/00001/00000;" + "|".join(["input", *["conv3x3-bn-relu"] * 3, "output"])
    )
    codes = adapter.encode([raw, pruned])
    assert codes.shape == (2, 21 + 15) and ((codes == 0) | (codes == 1)).all()
    assert (codes[0] == codes[1]).all()
    assert adapter.chance_accuracy() == 10.0


def test_nb101_graph_builds_a_module_with_its_parameters() -> None:
    torch = pytest.importorskip("torch", reason="needs the torch extra")
    from flash_nas.train.torch_builder import build_module

    graph = NasBench101Adapter().to_graph(NasBench101Adapter().parse(CELL_5))
    module = build_module(graph)
    params = score(graph, ["params"])["params"]
    assert sum(p.numel() for p in module.parameters()) == params == 4_095_778
    assert module(torch.zeros(1, 3, 32, 32)).shape == (1, 10)


# ------------------------------------------------------------------------ NAS-Bench-301
# (the plugin contract over this space: tests/test_contracts.py)
def nb301_flops_as_naslib_counts(graph) -> float:
    """MACs + 1 per batch-norm and ReLU value + 10 per 3x3-pooled value (NAS-Lib's counter)."""
    total = 0.0
    for edge, live in zip(graph.edges, live_edges(graph)):
        if not live:
            continue
        source = graph.node(edge.src)
        height, width = source.height, source.width
        for layer in edge.op.layers:
            height, width = layer.output_size(height, width)
            values = layer.out_channels * height * width
            if layer.kind == "conv":
                total += values * layer.kernel**2 * layer.in_channels // layer.groups
            elif layer.kind == "linear":
                total += layer.in_channels * layer.out_channels
            elif layer.kind in ("bn", "relu"):
                total += values
            elif layer.kind in ("max_pool", "avg_pool"):
                total += 10 * values
    return total


def test_nb301_params_equal_published_on_all_500_and_flops_are_explained(shared_data) -> None:
    adapter = flash_nas.get_adapter("nasbench301")
    table = rows(shared_data, "nasbench301_500", "nb301_zc_500.csv")
    archs = [adapter.parse(r["genotype"]) for r in table]
    params = score_batch(adapter.batch(archs), ["params"])["params"]
    published = np.array([float(r["params"]) for r in table]) * 1e6
    assert np.abs(params - published).max() < 0.5
    flops = np.array([float(r["flops"]) for r in table[:60]]) * 1e6
    counted = np.array([nb301_flops_as_naslib_counts(adapter.to_graph(a)) for a in archs[:60]])
    offset = flops - counted  # the same for every cell: stem and head work NAS-Lib counts apart
    assert np.ptp(offset) < 1e-3 and offset[0] == pytest.approx(565_760, abs=1e-3)


def test_nb301_text_and_compact_forms_round_trip(shared_data) -> None:
    adapter = NasBench301Adapter()
    for r in rows(shared_data, "nasbench301_500", "nb301_zc_500.csv"):
        arch = adapter.parse(r["genotype"])
        assert adapter.format(arch) == r["genotype"]
        compact = ast.literal_eval(r["naslib_compact"])
        assert compact_to_arch(compact) == arch
        assert arch_to_compact(arch) == [list(map(tuple, cell)) for cell in compact]


def test_nb301_is_nni_darts_at_32_channels_8_cells_without_affine_op_norms() -> None:
    ours = NasBench301Adapter()
    nni = NniDartsAdapter(width=32, num_cells=8)
    arch = ours.parse(GENOTYPE)
    sample = nni.to_sample(arch)
    assert nni.from_sample(sample) == arch
    mine, theirs = ours.to_graph(arch), nni.to_graph(arch)
    assert score(mine, ["macs", "flops", "nn_degree"]) == score(
        theirs, ["macs", "flops", "nn_degree"]
    )
    op_norms = sum(
        layer.params
        for edge, live in zip(theirs.edges, live_edges(theirs))
        if live and edge.op.name not in ("stem", "preprocess0", "preprocess1")
        for layer in edge.op.layers
        if layer.kind == "bn"
    )
    params = score(theirs, ["params"])["params"] - score(mine, ["params"])["params"]
    assert params == op_norms > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GENOTYPE.replace("'dil_conv_5x5'", "'conv_7x1_1x7'"), "Unknown op 'conv_7x1_1x7'"),
        (GENOTYPE.replace("('sep_conv_5x5', 0)", "('sep_conv_5x5', 2)", 1), "from node 2"),
        (GENOTYPE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 5]"), "concatenate"),
        ("Genotype(normal=__import__('os').system('true'))", "Malformed"),
        (GENOTYPE.replace("Genotype", "print"), "Malformed"),
    ],
)
def test_nb301_bad_genotype_gets_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(ArchFormatError, match=message) as raised:
        parse_genotype(text)
    assert "\n" not in str(raised.value)


def test_nb301_encoding_and_tables() -> None:
    adapter = NasBench301Adapter()
    codes = adapter.encode([adapter.parse(GENOTYPE)])
    assert codes.shape == (1, 168) and codes.sum() == 32  # one op and one input per pair
    table = adapter.tables()["nb301"]()
    assert len(table) == 500 and GENOTYPE in table
    assert table.scale("val_accuracy").higher_is_better
    assert 90 < table.lookup([GENOTYPE], "val_accuracy")[0] < 95
    assert not adapter.cut_off([adapter.parse(GENOTYPE)]).any()
    assert nasbench301_table() is table


@pytest.mark.parametrize(
    "entry, op", [(0.5, "conv3x3-bn-relu"), ("1", "conv3x3-bn-relu"), (1, 3)], ids=repr
)
def test_nb101_refuses_entries_and_ops_it_would_have_to_guess(entry, op):
    adapter = NasBench101Adapter()
    matrix = [[0, 1, 1], [0, 0, entry], [0, 0, 0]]
    with pytest.raises(ArchFormatError, match="A NAS-Bench-101 arch is"):
        adapter.to_graph((matrix, ["input", op, "output"]))
    assert adapter.format(([[0, 1, 1], [0, 0, True], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]))
