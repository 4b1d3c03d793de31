"""NNI's ``DARTS`` model space (``nni.nas.hub.pytorch.nasnet``) as a flash-nas search space.

The network is NNI's (an NDS network, after facebookresearch/unnas), layer for layer:

* **stem** -- CIFAR: conv3x3 to ``3C`` channels, BN; both inputs of the first cell are the stem.
  ImageNet: stem0 (conv3x3/2 to ``C/2``, BN, ReLU, conv3x3/2 to ``C``, BN) and stem1 (ReLU,
  conv3x3/2, BN) feed the first cell's two inputs.
* **three stages** of ``depth`` cells in all, ``(s+1)*depth//3 - s*depth//3`` in stage s; the first
  cell of stages 1 and 2 is a *reduction* cell; the channels per op ``C_s`` double at each.
* **a cell** reads the outputs of the two cells before it, ``c_{k-2}`` and ``c_{k-1}``, and
  preprocesses them into its nodes 0 and 1: ReLU-conv1x1-BN to ``C_s``, or FactorizedReduce on
  ``c_{k-2}`` when cell k-1 was a reduction cell. Nodes 2..5 each sum two ops; op k of node i
  (``{cell}/op_{i}_{k}``) reads the node that ``{cell}/input_{i}_{k}`` picks among 0..i-1. In a
  reduction cell the ops reading nodes 0 and 1 have stride 2. The cell's output concatenates
  nodes 2..5 (``4 C_s`` channels).
* **ops** -- ``max_pool_3x3``, ``avg_pool_3x3`` (no BN, as NNI), ``skip_connect`` (identity;
  FactorizedReduce at stride 2), ``sep_conv_3x3/5x5`` (ReLU, depthwise conv, conv1x1, BN, twice;
  the stride on the first), ``dil_conv_3x3/5x5`` (ReLU, depthwise conv with dilation 2, conv1x1,
  BN). NNI's DARTS has no ``none`` op.
* **head** -- global average pooling, linear (with bias) to 10 (CIFAR) or 1,000 (ImageNet) classes.

Two things the graph cannot say, both without effect on shapes, parameters, MACs or NN-Degree:

* **FactorizedReduce** (ReLU, two conv1x1/2 each writing half the channels, the second on the
  input shifted by one pixel, concatenated, BN) is written as ReLU, *one* conv1x1/2 writing all
  channels, BN: the same weights count, MACs and shape; a module built from the graph samples only
  the even pixels, where NNI's second half reads the odd ones.
* **Dilation**: a dilated conv is written as the undilated conv of the same kernel with the
  padding that keeps NNI's output size (1 for 3x3, 2 for 5x5): same weights, MACs and shape, a
  smaller receptive field in a module built from the graph.

Not modelled: the auxiliary head (``auxiliary_loss=True``, used only in training, off by default)
and drop-path (no parameters).

Labels, in NNI's order: ``width`` and ``depth`` (when they are choices, as by default), then per
cell type (``normal``, ``reduce``) ``op_{i}_{k}`` for i = 2..5, k = 0, 1, then ``input_{i}_{k}``
(a one-element list). All normal cells share the normal labels, all reduction cells the reduce
labels. Every label applies to every architecture, so the space has exactly the product of the
choice counts: by default 3 x 5 x (7^8 x (2*3*4*5)^2)^2, about 1.0e23 samples. Samples that differ
only by the order of a node's two ops are counted apart, as NNI counts them.

A cell is one :class:`flash_nas.Cell` whose inputs are ``c_{k-2}`` and ``c_{k-1}`` (one input,
the stem, for the first CIFAR cell), so its preprocessing belongs to it. A preprocessed input that
no op reads is dead: the ``params`` metric then leaves it out, while NNI's module still holds it.

Batches: each (width, depth) is one :class:`flash_nas.ChoiceSkeleton` whose slot edges run from
every node j < i into node i for both ops of node i; column (cell type, i, k) picks input and op
at once (``input * 7 + op``), the edges from the nodes not picked become zero. A batch groups its
architectures by (width, depth), so metrics of many samples are array operations.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from flash_nas import (
    Adapter,
    ArchFormatError,
    ArchGraph,
    Cell,
    ChoiceBatch,
    ChoiceSkeleton,
    Edge,
    GraphBatch,
    Layer,
    Op,
    Tensor,
    require,
)
from flash_nas.errors import quote
from flash_nas.graph.structure import EdgeCounter
from flash_nas.validation import ParameterError, check_choice
from flash_nas_adapters.nni.sample import Label, SampleCodec, check_sample_size

SPACE = "NNI DARTS"
#: NNI's ``DARTS.DARTS_OPS``, in its order.
DARTS_OPS = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
CELL_TYPES = ("normal", "reduce")
#: NNI's node indices of a cell's computing nodes (0 and 1 are its preprocessed inputs).
NODES = (2, 3, 4, 5)
OPS_PER_NODE = 2
#: Input side and classes of NNI's two datasets.
DATASETS = {"cifar": (32, 10), "imagenet": (224, 1000)}
_SLOTS = len(NODES) * OPS_PER_NODE  # choice columns per cell type
#: What GraphBatch.edge_sums counts per edge (hardware models pass it).


def darts_labels(width: int | tuple[int, ...], num_cells: int | tuple[int, ...]) -> list[Label]:
    """NNI's labels of ``DARTS(width, num_cells)``, in the order of ``space.simplify()``."""
    labels = []
    if isinstance(width, tuple):
        labels.append(Label("width", width))
    if isinstance(num_cells, tuple):
        labels.append(Label("depth", num_cells))
    for kind in CELL_TYPES:
        pairs = [(i, k) for i in NODES for k in range(OPS_PER_NODE)]
        labels += [Label(f"{kind}/op_{i}_{k}", DARTS_OPS) for i, k in pairs]
        labels += [Label(f"{kind}/input_{i}_{k}", tuple(range(i)), multiple=True) for i, k in pairs]
    return labels


# ------------------------------------------------------------------------------------ ops
def _relu_conv_bn(name: str, c_in: int, c_out: int, stride: int = 1) -> Op:
    """NNI's ReLUConvBN with a 1x1 kernel (cell preprocessing)."""
    return Op(
        name,
        (
            Layer("relu", c_in, c_in),
            Layer("conv", c_in, c_out, kernel=1, stride=stride),
            Layer("bn", c_out, c_out),
        ),
    )


def _factorized_reduce(name: str, c_in: int, c_out: int) -> Op:
    """FactorizedReduce as one conv1x1/2 (see the module docstring)."""
    return _relu_conv_bn(name, c_in, c_out, stride=2)


def _depthwise(channels: int, kernel: int, stride: int) -> Layer:
    return Layer(
        "conv",
        channels,
        channels,
        kernel=kernel,
        stride=stride,
        padding=kernel // 2,
        groups=channels,
    )


def _separable(channels: int, kernel: int, stride: int) -> tuple[Layer, ...]:
    return (
        Layer("relu", channels, channels),
        _depthwise(channels, kernel, stride),
        Layer("conv", channels, channels, kernel=1),
        Layer("bn", channels, channels),
    )


def darts_op(name: str, channels: int, stride: int) -> Op:
    """The DARTS op ``name`` on ``channels`` channels with ``stride``, as NNI builds it."""
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        kind = name[:3] + "_pool"
        return Op(name, (Layer(kind, channels, channels, kernel=3, stride=stride, padding=1),))
    if name == "skip_connect":
        if stride == 1:
            return Op.identity(name)
        return _factorized_reduce(name, channels, channels)
    kernel = int(name[-1])
    if name.startswith("sep_conv"):
        return Op(name, _separable(channels, kernel, stride) + _separable(channels, kernel, 1))
    if name.startswith("dil_conv"):
        return Op(name, _separable(channels, kernel, stride))
    raise ArchFormatError(f"Unknown DARTS op {name!r}; expected one of {', '.join(DARTS_OPS)}.")


# ------------------------------------------------------------------------------ skeleton
class _Builder:
    """Collects nodes, edges, cells and slots of one (width, depth) network."""

    def __init__(self) -> None:
        self.nodes: dict[str, Tensor] = {}
        self.edges: list[Edge] = []
        self.cells: list[Cell] = []
        self.slots: dict[int, tuple[int, Sequence[Op]]] = {}

    def add(self, src: str, dst: str, op: Op) -> str:
        """An edge from ``src`` into ``dst``, creating sum node ``dst`` with the shape ``op``
        writes."""
        if dst not in self.nodes:
            source = self.nodes[src]
            self.nodes[dst] = Tensor(dst, *op.output_shape(*_shape(source)))
        self.edges.append(Edge(src, dst, op))
        return dst

    def node(
        self, name: str, channels: int, side: int, combine: Literal["sum", "concat"] = "sum"
    ) -> str:
        self.nodes[name] = Tensor(name, channels, side, side, combine)
        return name


def _shape(node: Tensor) -> tuple[int, int, int]:
    return node.channels, node.height, node.width


def build_skeleton(width: int, depth: int, dataset: str) -> ChoiceSkeleton:
    """NNI's DARTS network for one width and depth, its cell choices as slots."""
    side, classes = DATASETS[dataset]
    b = _Builder()
    b.node("input", 3, side)
    if dataset == "cifar":
        stem = Op(
            "stem",
            (
                Layer("conv", 3, 3 * width, kernel=3, padding=1),
                Layer("bn", 3 * width, 3 * width),
            ),
        )
        s0 = s1 = b.add("input", "stem", stem)
        last_reduce = False
    else:
        half = width // 2
        stem0 = Op(
            "stem0",
            (
                Layer("conv", 3, half, kernel=3, stride=2, padding=1),
                Layer("bn", half, half),
                Layer("relu", half, half),
                Layer("conv", half, width, kernel=3, stride=2, padding=1),
                Layer("bn", width, width),
            ),
        )
        stem1 = Op(
            "stem1",
            (
                Layer("relu", width, width),
                Layer("conv", width, width, kernel=3, stride=2, padding=1),
                Layer("bn", width, width),
            ),
        )
        s0 = b.add("input", "stem0", stem0)
        s1 = b.add(s0, "stem1", stem1)
        last_reduce = True
    channels = width
    index = 0
    for stage in range(3):
        if stage:
            channels *= 2
        for repeat in range((stage + 1) * depth // 3 - stage * depth // 3):
            reduce = stage > 0 and repeat == 0
            out = _cell(b, f"c{index}", s0, s1, channels, reduce, last_reduce)
            s0, s1, last_reduce = s1, out, reduce
            index += 1
    final = b.nodes[s1].channels
    b.add(s1, "pooled", Op("global_pool", (Layer("global_avg_pool", final, final),)))
    b.add("pooled", "logits", Op("classifier", (Layer("linear", final, classes, bias=True),)))
    graph = ArchGraph(
        tuple(b.nodes.values()),
        tuple(b.edges),
        "input",
        "logits",
        tuple(b.cells),
        name=f"nni-darts-w{width}-d{depth}",
    )
    return ChoiceSkeleton(graph, b.slots)


def _cell(
    b: _Builder, name: str, s0: str, s1: str, channels: int, reduce: bool, last_reduce: bool
) -> str:
    """One cell reading ``s0`` (c_{k-2}) and ``s1`` (c_{k-1}); returns its output node."""
    pprev, prev = b.nodes[s0], b.nodes[s1]
    if last_reduce:
        pre0 = _factorized_reduce("preprocess0", pprev.channels, channels)
    else:
        pre0 = _relu_conv_bn("preprocess0", pprev.channels, channels)
    states = [
        b.add(s0, f"{name}.n0", pre0),
        b.add(s1, f"{name}.n1", _relu_conv_bn("preprocess1", prev.channels, channels)),
    ]
    kind = 1 if reduce else 0
    by_stride = {
        stride: tuple(darts_op(op, channels, stride) for op in DARTS_OPS) for stride in (1, 2)
    }
    unused = Op.zero("input_not_chosen")
    for i in NODES:
        for k in range(OPS_PER_NODE):
            column = kind * _SLOTS + (i - NODES[0]) * OPS_PER_NODE + k
            for j in range(i):
                real = by_stride[2 if reduce and j < 2 else 1]
                options = tuple(
                    real[option % len(DARTS_OPS)] if option // len(DARTS_OPS) == j else unused
                    for option in range(i * len(DARTS_OPS))
                )
                b.slots[len(b.edges)] = (column, options)
                b.add(states[j], f"{name}.n{i}", real[0])
        states.append(f"{name}.n{i}")
    last = b.nodes[states[-1]]
    out = b.node(f"{name}.out", len(NODES) * channels, last.height, "concat")
    for state in states[2:]:
        b.edges.append(Edge(state, out, Op.identity("concat")))
    inputs = (s0,) if s0 == s1 else (s0, s1)
    b.cells.append(Cell(name, (*inputs, *states, out), inputs, out))
    return out


# -------------------------------------------------------------------------------- adapter
def _choice_values(name: str, value: Any, low: int) -> int | tuple[int, ...]:
    values = tuple(value) if isinstance(value, (list, tuple)) else value
    items = values if isinstance(values, tuple) else (values,)
    valid = all(type(v) is int and low <= v <= 8192 for v in items)  # a bool is no width
    if not items or not valid or len(set(items)) != len(items) or len(items) > 64:
        raise ParameterError(
            f"The {name!r} parameter of NniDartsAdapter must be an int in {low}..8192 or a tuple "
            f"of at most 64 distinct such ints (NNI's choice). Got {quote(value)} instead."
        )
    return values


class NniDartsAdapter(Adapter):
    """NNI's ``DARTS(width, num_cells, dataset)``, with NNI's defaults.

    ``width`` and ``num_cells`` are ints (fixed) or tuples (the ``width`` / ``depth`` choices);
    ``dataset`` is ``"cifar"`` (32x32, 10 classes) or ``"imagenet"`` (224x224, 1,000 classes).
    Canonical text: the NNI sample as compact JSON (see :mod:`flash_nas_adapters.nni.sample`);
    an arch is the tuple of choice positions, one per label.
    """

    description = "NNI's DARTS cell space (nni.nas.hub.pytorch); text: NNI's sample as JSON"

    def __init__(
        self,
        *,
        width: int | Sequence[int] = (16, 24, 32),
        num_cells: int | Sequence[int] = (4, 8, 12, 16, 20),
        dataset: str = "cifar",
    ) -> None:
        check_choice(dataset, "dataset", tuple(DATASETS), owner="NniDartsAdapter")
        self.width = _choice_values("width", width, 1)
        self.num_cells = _choice_values("num_cells", num_cells, 3)
        widths = self.width if isinstance(self.width, tuple) else (self.width,)
        if dataset == "imagenet" and any(w % 2 for w in widths):
            raise ParameterError(
                f"The 'width' parameter of NniDartsAdapter must be even for 'imagenet' (NNI's "
                f"FactorizedReduce halves it). Got {width!r} instead."
            )
        self.dataset = dataset
        self.codec = SampleCodec(SPACE, darts_labels(self.width, self.num_cells))
        self._meta = int(isinstance(self.width, tuple)) + int(isinstance(self.num_cells, tuple))
        self._skeletons: dict[tuple[int, int], ChoiceSkeleton] = {}

    def nni_space(self) -> Any:
        """NNI's ``DARTS`` space with this adapter's parameters (needs NNI)."""
        hub = require("nni.nas.hub.pytorch", "Building NNI's DARTS space")
        return hub.DARTS(width=self.width, num_cells=self.num_cells, dataset=self.dataset)

    # ------------------------------------------------------------ sample and text
    def from_sample(self, sample: Mapping[str, Any]) -> tuple[int, ...]:
        """The arch of an NNI sample dict (as ``space.random()`` fills it)."""
        return self.codec.encode(sample)

    def to_sample(self, arch: Hashable) -> dict[str, Any]:
        """The NNI sample dict of ``arch``, ready for ``space.freeze``."""
        return self.codec.decode(self.check(arch))

    def check(self, arch: Any) -> tuple[int, ...]:
        """``arch`` validated: a choice position for every label."""
        values = self.codec.check(arch)
        if min(values) < 0:
            raise ArchFormatError(
                f"Every {SPACE} label applies to every architecture; got {arch!r}."
            )
        return values

    def parse(self, text: str) -> tuple[int, ...]:
        return self.from_sample(self.codec.parse_text(text))

    def format(self, arch: Hashable) -> str:
        return self.codec.text(self.check(arch))

    def size(self) -> int:
        return int(np.prod([int(count) for count in self.codec.counts], dtype=object))

    # ------------------------------------------------------------------- graphs
    def skeleton(self, width: int, depth: int) -> ChoiceSkeleton:
        """The network of one width and depth with its cell choices as slots (built once)."""
        key = (width, depth)
        if key not in self._skeletons:
            self._skeletons[key] = build_skeleton(width, depth, self.dataset)
        return self._skeletons[key]

    def _shape(self, arch: Sequence[int]) -> tuple[int, int]:
        """(width, depth) of a checked arch."""
        width, depth = self.width, self.num_cells
        if isinstance(width, tuple):
            width = width[arch[0]]
        if isinstance(depth, tuple):
            depth = depth[arch[self._meta - 1]]
        return width, depth

    def _rows(self, archs: np.ndarray) -> np.ndarray:
        """Skeleton choice rows (input * 7 + op per column) of checked archs, shape (n, 16)."""
        rows = []
        for kind in range(len(CELL_TYPES)):
            start = self._meta + kind * 2 * _SLOTS
            ops = archs[:, start : start + _SLOTS]
            inputs = archs[:, start + _SLOTS : start + 2 * _SLOTS]
            rows.append(inputs * len(DARTS_OPS) + ops)
        return np.concatenate(rows, axis=1)

    def to_graph(self, arch: Hashable | Mapping[str, Any]) -> ArchGraph:
        """The network of ``arch`` or of an NNI sample dict, named by its canonical text."""
        checked = self.from_sample(arch) if isinstance(arch, Mapping) else self.check(arch)
        row = self._rows(np.array([checked], dtype=np.int64))[0]
        return self.skeleton(*self._shape(checked)).graph(row, self.format(checked))

    def batch(self, archs: Sequence[Hashable]) -> GraphBatch:
        checked = np.array([self.check(arch) for arch in archs], dtype=np.int64)
        return self._batch(checked.reshape(len(archs), len(self.codec.labels)))

    def sample(self, n: int, seed: int) -> GraphBatch:
        """``n`` distinct samples, every label drawn uniformly as NNI's ``space.random()`` does."""
        n = check_sample_size(n, self.size())
        rng = np.random.default_rng(seed)
        archs: dict[tuple[int, ...], None] = {}
        while len(archs) < n:
            for row in self.codec.draw(n - len(archs), rng):
                archs.setdefault(tuple(int(v) for v in row))
        return self._batch(np.array(list(archs), dtype=np.int64))

    def _batch(self, archs: np.ndarray) -> GraphBatch:
        groups: dict[tuple[int, int], list[int]] = {}
        for position, arch in enumerate(archs):
            groups.setdefault(self._shape(arch), []).append(position)
        rows = self._rows(archs)
        parts = []
        for (width, depth), positions in groups.items():
            prefix = archs[positions[0], : self._meta]
            batch = ChoiceBatch(
                self.skeleton(width, depth),
                rows[positions],
                self._text_of(prefix),
            )
            parts.append((np.array(positions, dtype=np.int64), batch))
        return GroupedBatch(parts, len(archs))

    def _text_of(self, prefix: np.ndarray) -> Callable[[np.ndarray], str]:
        """The canonical text of a skeleton row under a (width, depth) prefix."""
        return lambda row: self.format(self._arch_of(prefix, row))

    def _arch_of(self, prefix: np.ndarray, row: np.ndarray) -> tuple[int, ...]:
        """The arch of a skeleton row under a (width, depth) prefix: undoes :meth:`_rows`."""
        values = [int(v) for v in prefix]
        for kind in range(len(CELL_TYPES)):
            part = row[kind * _SLOTS : (kind + 1) * _SLOTS]
            values += [int(v) % len(DARTS_OPS) for v in part]
            values += [int(v) // len(DARTS_OPS) for v in part]
        return tuple(values)


class GroupedBatch(GraphBatch):
    """Architectures spread over several batches (one per skeleton), in the caller's order.

    ``parts`` pairs the positions (in the whole batch) of each part's architectures with the part.
    Fast metrics and edge sums come from the parts, scattered back into place.
    """

    def __init__(self, parts: Sequence[tuple[np.ndarray, GraphBatch]], n: int) -> None:
        self.parts = list(parts)
        self._where = np.empty((n, 2), dtype=np.int64)
        for number, (positions, part) in enumerate(self.parts):
            self._where[positions, 0] = number
            self._where[positions, 1] = np.arange(len(part))

    def __len__(self) -> int:
        return len(self._where)

    def _locate(self, position: int) -> tuple[GraphBatch, int]:
        number, inner = self._where[position]
        return self.parts[number][1], int(inner)

    def graph(self, position: int) -> ArchGraph:
        part, inner = self._locate(position)
        return part.graph(inner)

    def arch_text(self, position: int) -> str:
        part, inner = self._locate(position)
        return part.arch_text(inner)

    def fast_metric(self, name: str) -> np.ndarray | None:
        out = np.empty(len(self))
        for positions, part in self.parts:
            values = part.fast_metric(name)
            if values is None:
                return None
            out[positions] = values
        return out

    def edge_sums(self, count: EdgeCounter, size: int, *, executed: bool = False) -> np.ndarray:
        out = np.empty((len(self), size))
        for positions, part in self.parts:
            out[positions] = part.edge_sums(count, size, executed=executed)
        return out
