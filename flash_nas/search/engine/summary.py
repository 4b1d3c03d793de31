"""What the engine's model is and how well it fits its labels, as lines the CLI prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
        used = (
            f"the metrics {features} and the space's encoding ({encoding} columns)"
            if encoding
            else f"the metrics {features} (the space has no encoding)"
        )
        lines.append(
            f"Model: Gaussian process (Matern 5/2) on {used}, fitted on {len(rows)} labels; "
            f"noise sd {model.gp.noise_std_ * engine._scale_width():.3g}."
        )
    else:
        predictor, _, _ = _fitted_flash(engine)
        held_out = predictor.loo_predictions_  # computed once, by the fit that chose the form
        extra = [engine.features[k] for k in predictor.extra_columns_]
        lines.append(
            f"Predictor: {predictor.form_} form on {engine.features[0]}"
            + (f" + log({', '.join(extra)})" if extra else "")
            + f", fitted on {len(rows)} labels (predictions kept within their range)."
        )
        result = engine._flash_result
        if result is not None:
            for stage in result.timings:
                lines.append(
                    f"  {stage.name}: {stage.seconds * 1e3:.1f} ms, {stage.evaluations} evaluations"
                )
    # On the labels' own scale (the models learn a 0-100 utility): the RMSE reads in the unit
    # of the labels, as the ± of a prediction does.
    quality = prediction_quality(engine._from_utility(held_out), engine._from_utility(utility))
    unit = engine.label_scale.unit
    lines.append(f"Leave-one-out on the labels ({unit}): {quality.line()}.")
    if quality.r2 < 0.1:
        lines.append(
            f"Warning: the model explains little of the labels (leave-one-out R2 "
            f"{quality.r2:.3f}); its predictions are weak: label more architectures, or check "
            f"that the labels belong to these architectures."
        )
    return lines
