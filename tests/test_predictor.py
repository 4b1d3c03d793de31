"""The accuracy predictor, sample selection and the objective formula."""

from __future__ import annotations

import numpy as np
import pytest

from flash_nas.errors import FlashNasError, UnknownNameError
from flash_nas.search.objective import ObjectiveError, parse_objective
from flash_nas.search.predictor import AccuracyPredictor, NotFittedError, prediction_quality
from flash_nas.search.sampling import select_samples


def curve(g: np.ndarray) -> np.ndarray:
    return 94.0 - 30.0 * np.exp(-g / 150.0)


def test_recovers_a_saturating_curve_and_picks_that_form():
    g = np.linspace(20, 900, 25)
    predictor = AccuracyPredictor().fit(g[:, None], curve(g))
    assert predictor.form_ == "saturating"
    test = np.linspace(25, 880, 40)
    np.testing.assert_allclose(predictor.predict(test[:, None]), curve(test), atol=1e-4)


def test_picks_log_for_logarithmic_data():
    g = np.linspace(1, 500, 30)
    y = 60 + 5 * np.log1p(g)
    assert AccuracyPredictor().fit(g, y).form_ == "log"


def test_an_extra_feature_joins_only_when_it_helps():
    rng = np.random.default_rng(0)
    g = rng.uniform(50, 800, 40)
    params = rng.uniform(1e5, 1e6, 40)
    unrelated = rng.uniform(1, 2, 40)
    jitter = rng.normal(0, 0.05, 40)  # measurement noise: an unrelated feature fits only this
    y = curve(g) + 3.0 * np.log1p(params) + jitter
    fitted = AccuracyPredictor().fit(np.column_stack([g, unrelated, params]), y)
    assert fitted.extra_columns_ == [2]
    plain = AccuracyPredictor().fit(np.column_stack([g, unrelated]), curve(g) + jitter)
    assert plain.extra_columns_ == []


def test_quality_metrics():
    truth = np.array([1.0, 2.0, 3.0, 4.0])
    perfect = prediction_quality(truth, truth)
    assert (perfect.r2, perfect.rmse, perfect.spearman, perfect.kendall) == (1.0, 0.0, 1.0, 1.0)
    reversed_ = prediction_quality(truth[::-1], truth)
    assert reversed_.spearman == pytest.approx(-1.0) and reversed_.kendall == pytest.approx(-1.0)


def test_predict_before_fit_and_bad_data():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        AccuracyPredictor().predict(np.ones((3, 1)))
    with pytest.raises(FlashNasError, match="at least 5 labelled architectures; got 3"):
        AccuracyPredictor().fit(np.ones((3, 1)), np.ones(3))
    with pytest.raises(FlashNasError, match="NaN"):
        AccuracyPredictor().fit(np.arange(6.0), [1, 2, np.nan, 4, 5, 6])
    with pytest.raises(FlashNasError, match="forms"):
        AccuracyPredictor(forms=("cubic",)).fit(np.arange(6.0), np.arange(6.0))
    fitted = AccuracyPredictor().fit(np.arange(1.0, 7.0), np.arange(6.0))
    with pytest.raises(FlashNasError, match="X has 2 columns; the predictor was fitted on 1"):
        fitted.predict(np.ones((2, 2)))


@pytest.mark.parametrize("strategy", ["stratified", "quantile", "random"])
def test_samples_are_distinct_reproducible_and_sized(strategy):
    values = np.random.default_rng(1).gamma(2.0, 100.0, 5000)
    first = select_samples(values, 25, strategy=strategy, seed=3)
    assert len(first) == len(set(first)) == 25
    np.testing.assert_array_equal(first, select_samples(values, 25, strategy=strategy, seed=3))
    assert not np.array_equal(first, select_samples(values, 25, strategy=strategy, seed=4))


def test_stratified_spans_the_range():
    values = np.random.default_rng(2).gamma(2.0, 100.0, 5000)  # long right tail
    chosen = values[select_samples(values, 25, seed=0)]
    random = values[select_samples(values, 25, strategy="random", seed=0)]
    assert chosen.max() > np.quantile(values, 0.99)  # reaches the tail
    assert np.ptp(chosen) > np.ptp(random)
    # every tenth of the range that holds candidates is represented
    edges = np.linspace(values.min(), values.max(), 11)
    occupied = {int(i) for i in np.digitize(values, edges[1:-1])}
    assert {int(i) for i in np.digitize(chosen, edges[1:-1])} == occupied


def test_sampling_errors():
    with pytest.raises(UnknownNameError, match="Unknown sampling strategy 'grid'"):
        select_samples(np.arange(10.0), 3, strategy="grid")
    with pytest.raises(FlashNasError, match="Cannot choose 11 architectures from a pool of 10"):
        select_samples(np.arange(10.0), 11)


def test_objective_is_a_product_of_powers_in_logs():
    objective = parse_objective("acc/(latency*energy*area)", {"max_latency_ms": 5.0})
    assert dict(objective.exponents) == {"acc": 1, "latency": -1, "energy": -1, "area": -1}
    values = {
        "accuracy": np.array([90.0, 90.0]),
        "latency_ms": np.array([2.0, 8.0]),
        "energy_mj": np.array([1.0, 1.0]),
        "area_mm2": np.array([3.0, 3.0]),
    }
    np.testing.assert_allclose(objective.log_value(values), np.log([90 / 6, 90 / 24]))
    np.testing.assert_array_equal(objective.feasible(values), [True, False])
    assert parse_objective("acc^2 / latency**0.5").exponents == {"acc": 2.0, "latency": -0.5}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("acc+latency", "may only multiply, divide"),
        ("acc/speed", "unknown quantity 'speed'"),
        ("latency", "must reward accuracy"),
        ("acc/(", "does not parse"),
        ("acc**x", "exponents must be numbers"),
    ],
)
def test_bad_objectives(text, message):
    with pytest.raises(ObjectiveError, match=message):
        parse_objective(text)


def test_bad_limits():
    with pytest.raises(ObjectiveError, match="Unknown limit 'max_speed'"):
        parse_objective("acc", {"max_speed": 3})
    with pytest.raises(ObjectiveError, match="must be a positive number"):
        parse_objective("acc", {"max_latency_ms": -1})
