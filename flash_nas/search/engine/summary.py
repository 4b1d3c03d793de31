"""What the engine's model is and how well it fits its labels, as lines the CLI prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from flash_nas.search.engine.methods import _fitted_bo, _fitted_flash

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["summary"]


def summary(engine: SearchEngine) -> list[str]:
    """What the model is and how well it fits, in lines; a warning when it explains little."""
    from flash_nas.search.engine.engine import MIN_LABELS
    from flash_nas.search.predictor import prediction_quality

    rows, utility = engine.labelled()
    if len(rows) < MIN_LABELS[engine.method]:
        return [f"No model yet: {len(rows)} label(s), {MIN_LABELS[engine.method]} needed."]
    features = ", ".join(engine.features)
    lines: list[str] = []
    if engine.method == "bo":
        model = _fitted_bo(engine)
        encoding = engine.inputs(rows[:1]).shape[1] - len(engine.features)
        held_out = model.gp.loo_predictions()
        lines.append(
            f"Model: Gaussian process (Matern 5/2, metrics + encoding) on {features}"
            + (f" and the space's encoding ({encoding} columns)" if encoding else "")
            + f", fitted on {len(rows)} labels; noise sd {model.gp.noise_std_:.3g}."
        )
    else:
        predictor, _, _ = _fitted_flash(engine)
        held_out = _flash_loo(engine, rows, utility)
        extra = [engine.features[k] for k in predictor.extra_columns_]
        lines.append(
            f"Predictor: {predictor.form_} form on {engine.features[0]}"
            + (f" + log({', '.join(extra)})" if extra else "")
            + f", fitted on {len(rows)} labels; leave-one-out RMSE {predictor.loo_rmse_:.3f}."
        )
        result = engine._flash_result
        if result is not None:
            for stage in result.timings:
                lines.append(
                    f"  {stage.name}: {stage.seconds * 1e3:.1f} ms, {stage.evaluations} evaluations"
                )
    quality = prediction_quality(held_out, utility)
    lines.append(f"Leave-one-out on the labels: {quality.line()}.")
    if quality.r2 < 0.1:
        lines.append(
            f"Warning: the model explains little of the labels (leave-one-out R2 "
            f"{quality.r2:.3f}); its predictions are weak: label more architectures, or check "
            f"that the labels belong to these architectures."
        )
    return lines


def _flash_loo(engine: SearchEngine, rows: np.ndarray, utility: np.ndarray) -> np.ndarray:
    from flash_nas.graph.metrics import score_batch
    from flash_nas.search.predictor import AccuracyPredictor

    archs = [engine.candidates.archs[r] for r in rows]
    scores = score_batch(engine.adapter.batch(archs), engine.features)
    X = np.column_stack([scores[name] for name in engine.features])
    held_out = np.empty(len(rows))
    for k in range(len(rows)):
        keep = np.arange(len(rows)) != k
        held_out[k] = AccuracyPredictor().fit(X[keep], utility[keep]).predict(X[k : k + 1])[0]
    return held_out
