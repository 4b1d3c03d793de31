"""The ``flash`` method: FLASH as published.

:class:`~flash_nas.search.predictor.AccuracyPredictor` on NN-Degree and hierarchical SHGO
(:func:`flash_nas.search.pipeline.run_search`); proposals in the order of the predicted
objective; the recommendation is the search's pick (a prediction, marked as such, beside the
best measured label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from flash_nas.errors import NoFeasibleArchitectureError, NotSupportedError
from flash_nas.plugins.method import Choice, Pick, SearchMethod
from flash_nas.search.engine.summary import quality_lines

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine
    from flash_nas.search.evaluation import Evaluator
    from flash_nas.search.predictor import AccuracyPredictor
    from flash_nas.search.scoring import Scored
    from flash_nas.search.shgo import SearchResult

__all__ = ["FlashFit", "FlashMethod"]


@dataclass(frozen=True)
class FlashFit:
    """FLASH's predictor on the labels, the evaluator of its SHGO run, the run's pick and the
    run itself (None when the space has no relaxation)."""

    predictor: AccuracyPredictor
    evaluator: Evaluator
    best: Scored | None
    result: SearchResult | None


class FlashMethod(SearchMethod):
    """FLASH: the monotone NN-Degree predictor and hierarchical SHGO."""

    description = "FLASH as published: the NN-Degree predictor and hierarchical SHGO"
    default_features = ("nn_degree",)
    default_initial_samples = 25
    min_labels = 5

    def __init__(self, engine: SearchEngine) -> None:
        super().__init__(engine)
        self._fit: FlashFit | None = None
        self._key: int | None = None

    def fitted(self) -> FlashFit:
        """The predictor and one hierarchical SHGO run on the current labels."""
        engine = self.engine
        if self._fit is None or self._key != engine.labels_key:
            self._fit = self._refit()
            self._key = engine.labels_key
        return self._fit

    def _refit(self) -> FlashFit:
        # scipy's optimisers load with the first fit, not with the plugin (`flash-nas plugins`)
        from flash_nas.search.evaluation import Evaluator
        from flash_nas.search.pipeline import Labels, fit_predictor, run_search

        engine = self.engine
        rows, utility = engine.labelled()
        labels = Labels([engine.candidates.archs[r] for r in rows], utility, "engine")
        predictor = fit_predictor(engine.adapter, labels, engine.features)
        best: Scored | None = None
        result = None
        try:
            result, evaluator = run_search(
                engine.adapter,
                predictor,
                engine.features,
                engine.objective,
                engine.hardware,
                chance=engine.chance,
            )
            best = result.best
        except (NotSupportedError, NoFeasibleArchitectureError):
            evaluator = Evaluator(
                engine.adapter,
                engine.objective,
                predictor,
                engine.features,
                engine.hardware,
                chance=engine.chance,
            )
        if best is None or not engine.domain.contains(best.arch):
            # No relaxation (or a pick outside the searched part): the pool's best instead.
            pool = [engine.candidates.archs[r] for r in engine.pool_rows]
            feasible = [s for s in evaluator.evaluate(pool) if s.feasible]
            best = max(feasible, key=lambda s: s.log_objective) if feasible else None
        return FlashFit(predictor, evaluator, best, result)

    def propose(self, count: int, taken: set[int]) -> list[Choice]:
        engine = self.engine
        fit = self.fitted()
        fit.evaluator.prefetch([engine.candidates.archs[r] for r in engine.pool_rows])
        ranked = sorted(fit.evaluator.cache.values(), key=lambda s: s.loss)
        if fit.best is not None:
            ranked.insert(0, fit.best)
        rows = engine.candidates.add([s.arch for s in ranked])
        keep = engine.eligible(rows)
        keep &= np.array([engine.domain.contains(s.arch) for s in ranked], dtype=bool)
        chosen: list[Choice] = []
        seen: set[int] = set()
        for row, scored, ok in zip(rows, ranked, keep):
            if ok and int(row) not in seen and int(row) not in taken:
                seen.add(int(row))
                accuracy = scored.values["accuracy"]
                chosen.append(Choice(int(row), "model", accuracy, fit.predictor.loo_rmse_))
            if len(chosen) == count:
                break
        return chosen

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fit = self.fitted()
        scored = fit.evaluator.evaluate([self.engine.candidates.archs[r] for r in rows])
        mean = np.array([s.values["accuracy"] for s in scored])
        return mean, np.full(len(rows), float(fit.predictor.loo_rmse_))

    def recommend(self) -> Pick:
        """The search's pick; when it was not measured, a prediction, with the best measured
        architecture named in the note."""
        engine = self.engine
        fit = self.fitted()
        if fit.best is None:
            raise NoFeasibleArchitectureError(
                "FLASH's search found no architecture that meets the limits; relax a limit."
            )
        row = int(engine.candidates.add([fit.best.arch])[0])
        rows, utility = engine.labelled()
        told = {int(r): k for k, r in enumerate(rows)}
        if row in told:
            return Pick(row, float(utility[told[row]]))
        note = "Predicted by FLASH's NN-Degree predictor, not measured."
        try:
            measured = engine.best_measured()
        except NoFeasibleArchitectureError:
            pass
        else:
            text = engine.adapter.format(engine.candidates.archs[measured.row])
            note += (
                f" The best measured architecture is {text} at "
                f"{engine.label(measured.utility):.4g}."
            )
        accuracy = float(fit.best.values["accuracy"])
        return Pick(row, accuracy, float(fit.predictor.loo_rmse_), False, note)

    def summary(self) -> list[str]:
        engine = self.engine
        rows, _ = engine.labelled()
        fit = self.fitted()
        extra = [engine.features[k] for k in fit.predictor.extra_columns_]
        lines = [
            f"Predictor: {fit.predictor.form_} form on {engine.features[0]}"
            + (f" + log({', '.join(extra)})" if extra else "")
            + f", fitted on {len(rows)} labels (predictions kept within their range)."
        ]
        if fit.result is not None:
            for stage in fit.result.timings:
                lines.append(
                    f"  {stage.name}: {stage.seconds * 1e3:.1f} ms, {stage.evaluations} evaluations"
                )
        # Computed once, by the fit that chose the form.
        held_out = fit.predictor.loo_predictions_
        return [*lines, *quality_lines(engine, held_out, engine.labelled()[1])]
