"""TransNAS-Bench-101's micro (cell) space (Duan et al., CVPR 2021) as a flash-nas search space.

The network is the benchmark's encoder ``64-41414-<cell>`` (``lib/models/net_infer/net_macro.py``
of yawen-d/TransNASBench), on 256x256 inputs:

* **stem** -- conv3x3/2 to 32 channels, BN, then ReLU-conv3x3/2-BN to 64 (64x64 maps);
* **five modules** of two cells each, coded ``41414``: a ``4`` doubles the channels and halves the
  side in its first cell, a ``1`` keeps both (64 -> 128/2, 128, 256/2, 256, 512/2: 8x8 maps);
* **a cell** is NAS-Bench-201's: node i sums one op from every node j < i, node 3 is the output,
  and no residual. Ops (TransNAS codes): **0 none, 1 skip_connect, 2 nor_conv_1x1 (ReLU-conv-BN),
  3 nor_conv_3x3**. The edges leaving node 0 carry the cell's stride and channel change, so there
  ``skip_connect`` is a FactorizedReduce (ReLU, two 1x1/2 convs each writing half, BN; written
  as one 1x1/2 conv with the same weights and MACs, as :mod:`~flash_nas_adapters.nni.darts`
  does).
* **head** -- by ``task`` (the adapter parameter), after the official training configs
  (``configs/train_from_scratch/<task>/config.py``): ``class_scene`` global pooling and a linear
  layer to 47 classes, ``class_object`` to 75, ``room_layout`` to 9 regression outputs,
  ``jigsaw`` to 1,000 permutation classes (its siamese input, 9 tiles through the shared encoder
  into one linear layer over the 9 x 512 features, is modelled as one tile: the head has 512
  instead of 4,608 inputs), ``segmentsemantic``, ``normal`` and ``autoencoder`` the encoder alone
  (their conv/deconv decoders are the same for every cell and an ArchGraph has no transposed
  convolution). NAS-Lib builds its own heads with 63 and 100 classes for the two classification
  tasks; ``num_classes`` overrides the head's width.

Canonical text: NAS-Bench-201 syntax with these four op names
(``|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|...|``), the ``arch_str`` of the shipped
table. An arch is the tuple of six TransNAS codes in string order (1<-0, 2<-0, 2<-1, 3<-0, 3<-1,
3<-2), so ``64-41414-a_bc_def`` is TransNAS-Bench's own key of the cell ``(a, b, c, d, e, f)``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import cached_property

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
)
from flash_nas.validation import ParameterError, check_choice, check_int
from flash_nas_adapters.choice_codes import choice_codes
from flash_nas_adapters.space_tables import TNB101_TASKS, transnas101_table

#: Op names by TransNAS-Bench-101 code.
OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_ARCHS = len(OPS) ** len(EDGES)
MACRO_CODE = "41414"
CELLS_PER_MODULE = 2
#: Output width of each task's head (None: the encoder alone), per the official configs.
HEADS: dict[str, int | None] = {
    "class_scene": 47,
    "class_object": 75,
    "jigsaw": 1000,
    "room_layout": 9,
    "segmentsemantic": None,
    "normal": None,
    "autoencoder": None,
}
CLASSIFICATION = ("class_scene", "class_object", "jigsaw")

#: Six op codes, one per edge of :data:`EDGES` (the length is checked where codes are made:
#: :func:`check_cell` and the parsers).
Code = tuple[int, ...]


def parse_cell(text: str) -> Code:
    """The six TransNAS codes of an NB201-syntax string over :data:`OPS`."""
    groups = text.strip().split("+") if isinstance(text, str) else []
    form = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
    if len(groups) != 3:
        raise ArchFormatError(
            f"Malformed TransNAS-Bench-101 micro cell {text!r}: expected {form} with ops "
            f"{', '.join(OPS)}."
        )
    codes: list[int] = []
    for target, group in enumerate(groups, start=1):
        tokens = group[1:-1].split("|") if group.startswith("|") and group.endswith("|") else []
        if len(tokens) != target:
            raise ArchFormatError(
                f"Malformed TransNAS-Bench-101 micro cell {text!r}: node {target} needs "
                f"{target} edge(s) as '|op~j|'; expected {form}."
            )
        for source, token in enumerate(tokens):
            name, _, origin = token.partition("~")
            if origin != str(source):
                raise ArchFormatError(
                    f"Malformed TransNAS-Bench-101 micro cell {text!r}: edge {token!r} must "
                    f"read 'op~{source}'."
                )
            if name not in OPS:
                raise ArchFormatError(
                    f"Unknown TransNAS-Bench-101 micro op {name!r} in {text!r}; expected one of "
                    f"{', '.join(OPS)}."
                )
            codes.append(OPS.index(name))
    return tuple(codes)


def format_cell(codes: Sequence[int] | np.ndarray) -> str:
    names = [OPS[int(code)] for code in codes]
    return f"|{names[0]}~0|+|{names[1]}~0|{names[2]}~1|+|{names[3]}~0|{names[4]}~1|{names[5]}~2|"


def to_transnas_key(codes: Sequence[int], base_channels: int = 64) -> str:
    """TransNAS-Bench-101's own name of the network: ``64-41414-a_bc_def``."""
    a, b, c, d, e, f = check_cell(codes)
    return f"{base_channels}-{MACRO_CODE}-{a}_{b}{c}_{d}{e}{f}"


def from_transnas_key(key: str) -> Code:
    """The codes of a TransNAS-Bench-101 micro key ``64-41414-a_bc_def``."""
    parts = key.strip().split("-") if isinstance(key, str) else []
    groups = parts[2].split("_") if len(parts) == 3 else []
    if (
        len(parts) != 3
        or parts[1] != MACRO_CODE
        or [len(group) for group in groups] != [1, 2, 3]
        or not all(ch in "0123" for ch in "".join(groups))
    ):
        raise ArchFormatError(
            f"Malformed TransNAS-Bench-101 micro key {key!r}; expected 'C-{MACRO_CODE}-a_bc_def' "
            f"with codes 0..3."
        )
    return tuple(int(ch) for ch in "".join(groups))


def check_cell(arch: object) -> Code:
    codes = choice_codes(arch, len(EDGES), len(OPS))
    if codes is None:
        raise ArchFormatError(
            f"A TransNAS-Bench-101 micro cell is six op codes in 0..{len(OPS) - 1} "
            f"({', '.join(f'{i} {name}' for i, name in enumerate(OPS))}); got {arch!r}."
        )
    return codes


def cut_off_codes(codes: np.ndarray) -> np.ndarray:
    """Per row of six codes: the output (node 3) has no path of non-none edges from node 0."""
    live = np.asarray(codes) != 0
    node1 = live[:, 0]
    node2 = live[:, 1] | (live[:, 2] & node1)
    node3 = live[:, 3] | (live[:, 4] & node1) | (live[:, 5] & node2)
    return ~node3


def _relu_conv_bn(name: str, c_in: int, c_out: int, kernel: int, stride: int) -> Op:
    return Op(
        name,
        (
            Layer("relu", c_in, c_in),
            Layer("conv", c_in, c_out, kernel=kernel, stride=stride, padding=kernel // 2),
            Layer("bn", c_out, c_out),
        ),
    )


def edge_ops(c_in: int, c_out: int, stride: int) -> tuple[Op, ...]:
    """The four candidate ops of an edge, by code (TransNAS's ``OPS`` in ``cell_ops.py``)."""
    if stride == 1 and c_in == c_out:
        skip = Op.identity("skip_connect")
    else:
        skip = _relu_conv_bn("skip_connect", c_in, c_out, 1, stride)  # FactorizedReduce
    return (
        Op.zero("none"),
        skip,
        _relu_conv_bn("nor_conv_1x1", c_in, c_out, 1, stride),
        _relu_conv_bn("nor_conv_3x3", c_in, c_out, 3, stride),
    )


class TransNas101MicroAdapter(Adapter):
    """TransNAS-Bench-101's 4,096 micro cells in the benchmark's encoder with one task's head.

    Parameters: ``task`` (one of :data:`HEADS`, default ``class_scene``), ``num_classes`` (the
    head's width; default the task's), ``input_size`` (256), ``base_channels`` (64).
    """

    description = (
        "TransNAS-Bench-101 micro cells (encoder 64-41414, 4,096 cells); text NB201-style over "
        "none/skip_connect/nor_conv_1x1/nor_conv_3x3; -O task=class_scene|class_object|jigsaw|"
        "room_layout|segmentsemantic|normal|autoencoder; table tnb101 (7 tasks)"
    )

    def __init__(
        self,
        *,
        task: str = "class_scene",
        num_classes: int | None = None,
        input_size: int = 256,
        base_channels: int = 64,
    ) -> None:
        check_choice(task, "task", tuple(HEADS), owner="TransNas101MicroAdapter")
        if num_classes is not None and HEADS[task] is None:
            raise ParameterError(
                f"TransNAS-Bench-101's {task!r} task has no classifier head (the encoder alone is "
                f"modelled); drop num_classes."
            )
        for name, value, low in (
            ("num_classes", num_classes if num_classes is not None else 1, 1),
            ("input_size", input_size, 64),
            ("base_channels", base_channels, 2),
        ):
            check_int(value, name, owner="TransNas101MicroAdapter", low=low)
        if input_size % 128 or base_channels % 2:
            raise ParameterError(
                f"TransNas101MicroAdapter needs input_size divisible by 128 (five halvings) and an "
                f"even base_channels. Got input_size={input_size}, base_channels={base_channels}."
            )
        self.task = task
        self.num_classes = HEADS[task] if num_classes is None else num_classes
        self.input_size = input_size
        self.base_channels = base_channels

    # ---------------------------------------------------------------------- text
    def parse(self, text: str) -> Code:
        return parse_cell(text)

    def format(self, arch: Hashable) -> str:
        return format_cell(check_cell(arch))

    def size(self) -> int:
        return N_ARCHS

    def tables(self) -> dict[str, Callable[[], Table]]:
        """``tnb101``: all 4,096 cells, the final validation metric of each of the 7 tasks."""
        return {"tnb101": transnas101_table}

    def label_column(self) -> str:
        """The shipped table's column for this adapter's task."""
        return TNB101_TASKS[self.task][0]

    # -------------------------------------------------------------------- graphs
    @cached_property
    def skeleton(self) -> ChoiceSkeleton:
        return self._build_skeleton()

    def to_graph(self, arch: Hashable) -> ArchGraph:
        codes = check_cell(arch)
        return self.skeleton.graph(codes, format_cell(codes))

    def batch(self, archs: Sequence[Hashable]) -> ChoiceBatch:
        rows = np.array([check_cell(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return self._batch(rows)

    def _batch(self, rows: np.ndarray) -> ChoiceBatch:
        return ChoiceBatch(self.skeleton, rows, format_cell)

    def enumerate(self) -> ChoiceBatch:
        """All 4,096 cells, the codes read as a base-4 number (``(0,0,0,0,0,0)`` first)."""
        return self._batch(_decode(np.arange(N_ARCHS)))

    def sample(self, n: int, seed: int) -> ChoiceBatch:
        """``n`` distinct cells drawn uniformly without replacement, reproducibly."""
        check_int(
            n, "n", owner="TransNas101MicroAdapter.sample (the space's size)", low=1, high=N_ARCHS
        )
        codes = np.random.default_rng(seed).choice(N_ARCHS, size=int(n), replace=False)
        return self._batch(_decode(codes))

    # -------------------------------------------------------- search-engine hooks
    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """One-hot of each edge's op: 6 x 4 = 24 columns."""
        rows = np.array([check_cell(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return np.eye(len(OPS))[rows].reshape(len(rows), -1)

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        rows = np.array([check_cell(arch) for arch in archs], dtype=np.int64).reshape(-1, 6)
        return cut_off_codes(rows)

    def chance_accuracy(self) -> float | None:
        """100 / classes for the classification tasks; None for regression and dense tasks,
        whose metrics (a loss, SSIM, pixel accuracy) have no class count."""
        if self.task not in CLASSIFICATION or self.num_classes is None:
            return None
        return 100.0 / self.num_classes

    def _build_skeleton(self) -> ChoiceSkeleton:
        side = self.input_size // 4
        half, channels = self.base_channels // 2, self.base_channels
        nodes = [
            Tensor("input", 3, self.input_size, self.input_size),
            Tensor("stem.a", half, self.input_size // 2, self.input_size // 2),
            Tensor("stem", channels, side, side),
        ]
        first = Op(
            "stem_a",
            (
                Layer("conv", 3, half, kernel=3, stride=2, padding=1),
                Layer("bn", half, half),
            ),
        )
        edges = [
            Edge("input", "stem.a", first),
            Edge("stem.a", "stem", _relu_conv_bn("stem_b", half, channels, 3, 2)),
        ]
        cells: list[Cell] = []
        slots: dict[int, tuple[int, Sequence[Op]]] = {}
        previous = "stem"
        for module, code in enumerate(MACRO_CODE):
            kind = int(code)
            for repeat in range(CELLS_PER_MODULE):
                stride = 2 if kind > 2 and repeat == 0 else 1
                wide = channels * 2 if kind % 2 == 0 and repeat == 0 else channels
                side //= stride
                name = f"m{module}c{repeat}"
                members = [previous] + [f"{name}.n{i}" for i in (1, 2, 3)]
                nodes.extend(Tensor(member, wide, side, side) for member in members[1:])
                reducing = edge_ops(channels, wide, stride)
                inner = edge_ops(wide, wide, 1)
                for column, (j, i) in enumerate(EDGES):
                    options = reducing if j == 0 else inner
                    slots[len(edges)] = (column, options)
                    edges.append(Edge(members[j], members[i], options[3]))
                cells.append(
                    Cell(name, tuple(members), (previous,), members[3], skip_capacity=3 * wide)
                )
                previous, channels = members[3], wide
        output = previous
        if self.num_classes is not None:
            nodes.append(Tensor("pooled", channels, 1, 1))
            edges.append(
                Edge(
                    previous, "pooled", Op("pool", (Layer("global_avg_pool", channels, channels),))
                )
            )
            nodes.append(Tensor("logits", self.num_classes, 1, 1))
            head = Layer("linear", channels, self.num_classes, bias=True)
            edges.append(Edge("pooled", "logits", Op("head", (head,))))
            output = "logits"
        graph = ArchGraph(
            tuple(nodes), tuple(edges), "input", output, tuple(cells), name="transnas101-micro"
        )
        return ChoiceSkeleton(graph, slots)


def _decode(numbers: np.ndarray) -> np.ndarray:
    return (np.asarray(numbers)[:, None] // len(OPS) ** np.arange(5, -1, -1)) % len(OPS)


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("transnas101-micro", TransNas101MicroAdapter)
