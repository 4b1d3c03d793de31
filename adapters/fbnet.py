"""HW-NAS-Bench's FBNet space (Li et al., ICLR 2021; after FBNet, Wu et al., CVPR 2019).

The network, as HW-NAS-Bench builds it for CIFAR-100 (``fbnet_get_metrics`` and
``fbnet_models/model_infer.py``; layout in ``../shared/data/README.md``):

* **stem** -- conv3x3 3 -> 16, BN, ReLU (32x32 input);
* **22 searchable blocks** in 7 stages of ``[1, 4, 4, 4, 4, 4, 1]`` blocks with
  ``[16, 24, 32, 64, 112, 184, 352]`` output channels and strides ``[1, 1, 2, 2, 1, 2, 1]`` (the
  stride applies to a stage's first block);
* **header** -- conv1x1 to 1504, BN, ReLU, global average pooling, linear to 100 classes.

Block choices, in HW-NAS-Bench's code order (``ops_str_lookup_table``): **0 k3_e1, 1 k3_e1_g2,
2 k3_e3, 3 k3_e6, 4 k5_e1, 5 k5_e1_g2, 6 k5_e3, 7 k5_e6, 8 skip**. ``kK_eE[_g2]`` is an inverted
residual block: conv1x1 C_in -> E*C_in (2 groups for ``_g2``, then a channel shuffle, which
moves values only), BN, ReLU, KxK depthwise conv with the block's stride, BN, ReLU, conv1x1 ->
C_out (same groups), BN; plus the input (a residual add) when C_in = C_out and the stride is 1.
``skip`` is the identity there, elsewhere conv1x1 (with the stride), BN, ReLU.

Each block is one :class:`flash_nas.Cell`: its main path is one slot edge, and where a residual
exists a fixed identity edge beside it (``skip`` is then a zero main path: the block passes its
input through). All architectures share one :class:`flash_nas.ChoiceSkeleton`, so metrics of
thousands of them are array operations.

Canonical text: the 22 block names joined by ``-`` (``k5_e6-skip-k3_e1_g2-...``), as the
``b0``...``b21`` columns of HW-NAS-Bench's data.
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
    Tensor,
)
from flash_nas.validation import ParameterError, check_int
from flash_nas_adapters.choice_codes import choice_codes

BLOCKS = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
STAGE_BLOCKS = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS = (16, 24, 32, 64, 112, 184, 352)
STAGE_STRIDES = (1, 1, 2, 2, 1, 2, 1)
N_LAYERS = sum(STAGE_BLOCKS)
STEM_CHANNELS = 16
HEADER_CHANNELS = 1504

Arch = tuple[int, ...]


def parse_blocks(text: str) -> Arch:
    names = text.strip().split("-") if isinstance(text, str) else []
    if len(names) != N_LAYERS:
        raise ArchFormatError(
            f"An FBNet architecture is {N_LAYERS} block names joined by '-' (e.g. "
            f"'{'-'.join(['k3_e6'] * 3)}-...'); got {len(names)} part(s) in {text!r}."
        )
    unknown = [name for name in names if name not in BLOCKS]
    if unknown:
        raise ArchFormatError(
            f"Unknown FBNet block {unknown[0]!r}; expected one of {', '.join(BLOCKS)}."
        )
    return tuple(BLOCKS.index(name) for name in names)


def check_blocks(arch: object) -> Arch:
    codes = choice_codes(arch, N_LAYERS, len(BLOCKS))
    if codes is None:
        raise ArchFormatError(
            f"An FBNet arch is {N_LAYERS} block codes in 0..{len(BLOCKS) - 1} "
            f"({', '.join(f'{i} {name}' for i, name in enumerate(BLOCKS))}); got {arch!r}."
        )
    return codes


def format_blocks(codes: Sequence[int] | np.ndarray) -> str:
    return "-".join(BLOCKS[int(code)] for code in codes)


def layer_shapes() -> list[tuple[int, int, int]]:
    """(C_in, C_out, stride) of each of the 22 searchable blocks."""
    shapes = []
    channels = STEM_CHANNELS
    for count, wide, stride in zip(STAGE_BLOCKS, STAGE_CHANNELS, STAGE_STRIDES):
        for repeat in range(count):
            shapes.append((channels, wide, stride if repeat == 0 else 1))
            channels = wide
    return shapes


def _conv(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1) -> Layer:
    return Layer(
        "conv", c_in, c_out, kernel=kernel, stride=stride, padding=kernel // 2, groups=groups
    )


def block_op(name: str, c_in: int, c_out: int, stride: int) -> Op:
    """The main path of block ``name`` (``skip``: identity, zero or conv1x1 as described)."""
    if name == "skip":
        if stride == 1 and c_in == c_out:
            return Op.zero("skip")  # the residual edge beside it carries the input
        return Op(
            "skip",
            (_conv(c_in, c_out, 1, stride), Layer("bn", c_out, c_out), Layer("relu", c_out, c_out)),
        )
    kernel, expansion = int(name[1]), int(name.split("_")[1][1:])
    groups = 2 if name.endswith("_g2") else 1
    hidden = expansion * c_in
    return Op(
        name,
        (
            _conv(c_in, hidden, 1, 1, groups),
            Layer("bn", hidden, hidden),
            Layer("relu", hidden, hidden),
            _conv(hidden, hidden, kernel, stride, hidden),
            Layer("bn", hidden, hidden),
            Layer("relu", hidden, hidden),
            _conv(hidden, c_out, 1, 1, groups),
            Layer("bn", c_out, c_out),
        ),
    )


class FBNetAdapter(Adapter):
    """HW-NAS-Bench's FBNet space on CIFAR-100 (9^22, about 9.8e20 architectures).

    Parameters: ``input_size`` (32), ``num_classes`` (100). Canonical text: the 22 block names
    joined by ``-``. Latencies: the ``hwnasbench-fbnet:DEVICE`` hardware models.
    """

    description = (
        "HW-NAS-Bench FBNet space (22 blocks x 9 choices, CIFAR-100); text: block names joined "
        "by '-', e.g. 'k5_e6-skip-k3_e1_g2-...'; latency: hwnasbench-fbnet:DEVICE"
    )

    def __init__(self, *, input_size: int = 32, num_classes: int = 100) -> None:
        # upper limits as NAS-Bench-201 states them: beyond them the numbers mean nothing (a
        # 10^12-pixel input is a typo) and the counts would overflow
        for name, value, low, high in (
            ("input_size", input_size, 8, 4096),
            ("num_classes", num_classes, 1, 1_000_000),
        ):
            check_int(value, name, owner="FBNetAdapter", low=low, high=high)
        if input_size % 8:
            raise ParameterError(
                f"The 'input_size' parameter of FBNetAdapter must be divisible by 8 (three "
                f"stride-2 stages). Got {input_size} instead."
            )
        self.input_size = input_size
        self.num_classes = num_classes

    def parse(self, text: str) -> Arch:
        return parse_blocks(text)

    def format(self, arch: Hashable) -> str:
        return format_blocks(check_blocks(arch))

    def size(self) -> int:
        return len(BLOCKS) ** N_LAYERS

    @cached_property
    def skeleton(self) -> ChoiceSkeleton:
        return self._build_skeleton()

    def to_graph(self, arch: Hashable) -> ArchGraph:
        codes = check_blocks(arch)
        return self.skeleton.graph(codes, format_blocks(codes))

    def batch(self, archs: Sequence[Hashable]) -> ChoiceBatch:
        rows = np.array([check_blocks(arch) for arch in archs], dtype=np.int64)
        return ChoiceBatch(self.skeleton, rows.reshape(-1, N_LAYERS), format_blocks)

    def sample(self, n: int, seed: int) -> ChoiceBatch:
        """``n`` distinct architectures, every block drawn uniformly, reproducibly."""
        check_int(n, "n", owner="FBNetAdapter.sample", low=1)
        rng = np.random.default_rng(seed)
        found: dict[tuple[int, ...], None] = {}
        while len(found) < n:
            for row in rng.integers(0, len(BLOCKS), size=(int(n) - len(found), N_LAYERS)):
                found.setdefault(tuple(int(v) for v in row))
        return self.batch(list(found))

    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """One-hot of each block's choice: 22 x 9 = 198 columns."""
        rows = np.array([check_blocks(arch) for arch in archs], dtype=np.int64)
        return np.eye(len(BLOCKS))[rows.reshape(-1, N_LAYERS)].reshape(len(rows), -1)

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Never: every choice, ``skip`` included, passes its input on."""
        return np.zeros(len(archs), dtype=bool)

    def chance_accuracy(self) -> float:
        return 100.0 / self.num_classes

    def _build_skeleton(self) -> ChoiceSkeleton:
        side = self.input_size
        nodes = [Tensor("input", 3, side, side), Tensor("stem", STEM_CHANNELS, side, side)]
        stem = Op(
            "stem",
            (
                _conv(3, STEM_CHANNELS, 3),
                Layer("bn", STEM_CHANNELS, STEM_CHANNELS),
                Layer("relu", STEM_CHANNELS, STEM_CHANNELS),
            ),
        )
        edges = [Edge("input", "stem", stem)]
        cells: list[Cell] = []
        slots: dict[int, tuple[int, Sequence[Op]]] = {}
        previous = "stem"
        for column, (c_in, c_out, stride) in enumerate(layer_shapes()):
            side //= stride
            name = f"b{column}"
            nodes.append(Tensor(name, c_out, side, side))
            options = tuple(block_op(block, c_in, c_out, stride) for block in BLOCKS)
            slots[len(edges)] = (column, options)
            edges.append(Edge(previous, name, options[0]))
            if stride == 1 and c_in == c_out:
                edges.append(Edge(previous, name, Op.identity("residual")))
            cells.append(Cell(name, (previous, name), (previous,), name))
            previous = name
        last = STAGE_CHANNELS[-1]
        header = (
            _conv(last, HEADER_CHANNELS),
            Layer("bn", HEADER_CHANNELS, HEADER_CHANNELS),
            Layer("relu", HEADER_CHANNELS, HEADER_CHANNELS),
        )
        nodes.append(Tensor("header", HEADER_CHANNELS, side, side))
        edges.append(Edge(previous, "header", Op("header", header)))
        nodes.append(Tensor("pooled", HEADER_CHANNELS, 1, 1))
        pool = Layer("global_avg_pool", HEADER_CHANNELS, HEADER_CHANNELS)
        edges.append(Edge("header", "pooled", Op("pool", (pool,))))
        nodes.append(Tensor("logits", self.num_classes, 1, 1))
        classifier = Layer("linear", HEADER_CHANNELS, self.num_classes, bias=True)
        edges.append(Edge("pooled", "logits", Op("classifier", (classifier,))))
        graph = ArchGraph(tuple(nodes), tuple(edges), "input", "logits", tuple(cells), name="fbnet")
        return ChoiceSkeleton(graph, slots)


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("fbnet", FBNetAdapter)
