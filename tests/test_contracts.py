"""Every built-in adapter passes the plugin contract (:class:`flash_nas.plugins.testing.AdapterContract`),
built by name through the plugin registry as ``--space NAME`` builds it, plus one promise the
built-ins keep beyond the contract: an object that is no architecture of the space is an
ArchFormatError, never a TypeError from deep inside or a text that no later run could parse.

A new built-in adapter must get a class here: ``test_every_built_in_adapter_has_a_contract``
fails until it does. FLASH's space is also checked block by block in tests/test_flash_space.py.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, ClassVar

import pytest

import flash_nas
from flash_nas import METRICS, Adapter, ArchFormatError, score
from flash_nas.plugins.testing import AdapterContract

#: Objects that no built-in space takes as an architecture: nothing, a number, a float, rows of
#: booleans and of fractions (True or 1.5 would pass as op 1), a dict of nothing the space knows,
#: an empty row, a list of strings.
NOT_ARCHITECTURES: tuple[object, ...] = (
    None,
    5,
    3.5,
    (True,) * 6,
    (1.5,) * 6,
    {"no such label": 1},
    (),
    ["not", "an", "architecture"],
)


class BuiltInContract(AdapterContract):
    """The plugin contract over ``flash_nas.get_adapter(space, **options)``."""

    space: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def adapter(self) -> Adapter:
        return flash_nas.get_adapter(self.space, **self.options)

    @pytest.mark.parametrize("bad", NOT_ARCHITECTURES, ids=repr)
    def test_objects_that_are_no_architecture_are_rejected(
        self, adapter: Adapter, bad: object
    ) -> None:
        with pytest.raises(ArchFormatError):
            adapter.to_graph(bad)
        with pytest.raises(ArchFormatError):
            adapter.format(bad)
        if type(adapter).index is not Adapter.index:
            with pytest.raises(ArchFormatError):
                adapter.index(bad)
        # A batch may check its architectures when made or when read: either way, one clear error.
        with pytest.raises(ArchFormatError):
            adapter.batch([bad]).texts()


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
        return flash_nas.get_adapter(self.space, **self.options)

    @pytest.fixture
    def example_archs(self, adapter: Adapter) -> list[Hashable]:
        return [
            adapter.parse("tests.contract_models:conv_net"),
            adapter.parse("tests.contract_models:residual_net"),
        ]

    def test_graphs_are_valid_and_scored(
        self, adapter: Adapter, example_archs: list[Hashable]
    ) -> None:
        """The contract's check, but for cells: a traced module does not say where its repeated
        blocks are, so its graph has none and the cell metric NN-Degree is 0 (documented in
        flash_nas_adapters.torch_fx); every other metric applies."""
        names = [name for name in METRICS if name != "nn_mass"]
        for arch in example_archs:
            graph = adapter.to_graph(arch)
            assert graph.cells == ()
            values = score(graph, names)
            assert all(math.isfinite(value) and value >= 0 for value in values.values())
            assert values["params"] > 0 and values["macs"] > 0
            assert values["nn_degree"] == 0


def test_every_built_in_adapter_has_a_contract() -> None:
    built_in = {
        registration.name
        for registration in flash_nas.registrations()
        if registration.kind == "adapter" and registration.distribution == "flash-nas"
    }
    covered = {cls.space for cls in BuiltInContract.__subclasses__()}
    assert built_in, "no built-in adapter registered: is flash-nas installed (pip install -e .)?"
    assert built_in == covered
