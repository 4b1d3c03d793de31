"""The package surface: light imports, every public name reachable."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flash_nas


def test_import_and_plugin_loading_pull_in_no_optional_package():
    code = (
        "import sys, flash_nas; flash_nas.registrations(); "
        "print(sorted(m for m in ('torch', 'nni', 'zigzag', 'nas_201_api', 'matplotlib', 'optuna', 'ray') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_public_name_resolves():
    for name in flash_nas.__all__:
        assert getattr(flash_nas, name) is not None, name
    assert flash_nas.AccuracyPredictor.__module__ == "flash_nas.search.predictor"


def test_unknown_attributes_fail_plainly():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_thing'"):
        flash_nas.no_such_thing  # noqa: B018
