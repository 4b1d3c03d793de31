"""How well a method's model fits its labels, as lines the CLI prints (any method may use it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["quality_lines"]


def quality_lines(engine: SearchEngine, held_out: np.ndarray, utility: np.ndarray) -> list[str]:
    """The leave-one-out quality of ``held_out`` predictions of the labels ``utility`` (both
    0-100 utilities), and a warning when the model explains little of them."""
    from flash_nas.search.predictor import prediction_quality

    # On the labels' own scale (the models learn a 0-100 utility): the RMSE reads in the unit
    # of the labels, as the ± of a prediction does.
    quality = prediction_quality(engine.label(held_out), engine.label(utility))
    lines = [f"Leave-one-out on the labels ({engine.label_scale.unit}): {quality.line()}."]
    if quality.r2 < 0.1:
        lines.append(
            f"Warning: the model explains little of the labels (leave-one-out R2 "
            f"{quality.r2:.3f}); its predictions are weak: label more architectures, or check "
            f"that the labels belong to these architectures."
        )
    return lines
