"""The benchmark parts for the new spaces, in their quick modes: which rows they rank, that our
parameter counts rank exactly as the published ones, and the FBNet calibration rows. The ranking
and hardware parts run once, in the suite's quick run (tests/bench_runs.py)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.suite import hardware, ranking_spaces
from flash_nas_adapters.space_tables import TNB101_TASKS
from tests.bench_runs import with_plots


@pytest.fixture(scope="module")
def measured(request):
    """The ranking part's table for the other spaces, from the suite's one quick run (measured
    here where the suite cannot run: no plots)."""
    if not with_plots():
        data, rankings = ranking_spaces.measure(quick=True)
        return data, ranking_spaces.blocks(data, rankings)
    section = request.getfixturevalue("quick_rest").sections["ranking"]
    (data,) = [csv for csv in section.csvs if csv.name == "ranking_spaces"]
    return data, section.blocks


def test_every_space_is_ranked_on_its_rows(measured) -> None:
    data, blocks = measured
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
    assert any(block.startswith("### nasbench101") for block in blocks)
    assert ranking_spaces.summary(data)


def test_nb101_representatives_are_distinct_networks() -> None:
    (nb101,) = ranking_spaces.nasbench101(quick=True)
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


def test_fbnet_calibration_rows(request) -> None:
    if with_plots():
        csvs = request.getfixturevalue("quick_rest").sections["hardware"].csvs
    else:  # the hardware part's FBNet rows, as it writes them, measured here
        report = hardware.Fidelity(seeds=2, fit_samples=25)
        hardware.hw_nas_bench_fbnet(report, quick=True)
        csvs = [hardware.fidelity_csv(report)]
    (fits,) = [c for c in csvs if c.name == "hardware_fidelity"]
    rows = [r for r in fits.records() if r["device"].startswith("FBNet")]
    assert list(dict.fromkeys(r["device"] for r in rows)) == [
        "FBNet raspi4_latency (1,000 archs)",
        "FBNet pixel3_latency (1,000 archs)",
    ]
    assert {r["model"] for r in rows} == {"Pi3BModel form", "FLOPs alone"}
    for device in ("raspi4", "pixel3"):
        for model in ("Pi3BModel form", "FLOPs alone"):
            chosen = fits.records(device=f"FBNet {device}_latency (1,000 archs)", model=model)
            assert [r["seed"] for r in chosen] == [0, 1]  # the quick run's 2 seeds
            assert all(r["n_rows"] == 975 for r in chosen)
            assert all(-1 <= r["spearman"] <= 1 and r["mape"] >= 0 for r in chosen)
