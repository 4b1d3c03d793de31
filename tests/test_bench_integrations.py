"""The quick mode of the suite's Optuna/Ray Tune part: every method and seed, curves made of
real NAS-Bench-201 cells, the same engine behind the sampler and the searcher. The part runs once,
in the suite's quick run of the parts that take ``--first-seed`` (tests/bench_runs.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("optuna", reason="the [optuna] extra is not installed")
pytest.importorskip("ray.tune", reason="the [ray] extra is not installed")
pytest.importorskip("matplotlib", reason="the [plot] extra is not installed")

from benchmarks.suite import PARTS, integrations
from flash_nas_adapters.nasbench201.space import load_shipped_table
from tests.bench_runs import FIRST_SEED


@pytest.fixture(scope="module")
def section(quick_seeded):
    return quick_seeded.sections["integrations"], quick_seeded.output


def test_the_part_is_registered():
    assert PARTS["integrations"].run is integrations.run


def test_every_method_and_seed_has_a_full_curve_of_real_cells(section):
    found, output = section
    curves, timing = found.csvs
    test = set(load_shipped_table().column("c10_test").tolist())
    methods = {(row[0], row[1]) for row in curves.rows}
    assert methods == {
        ("optuna", "FlashSampler"),
        ("optuna", "TPE"),
        ("optuna", "random"),
        ("ray", "FlashSearcher"),
        ("ray", "random (Tune's default)"),
        ("ray", "OptunaSearch (TPE)"),
    }
    for framework, method in methods:
        for seed in (FIRST_SEED, FIRST_SEED + 1):
            rows = curves.records(framework=framework, method=method, seed=seed)
            assert [r["labels"] for r in rows] == list(range(1, integrations.QUICK_BUDGET + 1))
            assert all(r["test_accuracy"] in test for r in rows)
    assert len(timing.rows) == 6 * 2 and all(row[3] > 0 for row in timing.rows)
    assert (output / "integrations.png").read_bytes()[:4] == b"\x89PNG"


def test_the_sampler_and_the_searcher_drive_the_same_engine(section):
    curves = section[0].csvs[0]
    sampler = curves.select("test_accuracy", framework="optuna", method="FlashSampler")
    searcher = curves.select("test_accuracy", framework="ray", method="FlashSearcher")
    assert sampler.tolist() == searcher.tolist()
    random = curves.select("test_accuracy", framework="optuna", method="random")
    assert sampler.tolist() != random.tolist()


def test_the_table_reports_paired_intervals(section):
    text = "\n".join(section[0].blocks)
    assert "FLASH − method" in text and "[" in text
