"""Doubt for predictions that extrapolate the cost model's form beyond the measured rows."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.constrained_variants import ShareDoubt
from flash_nas.search.engine import SearchEngine, cost_beliefs
from flash_nas.search.engine.cost_doubt import learn_cost_doubt, unmeasured_shares

LATENCY = "latency_ms"


def test_only_events_beyond_the_measured_counts_gain_doubt() -> None:
    costs = np.array([1.0, 2.0])
    measured = np.array([[3.0, 1.0], [1.0, 1.0], [2.0, 1.0]])  # first event counted 1-3
    doubt = learn_cost_doubt(measured, prior=1.2)
    assert doubt is not None
    inside = doubt.variance(np.array([[1.5, 1.0], [3.0, 1.0]]), costs)
    assert np.allclose(inside, 0.0)
    # 9 of the first event: 6 beyond any measured row, priced at 6 of a value of 11
    beyond = doubt.variance(np.array([[9.0, 1.0]]), costs)
    assert beyond == pytest.approx(1.2**2 * (6.0 / 11.0) ** 2)
    # fewer than any measured row counted is as untold as more: 0.5 of a value of 2.5
    below = doubt.variance(np.array([[0.5, 1.0]]), costs)
    assert below == pytest.approx(1.2**2 * (0.5 / 2.5) ** 2)
    further = doubt.variance(np.array([[99.0, 1.0]]), costs)
    assert beyond < further < 1.2**2  # never more than the whole value in doubt
    assert learn_cost_doubt(measured, prior=0.0) is None
    assert learn_cost_doubt(measured[:0], prior=1.2) is None


def test_unmeasured_shares_price_the_events_beyond_the_range() -> None:
    events = np.array([[4.0, 0.0], [0.0, 0.0], [2.0, 3.0]])
    shares = unmeasured_shares(
        events, np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.array([2.0, 1.0])
    )
    assert np.allclose(shares[0], [2.0 / 4.0, 0.0])
    assert np.allclose(shares[1], 0.0)  # priced at nothing: no share to doubt
    assert np.allclose(shares[2], [0.0, 4.0 / 8.0])


def test_a_cost_every_row_shares_alike_is_doubted_by_its_count_not_its_share() -> None:
    """A fixed skeleton of the first event in every measured row: its share of the rows
    varies with the second event, but its count does not. A row with more of the first event
    extrapolates its price, whatever its share (the count rule's reason, cost_doubt's
    docstring); the share rule (the variant ``share_doubt``) sees it inside the range."""
    costs = np.array([1.0, 1.0])
    measured = np.array([[2.0, 1.0], [2.0, 6.0], [2.0, 3.0]])  # first share 0.25-0.67
    heavier = np.array([[4.0, 4.0]])  # share 0.5: inside the shares, twice the count
    counted = learn_cost_doubt(measured, prior=1.0)
    assert counted is not None
    assert counted.variance(heavier, costs)[0] == pytest.approx((2.0 / 8.0) ** 2)
    shared = ShareDoubt(measured, 1.0)
    assert shared.variance(heavier, costs)[0] == 0.0


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
