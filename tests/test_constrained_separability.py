"""``python -m benchmarks.constrained_separability``: how well additive latency models fitted to
every cell tell which cells near a limit meet it."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from benchmarks import constrained_separability
from benchmarks.constrained_separability import design_matrices, main, separability
from benchmarks.suite.constrained_runs import load_space

CELL = "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|none~2|"


def test_the_columns_count_each_op_and_the_ops_the_device_runs() -> None:
    matrices = design_matrices([CELL])
    # skip, 1x1, 3x3, pool: one of each, and a constant
    np.testing.assert_array_equal(matrices["op_counts"][0], [1, 1, 1, 1, 1])
    # the pool (edge 1 -> 2) reaches the output only through node 2's `none` edge: not run
    np.testing.assert_array_equal(
        matrices["op_counts_run"][0], [1, 1, 1, 1, 1, 1, 1, 0, 1]
    )
    edge_ops = matrices["edge_ops"][0]
    assert edge_ops.shape == (49,) and edge_ops.sum() == 5  # four ops on their edges, constant
    not_run = edge_ops[24:48].reshape(6, 4)
    assert not_run[2, 3] == 1 and not_run.sum() == 1  # edge 1 -> 2 (third), the pool


def test_an_additive_device_is_separated_exactly() -> None:
    # HW-NAS-Bench's FPGA latency is a sum of per-op costs: fitted on cells of the table, the
    # per-op model predicts it and puts every cell near the limit on its right side
    texts = list(load_space().texts)[::7]
    rows = separability("fpga", design_matrices(texts), texts)
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
    assert main(["--quick", "--output", str(tmp_path)]) == 0
    with (tmp_path / "constrained_separability.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["device"], r["model"]) for r in rows} == {
        ("raspi4", m) for m in constrained_separability.MODELS
    }
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
