"""The benchmark parts for the new spaces, in their quick modes: which rows they rank, that our
parameter counts rank exactly as the published ones, and the FBNet calibration rows."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.suite import hardware, ranking_spaces
from flash_nas_adapters.space_tables import TNB101_TASKS


@pytest.fixture(scope="module")
def measured():
    return ranking_spaces.measure(quick=True)


def test_every_space_is_ranked_on_its_rows(measured) -> None:
    data, rankings = measured
    spaces = {r["space"] for r in data.records()}
    assert spaces == {"nasbench101", "nasbench301", "transnas101-micro"}
    nb101 = data.records(space="nasbench101")
    assert {r["n_rows"] for r in nb101} == {80}  # quick: the first 80 isomorphism classes
    tasks = {r["target"] for r in data.records(space="transnas101-micro")}
    assert tasks == {TNB101_TASKS[t][0] for t in list(TNB101_TASKS)[:2]}
    rows = {r["row_set"]: r["n_rows"] for r in data.records(space="transnas101-micro")}
    assert rows == {"all": 4096, "connected": 4096 - 169}
    for r in data.records():
        assert -1 <= r["spearman"] <= 1 and -1 <= r["kendall"] <= 1
    assert ranking_spaces.blocks(data, rankings) and ranking_spaces.summary(data)


def test_nb101_representatives_are_distinct_networks(measured) -> None:
    _, rankings = measured
    nb101 = next(r for r in rankings if r.space == "nasbench101")
    params = nb101.scores[("params", "flash-nas")]
    published = nb101.scores[("params", "NAS-Lib (published)")] * 1e6
    assert np.abs(params - published).max() < 0.5


def test_our_params_rank_exactly_as_the_published(measured) -> None:
    data, _ = measured
    for space in ("nasbench101", "nasbench301"):
        ours = data.records(space=space, score="params", source="flash-nas")[0]
        theirs = data.records(space=space, score="params", source="NAS-Lib (published)")[0]
        assert ours["spearman"] == pytest.approx(theirs["spearman"], abs=1e-12)


def test_zen_failures_are_not_ranked(measured) -> None:
    data, _ = measured
    zen = [r for r in data.records(space="transnas101-micro") if r["score"].startswith("zen_")]
    assert zen and {r["row_set"] for r in zen} == {"connected"}


def test_fbnet_calibration_rows() -> None:
    report = hardware.Fidelity(seeds=2, fit_samples=25)
    hardware.hw_nas_bench_fbnet(report, quick=True)
    assert [row.target for row in report.rows] == [
        "FBNet raspi4_latency (1,000 archs)",
        "FBNet raspi4_latency (1,000 archs)",
        "FBNet pixel3_latency (1,000 archs)",
        "FBNet pixel3_latency (1,000 archs)",
    ]
    assert {row.model for row in report.rows} == {"Pi3BModel form", "FLOPs alone"}
    for row in report.rows:
        assert row.rows == 975 and len(row.fits) == 2
        assert all(-1 <= fit.spearman <= 1 and fit.mape >= 0 for fit in row.fits)
