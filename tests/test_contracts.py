"""Every built-in adapter passes the plugin contract (:class:`flash_nas.plugins.testing.AdapterContract`),
built by name through the plugin registry as ``--space NAME`` builds it.

A new built-in adapter must get a class here: ``test_every_built_in_adapter_has_a_contract``
fails until it does. FLASH's space is also checked block by block in tests/test_flash_space.py.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Hashable
from pathlib import Path
from typing import Any, ClassVar

import pytest

import flash_nas
from flash_nas import Adapter
from flash_nas.plugins.testing import AdapterContract, MethodContract

TOY_PLUGIN = Path(__file__).resolve().parents[1] / "docs" / "examples" / "toy_plugin"


class BuiltInContract(AdapterContract):
    """The plugin contract over ``flash_nas.get_adapter(space, **options)``."""

    space: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def adapter(self) -> Adapter:
        return flash_nas.get_adapter(self.space, **self.options)


class TestNasBench201(BuiltInContract):
    space = "nasbench201"


class TestNasBench201ForImageNet16(BuiltInContract):
    space = "nasbench201"
    options: ClassVar[dict[str, Any]] = {"input_size": 16, "num_classes": 120}


class TestFlash(BuiltInContract):
    space = "flash"


class TestNasBench101(BuiltInContract):
    space = "nasbench101"


class TestNasBench301(BuiltInContract):
    space = "nasbench301"
    malformed_text = "Genotype(normal=[], normal_concat=[2, 3, 4, 5])"


class TestTransNas101(BuiltInContract):
    space = "transnas101-micro"


class TestTransNas101EncoderOnly(BuiltInContract):
    """A dense task: the encoder without a classifier head."""

    space = "transnas101-micro"
    options: ClassVar[dict[str, Any]] = {"task": "normal"}


class TestFBNet(BuiltInContract):
    space = "fbnet"


class TestNniNasBench201(BuiltInContract):
    """NNI's spaces map samples to graphs without NNI or torch: they run with the core alone."""

    space = "nni-nasbench201"


class TestNniDarts(BuiltInContract):
    space = "nni-darts"


class TestNniProxylessNas(BuiltInContract):
    space = "nni-proxylessnas"


class TestTorch(BuiltInContract):
    """Any torch model named ``module:callable``: it can neither sample nor enumerate, so the
    examples are the small models of tests/contract_models.py."""

    space = "torch"
    options: ClassVar[dict[str, Any]] = {"input_size": 16}
    malformed_text = "not a module path"

    @pytest.fixture
    def adapter(self) -> Adapter:
        pytest.importorskip("torch", reason="the torch adapter needs the [torch] extra")
        with flash_nas.allow_code_imports(self.space):  # the models are this repository's
            return flash_nas.get_adapter(self.space, **self.options)

    @pytest.fixture
    def example_archs(self, adapter: Adapter) -> list[Hashable]:
        return [
            adapter.parse("tests.contract_models:conv_net"),
            adapter.parse("tests.contract_models:residual_net"),
        ]

    # A traced module does not say where its repeated blocks are: its graph has no cells and
    # the cell metric NN-Degree is 0 (documented in flash_nas_adapters.torch.fx).
    has_cells = False


def test_every_built_in_adapter_has_a_contract() -> None:
    built_in = {
        registration.name
        for registration in flash_nas.registrations()
        if registration.kind == "adapter" and registration.distribution == "flash-nas"
    }
    covered = {cls.space for cls in BuiltInContract.__subclasses__()}
    assert built_in, "no built-in adapter registered: is flash-nas installed (pip install -e .)?"
    assert built_in == covered


class TestToyPluginExample(AdapterContract):
    """The plugin guide's example (docs/examples/toy_plugin) keeps the contract it teaches."""

    @pytest.fixture
    def adapter(self) -> Adapter:
        spec = importlib.util.spec_from_file_location("toy_space", TOY_PLUGIN / "toy_space.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ToySpace()


class BuiltInMethodContract(MethodContract):
    """The search-method contract over a built-in method, by its registered name."""

    name: ClassVar[str]

    @pytest.fixture
    def method(self) -> str:
        return self.name


class TestBayesianOptimisationMethod(BuiltInMethodContract):
    name = "bo"


class TestFlashMethod(BuiltInMethodContract):
    name = "flash"


def test_every_built_in_method_has_a_contract():
    covered = {cls.name for cls in BuiltInMethodContract.__subclasses__()}
    built_in = {
        r.name for r in flash_nas.registrations() if r.kind == "method" and r.plugin == "methods"
    }
    assert built_in == covered == {"bo", "flash"}
