"""One cost per kind of choice in the engine's cost refit (an op, whichever edge it is on)."""

from __future__ import annotations

import numpy as np
import pytest

import flash_nas
from flash_nas.errors import PluginError
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.cost_refit import CHOICE_ROWS, extra_designs, refit_linear
from flash_nas_adapters.nasbench201.space import NasBench201Adapter

LATENCY = "latency_ms"
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def _one_hot(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Random NAS-Bench-201-like encodings: six edges, a one-hot of five ops each."""
    picks = rng.integers(0, len(OPS), size=(rows, 6))
    return np.eye(len(OPS))[picks].reshape(rows, -1)


def test_a_per_kind_device_is_learned_from_as_many_rows_as_kinds() -> None:
    # A device whose latency is a fixed cost per op, wherever the op is (plus a constant the
    # form's one event carries): twelve rows fix five kind costs, not thirty column costs.
    rng = np.random.default_rng(0)
    kinds = [OPS[c % len(OPS)] for c in range(30)]
    per_op = np.array([0.0, 0.1, 0.6, 2.0, 1.5])
    encoding = _one_hot(rng, 208)
    truth = 1.0 + encoding @ np.tile(per_op, 6)
    events = np.ones((len(truth), 1))
    train, test = slice(0, 12), slice(12, None)

    shared = refit_linear(events[train], encoding[train], truth[train], np.ones(1), kinds)
    alone = refit_linear(events[train], encoding[train], truth[train], np.ones(1))

    def error(fit) -> float:
        predicted = events[test] @ fit.costs + encoding[test] @ fit.choice_costs
        return float(np.median(np.abs(np.log(predicted / truth[test]))))

    # the shared costs are one value per op, copied to each of its columns
    assert shared.choice_costs.shape == (30,)
    assert np.allclose(shared.choice_costs.reshape(6, 5), shared.choice_costs[:5])
    assert error(shared) < 0.06
    # per column, the columns the twelve rows barely hold stay near zero
    assert error(alone) > 2 * error(shared)


def test_kinds_are_tried_only_with_enough_rows_and_must_match_the_encoding() -> None:
    encoding = np.zeros((10, 4))
    kinds = ["a", "b", "a", "b"]
    tried = extra_designs(encoding, CHOICE_ROWS, kinds)
    widths = {basis.shape[1] for basis, strength in tried if strength is not None}
    assert widths == {2, 4}  # one cost per kind, and one per column
    assert [s for _, s in extra_designs(encoding, CHOICE_ROWS - 1, kinds)] == [None]
    with pytest.raises(ValueError, match="3 kinds for an encoding of 4 columns"):
        extra_designs(encoding, CHOICE_ROWS, ["a", "b", "a"])


def test_nasbench201_kinds_name_the_op_of_each_encoded_column() -> None:
    adapter = flash_nas.get_adapter("nasbench201")
    kinds = adapter.encoding_kinds()
    archs = [adapter.parse(text) for text in adapter.sample(20, seed=0).texts()]
    encoding = adapter.encode(archs)
    assert len(kinds) == encoding.shape[1]
    for arch, row in zip(archs, encoding):
        hot = [kinds[c] for c in np.flatnonzero(row)]
        text = adapter.format(arch)
        ops = [part.split("~")[0] for part in text.replace("+", "").split("|") if part]
        assert hot == ops


def test_the_engine_learns_a_pool_cost_from_a_few_rows_with_kinds_not_without(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every 3x3 average pool costs the device 2.5 ms more than the model's form says (as
    # HW-NAS-Bench's Eyeriss runs pools as slowly as 3x3 convs). Ten measured rows: with one
    # cost per op the engine predicts the rest; with one per edge and op it cannot.
    def errors() -> np.ndarray:
        engine = SearchEngine("nasbench201", hardware="pi3b", objective="acc", seed=3)
        c = engine.candidates
        rows = engine.pool_rows[~c.column("cut_off")[engine.pool_rows]][:300]
        archs = [c.archs[r] for r in rows]
        pools = np.array([engine.adapter.format(a).count("avg_pool_3x3") for a in archs])
        device = c.column(f"prior:{LATENCY}")[rows] + 2.5 * pools
        measured = slice(0, 300, 30)
        engine.measure(archs[measured], {LATENCY: list(device[measured])})
        others = np.setdiff1d(np.arange(300), np.arange(300)[measured])
        predicted = engine.candidates.column(f"value:{LATENCY}")[rows[others]]
        return np.abs(np.log(predicted / device[others]))

    with_kinds = errors()
    monkeypatch.setattr(NasBench201Adapter, "encoding_kinds", lambda self: None)
    without = errors()
    assert np.median(with_kinds) < 0.05
    assert np.median(without) > 1.5 * np.median(with_kinds)


def test_kinds_that_do_not_match_the_encoding_are_the_adapters_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = SearchEngine("nasbench201", hardware="pi3b", objective="acc", seed=3)
    monkeypatch.setattr(NasBench201Adapter, "encoding_kinds", lambda self: ["conv"] * 29)
    arch = engine.candidates.archs[int(engine.pool_rows[0])]
    with pytest.raises(
        PluginError, match=r"NasBench201Adapter.encoding_kinds\(\) names 29 kinds for an "
    ):
        engine.measure([arch], {LATENCY: [5.0]})
