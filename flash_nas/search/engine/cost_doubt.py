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
per MAC of a kind of layer, per byte, per layer) is told by the measured rows only over the
range of its events (how many MACs, bytes, layers) they span. The part of a prediction that
counts events beyond that range, priced at the refitted cost, rests on a price no row pinned
down; as a share of the prediction it is the prediction's extrapolation in that cost, and its
log-space variance gains the doubt of a price before any measurement told it, squared, times
the squared shares summed over the costs. That doubt (:class:`~flash_nas.search.engine.
cost_beliefs.CostBeliefs` passes it) is the model's own spread (:meth:`~flash_nas.plugins.
hardware.HardwareModel.prior_log_spread`) together with, for a model of another device, the
doubt of its scale (:meth:`~flash_nas.plugins.hardware.HardwareModel.prior_scale_spread`). A
network within the measured ranges gains nothing; one made of what none of them ran gains up
to that doubt. Once a measured row runs as much of a cost, the doubt is gone.

The range is of event counts, not of each cost's share of the value: the macro skeleton's
convolutions are in every row, so the convolutions' share of the measured rows varies with
everything else they run (from 0.11 to 0.41 over the 25 rows of the benchmark's Jetson TX2 run
at the 10 % limit, seed 6, as the share rule had it) although no row ran a convolution other
than a 1x1 in a cell; a cell whose 3x3 convolution made three fifths of its value then looked
a mere 0.2 outside, and kept a chance of 3 % of meeting a limit it met with room (2.56 ms
measured, 5.35 predicted, limit 3.03). Counted, the same cell runs 5.7 times the convolution
MACs of every measured row (42.9 million against the skeleton's 7.5 million), and half its
predicted value is priced beyond them.

The events are what the network runs, so an operation a cell holds but never executes
(NAS-Bench-201: an edge whose result reaches the output only through ``none`` edges) neither
counts as measured nor adds doubt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CostDoubt", "learn_cost_doubt", "unmeasured_shares"]


def unmeasured_shares(
    events: np.ndarray, costs: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """Each cost's events beyond the range ``low``-``high`` (below or above), priced at
    ``costs``, as a share of each row's value (rows by costs; 0 for a row the costs price at
    nothing)."""
    events = np.maximum(events, 0.0)
    beyond = np.maximum(events - high, 0.0) + np.maximum(low - events, 0.0)
    priced = np.maximum(costs, 0.0)
    total = (events @ priced)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = beyond * priced / total
    return np.nan_to_num(shares, nan=0.0, posinf=0.0, neginf=0.0)


@dataclass(frozen=True)
class CostDoubt:
    """The range of each cost's events over the measured rows, and the log-space spread a
    prediction gains per unit of its value priced beyond it."""

    low: np.ndarray
    high: np.ndarray
    prior: float

    def variance(self, events: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """The log-space variance each row's prediction gains from extrapolating the form."""
        shares = unmeasured_shares(events, costs, self.low, self.high)
        return self.prior**2 * np.sum(shares**2, axis=1)


def learn_cost_doubt(events: np.ndarray, prior: float) -> CostDoubt | None:
    """The doubt left after the measured rows' ``events`` (the prices are read when a
    prediction is doubted); ``prior``: the log-space doubt of a price no row has told. None
    when there is none (or no row)."""
    if prior <= 0 or not len(events):
        return None
    counted = np.maximum(events, 0.0)
    return CostDoubt(counted.min(axis=0), counted.max(axis=0), float(prior))
