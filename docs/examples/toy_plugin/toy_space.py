"""A toy flash-nas plugin: plain CNNs ``conv3x3 x depth`` at one width, then a classifier.

The canonical text of an architecture is ``"w=WIDTH,d=DEPTH"``.
"""

from __future__ import annotations

import itertools
import re

import flash_nas
from flash_nas import Adapter, ArchFormatError, ArchGraph, Cell, Edge, Layer, ListBatch, Op, Tensor

WIDTHS = (8, 16, 32)
DEPTHS = (1, 2, 3, 4)
_TEXT = re.compile(r"^w=(\d+),d=(\d+)$")


class ToySpace(Adapter):
    """Plain CNNs: one cell of DEPTH 3x3 convs at WIDTH channels."""

    description = "toy plain-CNN space (12 architectures)"

    def parse(self, text: str) -> tuple[int, int]:
        match = _TEXT.match(text.strip())
        if match is None:
            raise ArchFormatError(f"Expected 'w=WIDTH,d=DEPTH', e.g. 'w=8,d=2'; got {text!r}.")
        width, depth = int(match.group(1)), int(match.group(2))
        if width not in WIDTHS or depth not in DEPTHS:
            raise ArchFormatError(f"Width must be in {WIDTHS} and depth in {DEPTHS}; got {text!r}.")
        return width, depth

    def check(self, arch: object) -> tuple[int, int]:
        """``arch`` as (width, depth), or an error that says what an architecture is."""
        if not (
            isinstance(arch, tuple)
            and len(arch) == 2
            and all(type(value) is int for value in arch)
            and arch[0] in WIDTHS
            and arch[1] in DEPTHS
        ):
            raise ArchFormatError(
                f"Expected (WIDTH, DEPTH), WIDTH in {WIDTHS}, DEPTH in {DEPTHS}; got {arch!r}."
            )
        return arch

    def format(self, arch: tuple[int, int]) -> str:
        width, depth = self.check(arch)
        return f"w={width},d={depth}"

    def to_graph(self, arch: tuple[int, int]) -> ArchGraph:
        width, depth = self.check(arch)
        nodes = [Tensor("input", 3, 32, 32)]
        edges = []
        previous, channels = "input", 3
        layer_names = []
        for layer in range(depth):
            name = f"conv{layer}"
            nodes.append(Tensor(name, width, 32, 32))
            op = Op(
                "conv3x3",
                (
                    Layer("conv", channels, width, kernel=3, padding=1),
                    Layer("bn", width, width),
                    Layer("relu", width, width),
                ),
            )
            edges.append(Edge(previous, name, op))
            layer_names.append(name)
            previous, channels = name, width
        nodes += [Tensor("pooled", width, 1, 1), Tensor("logits", 10, 1, 1)]
        edges.append(
            Edge(previous, "pooled", Op("pool", (Layer("global_avg_pool", width, width),)))
        )
        edges.append(Edge("pooled", "logits", Op("fc", (Layer("linear", width, 10, bias=True),))))
        # One cell: the input image and every conv layer; a plain CNN has no skip connections.
        cell = Cell("body", ("input", *layer_names), ("input",), layer_names[-1], skip_capacity=0)
        return ArchGraph(
            tuple(nodes), tuple(edges), "input", "logits", (cell,), name=self.format(arch)
        )

    def size(self) -> int:
        return len(WIDTHS) * len(DEPTHS)

    def enumerate(self) -> ListBatch:
        return self.batch(list(itertools.product(WIDTHS, DEPTHS)))


@flash_nas.hookimpl
def register_adapters(register):
    register("toy", ToySpace)
