"""Benchmark parts in their quick modes (structure and ranges, not values). The scoring part is
the suite's own quick run (tests/bench_runs.py, run once for every test that reads it);
tests/test_bench_suite.py checks every part's report and CSVs."""

from __future__ import annotations

import math

import numpy as np
import pytest

import flash_nas
from benchmarks.suite import PARTS, scoring
from tests.bench_runs import with_plots


def test_the_scoring_part_times_both_paths_and_ranks_every_metric(request):
    if with_plots():
        section = request.getfixturevalue("quick_rest").sections["scoring"]
    else:  # the suite cannot run without plots: the part alone
        section = scoring.run(quick=True, seeds=2)
    assert PARTS["scoring"].run is scoring.run
    speed, memory, ranking = section.csvs
    batched = speed.records(path="batched", metrics="nn_degree,params,flops")
    assert [row["repeat"] for row in batched] == [0, 1, 2]
    assert all(row["n_archs"] == 15625 and row["seconds"] > 0 for row in batched)
    (one_at_a_time,) = speed.records(path="one graph at a time")
    assert one_at_a_time["n_archs"] == 50 and one_at_a_time["seconds"] > 0
    alone = {row["metrics"] for row in speed.records(path="batched", repeat=0)}
    assert alone == set(flash_nas.METRICS) | {"nn_degree,params,flops"}
    assert 0 < memory.rows[0][-1] < 24 * 1024
    sources = set(ranking.column("source"))
    assert {"flash-nas (all)", "flash-nas (9,445)", "NB-Suite-Zero (9,445)"} <= sources
    for name, source, rows, rho, tau in ranking.rows:
        assert rows in (15625, 9445), (name, source)
        assert math.isfinite(rho) and -1 <= rho <= 1, (name, source)
        assert math.isfinite(tau) and -1 <= tau <= 1, (name, source)
    # every metric ranked on both row sets, each once
    ours = [(r[0], r[1]) for r in ranking.rows if r[1].startswith("flash-nas")]
    assert len(ours) == len(set(ours)) == 2 * len(flash_nas.METRICS)
    text = "\n".join(section.blocks)
    # once in the per-metric timing table, twice in the ranking table (all rows, 9,445)
    assert text.count("| nn_degree |") == 3 and "Goal: < 50 ms" in text
    assert section.summary and section.summary[0].startswith("scoring: ")


def test_hw_calibration_quick_report_is_well_formed(request):
    pytest.importorskip("torch", reason="the benchmark times torch inference: the [torch] extra")
    from benchmarks.suite import hardware

    if with_plots():
        section = request.getfixturevalue("quick_rest").sections["hardware"]
    else:  # the suite cannot run without plots: the part alone
        section = hardware.run(quick=True, seeds=2)
    fits, timings, none_edges = section.csvs
    assert "Each model calibrated on 25 random architectures per seed" in section.blocks[0]
    targets = {row["device"] for row in fits.records()}
    assert any(t.startswith("raspi4_latency (all") for t in targets)
    assert any(t.startswith("raspi4_latency (9,445") for t in targets)
    assert any(t.startswith("host latency, flash") for t in targets)
    models = {r["model"] for r in fits.records() if r["device"].startswith("raspi4_latency (all")}
    assert models == {
        "Pi3BModel form",
        "FLOPs alone",
        "Pi3BModel form, live edges (before)",
        "ceiling: per-edge costs fitted in-sample",
    }
    # cells with convs behind none edges: the model says executing them costs more (the measured
    # ratio is reported, not asserted: a timing depends on the machine's load)
    assert len(none_edges.rows) == 2
    assert all(measured > 0 and predicted > 1 for _, measured, predicted in none_edges.rows)
    for device, model in {(r["device"], r["model"]) for r in fits.records()}:
        chosen = fits.records(device=device, model=model)
        assert [r["seed"] for r in chosen] == [0, 1] and chosen[0]["n_rows"] > 0  # 2 seeds
        for fit in chosen:
            assert -1 <= fit["spearman"] <= 1 and -1 <= fit["kendall"] <= 1
            assert math.isfinite(fit["mape"]) and fit["mape"] >= 0
            assert 0 <= fit["within_10pct"] <= 1
    assert timings.rows and all(seconds > 0 for _, seconds in timings.rows)
    # the named figures (hardware.json, which the README's table cites) are the CSV's numbers
    devices = section.results["devices"]
    assert {"raspi4_all", "raspi4_9445", "edgegpu_all", "host_flash", "host_nasbench201"} <= set(
        devices
    )
    assert any(key.startswith("fbnet_") for key in devices)

    def mean(device: str, model: str, column: str) -> float:
        return float(np.mean([r[column] for r in fits.records(device=device, model=model)]))

    pi4 = next(t for t in targets if t.startswith("raspi4_latency (all"))
    figures = devices["raspi4_all"]
    assert figures["rho"][0] == pytest.approx(mean(pi4, "Pi3BModel form", "spearman"))
    assert figures["mape"] == pytest.approx(100 * mean(pi4, "Pi3BModel form", "mape"))
    assert figures["within"] == pytest.approx(100 * mean(pi4, "Pi3BModel form", "within_10pct"))
    assert figures["flops_rho"] == pytest.approx(mean(pi4, "FLOPs alone", "spearman"))
    live = "Pi3BModel form, live edges (before)"
    assert figures["live_rho"][0] == pytest.approx(mean(pi4, live, "spearman"))
    ceiling = "ceiling: per-edge costs fitted in-sample"
    assert figures["ceiling"] == pytest.approx(
        [mean(pi4, ceiling, "spearman"), 100 * mean(pi4, ceiling, "within_10pct")]
    )
    assert "live_rho" not in devices["raspi4_9445"] and len(section.results["none_edges"]) == 2


def test_executing_leaves_out_only_the_networks_that_run_nothing():
    from benchmarks._common import executing

    nb201 = flash_nas.get_adapter("nasbench201")
    cut = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    runs = "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
    batch = nb201.batch([nb201.parse(cut), nb201.parse(runs)])
    kept = executing(batch)
    assert kept.texts() == [runs]
    assert kept.graph(0).name == runs
    whole = nb201.batch([nb201.parse(runs)])
    assert executing(whole) is whole  # nothing to leave out: the batch itself
