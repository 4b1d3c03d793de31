"""Table-backed hardware: HW-NAS-Bench's published numbers, and users' own measurement tables."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import flash_nas
from flash_nas import TableError, UnknownNameError
from flash_nas.plugins.testing import HardwareModelContract
from flash_nas_hardware.hwnasbench import DEVICES, TableHardwareModel

INDEX0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module")
def nb201():
    return flash_nas.get_adapter("nasbench201")


class TestEdgeGpuContract(HardwareModelContract):
    @pytest.fixture
    def model(self):
        return flash_nas.get_hardware("hwnasbench:edgegpu")

    @pytest.fixture
    def graphs(self, nb201):
        return [nb201.batch([nb201.from_index(i)]).graph(0) for i in (0, 1, 6111)]


def test_every_device_is_registered_with_its_quantities():
    for device, columns in DEVICES.items():
        model = flash_nas.get_hardware(f"hwnasbench:{device}")
        assert model.quantities == tuple(columns)
    assert "energy_mj" in flash_nas.get_hardware("hwnasbench:eyeriss").quantities
    assert flash_nas.get_hardware("hwnasbench:pixel3").quantities == ("latency_ms",)


def test_lookups_match_the_reference_data(nb201, shared_data):
    with open(shared_data / "hw_nas_bench" / "hw_cifar10.csv") as handle:
        rows = list(csv.DictReader(handle))
    whole = nb201.enumerate()
    for device, columns in DEVICES.items():
        values = flash_nas.get_hardware(f"hwnasbench:{device}").estimate_batch(whole)
        for quantity, column in columns.items():
            published = np.array([float(r[column]) for r in rows])
            # -1 marks a failed measurement in HW-NAS-Bench
            np.testing.assert_allclose(values[quantity], np.where(published > 0, published, np.nan))


def test_single_graph_lookup_uses_the_graphs_name(nb201):
    model = flash_nas.get_hardware("hwnasbench:raspi4")
    graph = nb201.to_graph(nb201.parse(INDEX0))
    whole = model.estimate_batch(nb201.enumerate())
    assert model.estimate(graph)["latency_ms"] == whole["latency_ms"][0]


def test_other_input_shapes_are_refused(nb201):
    model = flash_nas.get_hardware("hwnasbench:raspi4")
    space = flash_nas.get_adapter("nasbench201", input_size=64)
    with pytest.raises(TableError, match="3x32x32 inputs with 10 classes; this graph takes 3x64x64"):
        model.estimate(space.to_graph(space.parse(INDEX0)))
    hundred = flash_nas.get_adapter("nasbench201", num_classes=100)
    with pytest.raises(TableError, match="has 100 outputs"):
        model.estimate_batch(hundred.sample(3, 0))


def test_unknown_devices_and_spaces_are_refused():
    with pytest.raises(UnknownNameError, match="Unknown HW-NAS-Bench device 'tx2'; expected one of edgegpu"):
        flash_nas.get_hardware("hwnasbench:tx2")
    model = flash_nas.get_hardware("hwnasbench:edgetpu")
    flash = flash_nas.get_adapter("flash").sample(2, 0)
    with pytest.raises(TableError, match="3x32x32|no measurement"):
        model.estimate_batch(flash)
    with pytest.raises(ValueError, match="Name a HW-NAS-Bench device"):
        TableHardwareModel()


def test_a_users_own_table(tmp_path, nb201):
    path = tmp_path / "mine.csv"
    path.write_text(f"arch,latency_ms,energy_mj\n{INDEX0},3.5,7.25\n")
    model = flash_nas.get_hardware("hwnasbench", table=str(path))
    assert model.quantities == ("latency_ms", "energy_mj")
    assert model.estimate(nb201.to_graph(nb201.parse(INDEX0))) == {"latency_ms": 3.5, "energy_mj": 7.25}
    with pytest.raises(TableError, match="has no measurement for 1 architecture"):
        model.estimate(nb201.to_graph(nb201.from_index(5)))
    path.write_text(f"arch,time\n{INDEX0},3.5\n")
    with pytest.raises(TableError, match="needs a 'latency_ms' column"):
        flash_nas.get_hardware("hwnasbench", table=str(path))


def test_failed_measurements_are_nan_not_costs(nb201):
    # HW-NAS-Bench stores -1 where the Edge TPU measurement failed
    values = flash_nas.get_hardware("hwnasbench:edgetpu").estimate_batch(nb201.enumerate())
    latency = values["latency_ms"]
    assert np.isnan(latency).any()
    assert (latency[~np.isnan(latency)] > 0).all()
