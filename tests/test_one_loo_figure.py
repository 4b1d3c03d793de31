"""The paper method's output: one leave-one-out figure, computed once, on the labels' scale, and
a predictor that does not extrapolate its fitted curve beyond the labelled features."""

from __future__ import annotations

import re

import numpy as np
import pytest

from flash_nas.io.tables import LabelScale
from flash_nas.search.engine import SearchEngine
from flash_nas.search.predictor import AccuracyPredictor
from flash_nas_adapters.nasbench201.space import load_shipped_table
from tests.cli_helpers import run


def test_flash_search_prints_one_leave_one_out_figure_that_the_spread_repeats(capsys, tmp_path):
    code, out, _ = run(capsys, "search", "--space", "nasbench201", "--labels-from",
                       "cifar10:c10_valid", "--n-labels", "25", "--method", "flash",
                       "--hardware", "pi3b", "--seed", "0", "--output", str(tmp_path / "b.csv"))
    assert code == 0
    assert len(re.findall("RMSE", out)) == 1, out  # one leave-one-out error, not two
    assert len(set(re.findall(r"R2 (-?[0-9.]+)", out))) == 1, out  # the warning repeats it
    (line,) = [line for line in out.splitlines() if line.startswith("Leave-one-out")]
    rmse = float(re.search(r"RMSE ([0-9.]+)", line).group(1))
    r2 = float(re.search(r"R2 (-?[0-9.]+)", line).group(1))
    assert -1.0 < r2 <= 1.0 and 0 < rmse < 10  # no held-out prediction thousands of points off
    spread = re.search(r"predicted [0-9.]+ ± ([0-9.]+)", out)
    if spread:  # a predicted pick carries the same figure as its spread
        assert float(spread.group(1)) == pytest.approx(rmse, abs=0.051)


def _engine(scale: LabelScale, factor: float) -> SearchEngine:
    table = load_shipped_table()
    engine = SearchEngine("nasbench201", method="flash", seed=0, label_scale=scale)
    proposals = engine.ask(25)
    values = table.lookup([p.text for p in proposals], "c10_valid") * factor
    engine.tell([p.arch for p in proposals], list(values))
    return engine


def _rmse(engine: SearchEngine) -> float:
    (line,) = [line for line in engine.summary() if line.startswith("Leave-one-out")]
    return float(re.search(r"RMSE ([0-9.]+)", line).group(1))


def test_the_rmse_is_in_the_labels_unit():
    percent = _engine(LabelScale(0.0, 100.0, True, "%"), 1.0)
    fraction = _engine(LabelScale(0.0, 1.0, True, "fraction"), 0.01)
    assert _rmse(percent) > 0.5
    assert _rmse(fraction) == pytest.approx(_rmse(percent) / 100, rel=0.02)
    assert any("Leave-one-out on the labels (fraction): R2" in line for line in fraction.summary())


def test_predictions_stay_within_the_labelled_range():
    rng = np.random.default_rng(0)
    g = rng.uniform(200, 1100, 25)
    accuracy = 94 - 30 * np.exp(-g / 150) + rng.normal(0, 0.5, 25)
    for form in ("log", "quadratic", "saturating"):
        predictor = AccuracyPredictor(forms=(form,)).fit(g[:, None], accuracy)
        low, high = predictor.predict(np.array([[g.min()], [g.max()]]))
        outside = predictor.predict(np.array([[0.0], [15.0], [5_000.0], [1e6]]))
        np.testing.assert_allclose(outside, [low, low, high, high])
        assert outside.min() >= accuracy.min() - 5 and outside.max() <= accuracy.max() + 5


def test_the_gp_summary_names_what_the_model_read():
    from flash_nas.errors import NotSupportedError
    from flash_nas_adapters.nasbench201.space import NasBench201Adapter

    class NoEncoding(NasBench201Adapter):
        def encode(self, archs):
            raise NotSupportedError("no encoding")

    table = load_shipped_table()
    for adapter, expected in (
        (NoEncoding(), "on the metrics nn_degree, params (the space has no encoding)"),
        (NasBench201Adapter(), "on the metrics nn_degree, params and the space's encoding (30 "),
    ):
        engine = SearchEngine(adapter, seed=0, initial_samples=6, features=["nn_degree", "params"])
        proposals = engine.ask(6)
        engine.tell([p.arch for p in proposals], list(table.lookup([p.text for p in proposals], "c10_valid")))
        model_line = engine.summary()[0]
        assert expected in model_line, model_line
        assert "metrics + encoding" not in model_line
