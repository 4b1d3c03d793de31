"""docs/scaling.md: every training-service config it offers to copy is one NNI accepts.

Each ```yaml block replaces its keys in the local example's config.yml; the result must pass NNI
3.0's own validation (the same check ``nnictl create`` runs before it starts anything). No
cluster is contacted: the remote config's SSH key only has to exist, so a dummy one does.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

pytest.importorskip("nni", reason="needs the [nni] extra")
yaml = pytest.importorskip("yaml", reason="PyYAML comes with NNI")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "nni" / "nasbench201"
BLOCKS = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "scaling.md").read_text(), re.S)


def test_the_guide_offers_remote_and_kubernetes_configs():
    platforms = [yaml.safe_load(block)["trainingService"]["platform"] for block in BLOCKS]
    assert {"remote", "frameworkcontroller"} <= set(platforms)


@pytest.mark.parametrize(
    "block", BLOCKS, ids=lambda block: yaml.safe_load(block)["trainingService"]["platform"]
)
def test_each_training_service_config_passes_nni_validation(block, tmp_path, monkeypatch):
    from nni.experiment import ExperimentConfig

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("not a key: only its existence is checked\n")
    base = yaml.safe_load((EXAMPLE / "config.yml").read_text())
    change = yaml.safe_load(block)
    assert set(change) <= {*base, "nniManagerIp", "trialGpuNumber"}, set(change) - set(base)
    merged = {**copy.deepcopy(base), **change}
    merged["searchSpaceFile"] = str(EXAMPLE / merged["searchSpaceFile"])
    merged["trialCodeDirectory"] = str(EXAMPLE)
    config = ExperimentConfig(**merged)
    config.validate()  # raises with NNI's message on a wrong key or value
    assert config.tuner.name == "FlashTuner"  # the tuner is the example's, unchanged
    service = change["trainingService"]
    command = change.get("trialCommand") or service["taskRoles"][0]["command"]
    assert "trial_train.py" in command and (EXAMPLE / "trial_train.py").is_file()
