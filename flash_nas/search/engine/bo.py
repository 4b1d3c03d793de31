"""The default method, ``bo``: Bayesian optimisation over training-free metrics and encoding.

The Gaussian process of :mod:`.acquisition`, refitted when labels change; pending architectures
join it at their predicted mean, so concurrent requests spread out; candidates are the listed
space, or a pool plus the architectures hierarchical SHGO visits while maximising the expected
improvement over the adapter's relaxation. The recommendation is the best *measured*
architecture, with a note when the model predicts a better untried one.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np

from flash_nas.errors import NotSupportedError
from flash_nas.plugins.method import Choice, Pick, SearchMethod
from flash_nas.search.engine.summary import quality_lines
from flash_nas.search.scoring import Scored, Scorer

if TYPE_CHECKING:
    from flash_nas.search.engine.acquisition import ArchitectureModel
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["BayesianOptimisation"]


class BayesianOptimisation(SearchMethod):
    """Expected improvement of the objective under a Gaussian process (the default)."""

    description = "Bayesian optimisation: a Gaussian process on metrics and encoding"
    default_features = ("nn_degree", "nn_degree_neuron", "params", "flops")
    default_initial_samples = 10
    min_labels = 3

    def __init__(self, engine: SearchEngine) -> None:
        super().__init__(engine)
        self._model: ArchitectureModel | None = None
        self._key: int | None = None

    def fitted(self) -> ArchitectureModel:
        """The Gaussian process on the current labels (refitted when they change)."""
        # The Gaussian process (scipy) loads with the first fit, not with the plugin.
        from flash_nas.search.engine.acquisition import ArchitectureModel

        engine = self.engine
        if self._model is None or self._key != engine.labels_key:
            rows, utility = engine.labelled()
            n_metrics = len(engine.features)
            n_encoding = engine.inputs(rows[:1]).shape[1] - n_metrics
            groups = engine.adapter.encoding_groups() if n_encoding else None
            model = ArchitectureModel(
                n_metrics, n_encoding, encoding_groups=groups, seed=engine.seed
            )
            self._model = model.fit(engine.inputs(rows), utility)
            self._key = engine.labels_key
        return self._model

    def propose(self, count: int, taken: set[int]) -> list[Choice]:
        from flash_nas.search.engine.acquisition import choose

        engine = self.engine
        model = self.fitted()
        exponent = engine.objective.exponents["acc"]
        incumbent = self._incumbent(exponent)
        pending = engine.pending()
        if pending or taken:
            rows = np.concatenate([engine.candidates.add(pending), list(taken)]).astype(np.int64)
            model = model.believing(engine.inputs(rows))
        if not engine.listable:
            self._shgo_candidates(model, exponent, incumbent)
        rows = engine.candidate_rows()
        rows = rows[[r not in taken for r in rows]]
        if not rows.size:
            return []
        X = engine.inputs(rows)
        log_cost = engine.candidates.column("log_cost")[rows]
        probability = engine.candidates.column("p_feasible")[rows]
        uncertain = bool((probability < 1.0).any())
        picked, mean, std = choose(
            model, X, log_cost, exponent, incumbent, count, probability if uncertain else None
        )
        return [Choice(int(rows[k]), "model", float(mean[k]), float(std[k])) for k in picked]

    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.fitted().predict(self.engine.inputs(rows))

    def recommend(self) -> Pick:
        """The best measured architecture; the note names an untried one the model predicts
        better, so that a prediction is never silently preferred."""
        from flash_nas.search.engine.acquisition import log_objective, log_value

        engine = self.engine
        pick = engine.best_measured()
        rows, _ = engine.labelled()
        if len(rows) < self.min_labels:
            return pick
        candidates = engine.candidate_rows()
        candidates = candidates[engine.candidates.column("feasible")[candidates]]
        if not candidates.size:
            return pick
        exponent = engine.objective.exponents["acc"]
        log_cost = engine.candidates.column("log_cost")
        measured = log_value(pick.utility, exponent, log_cost[pick.row])
        mean, std = self.fitted().predict(engine.inputs(candidates))
        value, _ = log_objective(mean, std, exponent, log_cost[candidates])
        top = int(np.argmax(value))
        if value[top] <= measured:
            return pick
        text = engine.adapter.format(engine.candidates.archs[candidates[top]])
        note = (
            f"The model predicts the untried {text} at {engine.label(mean[top]):.4g} ± "
            f"{engine.label_std(std[top]):.2g}, above the best measured one; that is a "
            f"prediction: train it to confirm (ask() proposes it)."
        )
        return Pick(pick.row, pick.utility, None, True, " ".join(filter(None, [pick.note, note])))

    def summary(self) -> list[str]:
        engine = self.engine
        rows, utility = engine.labelled()
        model = self.fitted()
        features = ", ".join(engine.features)
        encoding = engine.inputs(rows[:1]).shape[1] - len(engine.features)
        used = (
            f"the metrics {features} and the space's encoding ({encoding} columns)"
            if encoding
            else f"the metrics {features} (the space has no encoding)"
        )
        return [
            f"Model: Gaussian process (Matern 5/2) on {used}, fitted on {len(rows)} labels; "
            f"noise sd {engine.label_std(model.gp.noise_std_):.3g}.",
            *quality_lines(engine, model.gp.loo_predictions(), utility),
        ]

    def _incumbent(self, exponent: float) -> float:
        from flash_nas.search.engine.acquisition import log_value

        engine = self.engine
        rows, utility = engine.labelled()
        if not len(rows):
            return -math.inf
        c = engine.candidates
        value = log_value(utility, exponent, c.column("log_cost")[rows])
        ok = c.column("feasible")[rows]
        return float(value[ok].max()) if ok.any() else -math.inf

    def _shgo_candidates(
        self, model: ArchitectureModel, exponent: float, incumbent: float
    ) -> None:
        """Let hierarchical SHGO visit the relaxation by expected improvement; what it visits
        becomes candidates (rows of ``engine.candidates``)."""
        from flash_nas.search.shgo import hierarchical_shgo

        engine = self.engine
        try:
            relaxation = engine.adapter.relaxation()
        except NotSupportedError:
            return
        hierarchical_shgo(
            relaxation, AcquisitionScorer(engine, model, exponent, incumbent), repair_starts=3
        )


class AcquisitionScorer(Scorer):
    """Scores architectures by the expected improvement of the objective, for SHGO: the
    engine's candidate table gives costs and feasibility, the model the accuracy."""

    def __init__(
        self, engine: SearchEngine, model: ArchitectureModel, exponent: float, incumbent: float
    ) -> None:
        super().__init__(engine.candidates.scoring)
        self.engine, self.model = engine, model
        self.exponent, self.incumbent = exponent, incumbent

    def _compute(self, archs: list[Hashable]) -> None:
        from flash_nas.search.engine.acquisition import expected_improvement, log_objective

        engine = self.engine
        rows = engine.candidates.add(archs)
        mean, std = self.model.predict(engine.inputs(rows))
        log_cost = engine.candidates.column("log_cost")[rows]
        value, spread = log_objective(mean, std, self.exponent, log_cost)
        score = expected_improvement(value, spread, self.incumbent)
        probability = engine.candidates.column("p_feasible")[rows]
        if (probability < 1.0).any():
            score = (score - min(float(score.min()), 0.0)) * probability
        ok = engine.eligible(rows) & np.array([engine.domain.contains(a) for a in archs])
        violation = engine.candidates.column("violation")[rows]
        for k, arch in enumerate(archs):
            log_score = math.log(max(float(score[k]), 1e-300))
            self.cache[arch] = Scored(arch, {}, log_score, bool(ok[k]), float(violation[k]) + 1)
