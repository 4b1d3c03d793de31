"""How each method proposes, recommends and draws the front (the engine's moving parts).

Both methods start with the same initial design: ``initial_samples`` architectures stratified
over NN-Degree among those that may be proposed (FLASH's sampling). While fewer labels than
that have come back, further requests get more of the design (then the untried architecture
farthest in NN-Degree from every one tried), so failures and concurrency keep the design spread.
Afterwards:

* ``bo``: the Gaussian process of :mod:`.acquisition`, refitted when labels change; pending
  architectures join it at their predicted mean, so concurrent requests spread out; candidates
  are the listed space, or a pool plus the architectures hierarchical SHGO visits while
  maximising the expected improvement over the adapter's relaxation.
* ``flash``: :class:`~flash_nas.search.predictor.AccuracyPredictor` on NN-Degree and
  hierarchical SHGO (:func:`flash_nas.search.pipeline.run_search`); proposals in the order of
  the predicted objective.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import numpy as np

from flash_nas.errors import LabelError, NoFeasibleArchitectureError, NotSupportedError
from flash_nas.search.engine.acquisition import (
    ArchitectureModel,
    choose,
    expected_improvement,
    log_objective,
    log_value,
)
from flash_nas.search.engine.records import PENDING, FrontPoint, Recommendation
from flash_nas.search.evaluation import Evaluator, Scored

if TYPE_CHECKING:
    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["front", "predict", "propose", "recommend", "top"]

#: (row, source, predicted utility or None, its standard deviation or None)
Choice = tuple[int, str, "float | None", "float | None"]


# ---------------------------------------------------------------------------------- propose
def propose(engine: SearchEngine, n: int) -> list[Choice]:
    """Up to ``n`` rows to propose, in order."""
    from flash_nas.search.engine.engine import MIN_LABELS

    counts = {"succeeded": 0, "pending": 0, "failed": 0}
    for trial in engine.trials.values():
        counts[trial.status] += 1
    room = max(0, engine.initial_samples - counts["succeeded"] - counts["pending"])
    chosen: list[Choice] = []
    for row in engine._design:
        if len(chosen) >= min(n, room):
            break
        if engine.candidates.archs[row] not in engine.trials:
            chosen.append((row, "initial", None, None))
    rest = n - len(chosen)
    needed = max(MIN_LABELS[engine.method], engine.initial_samples)
    if rest and counts["succeeded"] >= needed:
        taken = {row for row, *_ in chosen}
        model_rows = _bo(engine, rest, taken) if engine.method == "bo" else _flash(engine, rest)
        chosen += [c for c in model_rows if c[0] not in taken]
    elif rest:
        chosen += _spread(engine, rest, {row for row, *_ in chosen})
    return chosen[:n]


def _spread(engine: SearchEngine, count: int, taken: set[int]) -> list[Choice]:
    """Untried pool rows farthest in NN-Degree from every tried or chosen one."""
    rows = engine._pool_rows[engine._eligible(engine._pool_rows)]
    rows = rows[[r not in taken for r in rows]]
    degree = engine.candidates.column("value:" + engine.features[0])
    used = [engine.candidates.rows[a] for a in engine.trials] + list(taken)
    chosen: list[Choice] = []
    while rows.size and len(chosen) < count:
        gap = (
            np.min(np.abs(degree[rows][:, None] - degree[used][None, :]), axis=1)
            if used
            else np.zeros(len(rows))
        )
        best = rows[int(np.argmax(gap))]
        chosen.append((int(best), "initial", None, None))
        used.append(int(best))
        rows = rows[rows != best]
    return chosen


# -------------------------------------------------------------------------------------- bo
def _fitted_bo(engine: SearchEngine) -> ArchitectureModel:
    if engine._model_version != _labels_version(engine):
        rows, utility = engine.labelled()
        n_metrics = len(engine.features)
        n_encoding = engine.inputs(rows[:1]).shape[1] - n_metrics
        groups = engine.adapter.encoding_groups() if n_encoding else None
        model = ArchitectureModel(n_metrics, n_encoding, encoding_groups=groups, seed=engine.seed)
        engine._model = model.fit(engine.inputs(rows), utility)
        engine._model_version = _labels_version(engine)
    return engine._model


def _labels_version(engine: SearchEngine) -> int:
    """Changes whenever the set of labels changes (not when a proposal becomes pending)."""
    return hash(tuple((t.text, t.value) for t in engine.trials.values() if t.status != PENDING))


def _incumbent(engine: SearchEngine, exponent: float) -> float:
    rows, utility = engine.labelled()
    if not len(rows):
        return -math.inf
    c = engine.candidates
    value = log_value(utility, exponent, c.column("log_cost")[rows])
    ok = c.column("feasible")[rows]
    return float(value[ok].max()) if ok.any() else -math.inf


def _bo(engine: SearchEngine, count: int, taken: set[int]) -> list[Choice]:
    model = _fitted_bo(engine)
    exponent = engine.objective.exponents["acc"]
    incumbent = _incumbent(engine, exponent)
    pending = [t.arch for t in engine.trials.values() if t.status == PENDING]
    if pending or taken:
        rows = np.concatenate([engine.candidates.add(pending), list(taken)]).astype(np.int64)
        model = model.believing(engine.inputs(rows))
    if not engine.listable:
        _shgo_candidates(engine, model, exponent, incumbent)
    rows = _candidate_rows(engine)
    rows = rows[[r not in taken for r in rows]]
    if not rows.size:
        return []
    X = engine.inputs(rows)
    log_cost = engine.candidates.column("log_cost")[rows]
    picked, mean, std = choose(model, X, log_cost, exponent, incumbent, count)
    return [(int(rows[k]), "model", float(mean[k]), float(std[k])) for k in picked]


def _candidate_rows(engine: SearchEngine) -> np.ndarray:
    """Every row the engine may propose: the pool and any visited by a search, eligible."""
    rows = np.arange(len(engine.candidates))
    if engine.listable:
        rows = engine._pool_rows
    keep = engine._eligible(rows)
    if not engine.listable:
        archs = engine.candidates.archs
        keep &= np.array([engine.domain.contains(archs[r]) for r in rows], dtype=bool)
    return rows[keep]


class _AcquisitionEvaluator(Evaluator):
    """Scores architectures by the expected improvement of the objective, for SHGO."""

    def __init__(
        self, engine: SearchEngine, model: ArchitectureModel, exponent: float, incumbent: float
    ) -> None:
        super().__init__(engine.adapter, engine.objective, None, [], engine.hardware)
        self.engine, self.model = engine, model
        self.exponent, self.incumbent = exponent, incumbent

    def _compute(self, archs: list[Hashable]) -> None:
        engine = self.engine
        rows = engine.candidates.add(archs)
        mean, std = self.model.predict(engine.inputs(rows))
        log_cost = engine.candidates.column("log_cost")[rows]
        value, spread = log_objective(mean, std, self.exponent, log_cost)
        score = expected_improvement(value, spread, self.incumbent)
        ok = engine._eligible(rows) & np.array([engine.domain.contains(a) for a in archs])
        violation = engine.candidates.column("violation")[rows]
        for k, arch in enumerate(archs):
            log_score = math.log(max(float(score[k]), 1e-300))
            self.cache[arch] = Scored(arch, {}, log_score, bool(ok[k]), float(violation[k]) + 1)


def _shgo_candidates(
    engine: SearchEngine, model: ArchitectureModel, exponent: float, incumbent: float
) -> None:
    """Let hierarchical SHGO visit the relaxation by expected improvement; what it visits
    becomes candidates (rows of ``engine.candidates``)."""
    from flash_nas.search.shgo import hierarchical_shgo

    try:
        relaxation = engine.adapter.relaxation()
    except NotSupportedError:
        return
    evaluator = _AcquisitionEvaluator(engine, model, exponent, incumbent)
    hierarchical_shgo(relaxation, evaluator, repair_starts=3)


# ----------------------------------------------------------------------------------- flash
def _fitted_flash(engine: SearchEngine) -> tuple[Any, Evaluator, Scored | None]:
    """FLASH's predictor on the labels, and the evaluator of one hierarchical SHGO run."""
    if engine._model_version != _labels_version(engine):
        from flash_nas.search.pipeline import Labels, fit_predictor, run_search

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
            pool = [engine.candidates.archs[r] for r in engine._pool_rows]
            scored = evaluator.evaluate(pool)
            feasible = [s for s in scored if s.feasible]
            best = max(feasible, key=lambda s: s.log_objective) if feasible else None
        engine._model = (predictor, evaluator, best)
        engine._flash_result = result
        engine._model_version = _labels_version(engine)
    return engine._model


def _flash(engine: SearchEngine, count: int) -> list[Choice]:
    predictor, evaluator, best = _fitted_flash(engine)
    evaluator.prefetch([engine.candidates.archs[r] for r in engine._pool_rows])
    ranked = sorted(evaluator.cache.values(), key=lambda s: s.loss)
    if best is not None:
        ranked.insert(0, best)
    rows = engine.candidates.add([s.arch for s in ranked])
    keep = engine._eligible(rows)
    keep &= np.array([engine.domain.contains(s.arch) for s in ranked], dtype=bool)
    chosen: list[Choice] = []
    for row, scored, ok in zip(rows, ranked, keep):
        if ok and all(row != c[0] for c in chosen):
            chosen.append((int(row), "model", scored.values["accuracy"], predictor.loo_rmse_))
        if len(chosen) == count:
            break
    return chosen


# -------------------------------------------------------------------------- recommendation
def recommend(engine: SearchEngine) -> Recommendation:
    rows, utility = engine.labelled()
    if not len(rows):
        raise LabelError(
            "Nothing to recommend yet: no result has been told. Train what ask() proposes and "
            "tell() the results first."
        )
    c = engine.candidates
    exponent = engine.objective.exponents["acc"]
    measured = log_value(utility, exponent, c.column("log_cost")[rows])
    feasible = c.column("feasible")[rows]
    if engine.method == "flash":
        return _recommend_flash(engine, rows, utility, measured, feasible)
    if not feasible.any():
        raise NoFeasibleArchitectureError(
            "No measured architecture meets the limits; ask() for more (it proposes only "
            "feasible ones) or relax a limit."
        )
    k = int(np.flatnonzero(feasible)[np.argmax(measured[feasible])])
    note = ""
    from flash_nas.search.engine.engine import MIN_LABELS

    if len(rows) >= MIN_LABELS["bo"]:
        model = _fitted_bo(engine)
        candidates = _candidate_rows(engine)
        if candidates.size:
            mean, std = model.predict(engine.inputs(candidates))
            value, _ = log_objective(mean, std, exponent, c.column("log_cost")[candidates])
            top = int(np.argmax(value))
            if value[top] > measured[k]:
                text = engine.adapter.format(c.archs[candidates[top]])
                spread = std[top] * engine._scale_width()
                note = (
                    f"The model predicts the untried {text} at "
                    f"{engine._from_utility(mean[top]):.4g} ± {spread:.2g}, above the best "
                    f"measured one; that is a prediction: train it to confirm (ask() proposes "
                    f"it)."
                )
    return _recommendation(engine, int(rows[k]), float(utility[k]), None, True, note)


def _recommend_flash(
    engine: SearchEngine,
    rows: np.ndarray,
    utility: np.ndarray,
    measured: np.ndarray,
    feasible: np.ndarray,
) -> Recommendation:
    predictor, _, best = _fitted_flash(engine)
    if best is None:
        raise NoFeasibleArchitectureError(
            "FLASH's search found no architecture that meets the limits; relax a limit."
        )
    row = int(engine.candidates.add([best.arch])[0])
    told = {int(r): k for k, r in enumerate(rows)}
    if row in told:
        return _recommendation(engine, row, float(utility[told[row]]), None, True, "")
    note = "Predicted by FLASH's NN-Degree predictor, not measured."
    if feasible.any():
        k = int(np.flatnonzero(feasible)[np.argmax(measured[feasible])])
        text = engine.adapter.format(engine.candidates.archs[rows[k]])
        note += (
            f" The best measured architecture is {text} at {engine._from_utility(utility[k]):.4g}."
        )
    accuracy = float(best.values["accuracy"])
    return _recommendation(engine, row, accuracy, float(predictor.loo_rmse_), False, note)


def _recommendation(
    engine: SearchEngine, row: int, utility: float, std: float | None, measured: bool, note: str
) -> Recommendation:
    c = engine.candidates
    exponent = engine.objective.exponents["acc"]
    value = float(log_value(utility, exponent, float(c.column("log_cost")[row])))
    return Recommendation(
        c.archs[row],
        engine.adapter.format(c.archs[row]),
        float(engine._from_utility(utility)),
        None if std is None else std * engine._scale_width(),
        measured,
        math.exp(value),
        c.values(row),
        note,
    )


# ------------------------------------------------------------------------------ predict
def predict(engine: SearchEngine, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted utility and its spread for rows (chance, spread 0, for cut-off cells)."""
    from flash_nas.search.engine.engine import MIN_LABELS

    labelled, _ = engine.labelled()
    if len(labelled) < MIN_LABELS[engine.method]:
        raise LabelError(
            f"The model needs {MIN_LABELS[engine.method]} labels before it predicts; it has "
            f"{len(labelled)}."
        )
    if engine.method == "bo":
        mean, std = _fitted_bo(engine).predict(engine.inputs(rows))
    else:
        predictor, evaluator, _ = _fitted_flash(engine)
        scored = evaluator.evaluate([engine.candidates.archs[r] for r in rows])
        mean = np.array([s.values["accuracy"] for s in scored])
        std = np.full(len(rows), float(predictor.loo_rmse_))
    cut_off = engine.candidates.column("cut_off")[rows]
    if engine.chance is not None:
        mean = np.where(cut_off, engine.chance, mean)
        std = np.where(cut_off, 0.0, std)
    return mean, std


# ------------------------------------------------------------------------- front and top
def _known(engine: SearchEngine) -> dict[int, tuple[float, float | None, bool]]:
    """Row -> (utility, its std or None, measured?) for every feasible, computing row the
    engine knows: told labels (measured) over the model's predictions for the pool. Kept until
    the labels change: the front, the top and the plot all read it."""
    version = _labels_version(engine)
    if engine._known[0] != version:
        engine._known = (version, _compute_known(engine))
    return dict(engine._known[1])


def _compute_known(engine: SearchEngine) -> dict[int, tuple[float, float | None, bool]]:
    from flash_nas.search.engine.engine import MIN_LABELS

    c = engine.candidates
    rows, utility = engine.labelled()
    pool = engine._pool_rows
    pool = pool[c.column("feasible")[pool] & ~c.column("cut_off")[pool]]
    known: dict[int, tuple[float, float | None, bool]] = {}
    if len(rows) >= MIN_LABELS[engine.method] and pool.size:
        if engine.method == "bo":
            mean, std = _fitted_bo(engine).predict(engine.inputs(pool))
            known = {int(r): (float(m), float(s), False) for r, m, s in zip(pool, mean, std)}
        else:
            predictor, evaluator, _ = _fitted_flash(engine)
            for r in pool:
                accuracy = evaluator(c.archs[r]).values["accuracy"]
                known[int(r)] = (float(accuracy), float(predictor.loo_rmse_), False)
    for r, u in zip(rows.tolist(), utility.tolist()):
        if c.column("feasible")[r]:
            known[r] = (u, None, True)
    return known


def _point(
    engine: SearchEngine, row: int, utility: float, std: float | None, measured: bool
) -> FrontPoint:
    c = engine.candidates
    exponent = engine.objective.exponents["acc"]
    log_cost = float(c.column("log_cost")[row])
    return FrontPoint(
        c.archs[row],
        engine.adapter.format(c.archs[row]),
        float(engine._from_utility(utility)),
        measured,
        math.exp(-log_cost),
        c.values(row),
        math.exp(float(log_value(utility, exponent, log_cost))),
        None if std is None else std * engine._scale_width(),
    )


def front(engine: SearchEngine) -> list[FrontPoint]:
    known = _known(engine)
    log_cost = engine.candidates.column("log_cost")
    ordered = sorted(known, key=lambda r: (-log_cost[r], -known[r][0]))
    points: list[FrontPoint] = []
    best = -math.inf
    for row in ordered:
        utility, std, measured = known[row]
        if utility > best:
            best = utility
            points.append(_point(engine, row, utility, std, measured))
    return points


def top(engine: SearchEngine, count: int) -> list[FrontPoint]:
    chosen = recommend(engine)
    row = int(engine.candidates.add([chosen.arch])[0])
    first = _point(
        engine,
        row,
        float(engine._utility(chosen.accuracy)),
        None if chosen.std is None else chosen.std / engine._scale_width(),
        chosen.measured,
    )
    known = _known(engine)
    known.pop(row, None)
    exponent = engine.objective.exponents["acc"]
    log_cost = engine.candidates.column("log_cost")
    ranked = sorted(
        known, key=lambda r: -float(log_value(known[r][0], exponent, log_cost[r]))
    )
    return [first] + [_point(engine, r, *known[r]) for r in ranked[: count - 1]]
