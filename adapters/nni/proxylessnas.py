"""NNI's ``ProxylessNAS`` model space (``nni.nas.hub.pytorch``) as a flash-nas search space.

The network is NNI's, layer for layer, on ImageNet-size input (224x224):

* **stem** -- conv3x3/2 to ``w0`` channels, BN, ReLU6.
* **stage 1** (fixed) -- depthwise-separable conv: depthwise conv3x3, BN, ReLU6, conv1x1 to ``w1``,
  BN.
* **stages 2..7** -- inverted residual blocks: conv1x1 to ``e * w_in`` channels (rounded by
  ``make_divisible``), BN, ReLU6, depthwise conv k x k with the block's stride, BN, ReLU6,
  conv1x1 to ``w_s``, BN. Stage s has ``s{s}_depth`` blocks (1..4; stage 7 always one); block i
  is ``s{s}_i{i}``, one of ``k3e3, k5e3, k7e3, k3e6, k5e6, k7e6`` (kernel k, expansion e). The
  first block of stages 2, 3, 4 and 6 has stride 2; a block that keeps its input's shape adds its
  input (a residual identity edge): every block after the first. (NNI tests ``in_channels is
  out_channels``, which for a first block of equal widths, never the case with the default
  widths, holds only for widths CPython caches, up to 256; the graph adds the residual whenever
  the shape is kept. It has no parameters.)
* **head** -- conv1x1 to ``w8``, BN, ReLU6 (feature mix), global average pooling, dropout (no
  parameters, not in the graph), linear with bias to ``num_labels``.

Widths are ``make_divisible(base_width * width_mult, 8)``, as NNI computes them (by default 32,
16, 32, 40, 80, 96, 192, 320, 1280). Each block is one edge (plus its residual edge), so a block
is one node; every stage is one :class:`flash_nas.Cell`. Consequences: a block node's NN-Degree
is its expanded width (the project conv's input) plus 1 for a residual, and ``activations`` does
not count the expanded tensors inside a block. The space has no squeeze-excite and no hard-swish,
so the graph holds every layer of NNI's network: parameters and MACs agree exactly.

Labels, in NNI's order: ``s{s}_depth`` and ``s{s}_i0..i3`` for stages 2..6, then ``s7_i0``. NNI's
samples always hold every label, but the blocks beyond a stage's depth are never built: they are
no part of the architecture. The canonical text leaves them out (a sample that holds them parses,
and they are dropped), their arch positions are -1, and :meth:`NniProxylessAdapter.size` counts
architectures, not samples: ``6 * (6 + 6**2 + 6**3 + 6**4) ** 5``, about 5.4e16 (NNI's samples
number ``4**5 * 6**21``, about 2.2e19). :meth:`NniProxylessAdapter.sample` draws every label
uniformly, as NNI's ``space.random()`` does (so depths are uniform, not architectures), then drops
repeats.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from flash_nas import (
    Adapter,
    ArchFormatError,
    ArchGraph,
    Cell,
    Edge,
    GraphBatch,
    Layer,
    ListBatch,
    Op,
    Tensor,
    require,
)
from flash_nas.errors import quote
from flash_nas.validation import ParameterError, check_int, check_number
from flash_nas_adapters.nni.sample import UNUSED, Label, SampleCodec, check_sample_size

SPACE = "NNI ProxylessNAS"
#: NNI's block choices, in its order (expansion outer, kernel inner).
BLOCKS = tuple(f"k{kernel}e{expand}" for expand in (3, 6) for kernel in (3, 5, 7))
#: Stages whose depth is a choice, and the depths they offer.
SEARCHED_STAGES = (2, 3, 4, 5, 6)
DEPTHS = (1, 2, 3, 4)
#: Stages 1..7 halve the resolution at their first block (NNI's ``downsamples[1:]``).
DOWNSAMPLE = {1: False, 2: True, 3: True, 4: True, 5: False, 6: True, 7: False}
BASE_WIDTHS = (32, 16, 32, 40, 80, 96, 192, 320, 1280)


def proxyless_labels() -> list[Label]:
    """NNI's labels of ``ProxylessNAS()``, in the order of ``space.simplify()``."""
    labels = []
    for stage in SEARCHED_STAGES:
        labels.append(Label(f"s{stage}_depth", DEPTHS))
        labels += [Label(f"s{stage}_i{block}", BLOCKS) for block in range(max(DEPTHS))]
    labels.append(Label("s7_i0", BLOCKS))
    return labels


def make_divisible(value: float, divisor: int = 8) -> int:
    """NNI's (TensorFlow's) rounding of a width to a multiple of ``divisor``, never 10 % lower."""
    rounded = max(divisor, round(value + divisor // 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _conv_bn(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> list[Layer]:
    return [
        Layer(
            "conv",
            c_in,
            c_out,
            kernel=kernel,
            stride=stride,
            padding=(kernel - 1) // 2,
            groups=groups,
        ),
        Layer("bn", c_out, c_out),
    ]


def _relu6(channels: int) -> Layer:
    return Layer("relu6", channels, channels)


def inverted_residual(
    name: str, c_in: int, c_out: int, kernel: int, expand: int, stride: int
) -> Op:
    """NNI's InvertedResidual without squeeze-excite (the residual add is a separate edge)."""
    hidden = make_divisible(c_in * expand, 8)
    return Op(
        name,
        (
            *_conv_bn(c_in, hidden, 1),
            _relu6(hidden),
            *_conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            _relu6(hidden),
            *_conv_bn(hidden, c_out, 1),
        ),
    )


class NniProxylessAdapter(Adapter):
    """NNI's ``ProxylessNAS(num_labels, base_widths, width_mult)``, with NNI's defaults.

    ``input_size`` (224) is the square input side. Canonical text: the NNI sample as compact
    JSON without the labels of blocks beyond each stage's depth (see the module docstring); an
    arch is the tuple of choice positions, one per label, -1 for those blocks.
    """

    description = "NNI's ProxylessNAS space (nni.nas.hub.pytorch); text: NNI's sample as JSON"

    def __init__(
        self,
        *,
        num_labels: int = 1000,
        base_widths: Sequence[int] = BASE_WIDTHS,
        width_mult: float = 1.0,
        input_size: int = 224,
    ) -> None:
        # upper limits as NAS-Bench-201 states them: beyond them the numbers mean nothing (a
        # 10^12-pixel input is a typo) and the counts would overflow
        for name, value, low, high in (
            ("num_labels", num_labels, 1, 1_000_000),
            ("input_size", input_size, 32, 4096),
        ):
            check_int(value, name, owner="NniProxylessAdapter", low=low, high=high)
        widths = tuple(base_widths) if isinstance(base_widths, (list, tuple)) else ()
        if len(widths) != 9 or not all(
            isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 8192 for w in widths
        ):
            raise ParameterError(
                f"The 'base_widths' parameter of NniProxylessAdapter must be 9 ints in 1..8192 "
                f"(stem, stages 1-7, feature mix), as NNI's. Got {quote(base_widths)} instead."
            )
        check_number(
            width_mult, "width_mult", owner="NniProxylessAdapter", positive=True, high=64.0
        )
        self.num_labels = num_labels
        self.input_size = input_size
        self.base_widths = widths
        self.width_mult = width_mult
        self.widths = tuple(make_divisible(w * width_mult, 8) for w in widths)
        self.codec = SampleCodec(SPACE, proxyless_labels())
        self._blocks = {
            name: position
            for position, name in enumerate(self.codec.names)
            if not name.endswith("_depth")
        }

    def nni_space(self) -> Any:
        """NNI's ``ProxylessNAS`` space with this adapter's parameters (needs NNI)."""
        hub = require("nni.nas.hub.pytorch", "Building NNI's ProxylessNAS space")
        return hub.ProxylessNAS(
            num_labels=self.num_labels, base_widths=self.base_widths, width_mult=self.width_mult
        )

    # ------------------------------------------------------------ sample and text
    def from_sample(self, sample: Mapping[str, Any]) -> tuple[int, ...]:
        """The arch of an NNI sample dict; labels of blocks beyond a stage's depth may be
        missing, and are dropped when present."""
        arch = list(self.codec.encode(sample, optional=self._optional))
        for stage in SEARCHED_STAGES:
            depth = DEPTHS[arch[self.codec.position[f"s{stage}_depth"]]]
            for block in range(max(DEPTHS)):
                position = self.codec.position[f"s{stage}_i{block}"]
                if block >= depth:
                    arch[position] = UNUSED
                elif arch[position] == UNUSED:
                    raise ArchFormatError(
                        f"{SPACE} sample: label 's{stage}_i{block}' is missing; stage {stage} "
                        f"has depth {depth}, so it needs s{stage}_i0..s{stage}_i{depth - 1}."
                    )
        return tuple(arch)

    @property
    def _optional(self) -> tuple[str, ...]:
        return tuple(name for name in self._blocks if not name.endswith("_i0"))

    def to_sample(self, arch: Hashable) -> dict[str, Any]:
        """The NNI sample dict of ``arch``; blocks beyond a stage's depth get NNI's first
        choice (NNI needs every label; the value is never used)."""
        sample = self.codec.decode(self.check(arch))
        return {label.name: sample.get(label.name, label.values[0]) for label in self.codec.labels}

    def check(self, arch: Any) -> tuple[int, ...]:
        """``arch`` validated: -1 exactly at the blocks beyond each stage's depth."""
        values = self.codec.check(arch)
        canonical = self.from_sample(
            {
                name: label.value_at(position)
                for name, label, position in zip(self.codec.names, self.codec.labels, values)
                if position != UNUSED
            }
        )
        if canonical != values:
            raise ArchFormatError(
                f"A {SPACE} arch marks with -1 exactly the blocks beyond each stage's depth; got "
                f"{arch!r}."
            )
        return values

    def parse(self, text: str) -> tuple[int, ...]:
        return self.from_sample(self.codec.parse_text(text))

    def format(self, arch: Hashable) -> str:
        return self.codec.text(self.check(arch))

    def size(self) -> int:
        per_stage = sum(len(BLOCKS) ** depth for depth in DEPTHS)
        return len(BLOCKS) * per_stage ** len(SEARCHED_STAGES)

    def sample(self, n: int, seed: int) -> GraphBatch:
        """``n`` distinct architectures, every label drawn uniformly as NNI's
        ``space.random()`` does."""
        n = check_sample_size(n, self.size())
        rng = np.random.default_rng(seed)
        archs: dict[tuple[int, ...], None] = {}
        while len(archs) < n:
            for row in self.codec.draw(n - len(archs), rng):
                archs.setdefault(self.from_sample(self.codec.decode(row)))
        return self.batch(list(archs))

    def batch(self, archs: Sequence[Hashable]) -> GraphBatch:
        return ListBatch([self.check(arch) for arch in archs], self.to_graph, self.format)

    # ------------------------------------------------------------------- graphs
    def to_graph(self, arch: Hashable | Mapping[str, Any]) -> ArchGraph:
        """The network of ``arch`` or of an NNI sample dict, named by its canonical text."""
        checked = self.from_sample(arch) if isinstance(arch, Mapping) else self.check(arch)
        nodes: dict[str, Tensor] = {}
        edges: list[Edge] = []

        def add(src: str, dst: str, op: Op) -> str:
            if dst not in nodes:
                source = nodes[src]
                shape = op.output_shape(source.channels, source.height, source.width)
                nodes[dst] = Tensor(dst, *shape)
            edges.append(Edge(src, dst, op))
            return dst

        w = self.widths
        nodes["input"] = Tensor("input", 3, self.input_size, self.input_size)
        stem = Op("stem", (*_conv_bn(3, w[0], 3, stride=2), _relu6(w[0])))
        previous = add("input", "stem", stem)
        separable = Op(
            "sep_conv",
            (*_conv_bn(w[0], w[0], 3, groups=w[0]), _relu6(w[0]), *_conv_bn(w[0], w[1], 1)),
        )
        add(previous, "s1.b0", separable)
        if w[0] == w[1]:
            edges.append(Edge(previous, "s1.b0", Op.identity("residual")))
        cells = [Cell("s1", (previous, "s1.b0"), (previous,), "s1.b0")]
        previous = "s1.b0"
        for stage in range(2, 8):
            members = [previous]
            for block, choice in enumerate(self._stage_blocks(checked, stage)):
                c_in = w[stage - 1] if block == 0 else w[stage]
                stride = 2 if block == 0 and DOWNSAMPLE[stage] else 1
                kernel, expand = int(choice[1]), int(choice[3])
                op = inverted_residual(choice, c_in, w[stage], kernel, expand, stride)
                name = add(members[-1], f"s{stage}.b{block}", op)
                if stride == 1 and c_in == w[stage]:
                    edges.append(Edge(members[-1], name, Op.identity("residual")))
                members.append(name)
            cells.append(Cell(f"s{stage}", tuple(members), (previous,), members[-1]))
            previous = members[-1]
        mix = Op("feature_mix", (*_conv_bn(w[7], w[8], 1), _relu6(w[8])))
        previous = add(previous, "feature_mix", mix)
        add(previous, "pooled", Op("global_pool", (Layer("global_avg_pool", w[8], w[8]),)))
        add(
            "pooled",
            "logits",
            Op("classifier", (Layer("linear", w[8], self.num_labels, bias=True),)),
        )
        return ArchGraph(
            tuple(nodes.values()),
            tuple(edges),
            "input",
            "logits",
            tuple(cells),
            name=self.format(checked),
        )

    def _stage_blocks(self, arch: Sequence[int], stage: int) -> list[str]:
        """The block choices (``k3e6``...) of one stage's built blocks."""
        found = []
        for block in range(max(DEPTHS) if stage in SEARCHED_STAGES else 1):
            position = arch[self.codec.position[f"s{stage}_i{block}"]]
            if position != UNUSED:
                found.append(BLOCKS[position])
        return found
