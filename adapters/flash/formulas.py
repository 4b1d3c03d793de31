"""Closed forms of the FLASH space's metrics: whole batches as arrays, no graph built.

The room of the counting. Per block kind, each metric of a cell is a formula in its width ``w``,
depth ``d`` and skip count ``t`` (and the spatial sizes the cell works at); the stem, the
transitions and the head add the same terms for every block. :func:`metric_arrays` evaluates
only the formulas asked for. The graphs these formulas count are built in
:mod:`flash_nas_adapters.flash.blocks`; the tests hold each formula to its graph.

Imports nothing of the other ``flash_*`` modules: :mod:`~flash_nas_adapters.flash.blocks`
pairs each block kind with its formulas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

__all__ = [
    "CellArrays",
    "Formulas",
    "dense_metrics",
    "metric_arrays",
    "mobilenet_metrics",
    "pair_count",
    "resnet_metrics",
]

#: An int (one cell) or an array of them (a batch of cells).
Count = TypeVar("Count", int, np.ndarray)


def pair_count(depth: Count) -> Count:
    """Eligible (layer i, source j <= i-2) skip pairs in a cell of ``depth`` layers."""
    return (depth - 1) * (depth - 2) // 2


@dataclass(frozen=True)
class CellArrays:
    """Per architecture and cell, shape ``(n, n_cells)``, and per cell the spatial sizes."""

    width: np.ndarray
    depth: np.ndarray
    skips: np.ndarray
    size: np.ndarray  # (n_cells,): spatial size of the cell's layers
    size_in: np.ndarray  # (n_cells,): spatial size of the cell's input node
    expansion: int
    per_pair: Callable[[np.ndarray], np.ndarray | int]  # most skips a pair carries, given w

    @property
    def capacity(self) -> np.ndarray:
        """The most skips each cell holds, in its block's unit (worked out only for NN-Mass)."""
        return pair_count(self.depth) * np.asarray(self.per_pair(self.width), dtype=float)

    @classmethod
    def of(
        cls,
        configs: np.ndarray,
        sizes: Sequence[int],
        expansion: int,
        per_pair: Callable[[np.ndarray], np.ndarray | int],
    ) -> CellArrays:
        """Checked ``configs`` ``(n, n_cells, 3)`` as the float arrays the formulas take;
        ``per_pair`` gives the most skips one pair carries for a width (the block's rule)."""
        # float64 throughout: int64 products of a large input and wide cells overflow silently
        spatial = np.array(sizes, dtype=float)
        floats = configs.astype(float)
        return cls(
            width=floats[:, :, 0],
            depth=floats[:, :, 1],
            skips=floats[:, :, 2],
            size=spatial,
            size_in=np.concatenate([spatial[:1], spatial[:-1]]),
            expansion=expansion,
            per_pair=per_pair,
        )


#: A metric's formula, evaluated only when the metric is asked for.
Thunk = Callable[[], np.ndarray]
#: A block kind's per-cell formulas, by metric name.
Formulas = Callable[[CellArrays], dict[str, Thunk]]


def dense_metrics(c: CellArrays) -> dict[str, Thunk]:
    """Layer i's conv reads ``w + s_i`` channels and the ``s_i`` sum to t: every total is linear
    in the ``s_i``, so it depends on t alone, not on how the seed laid the skips out."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    read = d * w + t  # input channels summed over the cell's convs
    return {
        # 3x3 weights, and BN's scale and shift per input channel
        "params": lambda: read * (9 * w + 2),
        "macs": lambda: 9 * w * area * read,
        # BN (2) and ReLU (1) per input value; layer 0 works at the input size, before its stride
        "elementwise": lambda: 3 * (w * c.size_in**2 + (read - w) * area),
        "activations": lambda: area * (read + (d - 1) * w),  # d outputs, d-1 concat nodes
        "nn_degree": lambda: w + t / d,
        "nn_degree_neuron": lambda: 9 * (w + t / d),
    }


def resnet_metrics(c: CellArrays) -> dict[str, Thunk]:
    """Identity skips add no weights or MACs; each adds 1 to the in-degree of its sum node."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    return {
        "params": lambda: d * (9 * w * w + 2 * w),
        "macs": lambda: 9 * w * w * d * area,
        "elementwise": lambda: 3 * w * (c.size_in**2 + (d - 1) * area),  # BN-ReLU before each conv
        "activations": lambda: d * w * area,
        "nn_degree": lambda: w + t / d,
        "nn_degree_neuron": lambda: 9 * w + t / d,
    }


def mobilenet_metrics(c: CellArrays) -> dict[str, Thunk]:
    """The first layer's expand conv runs at the cell's input size, everything else after the
    stride; the project conv (1x1, ``h = e * w`` inputs) sets the in-degree."""
    w, d, t, area = c.width, c.depth, c.skips, c.size**2
    h = c.expansion * w
    return {
        # two 1x1 convs, 3x3 depthwise, three BNs
        "params": lambda: d * (2 * h * w + 13 * h + 2 * w),
        "macs": lambda: h * w * (c.size_in**2 + (2 * d - 1) * area) + 9 * h * d * area,
        # BN-ReLU6 after the expand conv (before the stride) and the depthwise conv, BN at the end
        "elementwise": lambda: 3 * h * (c.size_in**2 + (2 * d - 1) * area) + 2 * w * d * area,
        "activations": lambda: d * w * area,
        "nn_degree": lambda: h + t / d,
        "nn_degree_neuron": lambda: h + t / d,
    }


def _skeleton_metrics(c: CellArrays, classes: int) -> dict[str, Thunk]:
    """Stem, transitions and head: the same for every block."""
    w = c.width
    first, last, before, after = w[:, 0], w[:, -1], w[:, :-1], w[:, 1:]
    stem = first * c.size_in[0] ** 2  # values the stem writes
    transition_area = c.size_in[1:] ** 2
    transition = before * transition_area  # values each transition reads
    pooled = last * c.size[-1] ** 2  # values the head reads
    return {
        "params": lambda: (
            29 * first + (before * (after + 2)).sum(axis=1) + (classes + 2) * last + classes
        ),
        "macs": lambda: 27 * stem + (transition * after).sum(axis=1) + classes * last,
        # the stem's BN; BN-ReLU before each transition; the head's BN-ReLU and pooling adds
        "elementwise": lambda: 2 * stem + 3 * transition.sum(axis=1) + 4 * pooled,
        "activations": lambda: stem + (after * transition_area).sum(axis=1) + classes,
    }


def metric_arrays(
    cells: CellArrays, formulas: Formulas, classes: int, names: Iterable[str] | None = None
) -> dict[str, np.ndarray]:
    """The metrics ``names`` (default: every one the formulas give, plus ``flops`` and
    ``nn_mass``) per architecture of ``cells``, as floats; names the formulas do not know are
    left out, so the caller scores those graph by graph."""
    per_cell = formulas(cells)
    skeleton = _skeleton_metrics(cells, classes)

    def total(name: str) -> np.ndarray:
        value = per_cell[name]().sum(axis=1)
        return value + skeleton[name]() if name in skeleton else value

    known = [name for name in per_cell if name != "elementwise"] + ["flops", "nn_mass"]
    found: dict[str, np.ndarray] = {}
    for name in known if names is None else [n for n in names if n in known]:
        if name == "flops":
            # one MAC as one FLOP, plus the element-wise work (BN, activations, pooling)
            found[name] = total("macs") + total("elementwise")
        elif name == "nn_mass":
            capacity = cells.capacity
            mass = np.divide(
                cells.skips * cells.width * cells.depth,
                capacity,
                out=np.zeros(capacity.shape),
                where=capacity > 0,
            )
            found[name] = mass.sum(axis=1)
        else:
            found[name] = total(name)
    return {name: np.asarray(value, dtype=float) for name, value in found.items()}
