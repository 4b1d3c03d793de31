"""FLASH graph layers -> ZigZag workload: the layers of a network as ZigZag simulates them.

What is simulated. Every executed conv and linear layer of the ArchGraph becomes one ZigZag layer
at batch size 1: a ``Conv`` (loops B, K, G, OX, OY, C, FX, FY, with the graph's stride and padding)
or a ``Gemm`` (D, K, C), with ``precision``-bit weights and activations and partial sums of twice
that. A network costs the sum of its layers. **Not costed**: pooling (average, max, global), the
element-wise adds of sum nodes, concatenation, batch norm, activations and biases. That is what
ZigZag itself does with an ONNX model (it costs Conv/Gemm/MatMul only); on IMC hardware it skips
Add and Pooling layers even when they are given to it, and it has no Concat. So two cells that
differ only by an avg-pool against a skip edge cost the same here.

Grouped and depthwise convs use ZigZag's G loop. On arrays a mapping entry derived from the
hardware's default one (K replaced by G, C dropped) lets G unroll spatially; without it a
depthwise conv lands on one PE. ZigZag's IMC model cannot unroll G at all (inputs broadcast
along the wordlines and outputs summed along the bitlines), so by default (``imc_groups=
"block_diagonal"``, our choice) a grouped conv on IMC hardware is simulated as the crossbar would
store it: the ``b`` groups that fit one array (by its columns and by its rows for their
``C x kernel**2`` inputs) side by side, their weights block-diagonal, i.e. a conv of
``ceil(G / b)`` groups, the channels spread evenly over them (32 depthwise 3x3 channels at 14 to
a 128-row array: 3 groups of 11). ``imc_groups="zigzag"`` keeps ZigZag's own (far slower)
answer.

Nothing here imports ZigZag: the workload is plain data, which
:mod:`flash_nas_hardware.zigzag.driver` hands to the simulator.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from flash_nas import ArchGraph
from flash_nas.graph.structure import EdgeShape, executed_edges
from flash_nas_hardware.crossbar_packing import pack_block_diagonal

__all__ = ["DEPTHWISE_NAME", "LAYER_NAME", "ZigZagLayer", "graph_layers", "stored_block_diagonally"]

# Mapping entries are matched by layer name first (ZigZag's MappingFactory): depthwise convs get
# the mapping entry of their own the driver derives.
LAYER_NAME, DEPTHWISE_NAME = "flash_nas_layer", "flash_nas_depthwise"


@dataclass(frozen=True)
class ZigZagLayer:
    """One conv or linear layer as ZigZag simulates it, at batch size 1.

    ``operator`` is ``"Conv"`` or ``"Gemm"``. ``k`` and ``c`` are output and input channels per
    group. A Gemm (linear layer) is applied at each of its ``out_height x out_width`` positions
    (1x1 after global pooling); the kernel, stride, padding and input fields are those of a conv.
    """

    operator: str
    k: int
    c: int
    groups: int = 1
    out_height: int = 1
    out_width: int = 1
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    in_height: int = 1
    in_width: int = 1
    precision: int = 8

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return self.k * self.c * self.groups * self.kernel**2 * self.out_height * self.out_width

    def key(self) -> str:
        """The layer as a JSON list: its key in the disk cache."""
        return json.dumps(dataclasses.astuple(self))

    def zigzag(self) -> dict[str, Any]:
        """ZigZag's in-memory workload form of this layer (one entry of the layer list)."""
        bits = self.precision
        common = {
            "id": 0,
            "name": DEPTHWISE_NAME if self.groups > 1 and self.c == 1 else LAYER_NAME,
            "operand_precision": {"W": bits, "I": bits, "O": 2 * bits, "O_final": bits},
            # W comes from this layer itself (constant weights); I is read from memory.
            "operand_source": {"W": 0},
        }
        if self.operator == "Gemm":
            return {
                **common,
                "operator_type": "Gemm",
                "equation": "O[d][k]+=I[d][c]*W[c][k]",
                "dimension_relations": [],
                "loop_dims": ["D", "K", "C"],
                "loop_sizes": [self.out_height * self.out_width, self.k, self.c],
            }
        # As ZigZag's own ONNX Conv parser writes it.
        return {
            **common,
            "operator_type": "Conv",
            "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
            "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
            "loop_sizes": [
                1,
                self.k,
                self.groups,
                self.out_width,
                self.out_height,
                self.c,
                self.kernel,
                self.kernel,
            ],
            "dimension_relations": [f"ix={self.stride}*ox+1*fx", f"iy={self.stride}*oy+1*fy"],
            "pr_loop_dims": ["IX", "IY"],
            "pr_loop_sizes": [self.in_width, self.in_height],
            "padding": [[self.padding, self.padding], [self.padding, self.padding]],
        }


def graph_layers(graph: ArchGraph, precision: int = 8) -> list[ZigZagLayer]:
    """Every conv and linear layer on the edges the accelerator executes
    (:func:`flash_nas.executed_edges`), in edge order, repeats included."""
    layers = []
    for edge, alive in zip(graph.edges, executed_edges(graph)):
        if not alive:
            continue
        shape = EdgeShape.of(graph, edge)
        height, width = shape.height, shape.width
        for layer in shape.op.layers:
            out_height, out_width = layer.output_size(height, width)
            if layer.kind == "conv":
                layers.append(
                    ZigZagLayer(
                        "Conv",
                        layer.out_channels // layer.groups,
                        layer.in_channels // layer.groups,
                        layer.groups,
                        out_height,
                        out_width,
                        layer.kernel,
                        layer.stride,
                        layer.padding,
                        height,
                        width,
                        precision,
                    )
                )
            elif layer.kind == "linear":
                layers.append(
                    ZigZagLayer(
                        "Gemm",
                        layer.out_channels,
                        layer.in_channels,
                        out_height=out_height,
                        out_width=out_width,
                        precision=precision,
                    )
                )
            height, width = out_height, out_width
    return layers


def stored_block_diagonally(layer: ZigZagLayer, columns: int, rows: int) -> ZigZagLayer:
    """A grouped conv as an IMC array of ``columns`` weights by ``rows`` inputs stores it.

    The groups that fit one array lie side by side on its diagonal
    (:func:`~flash_nas_hardware.crossbar_packing.pack_block_diagonal`), spread evenly over the
    arrays they need: a conv of as many groups as arrays, each ``b`` times as wide. A layer of
    one group, or of groups too large to share an array, is returned as it is.
    """
    if layer.groups == 1:
        return layer
    packing = pack_block_diagonal(layer.groups, layer.c * layer.kernel**2, layer.k, rows, columns)
    if packing.groups_per_array <= 1:
        return layer
    per_array = packing.balanced_groups_per_array
    return dataclasses.replace(
        layer, k=layer.k * per_array, c=layer.c * per_array, groups=packing.group_sets
    )
