"""How far a prediction reaches beyond what the measured rows told: doubt for extrapolation.

Leave-one-out residuals say how wrong a prediction is for networks *like the measured ones*.
They say nothing of a network whose value rests on a cost the measured rows barely exercised:
when every network trained so far runs 1x1 convolutions and none a 3x3 one, the refit prices a
3x3 convolution in a cell from the few in the macro skeleton (NAS-Bench-201's stem and
reduction blocks, about a fifth of every measured row's predicted latency) and the model's form
carries that price to a cell where they are three fifths, however wrong the form is for the
device (HW-NAS-Bench's Jetson TX2 runs a cell's 3x3 convolution at about a 1x1's latency, not
at the Pi's price per multiply-accumulate). Taken as exact (a 0.05 log-space spread, were the
form right), such a prediction keeps every cell with a 3x3 convolution out of reach, so none is
trained and measured, and the price is never corrected: on the seeds where the engine missed
the ceiling's pick by 2-3 points, it had trained no network running one
(``python -m benchmarks.constrained_diagnosis --device edgegpu --limit 0.10``).

So each of the model's costs (a :class:`~flash_nas.cost.linear.LinearCostModel` coefficient:
per MAC of a kind of layer, per byte, per layer) has a share of each prediction, and the
measured rows span a range of each share. A prediction whose share of some cost lies outside
that range extrapolates the form; its log-space variance gains the doubt of a price before
any measurement told it, squared, times the squared distance of its shares outside the measured
ranges. That doubt (:class:`~flash_nas.search.engine.cost_beliefs.CostBeliefs` passes it) is
the model's own spread (:meth:`~flash_nas.plugins.hardware.HardwareModel.prior_log_spread`)
together with, for a model of another device, the doubt of its scale
(:meth:`~flash_nas.plugins.hardware.HardwareModel.prior_scale_spread`). A network like the
measured ones gains nothing; one made of what none of them ran gains up to that doubt. Once a
measured row exercises a cost as much, the doubt is gone.

The shares come from the model's events (what the network runs), so an operation a cell holds
but never executes (NAS-Bench-201: an edge whose result reaches the output only through
``none`` edges) neither counts as measured nor adds doubt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CostDoubt", "cost_shares", "learn_cost_doubt"]


def cost_shares(events: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Each cost's share of each row's value (rows by costs; rows sum to 1, or 0 for a row
    the costs price at nothing)."""
    parts = np.maximum(events, 0.0) * np.maximum(costs, 0.0)
    total = parts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = parts / total
    return np.nan_to_num(shares, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class CostDoubt:
    """The range of each cost's share over the measured rows, and the spread an extrapolation
    gains per unit of share outside it."""

    low: np.ndarray
    high: np.ndarray
    prior: float

    def variance(self, events: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """The log-space variance each row's prediction gains from extrapolating the form."""
        shares = cost_shares(events, costs)
        outside = np.maximum(shares - self.high, 0.0) + np.maximum(self.low - shares, 0.0)
        return self.prior**2 * np.sum(outside**2, axis=1)


def learn_cost_doubt(events: np.ndarray, costs: np.ndarray, prior: float) -> CostDoubt | None:
    """The doubt left after the measured rows' ``events`` under the refitted ``costs``;
    ``prior``: the log-space doubt of a price no row has told. None when there is none (or
    no row)."""
    if prior <= 0 or not len(events):
        return None
    shares = cost_shares(events, costs)
    return CostDoubt(shares.min(axis=0), shares.max(axis=0), float(prior))
