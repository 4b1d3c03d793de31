"""The imc_zigzag part's quick mode, with the simulator stood in for by the ``imc`` preset with
every cost 1.7 times larger: a calibration that works recovers it exactly, on both spaces and
both quantities, for every seed (ZigZag itself takes minutes here; tests/test_hw_zigzag.py
runs it)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import flash_nas
from benchmarks.suite import PARTS, imc_zigzag

SCALE = 1.7


class ScaledImc:
    """What the part asks of a ``zigzag:VARIANT`` model, answered by ``imc:VARIANT`` x SCALE."""

    cache_file = None

    def __init__(self, variant: str, **options: object) -> None:
        self.model = flash_nas.get_hardware(f"imc:{variant}")
        self.options = options

    def workload(self, graph: flash_nas.ArchGraph) -> list[SimpleNamespace]:
        return [SimpleNamespace(key=lambda e=edge: repr(e)) for edge in graph.edges]

    def estimate_batch(self, batch: flash_nas.GraphBatch) -> dict[str, object]:
        return {name: SCALE * values for name, values in self.model.estimate_batch(batch).items()}


@pytest.fixture
def scaled(monkeypatch):
    real = flash_nas.get_hardware
    made: list[ScaledImc] = []

    def get_hardware(name: str, **options: object):
        if name.startswith("zigzag:"):
            made.append(ScaledImc(name.split(":", 1)[1], **options))
            return made[-1]
        return real(name, **options)

    monkeypatch.setattr(flash_nas, "get_hardware", get_hardware)
    monkeypatch.setattr(imc_zigzag, "zigzag_installed", lambda: True)
    return made


def test_the_quick_part_recovers_a_scaled_model_on_every_row(tmp_path, scaled):
    section = imc_zigzag.run(output=tmp_path, seeds=2, quick=True, lpf_limit=3, processes=2)
    fits, timing = section.csvs
    assert {(r[0], r[1], r[2]) for r in fits.rows} == {
        (variant, space, quantity)
        for variant in ("aimc", "dimc")
        for space in ("nasbench201", "flash")
        for quantity in ("latency_ms", "energy_mj")
    }
    assert sorted(set(fits.column("seed"))) == [0, 1] and len(fits.rows) == 16
    assert all(rho > 0.999 for rho in fits.column("spearman"))
    assert all(mape < 1e-6 for mape in fits.column("mape"))
    assert all(seconds > 0 for seconds in timing.column("seconds"))
    # the part's options reach the simulator; the cache defaults to the output folder
    assert [s.options for s in scaled] == [
        {"cache_dir": str(tmp_path / "zigzag-cache"), "lpf_limit": 3, "processes": 2}
    ] * 2
    assert (tmp_path / "zigzag-cache").is_dir()
    assert "`lpf_limit` 3" in section.blocks[0]


def test_the_part_is_registered_with_its_options_outside_all():
    part = PARTS["imc_zigzag"]
    assert part.run is imc_zigzag.run and not part.in_all
    assert [o.flag for o in part.options] == ["--zigzag-cache", "--lpf-limit", "--zigzag-processes"]
    assert part.seeds == (2, 5)


def test_without_zigzag_the_part_says_it_did_not_run(tmp_path, monkeypatch):
    monkeypatch.setattr(imc_zigzag, "zigzag_installed", lambda: False)
    section = imc_zigzag.run(output=tmp_path, seeds=1, quick=True)
    assert section.blocks == ["Not run: ZigZag is not installed (pip install 'flash-nas[zigzag]')."]
    assert not section.csvs and not (tmp_path / "zigzag-cache").exists()
