"""TransNAS-Bench-101 micro and HW-NAS-Bench's FBNet space: the benchmarks' encodings, the cells
the data mark as disconnected, task heads and label scales, FBNet latencies looked up, and clear
errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import flash_nas
from flash_nas import Adapter, ArchFormatError, TableError, UnknownNameError, score, score_batch
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_adapters.fbnet import BLOCKS, FBNetAdapter, layer_shapes
from flash_nas_adapters.space_tables import transnas101_table
from flash_nas_adapters.transnas101 import (
    OPS,
    TransNas101MicroAdapter,
    from_transnas_key,
    to_transnas_key,
)
from flash_nas_hardware.hwnasbench_fbnet import FBNetTableModel, load_fbnet_latencies

ALL_3X3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NAMES = ["nn_degree", "nn_degree_neuron", "params", "macs", "flops", "activations"]


def rows(shared_data, folder: str, name: str) -> list[dict[str, str]]:
    with (shared_data / folder / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------ TransNAS-Bench-101
# (the plugin contract over this space: tests/test_contracts.py)
def test_tnb_codes_follow_the_transnas_key(shared_data) -> None:
    adapter = flash_nas.get_adapter("transnas101-micro")
    for r in rows(shared_data, "transnas101_micro", "tnb101_micro_zen.csv")[:300]:
        codes = adapter.parse(r["arch_str"])
        assert from_transnas_key(r["tnb_arch_str"]) == codes
        assert to_transnas_key(codes) == r["tnb_arch_str"]
        assert str(codes) == r["naslib_arch"]


def test_tnb_disconnected_cells_are_exactly_the_datas(shared_data) -> None:
    adapter = TransNas101MicroAdapter()
    data = rows(shared_data, "transnas101_micro", "tnb101_micro_zen.csv")
    archs = [adapter.parse(r["arch_str"]) for r in data]
    cut = adapter.cut_off(archs)
    assert cut.sum() == 169
    assert cut.tolist() == [r["cell_connected"] == "0" for r in data]
    sample = archs[::17]
    assert adapter.cut_off(sample).tolist() == Adapter.cut_off(adapter, sample).tolist()


def test_tnb_whole_space_batched_equals_graphs() -> None:
    adapter = TransNas101MicroAdapter()
    whole = adapter.enumerate()
    assert len(whole) == 4096 == len(set(whole.texts()))
    scores = score_batch(whole, NAMES)
    for position in (0, 1, 1365, 4095):
        single = score(adapter.to_graph(adapter.parse(whole.arch_text(position))), NAMES)
        for name in NAMES:
            assert scores[name][position] == pytest.approx(single[name], rel=1e-9)


def test_tnb_skip_costs_parameters_only_where_the_cell_reduces() -> None:
    # As the published counts show: skip_connect on a node-0 edge is a FactorizedReduce in the
    # cells that change channels or size, so it has weights; elsewhere it is free.
    adapter = TransNas101MicroAdapter()

    def params(text: str) -> float:
        return score(adapter.to_graph(adapter.parse(text)), ["params"])["params"]

    base = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    inner = "|skip_connect~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"
    assert params(base) > params("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert params(inner) == params("|skip_connect~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|")


def test_tnb_heads_and_chance_levels() -> None:
    scene = TransNas101MicroAdapter()
    assert scene.chance_accuracy() == pytest.approx(100 / 47)
    assert TransNas101MicroAdapter(task="class_object").chance_accuracy() == pytest.approx(100 / 75)
    assert TransNas101MicroAdapter(task="jigsaw").chance_accuracy() == pytest.approx(0.1)
    assert TransNas101MicroAdapter(task="room_layout").chance_accuracy() is None
    assert TransNas101MicroAdapter(task="autoencoder").chance_accuracy() is None
    wide = TransNas101MicroAdapter(num_classes=63)
    arch = scene.parse(ALL_3X3)
    extra = score(wide.to_graph(arch), ["params"])["params"] - score(scene.to_graph(arch), ["params"])["params"]
    assert extra == (63 - 47) * (512 + 1)
    encoder = TransNas101MicroAdapter(task="segmentsemantic").to_graph(arch)
    assert encoder.node(encoder.output).channels == 512 and encoder.node(encoder.output).height == 8
    with pytest.raises(ValueError, match="must be one of 'class_scene'"):
        TransNas101MicroAdapter(task="depth")
    with pytest.raises(ValueError, match="has no classifier head"):
        TransNas101MicroAdapter(task="normal", num_classes=3)


def test_tnb_table_declares_each_tasks_scale() -> None:
    table = transnas101_table()
    assert len(table) == 4096
    assert table.scale("class_scene_valid_top1").unit == "%"
    loss = table.scale("room_layout_valid_neg_loss")
    assert loss.higher_is_better and loss.high == 0 and loss.contains(-0.601)
    assert table.scale("normal_valid_ssim").high == 1.0
    best = table.lookup([ALL_3X3], "class_scene_valid_top1")[0]
    assert best == pytest.approx(53.67, abs=0.01)  # the data README's sanity value


def test_tnb_user_table_and_bad_text(tmp_path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(f"arch,room_layout_valid_neg_loss\n{ALL_3X3},-0.7\n")
    assert transnas101_table(path).scale("room_layout_valid_neg_loss").unit == "-L2 loss"
    path.write_text(f"arch,room_layout_valid_neg_loss\n{ALL_3X3},0.7\n")
    with pytest.raises(TableError, match="outside its declared range"):
        transnas101_table(path)
    with pytest.raises(ArchFormatError, match="Unknown TransNAS-Bench-101 micro op 'avg_pool_3x3'"):
        TransNas101MicroAdapter().parse(ALL_3X3.replace("nor_conv_3x3~2", "avg_pool_3x3~2"))
    assert OPS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
    with pytest.raises(ArchFormatError, match="expected 'C-41414-a_bc_def'"):
        from_transnas_key("64-41414-3_33_334")


# ----------------------------------------------------------------------------- FBNet
# (the plugin contract over this space: tests/test_contracts.py)
class TestFBNetLatencyContract(HardwareModelContract):
    @pytest.fixture
    def model(self) -> FBNetTableModel:
        return FBNetTableModel("pixel3")

    @pytest.fixture
    def graphs(self) -> list:
        adapter = FBNetAdapter()
        return [adapter.to_graph(adapter.parse(text)) for text in load_fbnet_latencies().archs[:5]]


def test_fbnet_text_is_the_datas_block_names(shared_data) -> None:
    adapter = flash_nas.get_adapter("fbnet")
    for r in rows(shared_data, "hw_nas_bench_fbnet", "fbnet_cifar100_latency.csv")[:200]:
        text = "-".join(r[f"b{j}"] for j in range(22))
        arch = adapter.parse(text)
        assert "-".join(map(str, arch)) == r["op_idx"] and adapter.format(arch) == text


def test_fbnet_latencies_are_the_published_ones(shared_data) -> None:
    data = rows(shared_data, "hw_nas_bench_fbnet", "fbnet_cifar100_latency.csv")
    adapter = FBNetAdapter()
    batch = adapter.batch([adapter.parse("-".join(r[f"b{j}"] for j in range(22))) for r in data[:50]])
    for device in ("raspi4", "pixel3", "eyeriss", "fpga"):
        values = flash_nas.get_hardware(f"hwnasbench-fbnet:{device}").estimate_batch(batch)
        expected = [float(r[f"{device}_latency_ms"]) for r in data[:50]]
        assert values["latency_ms"] == pytest.approx(expected, rel=1e-12)


def test_fbnet_blocks_build_the_described_network() -> None:
    adapter = FBNetAdapter()
    assert [shape for shape in layer_shapes()][:6] == [
        (16, 16, 1), (16, 24, 1), (24, 24, 1), (24, 24, 1), (24, 24, 1), (24, 32, 2)
    ]
    skips = adapter.parse("-".join(["skip"] * 22))
    graph = adapter.to_graph(skips)
    # Every skip that keeps the shape is the identity: only the 6 reshaping skips (1x1 conv, BN)
    # plus stem, header and classifier hold weights.
    reshaping = [(i, o) for i, o, s in layer_shapes() if s != 1 or i != o]
    assert len(reshaping) == 6
    expected = 3 * 16 * 9 + 32 + sum(i * o + 2 * o for i, o in reshaping)
    expected += 352 * 1504 + 2 * 1504 + 1504 * 100 + 100
    assert score(graph, ["params"])["params"] == expected
    grouped = adapter.parse("-".join(["k3_e1_g2"] * 22))
    plain = adapter.parse("-".join(["k3_e1"] * 22))
    assert score(adapter.to_graph(grouped), ["params"])["params"] < score(adapter.to_graph(plain), ["params"])["params"]
    assert adapter.chance_accuracy() == 1.0 and not adapter.cut_off([skips]).any()
    codes = adapter.encode([skips, plain])
    assert codes.shape == (2, 22 * 9) and (codes.sum(axis=1) == 22).all()


def test_fbnet_module_holds_the_graphs_parameters() -> None:
    torch = pytest.importorskip("torch", reason="needs the torch extra")
    from flash_nas.train.torch_builder import build_module

    adapter = FBNetAdapter()
    graph = adapter.to_graph(adapter.parse(load_fbnet_latencies().archs[0]))
    module = build_module(graph)
    assert sum(p.numel() for p in module.parameters()) == score(graph, ["params"])["params"]
    assert module(torch.zeros(1, 3, 32, 32)).shape == (1, 100)


def test_fbnet_bad_input() -> None:
    adapter = FBNetAdapter()
    text = "-".join(["k3_e6"] * 21 + ["k7_e6"])
    with pytest.raises(ArchFormatError, match="Unknown FBNet block 'k7_e6'; expected one of k3_e1, ") as raised:
        adapter.parse(text)
    assert all(name in str(raised.value) for name in BLOCKS) and "\n" not in str(raised.value)
    with pytest.raises(ArchFormatError, match="22 block names joined by '-'"):
        adapter.parse("k3_e6-k3_e6")
    with pytest.raises(UnknownNameError, match="expected hwnasbench-fbnet:DEVICE with DEVICE one of raspi4"):
        flash_nas.get_hardware("hwnasbench-fbnet:edgetpu")
    model = FBNetTableModel("raspi4")
    with pytest.raises(TableError, match="no latency for 1 architecture"):
        model.estimate(adapter.to_graph(adapter.parse("-".join(["skip"] * 22))))
    small = FBNetAdapter(num_classes=10)
    with pytest.raises(TableError, match="100 classes; this graph takes 3x32x32 and has 10 outputs"):
        model.estimate(small.to_graph(small.parse(load_fbnet_latencies().archs[0])))
    assert np.isfinite(model.estimate(adapter.to_graph(adapter.parse(load_fbnet_latencies().archs[0])))["latency_ms"])
