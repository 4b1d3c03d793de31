"""Part 3: the few-sample accuracy predictor on held-out NAS-Bench-201 cells.

Per seed, sample count (10, 25, 50, 100) and sampling strategy (``flash_nas.search.sampling``:
FLASH's stratified over NN-Degree, quantile, random), the chosen cells are labelled with their
CIFAR-10 validation accuracy (``c10_valid``) -- the labels a search would have -- and two
regressors are fitted on them: FLASH's :class:`~flash_nas.search.predictor.AccuracyPredictor` on
NN-Degree, and a baseline on the architecture encoding alone (:class:`RidgeOnOps`: ridge regression
on the one-hot of the six edge ops). Both are judged by Spearman rho and Kendall tau against
CIFAR-10 test accuracy (``c10_test``) on every cell not labelled, as the search part
(:mod:`.search`) judges the engine's models. """

from __future__ import annotations

from pathlib import Path

import numpy as np

import flash_nas
from benchmarks.suite.report import Csv, Section, caption, figure, mean_std, table
from flash_nas.search.predictor import AccuracyPredictor, NotFittedError, prediction_quality
from flash_nas.search.sampling import STRATEGIES, select_samples
from flash_nas_adapters.nasbench201.space import load_shipped_table

SAMPLE_COUNTS = (10, 25, 50, 100)
FEATURE = "nn_degree"
LABELS, TRUTH = "c10_valid", "c10_test"
N_OPS = 5


def one_hot(ops: np.ndarray) -> np.ndarray:
    """``(n, 6)`` op ids to ``(n, 30)``: one indicator per (edge, op)."""
    ops = np.asarray(ops, dtype=np.int64)
    encoded = np.zeros((len(ops), ops.shape[1] * N_OPS))
    encoded[np.arange(len(ops))[:, None], np.arange(ops.shape[1]) * N_OPS + ops] = 1.0
    return encoded


class RidgeOnOps:
    """Ridge regression with an unpenalised intercept; the penalty ``alpha_`` is the one of
    ``alphas`` with the lowest leave-one-out error (closed form, through the hat matrix)."""

    def __init__(self, alphas: tuple[float, ...] = tuple(np.logspace(-3, 3, 13))) -> None:
        self.alphas = alphas

    def fit(self, X: np.ndarray, y: np.ndarray) -> RidgeOnOps:
        X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
        self.x_mean_, self.y_mean_ = X.mean(axis=0), y.mean()
        Xc, yc = X - self.x_mean_, y - self.y_mean_
        fits = []
        for alpha in self.alphas:
            inverse = np.linalg.inv(Xc.T @ Xc + alpha * np.eye(X.shape[1]))
            hat = Xc @ inverse @ Xc.T
            residual = (yc - hat @ yc) / (1.0 - np.diag(hat) - 1.0 / len(y))
            fits.append((float(np.mean(residual**2)), alpha, inverse @ Xc.T @ yc))
        self.loo_mse_, self.alpha_, self.coef_ = min(fits, key=lambda fit: fit[0])
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "coef_"):
            raise NotFittedError("This RidgeOnOps is not fitted yet; call fit(X, y) first.")
        return (np.asarray(X, dtype=float) - self.x_mean_) @ self.coef_ + self.y_mean_


def run(
    *, output: Path, seeds: int, quick: bool = False, first_seed: int = 0, **_: object
) -> Section:
    whole = flash_nas.get_adapter("nasbench201").enumerate()  # official index order
    shipped = load_shipped_table()
    order = np.argsort(shipped.indices)
    labels, truth = shipped.column(LABELS)[order], shipped.column(TRUTH)[order]
    degree = flash_nas.score_batch(whole, [FEATURE])[FEATURE]
    encoded = one_hot(whole.choices)
    data = Csv(
        "predictor",
        ("strategy", "labels", "seed", "model", "fitted", "n_rows", "spearman", "kendall"),
    )
    models = {
        "FLASH predictor (NN-Degree)": lambda: AccuracyPredictor(),
        "ridge on one-hot ops": lambda: RidgeOnOps(),
    }
    features = {"FLASH predictor (NN-Degree)": degree[:, None], "ridge on one-hot ops": encoded}
    for strategy in STRATEGIES:
        for count in SAMPLE_COUNTS:
            for seed in range(first_seed, first_seed + seeds):
                chosen = select_samples(degree, count, strategy=strategy, seed=seed)
                held = np.ones(len(truth), dtype=bool)
                held[chosen] = False
                for name, make in models.items():
                    X = features[name]
                    model = make().fit(X[chosen], labels[chosen])
                    quality = prediction_quality(model.predict(X[held]), truth[held])
                    data.add(
                        strategy,
                        count,
                        seed,
                        name,
                        _fitted(model),
                        quality.rows,
                        quality.spearman,
                        quality.kendall,
                    )
    section = Section("predictor", "Accuracy predictor from few samples", csvs=[data])
    section.blocks = _markdown(data, seeds)
    _plot(data, seeds, output / "predictor.png")
    section.figures.append("predictor.png")
    for name in models:
        rho = data.select("spearman", strategy="stratified", labels=25, model=name)
        section.summary.append(
            f"predictor, 25 stratified labels, {name}: Spearman rho {mean_std(rho)} ({seeds} seeds)"
        )
    return section


def _fitted(model: AccuracyPredictor | RidgeOnOps) -> str:
    """What the fit chose: the predictor's form, the ridge penalty."""
    if isinstance(model, RidgeOnOps):
        return f"alpha={model.alpha_:g}"
    return f"form={model.form_}"


def _markdown(data: Csv, seeds: int) -> list[str]:
    blocks = [
        f"Labels: `{LABELS}` of the chosen cells; judged against `{TRUTH}` on every other cell. "
        "FLASH's predictor fits accuracy on NN-Degree (form chosen by leave-one-out error); the "
        "baseline is ridge regression on the one-hot encoding of the six edge ops (30 "
        "features, penalty chosen by leave-one-out error), numpy only. Strategies from "
        "`flash_nas.search.sampling`, all over NN-Degree."
    ]
    models = list(dict.fromkeys(data.column("model")))
    for column, title in (("spearman", "Spearman ρ"), ("kendall", "Kendall τ")):
        blocks.append(
            caption(
                rows=f"the 15,625 NAS-Bench-201 cells minus the labelled ones ({title})",
                target=f"`{TRUTH}` (CIFAR-10 test accuracy)",
                split=f"fit on `{LABELS}` of the labelled cells, judged on all others",
                seeds=f"{seeds}, mean ± std",
            )
        )
        blocks.append(
            table(
                ["labels", "strategy", *models],
                [
                    [
                        str(count),
                        strategy,
                        *(
                            mean_std(data.select(column, strategy=strategy, labels=count, model=m))
                            for m in models
                        ),
                    ]
                    for count in SAMPLE_COUNTS
                    for strategy in STRATEGIES
                ],
            )
        )
    return blocks


def _plot(data: Csv, seeds: int, path: Path) -> None:
    with figure(path, ncols=2, width=5.0) as (fig, axes):
        for axis, column, title in zip(axes, ("spearman", "kendall"), ("Spearman ρ", "Kendall τ")):
            for model, style in zip(dict.fromkeys(data.column("model")), ("-", "--")):
                for strategy in STRATEGIES:
                    values = [
                        data.select(column, strategy=strategy, labels=c, model=model)
                        for c in SAMPLE_COUNTS
                    ]
                    axis.errorbar(
                        SAMPLE_COUNTS,
                        [v.mean() for v in values],
                        yerr=[v.std() for v in values],
                        ls=style,
                        marker="o",
                        ms=3,
                        capsize=2,
                        label=f"{model}, {strategy}",
                    )
            axis.set_xscale("log")
            axis.set_xticks(SAMPLE_COUNTS, [str(c) for c in SAMPLE_COUNTS])
            axis.set_xlabel("labelled architectures")
            axis.set_ylabel(f"{title} vs {TRUTH}, held-out cells")
            axis.grid(alpha=0.3)
        axes[0].legend(fontsize=6)
        fig.suptitle(f"NAS-Bench-201 predictor quality, mean ± std over {seeds} seeds")
