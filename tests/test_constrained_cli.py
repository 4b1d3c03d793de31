"""The constrained-search benchmark's protocol through the CLI (issue 21): a table holding
``arch``, ``c10_valid`` and a device's measured ``latency_ms`` given to ``flash-nas search
--costs-from`` trains, in order, the networks the benchmark's default row trains, and
recommends a network whose measured latency best.csv carries and which meets the limit."""

from __future__ import annotations

import csv
import math

import pytest

from benchmarks.suite.constrained_runs import load_device, load_space, trained_architectures
from flash_nas.search.engine import SearchEngine
from tests.cli_helpers import rows, run

#: A device whose table has a latency for every cell (the Edge TPU's has failed ones), its
#: limit at the 10 % quantile of its latencies, as the benchmark sets it.
DEVICE, QUANTILE = "raspi4", 0.10
#: The first of the seeds the benchmark's settings were chosen on (one: each run trains 25 twice).
SEED = 100
TRAININGS = 25


@pytest.fixture(scope="module")
def device_table(tmp_path_factory):
    space, device = load_space(), load_device(DEVICE)
    path = tmp_path_factory.mktemp("constrained") / f"{DEVICE}.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["arch", "c10_valid", "latency_ms"])
        for text in space.texts:
            writer.writerow([text, repr(space.valid[text]), repr(device.latency[text])])
    return path, device, device.limit(QUANTILE)


def test_the_cli_trains_the_benchmarks_networks_and_best_csv_carries_the_measured_latency(
    capsys, tmp_path, device_table
):
    seed = SEED
    table, device, limit_ms = device_table
    state, best = tmp_path / "state.json", tmp_path / "best.csv"
    code, out, err = run(
        capsys, "search", "--space", "nasbench201", "--hardware", "pi3b",
        "--max-latency-ms", repr(limit_ms), "--objective", "acc",
        "--labels-from", f"{table}:c10_valid", "--costs-from", f"{table}:latency_ms",
        "--budget", str(TRAININGS), "--seed", str(seed), "--output", str(best),
        "--state", str(state), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    trained = [trial.text for trial in SearchEngine.load(state).history]
    assert trained == trained_architectures(DEVICE, limit_ms, seed, TRAININGS)
    first = rows(best.read_text())[0]
    assert first["costs_measured"] == "1"
    # the device's latency of that network, not the pi3b model's prediction of it
    assert float(first["latency_ms"]) == pytest.approx(device.latency[first["arch"]])
    assert math.isfinite(float(first["latency_ms"])) and float(first["latency_ms"]) <= limit_ms
    assert first["arch"] in trained
    assert f"#1 {first['arch']}: " in out and "costs measured" in out.split("#1 ", 1)[1]
