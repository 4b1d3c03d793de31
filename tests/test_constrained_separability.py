"""``python -m benchmarks.constrained_separability``: how well latency models learned from every
cell tell which cells near a limit meet it."""

from __future__ import annotations

import csv
import functools
import json
import sys

import numpy as np
import pytest

from benchmarks import constrained_separability
from benchmarks.constrained_separability import (
    ADDITIVE,
    LEARNED,
    design_matrices,
    learned_table_model,
    main,
    out_of_fold_latency,
    separability,
)
from benchmarks.suite.constrained_runs import load_device, load_space

CELL = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"


def test_the_columns_count_each_op_and_the_ops_the_device_runs() -> None:
    matrices = design_matrices([CELL])
    # skip, 1x1, 3x3, pool: one of each, and a constant
    np.testing.assert_array_equal(matrices["op_counts"][0], [1, 1, 1, 1, 1])
    # the pool (edge 1 -> 2) reaches the output only through node 2's `none` edge: not run
    np.testing.assert_array_equal(matrices["op_counts_run"][0], [1, 1, 1, 1, 1, 1, 1, 0, 1])
    edge_ops = matrices["edge_ops"][0]
    assert edge_ops.shape == (49,) and edge_ops.sum() == 5  # four ops on their edges, constant
    not_run = edge_ops[24:48].reshape(6, 4)
    assert not_run[2, 3] == 1 and not_run.sum() == 1  # edge 1 -> 2 (third), the pool


def test_an_additive_device_is_separated_exactly() -> None:
    # HW-NAS-Bench's FPGA latency is a sum of per-op costs: fitted on cells of the table, the
    # per-op model predicts it and puts every cell near the limit on its right side
    texts = list(load_space().texts)[::7]
    rows = separability("fpga", design_matrices(texts), texts, ADDITIVE)
    counts = [r for r in rows if r.model == "op_counts"]
    assert {r.quantile for r in counts} == {0.10, 0.25}
    for row in counts:
        assert row.band_cells > 100
        assert row.share_right == 1.0
        assert row.median_log_error < 1e-3


def test_quick_writes_the_rows_and_figures_by_name(tmp_path, capsys, monkeypatch) -> None:
    texts = list(load_space().texts)[::25]
    monkeypatch.setattr(
        constrained_separability, "load_space", lambda: type("S", (), {"texts": texts})
    )
    models = ",".join(ADDITIVE)  # the learned model needs scikit-learn: tested below
    assert main(["--quick", "--models", models, "--output", str(tmp_path)]) == 0
    with (tmp_path / "constrained_separability.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["device"], r["model"]) for r in rows} == {("raspi4", m) for m in ADDITIVE}
    found = json.loads((tmp_path / "constrained_separability.json").read_text())
    assert found["mode"] == "quick"
    figures = found["results"]["raspi4"]["edge_ops"]
    assert set(figures) == {"median_log_error", "q10", "q25"}
    assert 0.0 <= figures["q10"] <= 1.0
    assert "raspi4 | q10 | op_counts |" in capsys.readouterr().out


def test_an_unknown_device_exits_2_naming_the_known_ones(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--devices", "tpu9"])
    assert stopped.value.code == 2
    assert "unknown devices ['tpu9']; expected among" in capsys.readouterr().err


def test_an_unknown_model_exits_2_naming_the_known_ones(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--models", "op_counts,forest"])
    assert stopped.value.code == 2
    assert "expected models among op_counts, op_counts_run, edge_ops, boosted_trees" in (
        capsys.readouterr().err
    )


@functools.cache
def _cells(step: int) -> tuple[list[str], np.ndarray]:
    texts = list(load_space().texts)[::step]
    return texts, constrained_separability.tree_features(design_matrices(texts))


def test_a_cells_learned_latency_never_learns_from_its_own_timing(few_rounds) -> None:
    texts, features = _cells(20)
    device = load_device("fpga")
    latency = np.array([device.latency[t] for t in texts])
    before = out_of_fold_latency(features, latency)
    changed = latency.copy()
    changed[7] *= 10.0
    after = out_of_fold_latency(features, changed)
    # the trees that predict cell 7 never saw it; trees that predict other cells did
    assert after[7] == before[7]
    assert np.any(np.abs(np.log(after / before)) > 1e-6)


def test_the_trees_learn_what_no_sum_of_op_costs_can(few_rounds) -> None:
    texts, features = _cells(10)
    # a device that runs a 3x3 conv on the first edge five times slower when the last edge
    # runs one too: an interaction, that an additive model cannot fit
    first = features[:, 0 * 4 + 2] == 1  # edge 0, nor_conv_3x3, run
    last = features[:, 5 * 4 + 2] == 1  # edge 5, nor_conv_3x3, run
    both = first & last
    latency = np.where(both, 5.0, 1.0) * (1.0 + 0.1 * features[:, :24].sum(axis=1))
    predicted = out_of_fold_latency(features, latency)
    error = np.abs(np.log(predicted / latency))
    assert both.sum() > 30 and np.median(error[both]) < 0.1 and np.median(error[~both]) < 0.1
    columns = design_matrices(texts)["edge_ops"]
    costs, _ = constrained_separability.nnls(columns, latency)
    additive = columns @ costs
    assert np.median(np.abs(np.log(additive[both] / latency[both]))) > 0.3


def test_the_learned_table_is_a_hardware_model_with_the_trees_spread(
    few_rounds, monkeypatch
) -> None:
    import flash_nas

    texts = list(load_space().texts)[::40]
    truth = load_device("edgegpu").latency
    latency = {t: truth[t] for t in texts}
    monkeypatch.setattr(
        constrained_separability, "load_space", lambda: type("S", (), {"texts": texts})
    )
    monkeypatch.setattr(
        constrained_separability, "load_device", lambda name: type("D", (), {"latency": latency})
    )
    model = learned_table_model.__wrapped__("edgegpu")
    adapter = flash_nas.get_adapter("nasbench201")
    predicted = model.estimate_batch(adapter.batch([adapter.parse(t) for t in texts]))
    expected = out_of_fold_latency(
        constrained_separability.tree_features(design_matrices(texts)),
        np.array([latency[t] for t in texts]),
    )
    np.testing.assert_allclose(predicted["latency_ms"], expected, rtol=1e-12)
    errors = np.log(expected / np.array([latency[t] for t in texts]))
    spread = model.prior_log_spread("latency_ms")
    # the median absolute log error, scaled to a normal's standard deviation
    assert spread == pytest.approx(1.4826 * np.median(np.abs(errors)))
    assert 0.0 < spread < 0.5


def test_without_scikit_learn_the_learned_model_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    texts, features = _cells(400)
    with pytest.raises(ImportError, match=r'pip install "flash-nas\[bench\]"'):
        out_of_fold_latency(features, np.ones(len(texts)))


def test_quick_reports_the_learned_model_too(few_rounds, tmp_path, monkeypatch) -> None:
    texts = list(load_space().texts)[::25]
    monkeypatch.setattr(
        constrained_separability, "load_space", lambda: type("S", (), {"texts": texts})
    )
    assert main(["--quick", "--models", LEARNED, "--output", str(tmp_path)]) == 0
    found = json.loads((tmp_path / "constrained_separability.json").read_text())
    figures = found["results"]["raspi4"][LEARNED]
    assert set(figures) == {"median_log_error", "q10", "q25"}
    assert 0.0 < figures["median_log_error"] < 1.0
