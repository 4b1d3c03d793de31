"""NAS-Bench-201 (Dong & Yang, ICLR 2020) as a flash-nas search space.

The network is NAS-Bench-201's own macro skeleton: a 3x3 stem conv to 16 channels with batch
norm, three stages of 5 cells at 16, 32 and 64 channels joined by residual reduction blocks
(ReLU-conv3x3/2-BN, ReLU-conv3x3-BN, shortcut avg-pool/2 then conv1x1), then BN-ReLU, global
average pooling and a linear classifier. Every cell has the same six edges, each one of
``none, skip_connect, nor_conv_1x1 (ReLU-conv-BN), nor_conv_3x3, avg_pool_3x3``.

The whole space (15,625 cells) is a :class:`flash_nas.ChoiceBatch`: one skeleton, six choice
columns, so metrics of the whole space are array operations.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import flash_nas
from flash_nas import (
    Adapter,
    ArchFormatError,
    ArchGraph,
    Cell,
    ChoiceBatch,
    ChoiceSkeleton,
    Edge,
    Layer,
    Op,
    Table,
    Tensor,
    read_table,
)
from flash_nas.errors import ParameterError
from flash_nas.plugins.relaxation import Relaxation, Variable
from flash_nas.validation import check_int
from flash_nas_adapters.nasbench201.encoding import (
    EDGES,
    NNI_OPS,
    OPS,
    Ops,
    check_ops,
    ops_from_string,
    ops_to_string,
)

if TYPE_CHECKING:
    from flash_nas.plugins.translator import SpaceTranslator

N_ARCHS = len(OPS) ** len(EDGES)

#: The CIFAR-10 table shipped with flash-nas (see adapters/data/README.md for its sources).
SHIPPED_TABLE = "nb201_cifar10.csv.gz"


def shipped_table_path() -> Path:
    """Path of the compact CIFAR-10 table that ships in the package."""
    return Path(str(resources.files("flash_nas_adapters") / "data" / SHIPPED_TABLE))


def load_shipped_table() -> Table:
    """NAS-Bench-201 CIFAR-10 accuracies (200 epochs, mean over seeds) for all 15,625 cells.

    Columns: ``c10_valid`` (cifar10-valid, x-valid), ``c10_valid_test`` (cifar10-valid,
    ori-test), ``c10_test`` (cifar10 trained on 50k, ori-test: the usual target),
    ``iso_rep_index`` (smallest index of the cell's isomorphism class), ``in_nbsuitezero_set`` (1
    for the 9,445 cells whose every op lies on an input-output path).
    """
    return read_table(shipped_table_path(), required=("c10_test",))


def load_accuracy_table(source: str | Path | None = None) -> Table:
    """Ground-truth accuracies: the shipped CIFAR-10 table, a CSV, or the official file.

    ``None`` gives :func:`load_shipped_table`. A ``.pth`` path is read as the official
    NAS-Bench-201 benchmark file (a pickle: loading it runs code, so name only a file you
    downloaded yourself); any other path as a CSV with an ``arch`` column.
    """
    if source is None:
        return load_shipped_table()
    path = Path(source)
    if path.suffix == ".pth":
        from flash_nas_adapters.nasbench201.benchmark import read_benchmark_file

        return read_benchmark_file(path)
    return read_table(path)


def _relu_conv_bn(name: str, c_in: int, c_out: int, kernel: int, stride: int = 1) -> Op:
    return Op(
        name,
        (
            Layer("relu", c_in, c_in),
            Layer("conv", c_in, c_out, kernel=kernel, stride=stride, padding=kernel // 2),
            Layer("bn", c_out, c_out),
        ),
    )


def cell_ops(channels: int) -> tuple[Op, ...]:
    """The five candidate ops of a cell edge at ``channels`` channels, in :data:`OPS` order."""
    return (
        Op.zero("none"),
        Op.identity("skip_connect"),
        _relu_conv_bn("nor_conv_1x1", channels, channels, 1),
        _relu_conv_bn("nor_conv_3x3", channels, channels, 3),
        Op(
            "avg_pool_3x3",
            (Layer("avg_pool", channels, channels, kernel=3, stride=1, padding=1),),
        ),
    )


class NasBench201Adapter(Adapter):
    """NAS-Bench-201's 15,625-cell topology space.

    Parameters: ``input_size`` (square input side, 32 for CIFAR), ``num_classes`` (10),
    ``input_channels`` (3), ``stem_channels`` (16; doubled at each of the two reductions) and
    ``cells_per_stage`` (5). Canonical text: the benchmark's arch string; the index is the
    official 0..15624 one.
    """

    description = "NAS-Bench-201 cell space (15,625 cells; official index, CIFAR-10 table shipped)"

    def __init__(
        self,
        *,
        input_size: int = 32,
        num_classes: int = 10,
        input_channels: int = 3,
        stem_channels: int = 16,
        cells_per_stage: int = 5,
    ) -> None:
        # the upper limits are the space's stated bounds: beyond them the numbers mean nothing
        # (a 10^8-pixel input is a typo) and one network would not fit in memory
        for name, value, low, high in (
            ("input_size", input_size, 4, 4096),
            ("num_classes", num_classes, 1, 1_000_000),
            ("input_channels", input_channels, 1, 4096),
            ("stem_channels", stem_channels, 1, 8192),
            ("cells_per_stage", cells_per_stage, 1, 1024),
        ):
            check_int(value, name, owner="NasBench201Adapter", low=low, high=high)
        if input_size % 4:
            raise ParameterError(
                f"The 'input_size' parameter of NasBench201Adapter must be divisible by 4 (two "
                f"stride-2 reductions). Got {input_size} instead."
            )
        self.input_size = input_size
        self.num_classes = num_classes
        self.input_channels = input_channels
        self.stem_channels = stem_channels
        self.cells_per_stage = cells_per_stage

    # ----------------------------------------------------------------- text and index
    def parse(self, text: str) -> Ops:
        return ops_from_string(text)

    def format(self, arch: Hashable) -> str:
        return ops_to_string(check_ops(arch))

    @property
    def _index_table(self) -> tuple[np.ndarray, np.ndarray]:
        """(code -> official index, official index -> code); code is the base-5 ops number."""
        return _shipped_index_table()

    def index(self, arch: Hashable) -> int:
        return int(self._index_table[0][_code(check_ops(arch))])

    def from_index(self, index: int) -> Ops:
        """The cell with official index ``index``."""
        if not isinstance(index, (int, np.integer)) or not 0 <= index < N_ARCHS:
            raise ArchFormatError(
                f"NAS-Bench-201 index {index!r} is out of range; expected an int in "
                f"0..{N_ARCHS - 1}."
            )
        return _decode(int(self._index_table[1][index]))

    def size(self) -> int:
        return N_ARCHS

    def tables(self) -> dict[str, Callable[[], Table]]:
        """``cifar10``: the shipped CIFAR-10 table (see :func:`load_shipped_table`)."""
        return {"cifar10": load_shipped_table}

    def relaxation(self) -> NasBench201Relaxation:
        return NasBench201Relaxation()

    # ----------------------------------------------------------------- search-engine hooks
    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """One-hot of each edge's op: six blocks of five columns (the ops are categories)."""
        rows = np.array([check_ops(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return np.eye(len(OPS))[rows].reshape(len(rows), -1)

    def encoding_groups(self) -> list[int]:
        """One group (one length scale) per edge: its five one-hot columns."""
        return [column // len(OPS) for column in range(len(EDGES) * len(OPS))]

    def encoding_kinds(self) -> list[str]:
        """Each one-hot column's op: an op costs a device about the same on any edge."""
        return [OPS[column % len(OPS)] for column in range(len(EDGES) * len(OPS))]

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Whether node 3 (the cell output) has no path of non-``none`` edges from node 0."""
        rows = np.array([check_ops(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return ~_reaches_output(rows != OPS.index("none"))

    def chance_accuracy(self) -> float:
        return 100.0 / self.num_classes

    def search_space(self) -> dict[str, Any]:
        """The space as NNI-style parameters: six ``choice`` parameters ``cell/{j}_{i}`` over
        NNI's op names (what the Optuna sampler and the Ray searcher use when given none)."""
        ops = [NNI_OPS[op] for op in OPS]
        return {f"cell/{j}_{i}": {"_type": "choice", "_value": list(ops)} for j, i in EDGES}

    # ----------------------------------------------------------------- graphs
    @cached_property
    def skeleton(self) -> ChoiceSkeleton:
        """The macro network with its 6 x cells slot edges (column = edge position)."""
        return _build_skeleton(self)

    def to_graph(self, arch: Hashable) -> ArchGraph:
        ops = check_ops(arch)
        return self.skeleton.graph(ops, ops_to_string(ops))

    def batch(self, archs: Sequence[Hashable]) -> ChoiceBatch:
        rows = np.array([check_ops(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return self._batch(rows)

    def _batch(self, rows: np.ndarray) -> ChoiceBatch:
        to_index = self._index_table[0]
        weights = len(OPS) ** np.arange(5, -1, -1)
        return ChoiceBatch(
            self.skeleton,
            rows,
            lambda row: ops_to_string(tuple(int(op) for op in row)),
            indices=to_index[rows @ weights],
        )

    def enumerate(self) -> ChoiceBatch:
        """All 15,625 cells in official index order."""
        return self._batch(_decode_many(self._index_table[1]))

    def sample(self, n: int, seed: int) -> ChoiceBatch:
        """``n`` distinct cells drawn uniformly without replacement, reproducibly."""
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= N_ARCHS:
            raise ParameterError(
                f"The sample size must be an int in 1..{N_ARCHS} (the space's size). Got {n!r}."
            )
        codes = np.random.default_rng(seed).choice(N_ARCHS, size=int(n), replace=False)
        return self._batch(_decode_many(codes))


#: Op ids in the order a relaxed edge variable walks them: by NN-Degree contribution (none 0,
#: skip and pooling 1, convs C_in), ties broken by the neuron-level contribution (skip 1 <
#: pooling 9, conv 1x1 C < conv 3x3 9C).
RELAXED_ORDER = (
    OPS.index("none"),
    OPS.index("skip_connect"),
    OPS.index("avg_pool_3x3"),
    OPS.index("nor_conv_1x1"),
    OPS.index("nor_conv_3x3"),
)


class NasBench201Relaxation(Relaxation):
    """Six index variables, one per edge, over :data:`RELAXED_ORDER`; a single level (6-D).

    The integer repair tries every other op on each edge (24 neighbours): the options of a
    categorical edge are not truly ordered, so all of them are one step away.
    """

    def __init__(self) -> None:
        self._variables = tuple(Variable(f"edge{j}{i}", len(OPS), 1) for j, i in EDGES)

    @property
    def variables(self) -> tuple[Variable, ...]:
        return self._variables

    def decode(self, values: Mapping[str, float]) -> Ops:
        return tuple(RELAXED_ORDER[round(values[v.name])] for v in self._variables)

    def encode(self, arch: Hashable) -> dict[str, float]:
        ops = check_ops(arch)
        return {v.name: float(RELAXED_ORDER.index(op)) for v, op in zip(self._variables, ops)}

    def start(self) -> dict[str, float]:
        return {v.name: (len(OPS) - 1) / 2 for v in self._variables}

    def neighbours(self, arch: Hashable) -> Iterator[Ops]:
        ops = check_ops(arch)
        for position in range(len(ops)):
            for op in range(len(OPS)):
                if op != ops[position]:
                    yield (*ops[:position], op, *ops[position + 1 :])


def _reaches_output(on: np.ndarray) -> np.ndarray:
    """Per row of edge flags (edge order of :data:`EDGES`), whether node 3 is reachable."""
    reached = {0: np.ones(len(on), dtype=bool)}
    for node in (1, 2, 3):
        reached[node] = np.zeros(len(on), dtype=bool)
        for position, (source, target) in enumerate(EDGES):
            if target == node:
                reached[node] |= reached[source] & on[:, position]
    return reached[3]


@cache
def _shipped_index_table() -> tuple[np.ndarray, np.ndarray]:
    """The shipped table's index order, read once per process (every adapter and engine needs
    it, and the table does not change while flash-nas runs); read-only arrays."""
    table = load_shipped_table()
    if len(table) != N_ARCHS or table.indices is None:
        raise ArchFormatError(
            f"{table.source}: expected {N_ARCHS} rows with an index column; the shipped "
            f"table is damaged, reinstall flash-nas."
        )
    codes = np.array([_code(ops_from_string(arch)) for arch in table.archs])
    to_code = np.empty(N_ARCHS, dtype=np.int64)
    to_code[table.indices] = codes
    to_index = np.empty(N_ARCHS, dtype=np.int64)
    to_index[codes] = table.indices
    to_index.setflags(write=False)
    to_code.setflags(write=False)
    return to_index, to_code


def _code(ops: Sequence[int]) -> int:
    code = 0
    for op in ops:
        code = code * len(OPS) + op
    return code


def _decode(code: int) -> Ops:
    ops = []
    for _ in EDGES:
        code, op = divmod(code, len(OPS))
        ops.append(op)
    return tuple(reversed(ops))


def _decode_many(codes: np.ndarray) -> np.ndarray:
    digits = (codes[:, None] // len(OPS) ** np.arange(5, -1, -1)) % len(OPS)
    return digits.astype(np.int64)


def _build_skeleton(space: NasBench201Adapter) -> ChoiceSkeleton:
    nodes: list[Tensor] = []
    edges: list[Edge] = []
    cells: list[Cell] = []
    slots: dict[int, tuple[int, Sequence[Op]]] = {}
    side = space.input_size
    channels = space.stem_channels
    nodes.append(Tensor("input", space.input_channels, side, side))
    nodes.append(Tensor("stem", channels, side, side))
    edges.append(
        Edge(
            "input",
            "stem",
            Op(
                "stem",
                (
                    Layer("conv", space.input_channels, channels, kernel=3, padding=1),
                    Layer("bn", channels, channels),
                ),
            ),
        )
    )
    previous = "stem"
    for stage in range(3):
        if stage:
            previous, channels, side = _reduction(nodes, edges, previous, channels, side, stage)
        options = cell_ops(channels)
        for repeat in range(space.cells_per_stage):
            name = f"s{stage}c{repeat}"
            members = [previous] + [f"{name}.n{i}" for i in (1, 2, 3)]
            nodes.extend(Tensor(member, channels, side, side) for member in members[1:])
            for column, (j, i) in enumerate(EDGES):
                slots[len(edges)] = (column, options)
                edges.append(Edge(members[j], members[i], options[1]))
            # Skip links are the three edges that jump a node (0->2, 0->3, 1->3).
            cells.append(
                Cell(name, tuple(members), (previous,), members[3], skip_capacity=3 * channels)
            )
            previous = members[3]
    nodes.append(Tensor("pooled", channels, 1, 1))
    edges.append(
        Edge(
            previous,
            "pooled",
            Op(
                "lastact_pool",
                (
                    Layer("bn", channels, channels),
                    Layer("relu", channels, channels),
                    Layer("global_avg_pool", channels, channels),
                ),
            ),
        )
    )
    nodes.append(Tensor("logits", space.num_classes, 1, 1))
    edges.append(
        Edge(
            "pooled",
            "logits",
            Op("classifier", (Layer("linear", channels, space.num_classes, bias=True),)),
        )
    )
    skeleton = ArchGraph(
        tuple(nodes), tuple(edges), "input", "logits", tuple(cells), name="nasbench201"
    )
    return ChoiceSkeleton(skeleton, slots)


def _reduction(
    nodes: list[Tensor], edges: list[Edge], previous: str, channels: int, side: int, stage: int
) -> tuple[str, int, int]:
    """NAS-Bench-201's residual reduction block: halves the side, doubles the channels."""
    wide, half = channels * 2, side // 2
    middle, out = f"r{stage}.a", f"r{stage}.out"
    nodes.append(Tensor(middle, wide, half, half))
    nodes.append(Tensor(out, wide, half, half))
    edges.append(Edge(previous, middle, _relu_conv_bn("conv_a", channels, wide, 3, stride=2)))
    edges.append(Edge(middle, out, _relu_conv_bn("conv_b", wide, wide, 3)))
    edges.append(
        Edge(
            previous,
            out,
            Op(
                "shortcut",
                (
                    Layer("avg_pool", channels, channels, kernel=2, stride=2),
                    Layer("conv", channels, wide, kernel=1),
                ),
            ),
        )
    )
    return out, wide, half


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("nasbench201", NasBench201Adapter)


@flash_nas.hookimpl
def translate_search_space(
    adapter: Adapter, search_space: dict[str, Any], build: Callable[..., Adapter]
) -> SpaceTranslator | None:
    """NNI's ``cell/{j}_{i}`` parameters (:mod:`flash_nas_adapters.nasbench201.params`)."""
    if isinstance(adapter, NasBench201Adapter):
        from flash_nas_adapters.nasbench201.params import NasBench201Translator

        return NasBench201Translator(adapter, search_space)
    return None
