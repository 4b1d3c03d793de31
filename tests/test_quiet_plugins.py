"""``--quiet`` is one switch: it silences the progress bars plugins draw (ZigZag's per-layer
simulation) as well as flash-nas's own; ``--progress`` forces them on."""

from __future__ import annotations

import pytest

from flash_nas.cli import main

pytest.importorskip("zigzag")


@pytest.fixture
def fast_zigzag(monkeypatch):
    """ZigZag's simulation replaced by a constant cost: what is tested is the bar around it."""
    from flash_nas_hardware.zigzag import model as zigzag_model

    def run_layers(setup, layers, processes=1):
        for layer in layers:
            yield layer, (1.0, 1.0)

    monkeypatch.setattr(zigzag_model, "run_layers", run_layers)


@pytest.mark.parametrize(("flag", "shown"), [("--quiet", False), ("--progress", True)])
def test_the_zigzag_bar_follows_quiet_and_progress(capsys, tmp_path, fast_zigzag, flag, shown):
    argv = ["hw", "--space", "nasbench201", "--sample", "3", "--hardware", "zigzag:aimc"]
    assert main([*argv, flag, "--output", str(tmp_path / "s.csv")]) == 0
    err = capsys.readouterr().err
    assert ("ZigZag aimc" in err) is shown, err
    assert (tmp_path / "s.csv").read_text().count("\n") == 4


def test_a_library_user_follows_the_environment(monkeypatch):
    from flash_nas.plugins.progress import set_progress
    from flash_nas_hardware.zigzag.model import ZigZagModel

    set_progress(None)
    monkeypatch.setenv("FLASH_NAS_PROGRESS", "0")
    assert ZigZagModel("aimc")._show_progress() is False
    monkeypatch.setenv("FLASH_NAS_PROGRESS", "1")
    assert ZigZagModel("aimc")._show_progress() is True
    assert ZigZagModel("aimc", progress=False)._show_progress() is False
