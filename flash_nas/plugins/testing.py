"""Contract tests a plugin author reuses (needs pytest).

Subclass a contract in your own test module and supply its fixture::

    from flash_nas.plugins.testing import AdapterContract

    class TestMySpace(AdapterContract):
        @pytest.fixture
        def adapter(self):
            return MySpaceAdapter()

pytest then runs every ``test_*`` method below against your adapter. The built-in plugins pass
the same contracts (see ``tests/test_contracts.py``). :class:`MethodContract` takes the
registered name of a search method (fixture ``method``) and drives it through the public
:class:`flash_nas.SearchEngine`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, ClassVar

import numpy as np
import pytest

from flash_nas.errors import ArchFormatError, GraphError, NotSupportedError
from flash_nas.graph import ArchGraph
from flash_nas.graph.batch import GraphBatch
from flash_nas.graph.metrics import METRICS, score, score_batch
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.method import SearchMethod
from flash_nas.plugins.quantities import declared
from flash_nas.plugins.registry import get_method, method_names

__all__ = ["AdapterContract", "HardwareModelContract", "MethodContract"]


def _examples(adapter: Adapter, count: int = 6) -> list[Hashable]:
    try:
        batch = adapter.sample(count, seed=0)
    except NotSupportedError:
        batch = adapter.enumerate()
    texts = batch.texts()[:count]
    return [adapter.parse(text) for text in texts]


class AdapterContract:
    """What every adapter must do. Supply the ``adapter`` fixture.

    Override the ``example_archs`` fixture when the space can neither sample nor enumerate.
    """

    #: Text that is no architecture of the space; override if yours would accept it.
    malformed_text = "@@ not an architecture @@"
    #: Objects that are no architecture: each must be an ArchFormatError from ``to_graph``,
    #: ``format``, ``index`` and a batch, never a TypeError from deep inside or a text no later
    #: run could parse (``True`` or ``1.5`` would otherwise pass as op 1). Override to drop one
    #: your space really takes (a space indexed by ints takes ``5``).
    not_architectures: ClassVar[tuple[object, ...]] = (
        None,
        5,
        3.5,
        (True,) * 6,
        (1.5,) * 6,
        {"no such label": 1},
        (),
        ["not", "an", "architecture"],
    )
    #: Whether graphs declare their cells (NN-Degree sums over cells). A traced model that does
    #: not say where its repeated blocks are sets False: its NN-Degree is then 0.
    has_cells: ClassVar[bool] = True

    @pytest.fixture
    def adapter(self) -> Adapter:
        raise NotImplementedError("Supply an `adapter` fixture returning your Adapter instance.")

    @pytest.fixture
    def example_archs(self, adapter: Adapter) -> list[Hashable]:
        return _examples(adapter)

    def test_is_an_adapter(self, adapter: Adapter) -> None:
        assert isinstance(adapter, Adapter)

    def test_text_round_trips(self, adapter: Adapter, example_archs: list[Hashable]) -> None:
        for arch in example_archs:
            text = adapter.format(arch)
            assert isinstance(text, str) and text
            assert adapter.parse(text) == arch
            assert adapter.format(adapter.parse(text)) == text

    def test_malformed_text_is_rejected(self, adapter: Adapter) -> None:
        with pytest.raises(ArchFormatError):
            adapter.parse(self.malformed_text)

    def test_graphs_are_valid_and_scored(
        self, adapter: Adapter, example_archs: list[Hashable]
    ) -> None:
        for arch in example_archs:
            graph = adapter.to_graph(arch)
            assert isinstance(graph, ArchGraph)
            if self.has_cells:
                assert graph.cells, "NN-Degree sums over cells: the graph must declare its cells"
            else:
                assert graph.cells == ()
            names = [name for name in METRICS if name != "nn_mass"]
            values = score(graph, names)
            assert all(math.isfinite(value) and value >= 0 for value in values.values())
            assert values["params"] > 0

    def test_objects_that_are_no_architecture_are_rejected(self, adapter: Adapter) -> None:
        for bad in self.not_architectures:
            with pytest.raises(ArchFormatError):
                adapter.to_graph(bad)
            with pytest.raises(ArchFormatError):
                adapter.format(bad)
            if type(adapter).index is not Adapter.index:
                with pytest.raises(ArchFormatError):
                    adapter.index(bad)
            # A batch may check its architectures when made or when read: one clear error.
            with pytest.raises(ArchFormatError):
                adapter.batch([bad]).texts()

    def test_batch_agrees_with_graphs(
        self, adapter: Adapter, example_archs: list[Hashable]
    ) -> None:
        batch = adapter.batch(example_archs)
        assert isinstance(batch, GraphBatch)
        assert len(batch) == len(example_archs)
        assert batch.texts() == [adapter.format(arch) for arch in example_archs]
        names = [name for name in METRICS if name != "nn_mass"]
        batched = score_batch(batch, names)
        for position, arch in enumerate(example_archs):
            single = score(adapter.to_graph(arch), names)
            for name in names:
                assert batched[name][position] == pytest.approx(single[name], rel=1e-9), name

    def test_nn_mass_is_defined_or_explained(
        self, adapter: Adapter, example_archs: list[Hashable]
    ) -> None:
        graph = adapter.to_graph(example_archs[0])
        try:
            value = score(graph, ["nn_mass"])["nn_mass"]
        except GraphError as exc:
            assert "skip capacity" in str(exc)
        else:
            assert math.isfinite(value) and value >= 0

    def test_size_is_consistent(self, adapter: Adapter) -> None:
        size = adapter.size()
        assert size is None or (isinstance(size, int) and size >= 1)
        if size is not None and size <= 100_000:
            try:
                batch = adapter.enumerate()
            except NotSupportedError:
                return
            assert len(batch) == size
            assert len(set(batch.texts())) == size

    def test_sampling_is_reproducible(self, adapter: Adapter) -> None:
        try:
            first = adapter.sample(5, seed=123)
        except NotSupportedError:
            pytest.skip("the space does not sample")
        assert first.texts() == adapter.sample(5, seed=123).texts()
        assert len(first) == 5

    def test_index_round_trips(self, adapter: Adapter, example_archs: list[Hashable]) -> None:
        indices = adapter.batch(example_archs).indices()
        if indices is None:
            assert all(adapter.index(arch) is None for arch in example_archs)
            return
        assert list(indices) == [adapter.index(arch) for arch in example_archs]
        from_index = getattr(adapter, "from_index", None)
        if from_index is not None:
            assert [from_index(int(i)) for i in indices] == list(example_archs)


class HardwareModelContract:
    """What every hardware model must do. Supply the ``model`` and ``graphs`` fixtures."""

    @pytest.fixture
    def model(self) -> HardwareModel:
        raise NotImplementedError("Supply a `model` fixture returning your HardwareModel.")

    @pytest.fixture
    def graphs(self) -> list[ArchGraph]:
        raise NotImplementedError("Supply a `graphs` fixture: a few ArchGraphs to estimate.")

    def test_reports_its_quantities(self, model: HardwareModel, graphs: list[ArchGraph]) -> None:
        # Every quantity has a unit: a standard name, or a Quantity the model declares.
        assert model.quantities and all(q.unit for q in declared(model))
        for graph in graphs:
            values = model.estimate(graph)
            assert set(values) == set(model.quantities)
            assert all(math.isfinite(v) and v > 0 for v in values.values()), values

    def test_batch_agrees_with_single(self, model: HardwareModel, graphs: list[ArchGraph]) -> None:
        from flash_nas.graph.batch import ListBatch

        batch = ListBatch(graphs, lambda graph: graph, lambda graph: graph.name)
        batched = model.estimate_batch(batch)
        for position, graph in enumerate(graphs):
            single = model.estimate(graph)
            for name in model.quantities:
                assert np.isclose(batched[name][position], single[name], rtol=1e-6), name


class MethodContract:
    """What every search method must do. Supply the ``method`` fixture (its registered name).

    The engine searches a fixed list of NAS-Bench-201 cells (``candidates`` of them) with
    synthetic labels, under a parameter limit, so that each check takes seconds.
    """

    candidates: ClassVar[int] = 80

    @pytest.fixture
    def method(self) -> str:
        raise NotImplementedError("Supply a `method` fixture returning your method's name.")

    def engine(self, method: str, **settings: Any) -> Any:
        import flash_nas  # the public API, as a plugin's own tests use it

        adapter = flash_nas.get_adapter("nasbench201")
        archs = [adapter.parse(t) for t in adapter.sample(self.candidates, seed=3).texts()]
        return flash_nas.SearchEngine(
            adapter,
            method=method,
            domain=flash_nas.ListDomain(adapter, archs),
            max_params=400_000,
            seed=0,
            **settings,
        )

    def run(self, engine: Any, count: int) -> list[Any]:
        proposals = []
        for _ in range(count):
            (proposal,) = engine.ask()
            proposals.append(proposal)
            engine.tell([proposal.arch], [synthetic_label(proposal.text)])
        return proposals

    def test_is_registered_with_valid_defaults(self, method: str) -> None:
        cls = get_method(method)
        assert method in method_names() and issubclass(cls, SearchMethod)
        assert cls.min_labels >= 1 and cls.default_initial_samples >= 1
        assert cls.default_features and isinstance(cls.description, str) and cls.description

    def test_proposes_each_candidate_once_within_the_limits(self, method: str) -> None:
        engine: Any = self.engine(method, initial_samples=4)
        needed = max(engine.strategy.min_labels, 4)
        proposals = self.run(engine, needed + 6)
        texts = [p.text for p in proposals]
        assert len(set(texts)) == len(texts)
        assert all(engine.domain.contains(p.arch) for p in proposals)
        assert all(p.values["params"] <= 400_000 for p in proposals)
        assert {p.source for p in proposals[needed:]} == {"model"}

    def test_predicts_and_recommends_a_feasible_architecture(self, method: str) -> None:
        engine: Any = self.engine(method, initial_samples=4)
        self.run(engine, max(engine.strategy.min_labels, 4) + 3)
        rows = engine.candidate_rows()
        mean, std = engine.predict([engine.candidates.archs[r] for r in rows])
        assert mean.shape == std.shape == (len(rows),)
        assert np.isfinite(mean).all() and (std >= 0).all()
        chosen = engine.recommend()
        assert chosen.values["params"] <= 400_000 and engine.domain.contains(chosen.arch)
        assert chosen.measured or chosen.note  # a prediction is never passed off as measured
        assert engine.summary() and all(isinstance(line, str) for line in engine.summary())

    def test_a_saved_run_resumes_with_the_same_proposals(self, method: str, tmp_path: Any) -> None:
        import flash_nas

        engine: Any = self.engine(method, initial_samples=4)
        self.run(engine, max(engine.strategy.min_labels, 4) + 1)
        engine.save(tmp_path / "state.json")
        resumed = flash_nas.SearchEngine.load(
            tmp_path / "state.json", space=engine.adapter, domain=engine.domain
        )
        assert [p.text for p in resumed.ask(2)] == [p.text for p in engine.ask(2)]


def synthetic_label(text: str) -> float:
    """A label in [50, 90) that depends on the architecture's text alone (no training)."""
    import zlib

    return 50.0 + (zlib.crc32(text.encode()) % 4000) / 100.0
