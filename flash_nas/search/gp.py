"""A small exact Gaussian process: the search engine's accuracy model with uncertainty.

Why not scikit-learn's ``GaussianProcessRegressor``: the engine's inputs are *groups* of columns
(a few training-free metrics, then an adapter's one-hot or ordinal encoding of tens of columns),
and with 10-30 labels one length scale per column over-fits the encoding, while one for all
columns ignores that the metrics differ in meaning. Here each group of columns shares one
length scale (a metric is a group of one), which scikit-learn's kernels cannot express without a
custom kernel class; the rest is thirty lines of linear algebra.

Model: ``y = m + f(x) + e``, ``f ~ GP(0, s2 * Matern52(r))`` with
``r^2 = sum_g |x_g - x'_g|^2 / l_g^2`` over column groups ``g``, noise ``e ~ N(0, n2)``; ``y``
standardised before the fit. Hyperparameters (``s2``, every ``l_g``, ``n2``) maximise the log
marginal likelihood (L-BFGS-B from a fixed start and a few seeded restarts, within bounds that
keep a 25-point fit well posed). scikit-learn shaped: ``fit`` returns ``self``, learned
attributes end in ``_``, ``predict`` before ``fit`` raises ``NotFittedError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import linalg, optimize
from threadpoolctl import threadpool_limits

from flash_nas.errors import FlashNasError, NotFittedError

__all__ = ["GaussianProcess"]

_SQRT5 = math.sqrt(5.0)
#: log-space bounds: signal variance, length scales (inputs are scaled to about [0, 1]), noise.
_LOG_SIGNAL = (math.log(0.05), math.log(20.0))
_LOG_LENGTH = (math.log(0.05), math.log(20.0))
_LOG_NOISE = (math.log(1e-4), math.log(1.0))


def _matern52(scaled: np.ndarray) -> np.ndarray:
    """The Matern 5/2 correlation at ``scaled`` = sqrt(5) times the distance."""
    return (1.0 + scaled + scaled**2 / 3.0) * np.exp(-scaled)


class GaussianProcess:
    """GP regression with a Matérn-5/2 kernel, one length scale per group of columns.

    ``groups`` gives, for every input column, the id of its group (columns with equal ids share
    a length scale); default: one group per column. ``restarts`` random starts of the
    hyperparameter fit besides the fixed one, drawn from ``seed``.
    """

    def __init__(
        self,
        groups: Sequence[int] | None = None,
        *,
        blocks: Sequence[int] | None = None,
        restarts: int = 2,
        seed: int = 0,
    ) -> None:
        self.groups = None if groups is None else tuple(int(g) for g in groups)
        self.blocks = None if blocks is None else tuple(int(b) for b in blocks)
        self.restarts = restarts
        self.seed = seed

    # ------------------------------------------------------------------ fitting
    def _group_index(self, columns: int) -> np.ndarray:
        if self.groups is None:
            return np.arange(columns)
        if len(self.groups) != columns:
            raise FlashNasError(
                f"GaussianProcess: 'groups' names {len(self.groups)} columns; X has {columns}."
            )
        _, index = np.unique(np.asarray(self.groups), return_inverse=True)
        return index

    def _group_blocks(self, columns: int) -> np.ndarray:
        """The block of every group: the kernel is a sum of one Matern kernel per block."""
        if self.blocks is None:
            return np.zeros(self.n_groups_, dtype=np.int64)
        if len(self.blocks) != columns:
            raise FlashNasError(
                f"GaussianProcess: 'blocks' names {len(self.blocks)} columns; X has {columns}."
            )
        _, block_of_column = np.unique(np.asarray(self.blocks), return_inverse=True)
        found = np.zeros(self.n_groups_, dtype=np.int64)
        for group in range(self.n_groups_):
            members = np.unique(block_of_column[self.group_index_ == group])
            if len(members) != 1:
                raise FlashNasError("GaussianProcess: a group of columns must lie in one block.")
            found[group] = members[0]
        return found

    def _squared_distances(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """Per group, squared Euclidean distances between rows: shape (groups, len(A), len(B))."""
        out = np.empty((self.n_groups_, len(A), len(B)))
        for g in range(self.n_groups_):
            cols = self.group_index_ == g
            a, b = A[:, cols], B[:, cols]
            d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
            out[g] = np.maximum(d, 0.0)
        return out

    def _scaled_distances(
        self, sq: np.ndarray, log_lengths: np.ndarray
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each group's squared distances over its squared length scale, and per kernel block
        sqrt(5) times the distance they add up to (the Matern kernel's argument)."""
        weighted = np.exp(-2.0 * log_lengths)[:, None, None] * sq
        scaled = [
            _SQRT5 * np.sqrt(weighted[self.group_block_ == block].sum(0))
            for block in range(self.n_blocks_)
        ]
        return weighted, scaled

    def _kernel(
        self, sq: np.ndarray, log_lengths: np.ndarray, log_signals: np.ndarray
    ) -> np.ndarray:
        _, scaled = self._scaled_distances(sq, log_lengths)
        total = np.zeros(sq.shape[1:])
        for block, argument in enumerate(scaled):
            total += math.exp(log_signals[block]) * _matern52(argument)
        return total

    def _split(self, theta: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
        """(log signal variance per block, log noise variance, log length scale per group)."""
        b = self.n_blocks_
        return theta[:b], float(theta[b]), theta[b + 1 :]

    def _neg_log_likelihood(
        self, theta: np.ndarray, sq: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The negative log marginal likelihood and its gradient in ``theta``.

        The gradient is analytic (Rasmussen and Williams, eq. 5.9: half the trace of
        ``(K^-1 - alpha alpha^T) dK/dtheta``): finite differences cost one more likelihood per
        hyperparameter at every step, and the fit ran most of a search's time on them.
        """
        log_signals, log_noise, log_lengths = self._split(theta)
        weighted, scaled = self._scaled_distances(sq, log_lengths)
        K = np.zeros(sq.shape[1:])
        signal_terms, shape_terms = [], []
        for block, argument in enumerate(scaled):
            signal = math.exp(log_signals[block])
            term = signal * _matern52(argument)
            K += term
            signal_terms.append(term)
            # minus d k / d (r^2) for a Matern 5/2 of r: (5/6) (1 + sqrt(5) r) exp(-sqrt(5) r)
            shape_terms.append(signal * (5.0 / 6.0) * (1.0 + argument) * np.exp(-argument))
        noise = math.exp(log_noise)
        K[np.diag_indices_from(K)] += noise + 1e-8
        try:
            factor = linalg.cho_factor(K, lower=True, check_finite=False)
        except linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = linalg.cho_solve(factor, y, check_finite=False)
        value = float(0.5 * y @ alpha + np.log(np.diag(factor[0])).sum())
        inverse = linalg.cho_solve(factor, np.eye(len(y)), check_finite=False)
        inner = inverse - np.outer(alpha, alpha)
        gradient = np.empty_like(theta)
        b = self.n_blocks_
        gradient[:b] = [0.5 * float(np.sum(inner * term)) for term in signal_terms]
        gradient[b] = 0.5 * noise * float(np.trace(inner))
        for group in range(self.n_groups_):
            # r^2 holds exp(-2 l_g) sq_g, so d r^2 / d l_g = -2 exp(-2 l_g) sq_g, and half of
            # (minus d k / d r^2) times 2 exp(-2 l_g) sq_g is what the trace needs
            shape = shape_terms[self.group_block_[group]]
            gradient[b + 1 + group] = float(np.sum(inner * shape * weighted[group]))
        return value, gradient

    def fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Fit on ``X`` (n, k) and ``y`` (n,): standardise ``y``, then maximise the evidence."""
        # Tens of points: BLAS threads cost far more than they save here (10x measured on two
        # busy cores), so the fit runs single-threaded.
        with threadpool_limits(limits=1):
            return self._fit(X, y)

    def _fit(self, X: np.ndarray, y: np.ndarray) -> GaussianProcess:
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        if X.ndim != 2 or y.shape != (len(X),) or len(y) < 2:
            raise FlashNasError(
                f"GaussianProcess.fit needs X of shape (n, k) and y of shape (n,) with n >= 2; "
                f"got {X.shape} and {y.shape}."
            )
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise FlashNasError("GaussianProcess.fit needs finite X and y (found NaN or inf).")
        self.group_index_ = self._group_index(X.shape[1])
        self.n_groups_ = int(self.group_index_.max()) + 1
        self.group_block_ = self._group_blocks(X.shape[1])
        self.n_blocks_ = int(self.group_block_.max()) + 1
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        target = (y - self.y_mean_) / self.y_scale_
        sq = self._squared_distances(X, X)
        b = self.n_blocks_
        bounds = [*([_LOG_SIGNAL] * b), _LOG_NOISE, *([_LOG_LENGTH] * self.n_groups_)]
        start = np.array([*([-math.log(b)] * b), math.log(0.1), *([0.0] * self.n_groups_)])
        rng = np.random.default_rng(self.seed)
        starts = [start] + [
            np.array([rng.uniform(low, high) for low, high in bounds]) for _ in range(self.restarts)
        ]
        best = None
        for theta in starts:
            found = optimize.minimize(
                self._neg_log_likelihood,
                theta,
                args=(sq, target),
                method="L-BFGS-B",
                jac=True,
                bounds=bounds,
            )
            if best is None or found.fun < best.fun:
                best = found
        assert best is not None  # starts is never empty
        self.theta_ = np.asarray(best.x)
        self.X_train_ = X
        self._set_targets(target)
        return self

    def _set_targets(self, target: np.ndarray) -> None:
        log_signals, log_noise, log_lengths = self._split(self.theta_)
        sq = self._squared_distances(self.X_train_, self.X_train_)
        K = self._kernel(sq, log_lengths, log_signals)
        K[np.diag_indices_from(K)] += math.exp(log_noise) + 1e-8
        self.factor_ = linalg.cho_factor(K, lower=True, check_finite=False)
        self.alpha_ = linalg.cho_solve(self.factor_, target, check_finite=False)
        self.target_ = target

    def condition_on(self, X_more: np.ndarray, y_more: np.ndarray) -> GaussianProcess:
        """A copy that also knows ``(X_more, y_more)``, with the same hyperparameters.

        Used to propose several architectures at once: each chosen one is added with its own
        predicted mean ("kriging believer"), which shrinks the uncertainty around it so the next
        choice goes elsewhere, without refitting the hyperparameters.
        """
        self._check_fitted()
        other = GaussianProcess(
            self.groups, blocks=self.blocks, restarts=self.restarts, seed=self.seed
        )
        other.__dict__.update({k: v for k, v in self.__dict__.items() if k.endswith("_")})
        other.X_train_ = np.vstack([self.X_train_, np.asarray(X_more, dtype=float)])
        more = (np.asarray(y_more, dtype=float) - self.y_mean_) / self.y_scale_
        other._set_targets(np.concatenate([self.target_, more]))
        return other

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if not hasattr(self, "alpha_"):
            raise NotFittedError(
                "This GaussianProcess is not fitted yet; call fit(X, y) with labelled data first."
            )

    def predict(self, X: np.ndarray, chunk: int = 20_000) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent accuracy at every row of ``X``."""
        with threadpool_limits(limits=1):
            return self._predict(X, chunk)

    def _predict(self, X: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        X = np.asarray(X, dtype=float)
        means, stds = [], []
        log_signals, _, log_lengths = self._split(self.theta_)
        signal = float(np.exp(log_signals).sum())
        for start in range(0, len(X), chunk):
            part = X[start : start + chunk]
            K_star = self._kernel(
                self._squared_distances(part, self.X_train_), log_lengths, log_signals
            )
            means.append(K_star @ self.alpha_)
            v = linalg.solve_triangular(self.factor_[0], K_star.T, lower=True, check_finite=False)
            stds.append(np.sqrt(np.maximum(signal - (v * v).sum(0), 1e-12)))
        mean = np.concatenate(means) * self.y_scale_ + self.y_mean_
        std = np.concatenate(stds) * self.y_scale_
        return mean, std

    def loo_predictions(self) -> np.ndarray:
        """Leave-one-out predictive means of the training targets, in closed form
        (Rasmussen and Williams, eq. 5.12): what each label's prediction would be without it."""
        self._check_fitted()
        inverse = linalg.cho_solve(self.factor_, np.eye(len(self.alpha_)), check_finite=False)
        held_out = self.target_ - self.alpha_ / np.diag(inverse)
        return held_out * self.y_scale_ + self.y_mean_

    @property
    def length_scales_(self) -> np.ndarray:
        """The fitted length scale of each group."""
        self._check_fitted()
        return np.exp(self._split(self.theta_)[2])

    @property
    def noise_std_(self) -> float:
        """The fitted observation noise, in the units of ``y``."""
        self._check_fitted()
        return math.sqrt(math.exp(self._split(self.theta_)[1])) * self.y_scale_
