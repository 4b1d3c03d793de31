"""The engine's Gaussian process: fits what it should, knows what it does not, and its shortcuts
(closed-form leave-one-out, conditioning on believed points) equal the long way round."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from flash_nas.errors import FlashNasError, NotFittedError
from flash_nas.search.gp import GaussianProcess


def smooth(X: np.ndarray) -> np.ndarray:
    return 90 - 20 * (X[:, 0] - 0.3) ** 2 + 3 * np.sin(4 * X[:, 1])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(30, 2))
    return X, smooth(X)


def test_it_interpolates_a_smooth_function_and_is_sure_only_near_data(data):
    X, y = data
    gp = GaussianProcess(seed=0).fit(X, y)
    grid = np.random.default_rng(1).uniform(size=(200, 2))
    mean, _std = gp.predict(grid)
    assert np.sqrt(np.mean((mean - smooth(grid)) ** 2)) < 0.5  # y spans about 8
    _, at_data = gp.predict(X)
    _, far = gp.predict(np.array([[5.0, 5.0]]))
    assert at_data.max() < far[0] and far[0] > 1.0
    # far from every label the mean returns to the labels' mean
    assert abs(gp.predict(np.array([[50.0, 50.0]]))[0][0] - y.mean()) < 0.5


def test_closed_form_leave_one_out_equals_refitting_without_the_point(data):
    X, y = data
    gp = GaussianProcess(seed=0).fit(X, y)
    loo = gp.loo_predictions()
    for k in (0, 7, 19):
        keep = np.arange(len(y)) != k
        other = GaussianProcess(seed=0)
        other.__dict__.update({n: v for n, v in gp.__dict__.items() if n.endswith("_")})
        other.X_train_ = X[keep]
        other._set_targets((y[keep] - gp.y_mean_) / gp.y_scale_)
        assert other.predict(X[k : k + 1])[0][0] == pytest.approx(loo[k], abs=1e-6)


def test_the_evidence_gradient_equals_finite_differences(data):
    # groups sharing a length scale and two kernel blocks: every kind of hyperparameter
    X, y = data
    wide = np.hstack([X, X[:, :1] ** 2, X[:, 1:] * X[:, :1]])
    gp = GaussianProcess(groups=[0, 1, 2, 2], blocks=[0, 0, 1, 1], seed=0).fit(wide, y)
    sq = gp._squared_distances(wide, wide)
    target = (y - gp.y_mean_) / gp.y_scale_
    rng = np.random.default_rng(3)
    for _ in range(3):
        theta = rng.uniform(-1.5, 1.0, size=len(gp.theta_))
        analytic = gp._neg_log_likelihood(theta, sq, target)[1]
        numeric = optimize.approx_fprime(
            theta, lambda t: gp._neg_log_likelihood(t, sq, target)[0], 1e-6
        )
        assert np.allclose(analytic, numeric, rtol=1e-4, atol=1e-4)


def test_conditioning_on_a_believed_point_shrinks_its_uncertainty_only(data):
    X, y = data
    gp = GaussianProcess(seed=0).fit(X, y)
    point = np.array([[1.6, 1.6]])  # outside the labelled square: uncertain
    mean, std = gp.predict(point)
    believed = gp.condition_on(point, mean)
    new_mean, new_std = believed.predict(point)
    assert new_std[0] < 0.5 * std[0]
    assert new_mean[0] == pytest.approx(mean[0], abs=1e-3)
    assert gp.predict(point)[1][0] == pytest.approx(std[0])  # the original is unchanged


def test_groups_share_a_length_scale_and_blocks_add_kernels(data):
    X, y = data
    wide = np.hstack([X, X[:, :1]])
    gp = GaussianProcess(groups=[0, 1, 0], blocks=[0, 1, 0], seed=0).fit(wide, y)
    assert len(gp.length_scales_) == 2 and gp.n_blocks_ == 2
    with pytest.raises(FlashNasError, match=r"a group of columns must lie in one block"):
        GaussianProcess(groups=[0, 0, 1], blocks=[0, 1, 1]).fit(wide, y)
    with pytest.raises(FlashNasError, match=r"'groups' names 2 columns; X has 3"):
        GaussianProcess(groups=[0, 1]).fit(wide, y)


def test_bad_input_and_predict_before_fit():
    with pytest.raises(NotFittedError, match=r"not fitted yet"):
        GaussianProcess().predict(np.zeros((1, 2)))
    with pytest.raises(FlashNasError, match=r"finite"):
        GaussianProcess().fit(np.array([[0.0], [np.nan]]), np.array([1.0, 2.0]))
    with pytest.raises(FlashNasError, match=r"n >= 2"):
        GaussianProcess().fit(np.zeros((1, 1)), np.zeros(1))
