"""The ask/tell search engine: proposals, labels and their checks, recommendations, the front,
hardware limits, cut-off cells, label scales and resuming from a saved state."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import flash_nas
from flash_nas.errors import (
    FlashNasWarning,
    LabelError,
    NoFeasibleArchitectureError,
    ObjectiveError,
    SearchExhaustedError,
    UnknownNameError,
)
from flash_nas.io.tables import LabelScale
from flash_nas.search.engine import ListDomain, SearchEngine, StateError
from flash_nas.validation import ParameterError
from flash_nas_adapters.nasbench201.space import load_shipped_table

CUT_OFF = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def labels():
    table = load_shipped_table()
    return {arch: value for arch, value in zip(table.archs, table.column("c10_valid"))}


def run(engine, labels, count):
    for _ in range(count):
        (proposal,) = engine.ask()
        engine.tell([proposal.arch], [labels[proposal.text]])


@pytest.fixture(scope="module")
def trained(labels):
    """A default engine after 12 labels (10 initial, 2 chosen by the model)."""
    engine = SearchEngine("nasbench201", seed=3)
    run(engine, labels, 12)
    return engine


# ------------------------------------------------------------------------------- ask
def test_the_initial_design_spans_nn_degree_and_skips_cut_off_cells():
    engine = SearchEngine("nasbench201", seed=0)
    proposals = engine.ask(10)
    assert [p.source for p in proposals] == ["initial"] * 10
    assert len({p.arch for p in proposals}) == 10
    archs = [p.arch for p in proposals]
    assert not engine.adapter.cut_off(archs).any()
    degree = flash_nas.score_batch(engine.adapter.batch(archs), ["nn_degree"])["nn_degree"]
    computing = engine.candidates.column("value:nn_degree")[
        engine.pool_rows[~engine.candidates.column("cut_off")[engine.pool_rows]]
    ]
    span = computing.max() - computing.min()
    assert degree.max() - degree.min() > 0.8 * span  # the extremes are represented
    # pending proposals are not proposed again
    more = engine.ask(5)
    assert not {p.arch for p in more} & set(archs)


def test_model_proposals_are_new_and_carry_a_prediction(trained, labels):
    proposals = trained.ask(3)
    assert [p.source for p in proposals] == ["model"] * 3
    told = {t.arch for t in trained.history}
    assert len({p.arch for p in proposals} | told) == len(told)  # asked ones are pending now
    for p in proposals:
        assert 0 < p.predicted < 100 and p.std > 0
        assert set(p.values) >= {"nn_degree", "params", "flops"}
    trained.tell([p.arch for p in proposals], [labels[p.text] for p in proposals])


def test_ask_checks_n():
    engine = SearchEngine("nasbench201", seed=0)
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ParameterError, match=r"'n' parameter of SearchEngine.ask"):
            engine.ask(bad)


def test_an_exhausted_space_is_an_error_not_an_empty_answer():
    adapter = flash_nas.get_adapter("nasbench201")
    three = [adapter.from_index(i) for i in (0, 1, 2)]
    engine = SearchEngine(adapter, domain=ListDomain(adapter, three), seed=0)
    assert engine.listable and len(engine.pool_rows) == 3
    first = engine.ask(5)
    assert len(first) == 3  # fewer than asked: only three exist
    with pytest.raises(SearchExhaustedError, match=r"3 pending.*relax a limit"):
        engine.ask()


# ------------------------------------------------------------------------------ tell
def test_tell_rejects_unknown_architectures_and_values_out_of_range():
    engine = SearchEngine("nasbench201", seed=0)
    (proposal,) = engine.ask()
    with pytest.raises(LabelError, match=r"Cannot tell a result for 'nonsense'"):
        engine.tell(["nonsense"], [90.0])
    with pytest.raises(LabelError, match=r"outside the label's range \[0, 100\]"):
        engine.tell([proposal.arch, proposal.text], [90.0, 150.0])
    assert engine.trials[proposal.arch].status == "pending"  # nothing recorded
    with pytest.raises(LabelError, match=r"must be a number"):
        engine.tell([proposal.arch], ["high"])
    with pytest.raises(LabelError, match=r"same length"):
        engine.tell([proposal.arch], [1.0, 2.0])


def test_nan_and_none_are_failures_and_a_second_result_warns_with_both_values():
    engine = SearchEngine("nasbench201", seed=0)
    a, b = engine.ask(2)
    engine.tell([a.arch, b.text], [float("nan"), None])
    assert engine.trials[a.arch].status == "failed"
    assert engine.trials[a.arch].reason == "the result is NaN"
    assert engine.trials[b.arch].reason == "no result (None)"
    engine.tell([a.arch], [91.25])
    with pytest.warns(FlashNasWarning, match=r"a second result \(88\.5\) replaces the first \(91\.25\)"):
        engine.tell([a.arch], [88.5])
    assert engine.trials[a.arch].value == 88.5
    # a failed architecture is not proposed again
    assert b.arch not in {p.arch for p in engine.ask(10)}


def test_a_result_for_an_architecture_it_did_not_propose_is_a_label(labels):
    engine = SearchEngine("nasbench201", seed=0)
    text = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    engine.tell([text], [labels[text]])
    assert engine.trials[engine.adapter.parse(text)].source == "told"
    assert engine.recommend().text == text


# ------------------------------------------------------------------------- recommend
def test_recommend_needs_a_label():
    with pytest.raises(LabelError, match=r"Nothing to recommend yet"):
        SearchEngine("nasbench201", seed=0).recommend()


def test_bo_recommends_the_best_measured_and_says_when_the_model_hopes_for_more(trained):
    best = trained.recommend()
    told = [t for t in trained.history if t.status == "succeeded"]
    assert best.measured and best.std is None
    assert best.accuracy == max(t.value for t in told)
    mean, _ = trained.predict([p.arch for p in trained.top(5)[1:]])
    if mean.max() > best.accuracy:
        assert "that is a prediction: train it to confirm" in best.note


def test_the_flash_method_recommends_its_predicted_pick_and_names_the_best_measured(labels):
    engine = SearchEngine("nasbench201", method="flash", seed=0)
    proposals = engine.ask(25)
    assert [p.source for p in proposals] == ["initial"] * 25
    engine.tell([p.arch for p in proposals], [labels[p.text] for p in proposals])
    pick = engine.recommend()
    best = max(proposals, key=lambda p: labels[p.text])
    if pick.measured:
        assert pick.accuracy == labels[pick.text]
    else:
        assert pick.std > 0 and "not measured" in pick.note and best.text in pick.note


def test_cut_off_cells_are_predicted_at_chance_and_never_proposed(trained):
    (mean,), (std,) = trained.predict([CUT_OFF])
    assert mean == 10.0 and std == 0.0
    engine = SearchEngine(
        "nasbench201", hardware="pi3b", objective="acc/(latency*energy)", method="flash", seed=0
    )
    proposals = engine.ask(25)
    table = load_shipped_table()
    engine.tell([p.arch for p in proposals], [table.column("c10_valid")[table.row_of(p.text)] for p in proposals])
    for point in engine.top(5):
        assert not engine.adapter.cut_off([point.arch])[0]
    assert all(not engine.adapter.cut_off([p.arch])[0] for p in engine.ask(5))


# --------------------------------------------------------------------- scales, limits, front
def test_a_loss_scale_is_read_lower_is_better(labels):
    scale = LabelScale(0.0, 5.0, higher_is_better=False, unit="loss")
    engine = SearchEngine("nasbench201", label_scale=scale, initial_samples=4, seed=0)
    proposals = engine.ask(4)
    losses = [1.5, 0.4, 2.0, 3.1]
    engine.tell([p.arch for p in proposals], losses)
    assert engine.recommend().arch == proposals[1].arch
    with pytest.raises(LabelError, match=r"\[0, 5\] \(loss\)"):
        engine.tell([proposals[0].arch], [7.0])
    (proposal,) = engine.ask()
    assert proposal.source == "model" and 0 <= proposal.predicted <= 5


def test_hardware_limits_hold_for_every_proposal_and_the_recommendation(labels):
    engine = SearchEngine("nasbench201", hardware="hwnasbench:edgegpu", max_latency_ms=5.0, seed=0)
    assert engine.objective_text == "acc/(latency*energy)"  # follows what the model reports
    run(engine, labels, 12)
    latency = [t for t in engine.history]
    values = engine.hardware.estimate_batch(engine.adapter.batch([t.arch for t in latency]))
    assert (values["latency_ms"] <= 5.0).all()
    assert engine.recommend().values["latency_ms"] <= 5.0
    front = engine.front()
    costs = [p.cost for p in front]
    accuracy = [p.accuracy for p in front]
    assert costs == sorted(costs) and accuracy == sorted(accuracy)  # nothing dominated


def test_impossible_limits_name_the_closest_architectures():
    with pytest.raises(NoFeasibleArchitectureError, match=r"latency_ms <= 0\.001.*Closest: \|"):
        SearchEngine("nasbench201", hardware="pi3b", max_latency_ms=0.001)


def test_objective_and_hardware_mismatches_are_named():
    with pytest.raises(ObjectiveError, match=r"choose a hardware model"):
        SearchEngine("nasbench201", objective="acc/latency")
    with pytest.raises(
        ObjectiveError,
        match=r"names 'area', which the hardware model Pi3BModel does not report; it may name "
        r"acc, params, flops, latency_ms \(latency\), energy_mj \(energy\); drop that term",
    ):
        SearchEngine("nasbench201", hardware="pi3b", objective="acc/area")
    with pytest.raises(ObjectiveError, match=r"Unknown limit 'max_speed'.*max_params, max_flops"):
        SearchEngine("nasbench201", max_speed=3)
    with pytest.raises(ParameterError, match=r"unknown keyword\(s\) speed; hard limits"):
        SearchEngine("nasbench201", speed=3)
    with pytest.raises(UnknownNameError, match=r"Unknown method 'tpe' \(--method\).*bo, flash"):
        SearchEngine("nasbench201", method="tpe")


# ------------------------------------------------------------------------------ state
def test_a_saved_run_resumes_where_it_stopped(tmp_path, labels):
    path = tmp_path / "state.json"
    first = SearchEngine("nasbench201", seed=5, initial_samples=6)
    run(first, labels, 8)
    pending = first.ask(1)[0]
    first.save(path)
    resumed = SearchEngine.load(path)
    assert [t.to_dict() for t in resumed.history] == [t.to_dict() for t in first.history]
    assert resumed.trials[pending.arch].status == "pending"
    first.tell([pending.arch], [labels[pending.text]])
    resumed.tell([pending.arch], [labels[pending.text]])
    assert [p.text for p in resumed.ask(2)] == [p.text for p in first.ask(2)]


def test_bad_state_files_are_named(tmp_path):
    path = tmp_path / "state.json"
    with pytest.raises(StateError, match=r"No engine state"):
        SearchEngine.load(path)
    path.write_text("{not json")
    with pytest.raises(StateError, match=r"is not valid JSON .*expected a flash-nas engine state"):
        SearchEngine.load(path)
    path.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(StateError, match=r"not a flash-nas engine state"):
        SearchEngine.load(path)
    engine = SearchEngine("nasbench201", seed=0)
    engine.ask()
    engine.save(path)
    data = json.loads(path.read_text())
    data["trials"][0]["arch"] = "|bogus~0|"
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match=r"trial 1"):
        SearchEngine.load(path)


# ------------------------------------------------------------------------------ FLASH space
def test_flash_space_asks_a_batch_through_the_relaxation():
    engine = SearchEngine("flash", seed=0, pool_size=2000, initial_samples=5)
    assert not engine.listable
    proposals = engine.ask(5)
    g = np.array([p.values["nn_degree"] for p in proposals])
    engine.tell([p.arch for p in proposals], list(60 + 30 * (1 - np.exp(-g / 40))))
    batch = engine.ask(8)
    assert len({p.arch for p in batch}) == 8 and {p.source for p in batch} == {"model"}
    told = {t.arch for t in engine.history if t.status == "succeeded"}
    assert not told & {p.arch for p in batch}
    assert all(math.isfinite(p.predicted) for p in batch)


def test_the_gp_model_does_not_warn(trained):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trained.summary()
