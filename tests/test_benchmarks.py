"""The benchmarks' quick modes run and produce well-formed reports (structure, not values)."""

from __future__ import annotations

import math

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
    from benchmarks import hw_calibration

    report = hw_calibration.run(quick=True)
    assert report.seeds == 3 and report.fit_samples == 25
    targets = {row.target for row in report.rows}
    assert any(t.startswith("raspi4_latency (all") for t in targets)
    assert any(t.startswith("raspi4_latency (9,445") for t in targets)
    assert any(t.startswith("host latency, flash") for t in targets)
    for row in report.rows:
        assert len(row.fits) == report.seeds and row.rows > 0
        for fit in row.fits:
            assert -1 <= fit.spearman <= 1 and -1 <= fit.kendall <= 1
            assert math.isfinite(fit.mape) and fit.mape >= 0
            assert 0 <= fit.within_10pct <= 1
    assert all(value > 0 for value in report.timings.values())
    assert "| target | model |" in report.markdown()
