"""The benchmarks' quick modes run and produce well-formed reports (structure, not values)."""

from __future__ import annotations

import math

import pytest

from benchmarks import score_nb201


def test_score_nb201_quick_report_is_well_formed():
    report = score_nb201.run(quick=True)
    assert len(report.batched_repeats) == 3 and report.batched_ms > 0
    assert report.per_graph_ms > 0 and report.per_graph_sample == 50
    assert 0 < report.peak_mb < 24 * 1024
    assert set(report.per_metric_ms) == set(score_nb201.flash_nas.METRICS)
    sources = {source for _, source, _, _, _ in report.ranking}
    assert {"flash-nas (all)", "flash-nas (9,445)", "NB-Suite-Zero (9,445)"} <= sources
    for name, source, rows, rho, tau in report.ranking:
        assert rows in (15625, 9445), (name, source)
        assert math.isfinite(rho) and -1 <= rho <= 1, (name, source)
        assert math.isfinite(tau) and -1 <= tau <= 1, (name, source)
    text = report.markdown()
    # once in the per-metric timing table, twice in the ranking table (all rows, 9,445)
    assert text.count("| nn_degree |") == 3 and "Machine:" in text


def test_hw_calibration_quick_report_is_well_formed():
    pytest.importorskip("torch", reason="the benchmark times torch inference: the [torch] extra")
    from benchmarks import hw_calibration

    report = hw_calibration.run(quick=True)
    assert report.seeds == 3 and report.fit_samples == 25
    targets = {row.target for row in report.rows}
    assert any(t.startswith("raspi4_latency (all") for t in targets)
    assert any(t.startswith("raspi4_latency (9,445") for t in targets)
    assert any(t.startswith("host latency, flash") for t in targets)
    models = {row.model for row in report.rows if row.target.startswith("raspi4_latency (all")}
    assert models == {
        "Pi3BModel form",
        "FLOPs alone",
        "Pi3BModel form, live edges (before)",
        "ceiling: per-edge costs fitted in-sample",
    }
    # cells with convs behind none edges: the model says executing them costs more (the measured
    # ratio is reported, not asserted: a timing depends on the machine's load)
    assert len(report.none_edges) == 2
    assert all(measured > 0 and predicted > 1 for _, measured, predicted in report.none_edges)
    for row in report.rows:
        assert len(row.fits) == report.seeds and row.rows > 0
        for fit in row.fits:
            assert -1 <= fit.spearman <= 1 and -1 <= fit.kendall <= 1
            assert math.isfinite(fit.mape) and fit.mape >= 0
            assert 0 <= fit.within_10pct <= 1
    assert all(value > 0 for value in report.timings.values())
    assert "| target | model |" in report.markdown()


def test_executing_leaves_out_only_the_networks_that_run_nothing():
    import flash_nas
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
