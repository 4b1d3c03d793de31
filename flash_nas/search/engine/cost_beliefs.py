"""What the engine believes about hardware costs: predictions that learn from measurements,
with a spread, and limits judged with a confidence.

A hardware model predicts each architecture's costs; a device measures them. Once told a
measurement (:meth:`SearchEngine.tell <flash_nas.search.engine.SearchEngine.tell>` with
``costs=``, or :meth:`~flash_nas.search.engine.SearchEngine.measure`), the engine:

* **uses the measurement** for that architecture everywhere, as exact;
* **refits the model** on every measured row. An analytical model
  (:class:`~flash_nas.cost.linear.LinearCostModel`) gets its costs per event refitted by the
  non-negative fit calibration uses, pulled towards the model's own costs (its defaults or
  profile) rescaled to the measurements (:func:`~flash_nas.cost.robust_fit.robust_fit_toward`):
  one row sets the scale, further rows the shape; rows the outlier rule sets aside are named.
  Beside those costs, each column of the space's encoding (a choice) may get a non-negative
  cost of its own, or each kind of column (the adapter's ``encoding_kinds``: an op, wherever it
  is) one shared by its columns (:data:`.cost_refit.CHOICE_STRENGTHS`; leave-one-out error
  decides which, how strongly it is pulled towards zero, or that the form alone is better).
  Any other model (a table, a simulator) gets one log-space correction per quantity, the
  median log ratio of measured to predicted;
* **learns a spread**: the spread of ``log(measured / predicted)`` over the measured rows (from
  :data:`.cost_refit.ROBUST_ROWS` rows, their median absolute value scaled to a normal's standard
  deviation: a few gross errors do not widen it), each predicted by the fit on the *other*
  rows (leave-one-out: what an unmeasured
  architecture's error will be), pooled with the model's own prior spread
  (:meth:`~flash_nas.plugins.hardware.HardwareModel.prior_log_spread`) counted as
  :data:`.cost_refit.PRIOR_ROWS` rows. Leave-one-out residuals rather than in-sample ones
  because a fit with as many costs as rows has in-sample residuals near zero and would call
  itself exact;
* **learns what the model's form misses**, from :data:`GP_ROWS` measured rows on: a Gaussian
  process over the architecture's metrics and encoding (the accuracy model's inputs and
  kernel, :class:`~flash_nas.search.engine.acquisition.ArchitectureModel`) fitted to those
  leave-one-out log residuals, kept when it predicts held-out rows better than no correction.
  Its mean corrects each prediction (a device that runs one operation slower than the form
  says); its predictive standard deviation, plus its own leave-one-out error, is that
  architecture's own spread: smaller near measured architectures, larger far from them;
* **doubts extrapolations**: the part of a prediction that counts a cost's events (MACs,
  bytes, layers) beyond the range the measured rows ran gains spread (:mod:`.cost_doubt`):
  the rows say nothing of a price none of them exercised as much;
* **learns which networks run**: once one was told not to (a cost of ``math.inf``), the chance
  that an unmeasured architecture runs at all (:meth:`CostBeliefs.chance_runs`), a factor of
  its probability of meeting the limits.

An unmeasured architecture meets a limit ``L`` on a quantity with probability
``Phi((log L - log predicted) / spread)`` (log-normal errors; a quantity with no spread is exact),
and the limits together with the product of those (errors taken as independent across
quantities). It is **feasible** when that probability is at least the engine's ``confidence``;
proposals weigh expected improvement by it instead, so a network that may fit is still trained
(and so measured) when it is promising enough.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

# ndtr is the standard normal CDF that scipy.stats.norm.cdf evaluates, without importing
# scipy.stats (half a second, on every `flash-nas plugins` and engine start).
from scipy.special import ndtr

from flash_nas.cost.linear import LinearCostModel
from flash_nas.cost.robust_fit import outlying
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.search.engine.acquisition import ArchitectureModel
from flash_nas.search.engine.cost_doubt import CostDoubt, learn_cost_doubt
from flash_nas.search.engine.cost_refit import pooled_spread, refit_linear
from flash_nas.search.objective import Objective

if TYPE_CHECKING:
    from flash_nas.cost.profile import Profile

__all__ = ["GP_ROWS", "CostBeliefs"]

#: Measured rows from which a Gaussian process learns the residuals (fewer cannot fit one).
GP_ROWS = 5


def _chance_within(values: np.ndarray, bound: float, spread: np.ndarray) -> np.ndarray:
    """P(cost <= bound) for log-normal costs around ``values`` with log-space ``spread``; 0
    where a value is missing (NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (math.log(bound) - np.log(np.maximum(values, 1e-300))) / np.maximum(spread, 1e-9)
    return np.where(np.isnan(values), 0.0, ndtr(z))


class CostBeliefs:
    """Measured costs, the refitted model and its spread, for one engine."""

    def __init__(
        self,
        hardware: HardwareModel | None,
        objective: Objective,
        confidence: float,
        describe: Callable[[Hashable], str] = str,
    ) -> None:
        self.hardware = hardware
        self.describe = describe
        self.objective = objective
        self.confidence = confidence
        self.quantities: tuple[str, ...] = tuple(hardware.quantities) if hardware else ()
        self.linear = isinstance(hardware, LinearCostModel)
        self.costs = (
            np.asarray(hardware.costs, dtype=float).copy()
            if isinstance(hardware, LinearCostModel)
            else np.zeros(0)
        )
        self.bias = {q: 0.0 for q in self.quantities}
        self.prior_spread = (
            {q: float(hardware.prior_log_spread(q)) for q in self.quantities} if hardware else {}
        )
        self.spread = dict(self.prior_spread)
        #: quantity -> how far the model's scale may be off before a measurement sets it.
        self.scale_spread = (
            {q: float(hardware.prior_scale_spread(q)) for q in self.quantities} if hardware else {}
        )
        #: quantity -> each encoding column's own cost, fitted beside the model's costs
        #: (empty when the model's form alone predicts held-out rows better).
        self.choice_costs: dict[str, np.ndarray] = {}
        #: Whether an architecture runs on the device at all, once one did not.
        self.runs: ArchitectureModel | float | None = None
        #: quantity -> the Gaussian process of its log residuals (from GP_ROWS rows on).
        self.residuals: dict[str, ArchitectureModel] = {}
        self.residual_noise: dict[str, float] = {}
        self.encoding_groups: list[int] | None = None
        #: What kind each encoding column is (the adapter's ``encoding_kinds``): one cost per
        #: kind is tried beside one per column.
        self.encoding_kinds: list[str] | None = None
        #: quantity -> how uncertain its refitted costs still are (:mod:`.cost_doubt`).
        self.doubt: dict[str, CostDoubt] = {}
        self.n_metrics = 0
        self.seed = 0
        #: arch -> quantity -> measured value, in the order measurements were told.
        self.measured: dict[Hashable, dict[str, float]] = {}
        #: quantity -> (archs, leave-one-out predictions, measured) of the rows the fit kept.
        self.judged: dict[str, tuple[list[Hashable], np.ndarray, np.ndarray]] = {}
        #: quantity -> (arch, measured, predicted) of rows the outlier rule set aside.
        self.set_aside: dict[str, list[tuple[Hashable, float, float]]] = {}
        #: Changes whenever a measurement changes what the engine believes.
        self.version = 0

    # ------------------------------------------------------------------ measurements
    def record(self, arch: Hashable, costs: Mapping[str, float]) -> None:
        """Keep ``arch``'s measured costs (a later measurement of a quantity replaces it)."""
        if costs:
            self.measured.setdefault(arch, {}).update(costs)
            self.version += 1

    def measured_mask(self, archs: list[Hashable], quantity: str) -> np.ndarray:
        return np.array([quantity in self.measured.get(a, {}) for a in archs], dtype=bool)

    # ------------------------------------------------------------------ the fit
    def refit(
        self,
        prior_of: Mapping[str, np.ndarray],
        events_of: np.ndarray | None,
        row_of: Mapping[Hashable, int],
        inputs_of: np.ndarray,
    ) -> None:
        """Refit on every measured row: ``prior_of[q]``, ``events_of`` and ``inputs_of`` are
        the candidate table's columns (the model's own predictions, its events, the accuracy
        model's inputs), ``row_of`` its rows."""
        assert self.hardware is not None
        self.set_aside, self.judged, self.residuals, self.residual_noise = {}, {}, {}, {}
        self.choice_costs, self.doubt = {}, {}
        self._learn_failures(row_of, inputs_of)
        for quantity in self.quantities:
            # a cost of inf (the architecture does not run on the device) has no error to fit
            archs = [
                a
                for a, costs in self.measured.items()
                if math.isfinite(costs.get(quantity, math.nan))
            ]
            if not archs:
                continue
            rows = np.array([row_of[a] for a in archs], dtype=np.int64)
            y = np.array([self.measured[a][quantity] for a in archs])
            mask = self._mask(quantity)
            if self.linear and mask.any() and events_of is not None:
                residuals, kept, fitted = self._refit_linear(
                    quantity, events_of[rows][:, mask], inputs_of[rows][:, self.n_metrics :], y
                )
            else:
                residuals, kept, fitted = self._refit_bias(prior_of[quantity][rows], y, quantity)
            self.set_aside[quantity] = [
                (archs[k], float(y[k]), float(fitted[k])) for k in np.flatnonzero(~kept)
            ]
            loo = y[kept] * np.exp(residuals)
            self.judged[quantity] = ([a for a, k in zip(archs, kept) if k], loo, y[kept])
            prior = self.prior_spread[quantity]
            self.spread[quantity] = pooled_spread(prior, residuals)
            if self.linear and mask.any() and events_of is not None:
                # how wrong a price may be for this device before measurements tell it: the
                # model's own error and, for a model of another device, its scale's doubt
                wrong = math.hypot(prior, self.scale_spread.get(quantity, 0.0))
                doubt = learn_cost_doubt(events_of[rows[kept]][:, mask], wrong)
                if doubt is not None:
                    self.doubt[quantity] = doubt
            if len(residuals) >= GP_ROWS:
                self._learn_residuals(quantity, inputs_of[rows[kept]], -residuals)
        self._carry_derived()

    def _learn_failures(self, row_of: Mapping[Hashable, int], inputs_of: np.ndarray) -> None:
        """Once an architecture was told not to run on the device (a cost of ``math.inf``),
        the chance that an unmeasured one runs: with both outcomes among :data:`GP_ROWS` or more
        measured architectures, a Gaussian process of "it ran" (1) or "it did not" (0) on the
        accuracy model's inputs (its mean, clipped to [0, 1]); before that, the share that ran
        counted with one of each outcome more (Laplace's rule: never 0 or 1 on a few rows).
        A device that fails on some kinds of cell (HW-NAS-Bench's Edge TPU on 30 % of
        NAS-Bench-201) is then asked less often for more of them."""
        self.runs = None
        told = list(self.measured)
        ran = np.array(
            [all(math.isfinite(v) for v in self.measured[a].values()) for a in told], dtype=float
        )
        if ran.all():
            return
        if len(told) < GP_ROWS or not ran.any():
            self.runs = (float(ran.sum()) + 1.0) / (len(ran) + 2.0)
            return
        rows = np.array([row_of[a] for a in told], dtype=np.int64)
        self.runs = self._process(inputs_of[rows], ran)

    def chance_runs(self, inputs: np.ndarray) -> np.ndarray:
        """The chance that each architecture runs on the device (1 until one did not)."""
        if self.runs is None:
            return np.ones(len(inputs))
        if isinstance(self.runs, float):
            return np.full(len(inputs), self.runs)
        mean, _ = self.runs.predict(inputs)
        return np.clip(mean, 0.0, 1.0)

    def _process(self, X: np.ndarray, y: np.ndarray) -> ArchitectureModel:
        """A Gaussian process on the accuracy model's inputs and kernel, fitted to ``y``."""
        return ArchitectureModel(
            self.n_metrics,
            X.shape[1] - self.n_metrics,
            encoding_groups=self.encoding_groups,
            seed=self.seed,
        ).fit(X, y)

    def _learn_residuals(self, quantity: str, X: np.ndarray, target: np.ndarray) -> None:
        """A Gaussian process of the log residuals, kept only if it predicts held-out rows
        better than no correction; its own leave-one-out error (pooled with the prior spread)
        is the noise every prediction keeps, so that a process that explains its few rows
        too well does not make the search overconfident."""
        model = self._process(X, target)
        held_out = target - model.gp.loo_predictions()
        if float(np.mean(held_out**2)) >= float(np.mean(target**2)):
            return
        prior = self.prior_spread[quantity]
        self.residual_noise[quantity] = pooled_spread(prior, held_out)
        self.residuals[quantity] = model

    def _mask(self, quantity: str) -> np.ndarray:
        if not self.linear:
            return np.zeros(0, dtype=bool)
        model = self.hardware
        assert isinstance(model, LinearCostModel)
        return np.array([c.quantity == quantity for c in model.coefficients], dtype=bool)

    def _refit_linear(
        self, quantity: str, events: np.ndarray, encoding: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Refit the model's costs and each choice's own cost (:func:`.cost_refit.refit_linear`);
        return the kept rows' leave-one-out log residuals, which rows were kept, and every
        row's fitted value."""
        assert isinstance(self.hardware, LinearCostModel)
        mask = self._mask(quantity)
        prior = np.asarray(self.hardware.costs, dtype=float)[mask]
        fit = refit_linear(events, encoding, y, prior, self.encoding_kinds)
        self.costs[mask] = fit.costs
        self.choice_costs[quantity] = fit.choice_costs
        return fit.residuals, fit.kept, fit.fitted

    def _refit_bias(
        self, prior: np.ndarray, y: np.ndarray, quantity: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        ratios = np.log(y) - np.log(np.maximum(prior, 1e-300))
        kept = np.ones(len(y), dtype=bool)
        # calibration's outlier rule around the median ratio, the one number fitted here; a
        # table prices every cell on its own, so a row of another kind cannot look wrong to
        # the fit (the reason the linear refit waits for OUTLIER_ROWS), and 3 rows judge
        if len(y) >= 3:
            kept = ~outlying(ratios)
        self.bias[quantity] = float(np.median(ratios[kept]))
        kept_rows = np.flatnonzero(kept)
        residuals = np.array(
            [
                -(
                    ratios[row]
                    - (
                        float(np.median(ratios[kept_rows[kept_rows != row]]))
                        if len(kept_rows) > 1
                        else 0.0
                    )
                )
                for row in kept_rows
            ]
        )
        return residuals, kept, prior * math.exp(self.bias[quantity])

    def _carry_derived(self) -> None:
        """A quantity the model derives from a refitted one (energy = power x latency) follows
        it, as calibration carries it, unless it was measured itself."""
        model = self.hardware
        if not isinstance(model, LinearCostModel):
            return
        names = model.coefficient_names()
        for quantity, (source, _) in model.derived_quantities.items():
            if source in self.judged and quantity not in self.judged:
                derived = model.derive_costs(quantity, dict(zip(names, map(float, self.costs))))
                for name, value in derived.items():
                    self.costs[names.index(name)] = value
                self.spread[quantity] = self.spread[source]
                if source in self.doubt:
                    self.doubt[quantity] = self.doubt[source]
                if source in self.residuals:
                    self.residuals[quantity] = self.residuals[source]
                    self.residual_noise[quantity] = self.residual_noise[source]

    # ------------------------------------------------------------------ predictions
    def predict(
        self, prior: Mapping[str, np.ndarray], events: np.ndarray | None, inputs: np.ndarray
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The refitted predictions of each quantity and their log-space spreads, from the
        model's own (``prior``), its events and the accuracy model's inputs."""
        values, spreads = {}, {}
        for quantity in self.quantities:
            mask = self._mask(quantity)
            if self.linear and mask.any() and events is not None:
                value = events[:, mask] @ self.costs[mask]
                value = value * self._choice_factor(quantity, events, inputs)
            else:
                value = np.asarray(prior[quantity], dtype=float) * math.exp(self.bias[quantity])
            spread = np.full(len(value), self.spread[quantity])
            doubt = self.doubt.get(quantity)
            doubted = (
                0.0
                if doubt is None or events is None
                else doubt.variance(events[:, mask], self.costs[mask])
            )
            model = self.residuals.get(quantity)
            if model is not None:
                correction, latent = model.predict(inputs)
                value = value * np.exp(correction)
                spread = np.sqrt(latent**2 + self.residual_noise[quantity] ** 2)
            values[quantity], spreads[quantity] = value, np.sqrt(spread**2 + doubted)
        return values, spreads

    def _choice_factor(self, quantity: str, events: np.ndarray, inputs: np.ndarray) -> Any:
        """How much each row's per-choice costs add, as a factor on the model's form: a
        quantity derived from a refitted one (energy = power x latency) takes its source's
        factor, as it takes its costs."""
        source = quantity
        if quantity not in self.choice_costs and isinstance(self.hardware, LinearCostModel):
            source = self.hardware.derived_quantities.get(quantity, (quantity, ""))[0]
        choice = self.choice_costs.get(source)
        if choice is None or not choice.size:
            return 1.0
        form = events[:, self._mask(source)] @ self.costs[self._mask(source)]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 1.0 + (inputs[:, self.n_metrics :] @ choice) / form
        return np.where(form > 0, factor, 1.0)

    def judge(
        self,
        columns: Mapping[str, np.ndarray],
        log_cost: np.ndarray,
        measured: Mapping[str, np.ndarray],
        spreads: Mapping[str, np.ndarray],
        runs: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feasibility (probability >= confidence), relative limit violation (of the point
        values) and the probability of meeting every limit, per row, times the chance that an
        unmeasured row runs on the device at all (``runs``, :meth:`chance_runs`); a missing
        value or cost term makes a row infeasible (:mod:`flash_nas.search.scoring`'s rule)."""
        ok = np.isfinite(log_cost)
        probability = np.ones(len(log_cost))
        violation = np.zeros(len(log_cost))
        for column, bound in self.objective.limits.items():
            values = np.asarray(columns[column], dtype=float)
            with np.errstate(invalid="ignore"):
                violation = violation + np.nan_to_num(
                    np.maximum(values / bound - 1.0, 0.0), nan=math.inf
                )
                meets = values <= bound
            if self.spread.get(column, 0.0) > 0:
                chance = _chance_within(values, bound, spreads[column])
                probability *= np.where(measured[column], meets, chance)
            else:
                ok &= meets
        if runs is not None and measured:
            known = np.logical_or.reduce([np.asarray(m, dtype=bool) for m in measured.values()])
            probability = probability * np.where(known, 1.0, runs)
        probability = np.where(ok, probability, 0.0)
        return probability >= self.confidence, violation, probability

    def reach(
        self, columns: Mapping[str, np.ndarray], spreads: Mapping[str, np.ndarray]
    ) -> np.ndarray | None:
        """Before the first measurement, the probability of meeting every limit with the
        model's scale doubted too (:meth:`~flash_nas.plugins.hardware.HardwareModel.
        prior_scale_spread`): whether measuring could find the architecture within the limits
        where the model's own scale says none is. None once every limited quantity has a
        measured value (one row sets its scale; a network that did not run sets none) or when
        no limited quantity's scale is in doubt: then the probability of :meth:`judge`
        answers."""
        doubted = {
            q: 0.0
            if any(math.isfinite(m.get(q, math.nan)) for m in self.measured.values())
            else self.scale_spread.get(q, 0.0)
            for q in self.objective.limits
        }
        if not any(doubted.values()):
            return None
        probability = np.ones(len(next(iter(columns.values()))))
        for column, bound in self.objective.limits.items():
            values = np.asarray(columns[column], dtype=float)
            spread = np.sqrt(np.asarray(spreads.get(column, 0.0)) ** 2 + doubted[column] ** 2)
            probability = probability * _chance_within(values, bound, spread)
        return probability

    @property
    def uncertain(self) -> list[str]:
        """Limited quantities whose unmeasured values are uncertain."""
        return [q for q in self.objective.limits if self.spread.get(q, 0.0) > 0]

    # ------------------------------------------------------------------ reporting
    def profile(self) -> Profile | None:
        """The refitted costs as a profile (:mod:`flash_nas.cost.profile`), with each fitted
        quantity's leave-one-out quality; None for a model that is not refittable or before
        any measurement."""
        from flash_nas.cost.calibration import fit_quality
        from flash_nas.cost.profile import Profile

        model = self.hardware
        fitted = [q for q in self.judged if self._mask(q).any()]
        if not isinstance(model, LinearCostModel) or not fitted:
            return None
        calibrated = {}
        for quantity in model.quantities:
            source, how = model.derived_quantities.get(quantity, ("", ""))
            if quantity in fitted:
                rows = len(self.judged[quantity][0])
                calibrated[quantity] = f"fitted during a search to {rows} measured rows"
            elif source in fitted:
                calibrated[quantity] = f"carried from the fitted {source} ({how})"
            else:
                calibrated[quantity] = "NOT calibrated: the model's own costs"
        fits = {
            q: fit_quality(self.judged[q][1], self.judged[q][2], how="leave-one-out")
            for q in fitted
            if len(self.judged[q][2]) >= 2
        }
        return Profile(
            model=type(model).__name__,
            costs=dict(zip(model.coefficient_names(), map(float, self.costs))),
            fit=fits,
            fit_rows=max(len(self.judged[q][0]) for q in fitted),
            source="measurements told to a flash-nas search",
            structure=model.structure_parameters(),
            notes=[
                f"{q}: set aside {self.describe(arch)}: measured {value:.4g}, predicted "
                f"{predicted:.4g}"
                for q, rows in self.set_aside.items()
                for arch, value, predicted in rows
            ],
            calibrated=calibrated,
        )
