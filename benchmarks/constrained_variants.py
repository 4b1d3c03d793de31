"""The constrained engine's setting variants that ``python -m benchmarks.constrained_tuning``
runs on the tuning seeds.

Each variant changes one setting, for the run only (restored afterwards):

* ``default``: the engine as shipped;
* ``floor_half``: proposals need a one-in-two chance of meeting the limit
  (:data:`flash_nas.search.engine.engine.PROPOSE_FLOOR`, 0.1 shipped, 0.5 before);
* ``design_5``: an initial design of 5 networks instead of 10 (``initial_samples``);
* ``no_residual_process``: the cost beliefs never keep the Gaussian process of the refit's
  residuals (:meth:`~flash_nas.search.engine.cost_beliefs.CostBeliefs.predict` then uses the
  refitted form and its pooled spread alone);
* ``rms_spread``: the spread of the refit's leave-one-out residuals taken as their root mean
  square instead of their median absolute value scaled to a normal's
  (:func:`~flash_nas.search.engine.cost_refit.pooled_spread`): the few cells a device times at
  a fraction or a multiple of their neighbours then widen every prediction's spread;
* ``late_floor``: from the 21st training on, proposals need a one-in-two chance (the floor
  above), so that the last trainings go to networks likelier to be deployable;
* ``design_floor``: while the initial design is drawn, proposals need a one-in-two chance
  (the floor above): the design's networks, spread over NN-Degree, then mostly meet the limit;
* ``p_squared``: the default method weighs expected improvement by the probability of meeting
  the limit squared instead of the probability
  (:func:`~flash_nas.search.engine.acquisition.choose`), a softer penalty on doubtful networks
  than a floor;
* ``no_kind_costs``: the cost refit tries no cost per kind of choice (NAS-Bench-201's op,
  wherever it is; :meth:`~flash_nas.plugins.adapter.Adapter.encoding_kinds` answering None),
  only one per choice, as before kinds were added;
* ``no_cost_doubt``: predictions that extrapolate the cost model's form beyond the measured
  rows gain no spread (:mod:`flash_nas.search.engine.cost_doubt`), as before that was added;
* ``share_doubt``: that doubt judged by each cost's *share* of a prediction against the range
  of shares the measured rows span, as before it was judged by the events' counts: the
  macro skeleton's convolutions, in every row, then made a cell's 3x3 convolutions look
  measured when no row had run one;
* ``whole_table_prior``: not a setting but a bound. The engine's prior is the Pi 3B model
  calibrated on *every* cell the device measured (what no user has: the best this cost
  model's form can be fitted to the device), still told each trained network's latency. Its
  gap to the ceiling is what a better-calibrated cost model could not close: the part of the
  gap that only measuring the cells near the limit resolves;
* ``learned_table_prior``: a bound too, past any cost model a user could have. The engine's
  prior is a table of every cell's latency as gradient-boosted trees learned it from four
  fifths of the device's cells (never from the cell's own timing:
  :func:`benchmarks.constrained_separability.learned_table_model`), with the trees' own
  spread; still told each trained network's latency. Where it too stays behind the ceiling,
  the gap is the timings' scatter near the limit, which only measuring a cell resolves;
* ``p_root``: expected improvement weighed by the probability's square root, a bolder
  search among the networks the cost model doubts (the opposite of ``p_squared``);
* ``floor_low``: proposals need only a 3 % chance of meeting the limit (0.1 shipped);
* ``ceiling``: the engine with HW-NAS-Bench's table for the device, told labels only.

A variant is a set of patches (:data:`VARIANTS`), applied for a run only by :func:`variant`;
the two table priors are applied by :func:`benchmarks.constrained_tuning.run_variant`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest import mock

import numpy as np

from flash_nas.search.engine import acquisition, cost_beliefs, cost_refit, engine
from flash_nas.search.engine.bo import BayesianOptimisation
from flash_nas_adapters.nasbench201.space import NasBench201Adapter

__all__ = [
    "LATE_FLOOR",
    "LATE_TRAINING",
    "SHIPPED_CHOOSE",
    "SHIPPED_FLOOR",
    "VARIANTS",
    "ShareDoubt",
    "design_floor",
    "late_floor",
    "variant",
]


def _no_residual_process(self: cost_beliefs.CostBeliefs, *args: object) -> None:
    """Keep no process of the residuals (the variant's stand-in for ``_learn_residuals``)."""


def _rms_spread(prior: float, residuals: np.ndarray) -> float:
    """:func:`~flash_nas.search.engine.cost_refit.pooled_spread` with a mean of squares at
    every number of rows (the variant's stand-in for it)."""
    rows = cost_refit.PRIOR_ROWS
    total = float(np.sum(np.asarray(residuals, dtype=float) ** 2))
    return math.sqrt((rows * prior**2 + total) / (rows + len(residuals)))


#: The training from which ``late_floor`` raises the proposal floor, and to what.
LATE_TRAINING, LATE_FLOOR = 20, 0.5


def late_floor(self: engine.SearchEngine) -> float:
    """:meth:`SearchEngine.propose_floor` with :data:`LATE_FLOOR` for
    :data:`~flash_nas.search.engine.engine.PROPOSE_FLOOR` from the training
    :data:`LATE_TRAINING` on (the variant's stand-in for it)."""
    return _floor_of(self, LATE_FLOOR if len(self.trials) >= LATE_TRAINING else None)


def _floor_of(self: engine.SearchEngine, floor: float | None) -> float:
    """The shipped floor with ``floor`` for its :data:`PROPOSE_FLOOR` (None: unchanged), so
    that it is still lowered to the likeliest untried architecture's chance when none
    reaches it."""
    if floor is None:
        return SHIPPED_FLOOR(self)
    with mock.patch.object(engine, "PROPOSE_FLOOR", floor):
        return SHIPPED_FLOOR(self)


def design_floor(self: engine.SearchEngine) -> float:
    """:meth:`SearchEngine.propose_floor` with :data:`LATE_FLOOR` for its
    :data:`PROPOSE_FLOOR` while the initial design is drawn (the variant's stand-in)."""
    return _floor_of(self, LATE_FLOOR if len(self.trials) < self.initial_samples else None)


SHIPPED_FLOOR = engine.SearchEngine.propose_floor
SHIPPED_CHOOSE = acquisition.choose


def _choose_p_squared(*args: Any, **kwargs: Any) -> Any:
    """:func:`~flash_nas.search.engine.acquisition.choose` given the probability squared."""
    *rest, probability = args
    squared = None if probability is None else probability**2
    return SHIPPED_CHOOSE(*rest, squared, **kwargs)


def _choose_p_root(*args: Any, **kwargs: Any) -> Any:
    """:func:`~flash_nas.search.engine.acquisition.choose` given the probability's square
    root."""
    *rest, probability = args
    root = None if probability is None else np.sqrt(probability)
    return SHIPPED_CHOOSE(*rest, root, **kwargs)


@dataclass(frozen=True)
class ShareDoubt:
    """The cost doubt before it counted events (``share_doubt``'s stand-in for
    :class:`~flash_nas.search.engine.cost_doubt.CostDoubt`): the measured rows' share of each
    cost, at the prices a prediction is doubted with, spans a range; a prediction gains the
    prior doubt squared times the squared distance of its shares outside it."""

    measured: np.ndarray
    prior: float

    def variance(self, events: np.ndarray, costs: np.ndarray) -> np.ndarray:
        shares, told = _shares(events, costs), _shares(self.measured, costs)
        low, high = told.min(axis=0), told.max(axis=0)
        outside = np.maximum(shares - high, 0.0) + np.maximum(low - shares, 0.0)
        return self.prior**2 * np.sum(outside**2, axis=1)


def _shares(events: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Each cost's share of each row's value (0 for a row priced at nothing)."""
    parts = np.maximum(events, 0.0) * np.maximum(costs, 0.0)
    total = parts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(parts / total, nan=0.0, posinf=0.0, neginf=0.0)


def _share_doubt(events: np.ndarray, prior: float) -> ShareDoubt | None:
    """:func:`~flash_nas.search.engine.cost_doubt.learn_cost_doubt` as ``share_doubt`` has it."""
    if prior <= 0 or not len(events):
        return None
    return ShareDoubt(np.asarray(events, dtype=float), float(prior))


#: Each variant's patches: (object, attribute, value) set for the run and restored after.
VARIANTS: Mapping[str, tuple[tuple[object, str, object], ...]] = {
    "default": (),
    "floor_half": ((engine, "PROPOSE_FLOOR", 0.5),),
    "design_5": ((BayesianOptimisation, "default_initial_samples", 5),),
    "no_residual_process": ((cost_beliefs.CostBeliefs, "_learn_residuals", _no_residual_process),),
    "rms_spread": ((cost_beliefs, "pooled_spread", _rms_spread),),
    "late_floor": ((engine.SearchEngine, "propose_floor", late_floor),),
    "design_floor": ((engine.SearchEngine, "propose_floor", design_floor),),
    "p_squared": ((acquisition, "choose", _choose_p_squared),),
    "p_root": ((acquisition, "choose", _choose_p_root),),
    "floor_low": ((engine, "PROPOSE_FLOOR", 0.03),),
    "no_kind_costs": ((NasBench201Adapter, "encoding_kinds", lambda self: None),),
    "no_cost_doubt": ((cost_beliefs, "learn_cost_doubt", lambda *args: None),),
    "share_doubt": ((cost_beliefs, "learn_cost_doubt", _share_doubt),),
    "outliers_from_3": ((cost_refit, "OUTLIER_ROWS", 3),),  # the refit before OUTLIER_ROWS
    # the prior is per device: run_variant patches it (whole_table_model)
    "whole_table_prior": (),
    "learned_table_prior": (),  # as whole_table_prior (learned_table_model)
    "ceiling": (),
}


@contextlib.contextmanager
def variant(name: str) -> Iterator[None]:
    """Apply the variant ``name``'s settings inside the block (an unknown name is an error)."""
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; expected one of {', '.join(VARIANTS)}")
    with contextlib.ExitStack() as stack:
        for target, attribute, value in VARIANTS[name]:
            stack.enter_context(mock.patch.object(target, attribute, value))
        yield
