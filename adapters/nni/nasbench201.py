"""NNI's ``NasBench201`` model space (``nni.nas.hub.pytorch``) as a flash-nas search space.

A thin wrapper of :mod:`flash_nas_adapters.nasbench201.space`: an NNI sample (labels
``cell/{j}_{i}``, node j feeds node i, values ``none, skip_connect, conv_1x1, conv_3x3,
avg_pool_3x3``) is the same cell as NAS-Bench-201's arch string, and NNI builds the same network
(stem, three stages of cells joined by residual reduction blocks, the same head), so the graph, the
official index, the CIFAR-10 table and the SHGO relaxation are the ``nasbench201`` adapter's. Only
the text differs: here it is NNI's sample as compact JSON (see
:mod:`flash_nas_adapters.nni.sample`)::

    {"cell/0_1":"conv_3x3","cell/0_2":"none","cell/1_2":"avg_pool_3x3",
     "cell/0_3":"skip_connect","cell/1_3":"conv_1x1","cell/2_3":"conv_3x3"}

(one line). An arch is the ``nasbench201`` adapter's ops tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from flash_nas import Adapter, ArchGraph, ChoiceBatch, Table, require
from flash_nas.plugins.relaxation import Relaxation
from flash_nas.validation import ParameterError
from flash_nas_adapters.nasbench201.encoding import (
    EDGES,
    NNI_OPS,
    OPS,
    Ops,
    check_ops,
    ops_from_nni,
    ops_from_string,
    ops_to_nni,
)
from flash_nas_adapters.nasbench201.space import NasBench201Adapter
from flash_nas_adapters.nni.sample import Label, SampleCodec

SPACE = "NNI NasBench201"
#: NNI's labels and choices, in the order of ``NasBench201().simplify()``.
LABELS = tuple(Label(f"cell/{j}_{i}", tuple(NNI_OPS.values())) for j, i in EDGES)
#: Position of each NAS-Bench-201 op (an ops-tuple entry) among NNI's choices.
_NNI_POSITION = tuple(LABELS[0].values.index(NNI_OPS[op]) for op in OPS)


class NniNasBench201Adapter(Adapter):
    """NNI's ``NasBench201(stem_out_channels, num_modules_per_stack, num_labels)``.

    The parameters are NNI's, with NNI's defaults, plus ``input_size`` (32: CIFAR). Everything
    but the text is delegated to a :class:`~flash_nas_adapters.nasbench201.space.NasBench201Adapter`
    built with the same numbers (:attr:`nasbench201`).
    """

    description = "NNI's NasBench201 space (nni.nas.hub.pytorch); text: NNI's sample as JSON"

    def __init__(
        self,
        *,
        stem_out_channels: int = 16,
        num_modules_per_stack: int = 5,
        num_labels: int = 10,
        input_size: int = 32,
    ) -> None:
        try:
            self.nasbench201 = NasBench201Adapter(
                input_size=input_size,
                num_classes=num_labels,
                stem_channels=stem_out_channels,
                cells_per_stage=num_modules_per_stack,
            )
        except ParameterError as exc:
            raise ParameterError(
                f"{exc} (NniNasBench201Adapter passes NNI's stem_out_channels, "
                f"num_modules_per_stack and num_labels on as stem_channels, cells_per_stage and "
                f"num_classes.)"
            ) from exc
        self.codec = SampleCodec(SPACE, LABELS)
        self._nni_arguments = {
            "stem_out_channels": stem_out_channels,
            "num_modules_per_stack": num_modules_per_stack,
            "num_labels": num_labels,
        }

    def nni_space(self) -> Any:
        """NNI's ``NasBench201`` space with this adapter's parameters (needs NNI)."""
        hub = require("nni.nas.hub.pytorch", "Building NNI's NasBench201 space")
        return hub.NasBench201(**self._nni_arguments)

    # ------------------------------------------------------------ sample and text
    def from_sample(self, sample: Mapping[str, Any]) -> Ops:
        """The arch of an NNI sample dict (as ``space.random()`` fills it)."""
        self.codec.encode(sample)  # unknown labels or values: an error naming them
        return ops_from_nni(sample)

    def to_sample(self, arch: Hashable) -> dict[str, str]:
        """The NNI sample dict of ``arch``, ready for ``space.freeze``."""
        return ops_to_nni(check_ops(arch))

    def parse(self, text: str) -> Ops:
        return self.from_sample(self.codec.parse_text(text))

    def format(self, arch: Hashable) -> str:
        return self.codec.text([_NNI_POSITION[op] for op in check_ops(arch)])

    def index(self, arch: Hashable) -> int:
        return self.nasbench201.index(arch)

    def from_index(self, index: int) -> Ops:
        """The cell with NAS-Bench-201's official index ``index``."""
        return self.nasbench201.from_index(index)

    def size(self) -> int:
        return self.nasbench201.size()

    def tables(self) -> dict[str, Callable[[], Table]]:
        """``cifar10``: the ``nasbench201`` adapter's CIFAR-10 table, rows named by NNI text."""
        return {"cifar10": self._cifar10}

    def _cifar10(self) -> Table:
        table = self.nasbench201.tables()["cifar10"]()
        texts = tuple(self.format(ops_from_string(arch)) for arch in table.archs)
        return Table(texts, table.columns, table.indices, source=table.source)

    def relaxation(self) -> Relaxation:
        return self.nasbench201.relaxation()

    # ------------------------------------------------------------------- graphs
    def to_graph(self, arch: Hashable | Mapping[str, Any]) -> ArchGraph:
        """The network of ``arch`` or of an NNI sample dict, named by its canonical text."""
        ops = self.from_sample(arch) if isinstance(arch, Mapping) else check_ops(arch)
        return self.nasbench201.skeleton.graph(ops, self.format(ops))

    def batch(self, archs: Sequence[Hashable]) -> ChoiceBatch:
        return self._rename(self.nasbench201.batch(archs))

    def enumerate(self) -> ChoiceBatch:
        """All 15,625 cells in NAS-Bench-201's official index order."""
        return self._rename(self.nasbench201.enumerate())

    def sample(self, n: int, seed: int) -> ChoiceBatch:
        """``n`` distinct cells, uniform without replacement (each cell is one NNI sample)."""
        return self._rename(self.nasbench201.sample(n, seed))

    def _row_text(self, row: np.ndarray) -> str:
        return self.codec.text([_NNI_POSITION[op] for op in row])

    def _rename(self, batch: ChoiceBatch) -> ChoiceBatch:
        """The same batch, its architectures named by NNI text."""
        return ChoiceBatch(batch.skeleton, batch.choices, self._row_text, batch.indices())
