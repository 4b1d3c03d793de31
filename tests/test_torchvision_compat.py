"""torchvision beside the CPU torch: only failed fake registrations of its own ops are tolerated."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs the [torch] extra")

from flash_nas.train.torchvision_compat import (  # noqa: E402
    import_torchvision,
    tolerate_missing_torchvision_ops,
)


def test_a_missing_torchvision_op_is_skipped_and_register_fake_restored():
    original = torch.library.register_fake
    with tolerate_missing_torchvision_ops() as skipped:

        @torch.library.register_fake("torchvision::no_such_op_for_flash_nas")
        def fake(x):
            return x

        assert fake(3) == 3  # the function comes back unregistered
    assert skipped == ["torchvision::no_such_op_for_flash_nas"]
    assert torch.library.register_fake is original


def test_failures_of_other_namespaces_still_raise():
    with tolerate_missing_torchvision_ops(), pytest.raises(RuntimeError):
        torch.library.register_fake("flash_nas_test::no_such_op")(lambda x: x)


def test_torchvision_models_build_on_this_torch():
    try:
        torchvision = import_torchvision()
    except ImportError:  # MissingDependencyError is an ImportError
        pytest.skip("torchvision models need the [torchvision] extra")
    model = torchvision.models.mobilenet_v2()
    assert sum(p.numel() for p in model.parameters()) == 3_504_872
    assert model.eval()(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_packages_that_import_torchvision_import_through_require():
    import importlib.util
    import subprocess
    import sys

    for name in ("torchvision", "torchmetrics"):
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"needs {name} installed")
    code = "from flash_nas._imports import require; require('torchmetrics', 'a test')"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
