"""The FLASH tuner driven through NNI's Tuner API in-process (no NNI manager), its registration
command, and the quick mode of the benchmark against NNI's tuners. The tuner is the NNI protocol
over the search engine: what it proposes comes from ``engine.ask``, what it hears goes to
``engine.tell``."""

from __future__ import annotations

import argparse
import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

nni = pytest.importorskip("nni")

import flash_nas  # noqa: E402
from flash_nas import MissingDependencyError, UnknownNameError, hookimpl  # noqa: E402
from flash_nas.cli import nni as nni_command  # noqa: E402
from flash_nas.errors import ParameterError  # noqa: E402
from flash_nas.integrations.nni import FlashTuner  # noqa: E402
from flash_nas.integrations.params import SearchSpaceError, TunerConfigError  # noqa: E402
from flash_nas.plugins.translator import SampleTranslator  # noqa: E402
from flash_nas.search.objective import ObjectiveError  # noqa: E402
from flash_nas.search.pipeline import fit_predictor, run_search  # noqa: E402
from flash_nas_adapters.nasbench201.encoding import EDGES, ops_from_nni, ops_to_string  # noqa: E402
from flash_nas_adapters.nasbench201.space import NasBench201Adapter, load_shipped_table  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nni" / "nasbench201"
NNI_OPS = ["none", "skip_connect", "conv_1x1", "conv_3x3", "avg_pool_3x3"]
LABELS = [f"cell/{j}_{i}" for j, i in EDGES]


def nb201_space(ops=NNI_OPS):
    return {label: {"_type": "choice", "_value": list(ops)} for label in LABELS}


@pytest.fixture(scope="module")
def table():
    t = load_shipped_table()
    rows = {arch: row for row, arch in enumerate(t.archs)}
    return rows, t.column("c10_valid"), t.column("c10_test")


def report(tuner, parameter_id, params, table, **extra):
    rows, valid, test = table
    row = rows[ops_to_string(ops_from_nni(params))]
    tuner.receive_trial_result(
        parameter_id, params, {"default": float(valid[row]), "c10_test": float(test[row]), **extra}
    )
    tuner.trial_end(parameter_id, True)
    return float(valid[row])


def run_trials(tuner, table, count, start=0):
    proposed = []
    for parameter_id in range(start, start + count):
        params = tuner.generate_parameters(parameter_id)
        report(tuner, parameter_id, params, table)
        proposed.append(params)
    return proposed


@pytest.fixture
def tuner():
    t = FlashTuner(space="nasbench201", seed=0)
    t.update_search_space(nb201_space())
    return t


def trial(t, parameter_id):
    """The engine's trial of the architecture the tuner sent for ``parameter_id``."""
    return t.engine.trials[t.records[parameter_id].arch]


# --------------------------------------------------------------------------- NAS-Bench-201
def test_nb201_space_translates_both_namings_and_sends_the_declared_names():
    nb201_names = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    for ops in (NNI_OPS, nb201_names):
        t = FlashTuner(space="nasbench201", seed=1)
        t.update_search_space(nb201_space(ops))
        assert t.engine.listable and len(t.engine.pool_rows) == 15625
        params = t.generate_parameters(0)
        assert set(params) == set(LABELS) and set(params.values()) <= set(ops)
        arch = t.translator.to_arch(params)
        assert t.translator.to_params(arch) == params
        assert isinstance(t.translator.adapter, NasBench201Adapter)


def test_nb201_subset_of_ops_restricts_every_proposal(table):
    t = FlashTuner(space="nasbench201", seed=0, initial_samples=5)
    space = nb201_space(["skip_connect", "conv_3x3", "conv_1x1"])
    space["cell/0_3"] = {"_type": "choice", "_value": ["skip_connect"]}
    t.update_search_space(space)
    assert len(t.engine.pool_rows) == 3**5
    for params in run_trials(t, table, 12):
        assert params["cell/0_3"] == "skip_connect"
        assert set(params.values()) <= {"skip_connect", "conv_3x3", "conv_1x1"}


@pytest.mark.parametrize(
    ("space", "message"),
    [
        (
            {**nb201_space(), "cell/0_1": {"_type": "normal", "_value": [0, 1]}},
            r"'cell/0_1' has _type 'normal'.*supported: choice",
        ),
        (
            {**nb201_space(), "lr": {"_type": "uniform", "_value": [0, 1]}},
            r"nasbench201 search space needs exactly the six edge parameters.*unknown lr",
        ),
        (
            {k: v for k, v in nb201_space().items() if k != "cell/2_3"},
            r"missing cell/2_3",
        ),
        (
            {**nb201_space(), "cell/1_2": {"_type": "choice", "_value": ["conv_5x5"]}},
            r"'cell/1_2' lists 'conv_5x5', not a NAS-Bench-201 op; expected names from none, "
            r"skip_connect",
        ),
        (
            {
                **nb201_space(),
                "cell/1_2": {"_type": "choice", "_value": ["conv_3x3", "nor_conv_3x3"]},
            },
            r"'cell/1_2' names one op twice: 'conv_3x3' and 'nor_conv_3x3'",
        ),
        (
            {**nb201_space(), "cell/1_2": {"_type": "choice", "_value": [{"_name": "a"}]}},
            r"'cell/1_2' chooses among nested search spaces",
        ),
        ({**nb201_space(), "cell/1_2": ["none"]}, r"'cell/1_2' must be a dict with '_type'"),
        ([], r"must be a non-empty dict"),
    ],
)
def test_nb201_spaces_it_cannot_take_are_rejected_by_name(space, message):
    t = FlashTuner(space="nasbench201", seed=0)
    with pytest.raises(SearchSpaceError, match=message):
        t.update_search_space(space)


def test_the_first_proposals_are_the_initial_design_over_nn_degree(tuner):
    engine = tuner.engine
    proposals = [tuner.translator.to_arch(tuner.generate_parameters(i)) for i in range(10)]
    assert len(set(proposals)) == 10
    assert {r.source for r in tuner.records.values()} == {"initial"}
    assert proposals == [engine.candidates.archs[row] for row in engine.design_rows]
    # one per equal-width bin of NN-Degree (10 bins) among the cells that compute something
    pool = engine.pool_rows[~engine.candidates.column("cut_off")[engine.pool_rows]]
    degree = engine.candidates.column("value:nn_degree")
    low, high = degree[pool].min(), degree[pool].max()
    values = flash_nas.score_batch(engine.adapter.batch(proposals), ["nn_degree"])["nn_degree"]
    bins = np.minimum(((values - low) / (high - low) * 10).astype(int), 9)
    occupied = np.unique(np.minimum(((degree[pool] - low) / (high - low) * 10).astype(int), 9))
    assert set(bins) == set(occupied)
    assert not engine.adapter.cut_off(proposals).any()


def test_after_the_design_proposals_come_from_the_model_and_never_repeat(tuner, table):
    run_trials(tuner, table, 10)
    params = tuner.generate_parameters(10)
    assert tuner.records[10].source == "model"
    arch = tuner.translator.to_arch(params)
    assert arch not in [r.arch for k, r in tuner.records.items() if k != 10]
    report(tuner, 10, params, table)
    run_trials(tuner, table, 14, start=11)
    archs = [r.arch for r in tuner.records.values()]
    assert len(set(archs)) == len(archs) == 25
    assert [r.source for r in tuner.records.values()] == ["initial"] * 10 + ["model"] * 15
    # the model's proposals beat the design: the best label comes after it
    rows, valid, _ = table
    labels = [valid[rows[tuner.engine.adapter.format(a)]] for a in archs]
    assert max(labels[10:]) > max(labels[:10])


def test_method_flash_walks_the_hierarchical_shgo_ranking(table):
    t = FlashTuner(space="nasbench201", seed=0, method="flash")
    t.update_search_space(nb201_space())
    run_trials(t, table, 25)
    engine = t.engine
    rows, utility = engine.labelled()
    from flash_nas.search.pipeline import Labels

    labels = Labels([engine.candidates.archs[r] for r in rows], utility, "test")
    predictor = fit_predictor(engine.adapter, labels, ["nn_degree"])
    result, evaluator = run_search(
        engine.adapter, predictor, ["nn_degree"], engine.objective, None, chance=10.0
    )
    ranked = [result.best, *sorted(evaluator.cache.values(), key=lambda s: s.loss)]
    cut = engine.adapter.cut_off([s.arch for s in ranked])
    untried = list(
        dict.fromkeys(
            s.arch for s, c in zip(ranked, cut) if s.arch not in set(labels.archs) and not c
        )
    )
    proposed = [t.translator.to_arch(t.generate_parameters(25 + k)) for k in range(3)]
    assert proposed == untried[:3]  # no new results: the same ranking, next untried each time
    assert {t.records[25 + k].source for k in range(3)} == {"model"}


def test_pending_results_get_more_of_the_design(table):
    t = FlashTuner(space="nasbench201", seed=0, initial_samples=10)
    t.update_search_space(nb201_space())
    params = [t.generate_parameters(i) for i in range(10)]
    for i in range(9):  # one initial result still pending
        report(t, i, params[i], table)
    extra = t.generate_parameters(10)
    assert t.records[10].source == "initial"
    assert t.translator.to_arch(extra) not in {t.translator.to_arch(p) for p in params}
    report(t, 9, params[9], table)
    report(t, 10, extra, table)  # 11 labels now: the model proposes
    t.generate_parameters(11)
    assert t.records[11].source == "model"


def test_failed_and_nan_trials_are_failures_not_labels(tuner, table, caplog):
    params = [tuner.generate_parameters(i) for i in range(7)]
    caplog.set_level(logging.WARNING, logger="nni.tuner.flash")
    tuner.receive_trial_result(0, params[0], float("nan"))
    tuner.receive_trial_result(1, params[1], {"default": math.inf})
    tuner.receive_trial_result(2, params[2], "oops")
    tuner.trial_end(3, False)
    tuner.trial_end(4, True)  # ended without a result
    tuner.receive_trial_result(5, params[5], -5.0)  # outside [0, 100]: the engine refuses it
    report(tuner, 6, params[6], table)
    status = [trial(tuner, i).status for i in range(7)]
    assert status == ["failed"] * 6 + ["succeeded"]
    assert trial(tuner, 0).reason == "the metric is nan"
    assert trial(tuner, 1).reason == "the metric is inf"
    assert trial(tuner, 2).reason == "the metric 'oops' is not a number"
    assert trial(tuner, 3).reason == "the trial failed or was stopped"
    assert trial(tuner, 4).reason == "the trial ended without reporting a final result"
    assert "outside the label's range [0, 100]" in trial(tuner, 5).reason
    assert len(tuner.engine.labelled()[0]) == 1
    assert "parameter 0 recorded as failed: the metric is nan" in caplog.text
    # a result that arrives after trial_end still counts, with a warning naming both
    report(tuner, 4, params[4], table)
    assert trial(tuner, 4).status == "succeeded" and len(tuner.engine.labelled()[0]) == 2
    assert "a second result" in caplog.text and "replaces the first (failed" in caplog.text
    # failures are replaced: the design goes on until 10 labels, then the model; no repeats
    run_trials(tuner, table, 20, start=7)
    archs = [r.arch for r in tuner.records.values()]
    assert len(set(archs)) == len(archs) == 27
    sources = [r.source for r in tuner.records.values()]
    assert sources.index("model") == 7 + 8  # 2 labels + 8 more initial ones make 10


def test_dict_metrics_use_metric_key_and_minimize_reads_an_error(table):
    t = FlashTuner(space="nasbench201", seed=0, metric_key="top1")
    t.update_search_space(nb201_space())
    params = [t.generate_parameters(i) for i in range(3)]
    t.receive_trial_result(0, params[0], {"top1": 91.5, "default": 3.0})
    t.receive_trial_result(1, params[1], {"default": 91.0})
    t.receive_trial_result(2, params[2], 92.0)
    assert trial(t, 0).value == 91.5 and trial(t, 2).value == 92.0
    assert trial(t, 1).reason == "the metric dict has no 'top1' entry (it has 'default')"
    m = FlashTuner(space="nasbench201", seed=0, optimize_mode="minimize")
    m.update_search_space(nb201_space())
    first, second = m.generate_parameters(0), m.generate_parameters(1)
    m.receive_trial_result(0, first, {"default": 6.5})
    m.receive_trial_result(1, second, 120.0)
    _rows, utility = m.engine.labelled()
    assert list(utility) == [93.5]  # an error of 6.5 % is an accuracy of 93.5 % to the model
    assert "outside the label's range [0, 100]" in trial(m, 1).reason


def test_a_result_is_kept_under_the_parameter_id_the_tuner_sent(tuner, table, caplog):
    first, second = tuner.generate_parameters(0), tuner.generate_parameters(1)
    caplog.set_level(logging.WARNING, logger="nni.tuner.flash")
    tuner.receive_trial_result(0, second, 90.0)  # mis-paired parameters
    assert tuner.records[0].parameters == first
    assert trial(tuner, 0).value == 90.0
    assert tuner.engine.trials[tuner.translator.to_arch(second)].status == "pending"
    assert "keeping the tuner's record" in caplog.text


def test_customized_trials_and_imported_data_become_labels(tuner, table, caplog):
    rows, valid, _ = table
    engine = tuner.engine
    space_archs = [engine.candidates.archs[r] for r in engine.pool_rows[:40]]
    data = [
        {
            "parameter": tuner.translator.to_params(arch),
            "value": {"default": float(valid[rows[engine.adapter.format(arch)]])},
        }
        for arch in space_archs[:30]
    ]
    data.append(json.dumps({"parameter": data[0]["parameter"], "value": 90.0}))
    data.append({"parameter": {"lr": 0.1}, "value": 90.0})
    data.append('{"__nni_obj__": "gASVAAAAAAAAAAA="}')  # pickled NNI object: never unpickled
    caplog.set_level(logging.WARNING, logger="nni.tuner.flash")
    tuner.import_data(data)
    assert len(engine.labelled()[0]) == 30  # the repeat replaces, the foreign one fails
    assert engine.trials[space_archs[0]].value == 90.0
    assert "skipping imported entry 32" in caplog.text
    tuner.receive_trial_result(99, tuner.translator.to_params(space_archs[35]), 91.0, customized=True)
    assert tuner.records[99].source == "customized" and len(engine.labelled()[0]) == 31
    # 31 labels >= 10: the model proposes at once and never repeats an imported architecture
    params = tuner.generate_parameters(0)
    assert tuner.records[0].source == "model"
    assert tuner.translator.to_arch(params) not in space_archs


def test_import_data_never_unpickles(tmp_path, tuner):
    import base64
    import pickle

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = base64.b64encode(pickle.dumps(Payload())).decode()
    tuner.import_data([json.dumps({"__nni_obj__": blob}), {"__nni_obj__": blob}, None, 5])
    tuner.import_data(None)
    tuner.import_data("garbage")
    assert not marker.exists()


def test_a_new_search_space_keeps_the_results(tuner, table):
    params = run_trials(tuner, table, 5)
    tuner.update_search_space(nb201_space(list(reversed(NNI_OPS))))
    assert len(tuner.engine.labelled()[0]) == 5
    fresh = {tuner.translator.to_arch(tuner.generate_parameters(10 + k)) for k in range(25)}
    assert not fresh & {tuner.translator.to_arch(p) for p in params}


# ------------------------------------------------------------------------------ FLASH space
def flash_space(cells=2, skips=None):
    space = {}
    for c in range(1, cells + 1):
        space[f"width_{c}"] = {"_type": "choice", "_value": [16, 24, 32]}
        space[f"depth_{c}"] = {"_type": "randint", "_value": [2, 5]}
        space[f"skips_{c}"] = skips or {"_type": "uniform", "_value": [0, 1]}
    return space


def test_flash_space_builds_the_adapter_from_the_search_space():
    t = FlashTuner(space="flash", space_options={"num_classes": 100}, seed=0)
    space = flash_space(cells=3)
    space["width_3"] = {"_type": "quniform", "_value": [32, 64, 16]}
    t.update_search_space(space)
    adapter = t.translator.adapter
    assert adapter.n_cells == 3 and adapter.num_classes == 100
    assert adapter.widths == ((16, 24, 32), (16, 24, 32), (32, 48, 64))
    assert adapter.depths == ((2, 3, 4),) * 3
    assert not t.engine.listable and 0 < len(t.engine.pool_rows) <= t.engine.pool_size
    params = t.generate_parameters(0)
    arch = t.translator.to_arch(params)
    assert t.translator.to_params(arch) == params and t.translator.contains(arch)
    # a density of 0.5 takes half the capacity (rounded half up), a count is capped by it
    w, d = 24, 4
    capacity = adapter.skip_capacity(w, d)
    half = t.translator.to_arch({**params, "width_1": w, "depth_1": d, "skips_1": 0.5})
    assert half[0] == (w, d, math.floor(capacity / 2 + 0.5))
    counted = FlashTuner(space="flash", seed=0)
    counted.update_search_space(flash_space(skips={"_type": "randint", "_value": [0, 1000]}))
    row = counted.translator.to_arch(
        {"width_1": 16, "depth_1": 3.0, "skips_1": 999, "width_2": 24, "depth_2": 2, "skips_2": 0}
    )
    assert row == ((16, 3, counted.translator.adapter.skip_capacity(16, 3)), (24, 2, 0))


def test_a_flash_space_small_enough_is_listed_and_then_exhausted():
    space = {
        "width_1": {"_type": "choice", "_value": [8]},
        "depth_1": {"_type": "choice", "_value": [2, 3]},
        "skips_1": {"_type": "randint", "_value": [0, 2]},
    }
    t = FlashTuner(space="flash", seed=0, initial_samples=5)
    t.update_search_space(space)
    # depth 2 has no skip pair (skips 0 only); depth 3 has one pair of 8 channels: skips 0 or 1
    pool = [t.engine.candidates.archs[r] for r in t.engine.pool_rows]
    assert t.engine.listable and sorted(pool) == [((8, 2, 0),), ((8, 3, 0),), ((8, 3, 1),)]
    proposed = {t.translator.to_arch(t.generate_parameters(i)) for i in range(3)}
    assert proposed == set(pool)
    with pytest.raises(nni.NoMoreTrialError):
        t.generate_parameters(3)
    assert t.generate_multiple_parameters([4, 5]) == []  # what NNI's dispatcher calls


def test_flash_space_with_results_proposes_untried_architectures():
    t = FlashTuner(space="flash", seed=0, initial_samples=8, pool_size=500)
    t.update_search_space(flash_space(cells=2))
    archs = []
    adapter = t.translator.adapter
    for parameter_id in range(14):
        arch = t.translator.to_arch(t.generate_parameters(parameter_id))
        archs.append(arch)
        g = flash_nas.score_batch(adapter.batch([arch]), ["nn_degree"])["nn_degree"][0]
        t.receive_trial_result(parameter_id, None, 60 + 30 * (1 - math.exp(-g / 40)))
    assert len(set(archs)) == 14
    assert [r.source for r in t.records.values()][8:] == ["model"] * 6
    assert all(t.translator.contains(arch) for arch in archs)


@pytest.mark.parametrize(
    ("space", "error", "message"),
    [
        (
            {**flash_space(), "width_1": {"_type": "loguniform", "_value": [8, 64]}},
            SearchSpaceError,
            r"'width_1' has _type 'loguniform'.*supported: choice, randint, quniform",
        ),
        (
            {**flash_space(), "skips_2": {"_type": "choice", "_value": [0, 1]}},
            SearchSpaceError,
            r"'skips_2' has _type 'choice'.*supported: uniform, randint",
        ),
        (
            {**flash_space(), "skips_1": {"_type": "uniform", "_value": [0, 2]}},
            SearchSpaceError,
            r"'skips_1' \(uniform\) is a skip density: its range must lie in \[0, 1\]",
        ),
        (
            {**flash_space(), "width_1": {"_type": "choice", "_value": [16, 24.5]}},
            SearchSpaceError,
            r"'width_1' must offer integers >= 1; it offers 24.5",
        ),
        (
            {**flash_space(), "dropout": {"_type": "uniform", "_value": [0, 1]}},
            SearchSpaceError,
            r"flash search space needs width_\{c\}, depth_\{c\} and skips_\{c\}.*unknown dropout",
        ),
        (
            {k: v for k, v in flash_space().items() if k != "depth_2"},
            SearchSpaceError,
            r"missing depth_2",
        ),
        (
            {**flash_space(), "depth_1": {"_type": "randint", "_value": [5, 2]}},
            SearchSpaceError,
            r"'depth_1' \(randint\) needs low < high",
        ),
    ],
)
def test_flash_spaces_it_cannot_take_are_rejected_by_name(space, error, message):
    t = FlashTuner(space="flash", seed=0)
    with pytest.raises(error, match=message):
        t.update_search_space(space)


def test_space_options_may_not_set_what_the_search_space_decides():
    t = FlashTuner(space="flash", space_options={"widths": [16, 32]}, seed=0)
    with pytest.raises(TunerConfigError, match=r"space_options sets widths, which the flash"):
        t.update_search_space(flash_space())


# ------------------------------------------------------------------------- third-party hook
class ListedSpace(NasBench201Adapter):
    """A space whose NNI form is one choice over arch strings (a plugin's own translation)."""

    ARCHS = (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    )


class ListedPlugin:
    @hookimpl
    def register_adapters(self, register):
        register("listed", ListedSpace)

    @hookimpl(tryfirst=True)
    def translate_search_space(self, adapter, search_space, build):
        if not isinstance(adapter, ListedSpace):
            return None
        if set(search_space) != {"arch"}:
            raise SearchSpaceError(
                f"ListedSpace takes one parameter 'arch'; got {sorted(search_space)}"
            )
        return SampleTranslator(
            adapter,
            search_space,
            lambda params: adapter.parse(params["arch"]),
            lambda arch: {"arch": adapter.format(arch)},
        )


def test_a_plugin_translates_its_space_through_the_hook(add_plugin):
    add_plugin(ListedPlugin(), "listed-plugin")
    t = FlashTuner(space="listed", seed=0, initial_samples=5)
    with pytest.raises(SearchSpaceError, match=r"takes one parameter 'arch'; got \['x'\]"):
        t.update_search_space({"x": {"_type": "choice", "_value": [1]}})
    t.update_search_space({"arch": {"_type": "choice", "_value": list(ListedSpace.ARCHS)}})
    proposed = [t.generate_parameters(i)["arch"] for i in range(3)]
    assert sorted(proposed) == sorted(ListedSpace.ARCHS)
    with pytest.raises(nni.NoMoreTrialError, match=r"No architecture of the space is left"):
        t.generate_parameters(3)


@pytest.mark.parametrize("name", ["nni-nasbench201", "nni-darts", "nni-proxylessnas"])
def test_nni_model_space_adapters_translate_through_their_samples(name):
    adapter = flash_nas.get_adapter(name)
    space = {
        label.name: {
            "_type": "choice",
            "_value": [[v] if label.multiple else v for v in label.values],
        }
        for label in adapter.codec.labels
    }
    t = FlashTuner(space=name, seed=0, initial_samples=5, pool_size=200)
    t.update_search_space(space)
    proposed = []
    for parameter_id in range(8):
        params = t.generate_parameters(parameter_id)
        assert set(params) == set(space)
        proposed.append(adapter.from_sample(params))
        t.receive_trial_result(parameter_id, params, 80.0 + parameter_id % 3)
    assert len(set(proposed)) == 8 and t.records[7].source == "model"


def test_an_adapter_without_a_translation_is_named():
    class Plain(flash_nas.Adapter):
        def parse(self, text):
            return text

        def format(self, arch):
            return arch

        def to_graph(self, arch):
            raise NotImplementedError

    class PlainPlugin:
        @hookimpl
        def register_adapters(self, register):
            register("plain", Plain)

    flash_nas.plugins.add_plugin(PlainPlugin(), "plain-plugin")
    try:
        t = FlashTuner(space="plain", seed=0)
        with pytest.raises(SearchSpaceError, match=r"'plain' adapter \(Plain\) cannot read NNI"):
            t.update_search_space({"a": {"_type": "choice", "_value": [1]}})
    finally:
        flash_nas.plugins.remove_plugin("plain-plugin")


# ----------------------------------------------------------------------------- class args
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {},
            TunerConfigError,
            r"'space' argument of FlashTuner must be the name of a search space \(.*nasbench201",
        ),
        ({"space": "nope"}, UnknownNameError, r"Unknown adapter 'nope'"),
        (
            {"space": "nasbench201", "initial_samples": 0},
            ParameterError,
            r"'initial_samples' parameter of SearchEngine must be an int >= 1. Got 0 instead",
        ),
        (
            {"space": "nasbench201", "initial_samples": "25"},
            ParameterError,
            r"'initial_samples'.*Got '25'",
        ),
        (
            {"space": "nasbench201", "strategy": "best"},
            ParameterError,
            r"'design'.*one of 'stratified', 'quantile', 'random'",
        ),
        (
            {"space": "nasbench201", "proposals": "local"},
            TunerConfigError,
            r"'proposals' argument was replaced by 'method'",
        ),
        (
            {"space": "nasbench201", "method": "tpe"},
            UnknownNameError,
            r"Unknown method 'tpe' \(--method\); expected one of: bo, flash",
        ),
        (
            {"space": "nasbench201", "optimize_mode": "max"},
            TunerConfigError,
            r"'optimize_mode'.*maximize, minimize",
        ),
        ({"space": "nasbench201", "seed": -1}, TunerConfigError, r"'seed'.*>= 0"),
        ({"space": "nasbench201", "metric_key": ""}, TunerConfigError, r"'metric_key'"),
        ({"space": "nasbench201", "features": "nn_degre"}, UnknownNameError, r"nn_degre"),
        (
            {"space": "nasbench201", "space_options": [1]},
            TunerConfigError,
            r"'space_options'.*a dict",
        ),
        (
            {"space": "nasbench201", "learning_rate": 0.1},
            TunerConfigError,
            r"unknown argument\(s\) learning_rate; it takes space, .*limits max_<quantity>",
        ),
        (
            {"space": "nasbench201", "max_latency_ms": "7"},
            TunerConfigError,
            r"'max_latency_ms'.*a number",
        ),
        (
            {"space": "nasbench201", "max_latency_ms": 7},
            ObjectiveError,
            r"Unknown limit 'max_latency_ms'.*are max_params, max_flops; choose a hardware model",
        ),
        (
            {"space": "nasbench201", "objective": "acc/latency"},
            ObjectiveError,
            r"objective 'acc/latency' names 'latency'.*choose a hardware model",
        ),
        (
            {"space": "nasbench201", "objective": "acc*speed"},
            ObjectiveError,
            r"names 'speed', which the search without a hardware model does not report",
        ),
        (
            {"space": "nasbench201", "profile": "x.json"},
            TunerConfigError,
            r"no 'hardware' to apply them to",
        ),
        (
            {"space": "nasbench201", "hardware": "warp-drive"},
            UnknownNameError,
            r"Unknown hardware 'warp-drive'",
        ),
        (
            {"space": "nasbench201", "space_options": {"input_size": 30}},
            ValueError,
            r"divisible by 4",
        ),
    ],
)
def test_bad_class_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        FlashTuner(**kwargs)


def test_a_quantity_the_hardware_model_lacks_is_named_before_any_trial():
    with pytest.raises(ObjectiveError, match=r"Unknown limit 'max_area_mm2': the hardware model"):
        FlashTuner(space="nasbench201", hardware="hwnasbench:edgegpu", max_area_mm2=1.0)


def test_default_objective_uses_what_the_hardware_model_reports():
    t = FlashTuner(space="nasbench201", hardware="hwnasbench:edgegpu", seed=0)
    t.update_search_space(nb201_space())
    assert t.engine.objective_text == "acc/(latency*energy)"


def test_hardware_limits_steer_the_proposals(table):
    t = FlashTuner(
        space="nasbench201",
        hardware="hwnasbench:edgegpu",
        objective="acc",
        max_latency_ms=5.0,
        seed=0,
        initial_samples=10,
    )
    t.update_search_space(nb201_space())
    run_trials(t, table, 20)
    proposals = [r.arch for r in t.records.values()]
    engine = t.engine
    latency = engine.hardware.estimate_batch(engine.adapter.batch(proposals))["latency_ms"]
    assert len(proposals) == 20 and (latency <= 5.0).all()  # the design respects limits too
    assert engine.recommend().values["latency_ms"] <= 5.0


def test_proposing_before_the_search_space_is_an_error():
    with pytest.raises(flash_nas.FlashNasError, match=r"no search space yet"):
        FlashTuner(space="nasbench201").generate_parameters(0)


def test_flash_nas_does_not_import_nni():
    code = "import sys, flash_nas, flash_nas.cli; assert 'nni' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- registration
def test_the_meta_file_names_the_tuner_class():
    import yaml

    meta = yaml.safe_load(nni_command.meta_file().read_text())
    assert meta == {
        "algoType": "tuner",
        "builtinName": "FlashTuner",
        "alias": "FLASH",
        "className": "flash_nas.integrations.nni.FlashTuner",
    }


def test_register_and_unregister_with_nnictl(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNI_CONFIG_DIR", str(tmp_path))
    from nni.tools.package_utils.config_manager import get_algo_meta

    args = argparse.Namespace(nni_action="register")
    assert nni_command.run(args) == 0
    assert get_algo_meta("FLASH").class_name == "flash_nas.integrations.nni.FlashTuner"
    assert "Registered the NNI tuner FlashTuner (alias FLASH)" in capsys.readouterr().out
    assert nni_command.run(argparse.Namespace(nni_action="unregister")) == 0
    assert get_algo_meta("FlashTuner") is None
    assert nni_command.run(argparse.Namespace(nni_action="unregister")) == 0
    assert "not registered with NNI" in capsys.readouterr().out


def test_register_without_nni_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "nni", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'flash-nas\[nni\]'"):
        nni_command.run(argparse.Namespace(nni_action="register"))


# ------------------------------------------------------------------------------ benchmark
def test_nni_tuners_benchmark_quick_report_is_well_formed(tmp_path, request):
    from benchmarks.suite import nni_tuners
    from tests.bench_runs import NNI_TRIALS, SEEDS, with_plots

    # The shared quick run's comparison (tests/bench_runs.py) where it runs, not a second run of
    # the same part; without the [plot] extra the part's own.
    if with_plots():
        report = request.getfixturevalue("quick_apart").measured["nni_tuners"]
    else:
        report = nni_tuners.compare(seeds=SEEDS, trials=NNI_TRIALS)
    assert report.seeds == SEEDS and set(report.runs) == set(nni_tuners.TUNERS)
    for runs in report.runs.values():
        assert len(runs) == SEEDS
        for run in runs:
            assert len(run.valid) == len(run.test) == len(run.seconds) == NNI_TRIALS
            assert all(0 < acc <= 94.38 for acc in run.test)
            assert (np.diff(run.best_test()) >= 0).all()
    flash = report.runs["FLASH"][0]
    assert flash.incumbent_test()[-1] <= flash.best_test()[-1]
    text = "\n".join(nni_tuners._markdown(report))
    assert text.count(f"| {NNI_TRIALS} |") == 2 and "one proposal" in text
    assert "at any budget from 20 trials on, in points (negative: behind): FLASH " in text
    lead, at = report.lead("incumbent_test")["FLASH"]
    assert math.isfinite(lead) and 20 <= at <= NNI_TRIALS
    mean, half = report.paired("TPE")
    expected = report.curves("best_test")["FLASH"] - report.curves("best_test")["TPE"]
    assert np.allclose(mean, expected.mean(axis=0)) and (half >= 0).all()
    assert "| TPE | " in text and "FLASH (default) minus the tuner" in text
    pytest.importorskip("matplotlib")
    nni_tuners.plot(report, tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"


def test_the_example_trial_reports_validation_and_test_accuracy(table, monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import trial

    value = trial.lookup(trial.EXAMPLE)
    rows, valid, test = table
    row = rows[value["arch"]]
    assert value == {"default": valid[row], "c10_test": test[row], "arch": value["arch"]}
    assert set(json.loads((EXAMPLE / "search_space.json").read_text())) == set(LABELS)


def test_the_training_trial_trains_the_cell_it_is_given(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from tests.test_cifar import write_cifar10

    folder = write_cifar10(tmp_path / "cifar-10-batches-py")
    params = dict(
        zip(LABELS, ["conv_3x3", "skip_connect", "none", "conv_1x1", "avg_pool_3x3", "conv_3x3"])
    )
    reported = []
    monkeypatch.setattr(nni, "get_next_parameter", lambda: params)
    monkeypatch.setattr(nni, "report_final_result", reported.append)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import trial_train

    trial_train.main(
        ["--data", str(folder), "--epochs", "1", "--valid-size", "4", "--batch-size", "8"]
    )
    (value,) = reported
    assert value["arch"] == ops_to_string(ops_from_nni(params)) and value["epochs"] == 1
    assert 0 <= value["default"] <= 100 and 0 <= value["test"] <= 100


# --------------------------------------------------------------------------- measured costs
def test_a_dict_metric_passes_its_measured_costs_on_and_leaves_other_entries(table):
    tuner = FlashTuner(space="nasbench201", hardware="pi3b", seed=0)
    tuner.update_search_space(nb201_space())
    params = [tuner.generate_parameters(k) for k in range(3)]
    report(tuner, 0, params[0], table, latency_ms=3.1, energy_mj=7.5)
    report(tuner, 1, params[1], table, latency_ms=4.25)
    report(tuner, 2, params[2], table)  # no cost reported: nothing measured
    engine = tuner.engine
    archs = [tuner.records[k].arch for k in range(3)]
    # c10_test (the report's other entry) is information for NNI's web portal, not a cost
    assert engine.measured == {
        archs[0]: {"latency_ms": 3.1, "energy_mj": 7.5},
        archs[1]: {"latency_ms": 4.25},
    }
    assert engine.measured_costs(archs[2]) == {}
    assert [trial(tuner, k).status for k in range(3)] == ["succeeded"] * 3
    # a new search space rebuilds the engine; the results are told again, costs and all
    tuner.update_search_space(nb201_space())
    assert tuner.engine.measured[tuner.records[0].arch] == {"latency_ms": 3.1, "energy_mj": 7.5}


@pytest.mark.parametrize(("cost", "message"), [(-2.0, "latency_ms"), ("fast", "latency_ms")])
def test_a_cost_the_engine_refuses_fails_the_result_and_records_no_cost(
    table, caplog, cost, message
):
    caplog.set_level(logging.WARNING, logger="nni.tuner.flash")
    tuner = FlashTuner(space="nasbench201", hardware="pi3b", seed=0)
    tuner.update_search_space(nb201_space())
    params = tuner.generate_parameters(0)
    report(tuner, 0, params, table, latency_ms=cost)
    assert trial(tuner, 0).status == "failed" and message in trial(tuner, 0).reason
    assert tuner.engine.measured == {}
    assert "parameter 0 recorded as failed" in caplog.text
