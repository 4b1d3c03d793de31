"""The Raspberry Pi 3 benchmark: its data, its leave-one-out, and the shipped default profile."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.suite import pi3
from flash_nas.cost.profile import load_profile
from flash_nas_hardware.pi3b import DEFAULT_PROFILE, LOAD_POWER_W, Pi3BModel

pytest.importorskip("torch", reason="the Pi 3 benchmark builds networks with torch")


def torchvision_or_skip() -> None:
    from flash_nas import MissingDependencyError
    from flash_nas.train.torchvision_compat import import_torchvision

    try:
        import_torchvision()
    except MissingDependencyError:
        pytest.skip("the Pi 3 benchmark needs the [torchvision] extra")


def test_the_shipped_measurements_cover_every_network_at_both_thread_counts():
    table = pi3.read_ncnn()
    assert len(table) == 64
    for name in pi3.NETWORKS:
        for threads in pi3.THREADS:
            assert table[(name, threads)][0] > 0
    assert table[("resnet18", 1)] == (379.57, 224)  # spot value of the source README
    assert len(pi3.read_tophub()) == 220


def test_the_speed_factor_recovers_a_uniform_slowdown_exactly():
    predicted = np.array([10.0, 40.0, 90.0])
    assert pi3.speed_factor(predicted, predicted / 2.5) == pytest.approx(0.4)
    held_out = pi3.scaled_leave_one_out(predicted, predicted * 3)
    np.testing.assert_allclose(held_out, predicted * 3)
    skewed = pi3.scaled_leave_one_out(predicted, np.array([10.0, 40.0, 180.0]))
    assert skewed[2] < 180.0 and skewed[0] > 10.0  # each factor comes from the others


def test_non_square_convs_are_left_out_and_square_ones_priced():
    rows = pi3.read_tophub()
    graphs = [pi3.conv_graph(row) for row in rows]
    skipped = [row for row, graph in zip(rows, graphs) if graph is None]
    assert skipped and all(row["kernel_h"] != row["kernel_w"] for row in skipped)
    first = graphs[0]  # the 7x7/2 stem at 224: 118,013,952 MACs in the source
    import flash_nas

    assert flash_nas.score(first, ["macs"])["macs"] == 118_013_952


@pytest.mark.slow
def test_quick_run_and_the_shipped_profile_is_what_it_writes(tmp_path):
    torchvision_or_skip()
    written = tmp_path / "profile.json"
    section = pi3.run(seeds=1, quick=True, write_profile=written)
    networks, sizes, quality = section.csvs
    assert len(sizes.rows) == len(pi3.NETWORKS) and len(networks.rows) == 2 * len(pi3.NETWORKS)
    assert section.summary[-1] == f"pi3: wrote the 4-thread profile to {written}"
    shipped, fitted = load_profile(DEFAULT_PROFILE), load_profile(written)
    assert fitted.costs.keys() == shipped.costs.keys()
    for name, cost in fitted.costs.items():
        assert shipped.costs[name] == pytest.approx(cost, rel=1e-9), name
    notes = " ".join(shipped.notes)
    assert "Raspberry Pi 3 Model B+" in notes and "ncnn" in notes and "threads: 4" in notes
    # energy = power x latency holds for the shipped costs, as for the specification ones
    model = Pi3BModel()
    for name in (c.name for c in model.coefficients if c.quantity == "latency_ms"):
        energy = name.replace("ms_per_", "mj_per_")
        assert model.cost(energy) == pytest.approx(LOAD_POWER_W * model.cost(name))
    methods = {row["method"]: row for row in quality.records(what="networks", threads=4)}
    calibrated = methods["pi3b, one speed factor, leave-one-network-out"]
    assert calibrated["mape"] < methods["pi3b, board specifications only"]["mape"]
    assert json.loads(DEFAULT_PROFILE.read_text())["fit"]["latency_ms"]["rows"] == 11


def test_specs_keep_the_specification_costs():
    specs = Pi3BModel(profile="specs")
    assert [specs.cost(c.name) for c in specs.coefficients] == [
        c.default for c in specs.coefficients
    ]
    assert Pi3BModel(profile=None).cost("ms_per_layer") == specs.cost("ms_per_layer")
    assert Pi3BModel().cost("ms_per_layer") != specs.cost("ms_per_layer")


def test_the_suite_part_says_it_did_not_run_without_torchvision(monkeypatch):
    from flash_nas import MissingDependencyError


    def missing():
        raise MissingDependencyError("no torchvision here; pip install 'flash-nas[torchvision]'")

    monkeypatch.setattr(pi3, "import_torchvision", missing)
    section = pi3.run(seeds=1, quick=True)
    assert section.blocks == ["Not run: no torchvision here; pip install 'flash-nas[torchvision]'"]
    assert section.summary == ["pi3: not run (torchvision is not installed)"] and not section.csvs
