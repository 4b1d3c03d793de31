"""Doubt for predictions that extrapolate the cost model's form beyond the measured rows."""

from __future__ import annotations

import numpy as np
import pytest

from flash_nas.search.engine import SearchEngine, cost_beliefs
from flash_nas.search.engine.cost_doubt import cost_shares, learn_cost_doubt

LATENCY = "latency_ms"


def test_shares_split_each_value_among_the_costs() -> None:
    events = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    costs = np.array([1.0, 2.0, 4.0])
    shares = cost_shares(events, costs)
    assert np.allclose(shares[0], [0.5, 0.5, 0.0])
    assert np.allclose(shares[1], 0.0)  # priced at nothing: no share to doubt
    assert np.allclose(shares[2], np.array([1.0, 2.0, 4.0]) / 7.0)


def test_only_shares_outside_the_measured_range_gain_doubt() -> None:
    costs = np.ones(2)
    measured = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 1.0]])  # first cost's share 0.5-0.75
    doubt = learn_cost_doubt(measured, costs, prior=1.2)
    assert doubt is not None
    inside = doubt.variance(np.array([[1.5, 1.0], [3.0, 1.0]]), costs)
    assert np.allclose(inside, 0.0)
    # share 0.9 of the first cost: 0.15 above its range, 0.15 below the second's
    beyond = doubt.variance(np.array([[9.0, 1.0]]), costs)
    assert beyond == pytest.approx(1.2**2 * 2 * 0.15**2)
    further = doubt.variance(np.array([[99.0, 1.0]]), costs)
    assert further > beyond
    assert learn_cost_doubt(measured, costs, prior=0.0) is None


def _spreads(monkeypatch: pytest.MonkeyPatch | None) -> tuple[np.ndarray, np.ndarray]:
    """Spreads of unmeasured cells after measuring cells that run no 3x3 convolution: cells
    with none (like the measured ones) and cells with three or more."""
    if monkeypatch is not None:
        monkeypatch.setattr(cost_beliefs, "learn_cost_doubt", lambda *args: None)
    engine = SearchEngine("nasbench201", hardware="pi3b", objective="acc", seed=5)
    c = engine.candidates
    rows = engine.pool_rows[~c.column("cut_off")[engine.pool_rows]]
    texts = [engine.adapter.format(c.archs[r]) for r in rows]
    threes = np.array([text.count("nor_conv_3x3") for text in texts])
    plain, heavy = rows[threes == 0], rows[threes >= 3]
    measured = plain[:12]
    # the device is the model itself: the refit is exact, residuals tell no doubt
    values = c.column(f"prior:{LATENCY}")[measured]
    engine.measure([c.archs[r] for r in measured], {LATENCY: list(values)})
    spread = engine.candidates.column(f"spread:{LATENCY}")
    return spread[plain[12:200]], spread[heavy[:200]]


def test_the_engine_doubts_cells_made_of_what_no_measured_cell_ran(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain, heavy = _spreads(None)
    plain_without, heavy_without = _spreads(monkeypatch)
    # cells like the measured ones keep the refit's spread ...
    assert np.median(plain) < 1.2 * np.median(plain_without)
    # ... cells resting on the 3x3 convolutions' price, which no measured cell exercised as
    # much, are doubted (the price came from the macro skeleton's convolutions alone)
    assert np.median(heavy) > 2 * np.median(heavy_without)
    assert np.median(heavy) > 2 * np.median(plain)
