"""The NAS-Bench-201 adapter: encodings, official index, macro network, published counts."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

import flash_nas
from flash_nas import ArchFormatError, score, score_batch
from flash_nas_adapters.nasbench201 import encoding as enc
from flash_nas_adapters.nasbench201.space import NasBench201Adapter, load_shipped_table

ALL_OPS = list(itertools.product(range(5), repeat=6))
INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def space() -> NasBench201Adapter:
    return NasBench201Adapter()


@pytest.fixture(scope="module")
def whole(space):
    return space.enumerate()


def test_every_encoding_round_trips_for_all_15625_cells():
    strings = set()
    for ops in ALL_OPS:
        text = enc.ops_to_string(ops)
        strings.add(text)
        assert enc.ops_from_string(text) == ops
        assert enc.ops_from_naslib(enc.ops_to_naslib(ops)) == ops
        assert enc.ops_from_naslib(str(enc.ops_to_naslib(ops))) == ops
        assert enc.ops_from_nni(enc.ops_to_nni(ops)) == ops
    assert len(strings) == 15625


def test_index_round_trips_for_all_15625(space, whole):
    assert len(whole) == 15625
    assert list(whole.indices()) == list(range(15625))
    texts = whole.texts()
    assert texts[0] == INDEX0
    for index in range(0, 15625, 7):
        arch = space.from_index(index)
        assert space.index(arch) == index
        assert space.format(arch) == texts[index]


def test_index_matches_the_reference_table(shared_data):
    with open(shared_data / "nb201_index" / "nb201_arch_index.csv") as handle:
        rows = list(csv.DictReader(handle))
    space = NasBench201Adapter()
    for row in rows:
        ops = space.parse(row["arch_str"])
        assert space.index(ops) == int(row["arch_index"])
        assert enc.ops_to_naslib(ops) == tuple(
            int(v) for v in row["naslib_ops"].strip("()").split(",")
        )


def test_nni_labels_follow_nnis_naming():
    sample = enc.ops_to_nni(enc.ops_from_string(INDEX0))
    assert sample == {
        "cell/0_1": "avg_pool_3x3",
        "cell/0_2": "conv_1x1",
        "cell/1_2": "skip_connect",
        "cell/0_3": "conv_1x1",
        "cell/1_3": "skip_connect",
        "cell/2_3": "skip_connect",
    }


def test_naslib_tuple_swaps_positions_3_and_4():
    # From the reference data's README: (a,b,c,d,e,f) is |a~0|+|b~0|d~1|+|c~0|e~1|f~2|.
    assert enc.ops_to_string(enc.ops_from_naslib((4, 3, 3, 0, 0, 0))) == INDEX0


def test_macro_network_shape(space):
    graph = space.to_graph(space.parse(INDEX0))
    assert len(graph.cells) == 15
    assert graph.node("stem").channels == 16
    assert graph.node("s1c0.n3").channels == 32 and graph.node("s1c0.n3").height == 16
    assert graph.node("s2c4.n3").channels == 64 and graph.node("s2c4.n3").height == 8
    assert graph.node("logits").channels == 10


def test_input_size_and_classes_are_parameters():
    space = NasBench201Adapter(input_size=64, num_classes=100)
    graph = space.to_graph(space.parse(INDEX0))
    assert graph.node("logits").channels == 100
    assert graph.node("s2c4.n3").height == 16
    small = score(NasBench201Adapter().to_graph(space.parse(INDEX0)), ["params", "flops"])
    large = score(graph, ["params", "flops"])
    assert large["params"] == small["params"] + 64 * 90 + 90  # a wider classifier only
    assert large["flops"] > 3.9 * small["flops"]


def test_params_and_flops_match_published_for_9445_nets(space, shared_data):
    with open(shared_data / "nbsuite_zero" / "nb201_zc_proxies.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9445
    batch = space.batch([enc.ops_from_naslib(row["net"]) for row in rows])
    ours = score_batch(batch, ["params", "flops"])
    published_params = np.array([round(float(row["params"]) * 1e6) for row in rows])
    np.testing.assert_array_equal(ours["params"], published_params)
    # The published FLOPs exceed ours by one constant on every net (1,088, 0.01% of the
    # smallest): the per-architecture counting agrees exactly; the offset is a head term of
    # NASLib's counter we do not reproduce.
    offset = np.array([float(row["flops"]) * 1e6 for row in rows]) - ours["flops"]
    assert np.ptp(offset) < 1e-3
    assert abs(offset[0]) / ours["flops"].min() < 2e-4


def test_batched_metrics_equal_per_graph_metrics(space, whole):
    rng = np.random.default_rng(0)
    positions = rng.choice(len(whole), size=150, replace=False)
    batched = score_batch(whole, list(flash_nas.METRICS))
    for position in positions:
        single = score(whole.graph(int(position)))
        for name, value in single.items():
            assert batched[name][position] == pytest.approx(value, rel=1e-12), (name, position)


def _canonical(ops: tuple[int, ...]) -> tuple[int, ...]:
    """The cell with dead edges set to none, and nodes 1 and 2 in a fixed order when the cell
    allows swapping them (no edge 1->2): a canonical form of the labelled DAG, written
    independently of the library's own liveness code."""
    edges = dict(zip(enc.EDGES, ops))
    reach_in = {0}
    for (j, i), op in sorted(edges.items(), key=lambda item: item[0][1]):
        if op and j in reach_in:
            reach_in.add(i)
    reach_out = {3}
    for (j, i), op in sorted(edges.items(), key=lambda item: -item[0][0]):
        if op and i in reach_out:
            reach_out.add(j)
    pruned = {e: (op if e[0] in reach_in and e[1] in reach_out else 0) for e, op in edges.items()}
    forms = [tuple(pruned[e] for e in enc.EDGES)]
    if pruned[(1, 2)] == 0:
        swap = {0: 0, 1: 2, 2: 1, 3: 3}
        swapped = {
            (min(swap[j], swap[i]), max(swap[j], swap[i])): op for (j, i), op in pruned.items()
        }
        forms.append(tuple(swapped[e] for e in enc.EDGES))
    return min(forms)


def test_isomorphic_cells_get_equal_metrics(whole):
    codes = [_canonical(ops) for ops in map(tuple, whole.choices.tolist())]
    first: dict[tuple[int, ...], int] = {}
    representative = np.array([first.setdefault(code, pos) for pos, code in enumerate(codes)])
    assert len(first) < len(codes) * 0.6  # the classes are real: many cells share one
    scores = score_batch(whole, list(flash_nas.METRICS))
    for name, values in scores.items():
        np.testing.assert_allclose(values, values[representative], rtol=1e-12, err_msg=name)


def test_cells_behind_none_edges_do_not_count(space):
    # Node 1's only way out is 'none', so its conv cannot reach the output.
    dead = space.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|"
    )
    clean = space.parse("|none~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|")
    assert score(space.to_graph(dead)) == score(space.to_graph(clean))


def test_disconnected_cell_counts_only_the_skeleton(space):
    cut = space.to_graph(
        space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    )
    empty = space.to_graph(space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    assert score(cut) == score(empty)
    assert score(cut, ["nn_degree"])["nn_degree"] == 0


def test_nn_degree_counts_channels_per_edge(space):
    # Node 1: conv (16 in-channels) ; node 2: skip + pool ; node 3: conv + conv + skip, per stage.
    arch = space.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_3x3~1|skip_connect~2|"
    )
    expected = sum(5 * (c + 2 + (2 * c + 1)) / 3 for c in (16, 32, 64))
    assert score(space.to_graph(arch), ["nn_degree"])["nn_degree"] == pytest.approx(expected)


def test_shipped_table_matches_reference(shared_data):
    table = load_shipped_table()
    with open(shared_data / "nb201_c10" / "nb201_c10_200ep.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert table.archs == tuple(row["arch_str"] for row in rows)
    np.testing.assert_allclose(table.column("c10_test"), [float(r["c10_test"]) for r in rows])
    assert table.column("c10_test").max() == pytest.approx(94.37, abs=1e-2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("|nor_conv_3x3~0|", "three '\\+'-separated"),
        ("|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_9x9'"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 needs 2"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "wrapped in '\\|'"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "must read 'op~0'"),
    ],
)
def test_malformed_strings_say_what_was_expected(space, text, message):
    for _ in range(2):  # parses are cached; a failed one is not: the second is refused alike
        with pytest.raises(ArchFormatError, match=message):
            space.parse(text)


def test_a_parse_is_the_same_tuple_each_time_and_a_non_string_is_still_refused(space):
    assert space.parse(INDEX0) == space.parse(INDEX0) == space.parse(f"  {INDEX0} ")
    with pytest.raises(AttributeError):  # not text: no cache lookup hides what it is
        enc.ops_from_string(["|none~0|"])


def test_the_shipped_index_order_is_read_once_per_process_and_read_only(monkeypatch):
    from flash_nas_adapters.nasbench201 import space as space_module

    reads = []
    real = space_module.load_shipped_table
    monkeypatch.setattr(space_module, "load_shipped_table", lambda: reads.append(1) or real())
    space_module._shipped_index_table.cache_clear()
    try:
        first, second = NasBench201Adapter(), NasBench201Adapter(input_size=64)
        assert first.index(second.from_index(1234)) == 1234
        assert list(first.enumerate().indices()) == list(second.enumerate().indices())
        assert len(reads) == 1  # two adapters, one read of the table
        to_index, to_code = first._index_table
        with pytest.raises(ValueError, match="read-only"):
            to_index[0] = 7  # shared by every adapter: nobody may change it
        assert not to_code.flags.writeable
    finally:
        space_module._shipped_index_table.cache_clear()  # the next test reads the real one


def test_bad_index_and_encodings_are_rejected(space):
    with pytest.raises(ArchFormatError, match="out of range; expected an int in 0..15624"):
        space.from_index(15625)
    with pytest.raises(ArchFormatError, match="six op ids"):
        space.to_graph((0, 1, 2))
    with pytest.raises(ArchFormatError, match="Malformed NASLib tuple"):
        enc.ops_from_naslib("(9, 0, 0, 0, 0, 0)")
    with pytest.raises(ArchFormatError, match="missing \\['cell/2_3'\\]"):
        enc.ops_from_nni({f"cell/{j}_{i}": "none" for j, i in enc.EDGES[:5]})
    with pytest.raises(ArchFormatError, match="holds 'sep_conv'"):
        enc.ops_from_nni({f"cell/{j}_{i}": "sep_conv" for j, i in enc.EDGES})


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="divisible by 4"):
        NasBench201Adapter(input_size=30)
    with pytest.raises(ValueError, match=r"'num_classes' parameter .* in 1\.\."):
        NasBench201Adapter(num_classes=0)


def test_torch_models_have_the_graphs_parameters_and_output_shape(space):
    torch = pytest.importorskip("torch", reason="building the network needs the [torch] extra")
    from flash_nas.train.torch_builder import build_module

    batch = space.sample(6, seed=1)
    for position in range(len(batch)):
        graph = batch.graph(position)
        model = build_module(graph).eval()
        assert sum(p.numel() for p in model.parameters()) == score(graph, ["params"])["params"]
        with torch.no_grad():
            assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_accuracy_tables_from_the_package_or_a_csv(tmp_path):
    from flash_nas_adapters.nasbench201.space import load_accuracy_table

    assert len(load_accuracy_table()) == 15625
    path = tmp_path / "mine.csv"
    path.write_text(f"arch,top1\n{INDEX0},71.5\n")
    assert load_accuracy_table(path).lookup([INDEX0], "top1")[0] == 71.5
    with pytest.raises(flash_nas.TableError, match="column 'top1' is not a number"):
        path.write_text(f"arch,top1\n{INDEX0},n/a\n")
        load_accuracy_table(path)
