"""NAS-Bench-301 (Siems et al., 2020; Zela et al., ICLR 2022): the DARTS space as its benchmark
trains it, through the ``nni-darts`` adapter, with DARTS ``Genotype`` strings as text.

NAS-Bench-301's network is DARTS's CIFAR-10 evaluation network at **32 channels and 8 cells**
(reductions at cells 2 and 5), which is NNI's ``DARTS(width=32, num_cells=8)``
(:mod:`flash_nas_adapters.nni.darts`) cell for cell. One difference, found on the published
parameter counts: NAS-Lib, whose counts the shipped table holds, builds the candidate ops' batch
norms without affine parameters (``affine=False``), while the stem and the cells'
preprocessing keep theirs. This space does the same (:class:`flash_nas.Layer` ``affine``), so
``params`` equals the published count on all 500 rows; NNI's ``nni-darts`` keeps affine batch
norms everywhere.

Text: the ``genotype`` column of NAS-Lib's data, DARTS's own ``Genotype(normal=[(op, node), ...],
normal_concat=[2, 3, 4, 5], reduce=[...], reduce_concat=[2, 3, 4, 5])``: pairs 2k and 2k+1 feed
node k+2, nodes 0 and 1 are the cell's inputs. It is read with :mod:`ast` (literals only, never
evaluated). :func:`genotype_to_arch` / :func:`arch_to_genotype` convert to and from the
``nni-darts`` arch (and so NNI's sample dicts), :func:`compact_to_arch` / :func:`arch_to_compact`
to and from NAS-Lib's compact form ``[[(node, op code), ...], [...]]``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Hashable, Sequence
from dataclasses import replace

import numpy as np

import flash_nas
from flash_nas import Adapter, ArchFormatError, ChoiceSkeleton, Op, Table
from flash_nas.errors import quote
from flash_nas_adapters.nni.darts import CELL_TYPES, DARTS_OPS, NniDartsAdapter
from flash_nas_adapters.space_tables import nasbench301_table

WIDTH, CELLS = 32, 8
PAIRS = 8
CONCAT = [2, 3, 4, 5]
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")

Pairs = list[tuple[str, int]]


#: Longest genotype text read (the canonical one is about 400 characters): Python's parser,
#: which reads it, exhausts its stack on operators nested thousands deep.
MAX_GENOTYPE_CHARS = 10_000


def parse_genotype(text: str) -> dict[str, Pairs]:
    """``{'normal': [(op, node)] * 8, 'reduce': ...}`` of a ``Genotype(...)`` string."""
    form = "Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...], "
    form += "reduce_concat=[2, 3, 4, 5])"
    if len(text) > MAX_GENOTYPE_CHARS:
        raise ArchFormatError(
            f"NAS-Bench-301 genotype of {len(text):,} characters; expected {form}, at most "
            f"{MAX_GENOTYPE_CHARS:,} characters."
        )
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, AttributeError, ValueError, RecursionError, MemoryError):
        # RecursionError, MemoryError: Python's parser on operators nested thousands deep
        tree = None
    if (
        not isinstance(tree, ast.Call)
        or not isinstance(tree.func, ast.Name)
        or tree.func.id != "Genotype"
        or tree.args
        or sorted(k.arg or "" for k in tree.keywords) != sorted(_FIELDS)
    ):
        raise ArchFormatError(f"Malformed NAS-Bench-301 genotype {quote(text)}; expected {form}.")
    try:
        fields = {k.arg: ast.literal_eval(k.value) for k in tree.keywords}
    except (ValueError, RecursionError, MemoryError):
        raise ArchFormatError(
            f"NAS-Bench-301 genotype {quote(text)} holds something other than literals; "
            f"expected {form}."
        ) from None
    cells = {}
    for kind in CELL_TYPES:
        if list(fields[f"{kind}_concat"]) != CONCAT:
            raise ArchFormatError(
                f"NAS-Bench-301 cells concatenate nodes {CONCAT}; the genotype's {kind}_concat "
                f"is {fields[f'{kind}_concat']!r}."
            )
        cells[kind] = _check_pairs(fields[kind], kind)
    return cells


def _check_pairs(pairs: object, kind: str) -> Pairs:
    if not isinstance(pairs, (list, tuple)) or len(pairs) != PAIRS:
        raise ArchFormatError(
            f"The {kind} cell of a NAS-Bench-301 genotype needs {PAIRS} (op, input node) pairs; "
            f"got {pairs!r}."
        )
    checked = []
    for position, pair in enumerate(pairs):
        node = position // 2 + 2
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not isinstance(pair[0], str)
            or not isinstance(pair[1], int)
        ):
            raise ArchFormatError(
                f"Pair {position} of the {kind} cell must be (op name, input node); got {pair!r}."
            )
        op, source = pair
        if op not in DARTS_OPS:
            raise ArchFormatError(
                f"Unknown op {op!r} in the {kind} cell of a NAS-Bench-301 genotype; expected one "
                f"of {', '.join(DARTS_OPS)}."
            )
        if not 0 <= source < node:
            raise ArchFormatError(
                f"Pair {position} of the {kind} cell feeds node {node} from node {source}; it "
                f"must read one of nodes 0..{node - 1}."
            )
        checked.append((op, source))
    return checked


def genotype_to_arch(cells: dict[str, Pairs]) -> tuple[int, ...]:
    """The ``nni-darts`` arch (fixed width and depth): per cell type 8 op positions, then 8 input
    nodes."""
    arch: list[int] = []
    for kind in CELL_TYPES:
        arch += [DARTS_OPS.index(op) for op, _ in cells[kind]]
        arch += [node for _, node in cells[kind]]
    return tuple(arch)


def arch_to_genotype(arch: Sequence[int]) -> dict[str, Pairs]:
    cells = {}
    for number, kind in enumerate(CELL_TYPES):
        part = arch[number * 2 * PAIRS : (number + 1) * 2 * PAIRS]
        cells[kind] = [(DARTS_OPS[part[k]], int(part[PAIRS + k])) for k in range(PAIRS)]
    return cells


def format_genotype(cells: dict[str, Pairs]) -> str:
    return (
        f"Genotype(normal={cells['normal']!r}, normal_concat={CONCAT!r}, "
        f"reduce={cells['reduce']!r}, reduce_concat={CONCAT!r})"
    )


def compact_to_arch(compact: Sequence[Sequence[Sequence[int]]]) -> tuple[int, ...]:
    """NAS-Lib's compact ``[normal, reduce]``, each 8 ``(input node, op code)`` pairs (codes in
    :data:`DARTS_OPS` order, as NAS-Lib's ``nasbench301/conversions.py``)."""
    if len(compact) != len(CELL_TYPES):
        raise ArchFormatError(f"NAS-Lib's compact form is [normal, reduce]; got {compact!r}.")
    cells = {}
    for kind, pairs in zip(CELL_TYPES, compact):
        named = []
        for pair in pairs:
            node, code = pair
            if not 0 <= int(code) < len(DARTS_OPS):
                raise ArchFormatError(
                    f"NAS-Lib op code {code!r} is out of range 0..{len(DARTS_OPS) - 1}."
                )
            named.append((DARTS_OPS[int(code)], int(node)))
        cells[kind] = _check_pairs(named, kind)
    return genotype_to_arch(cells)


def arch_to_compact(arch: Sequence[int]) -> list[list[tuple[int, int]]]:
    cells = arch_to_genotype(arch)
    return [[(node, DARTS_OPS.index(op)) for op, node in cells[kind]] for kind in CELL_TYPES]


def _without_affine(op: Op) -> Op:
    layers = tuple(
        replace(layer, affine=False) if layer.kind == "bn" else layer for layer in op.layers
    )
    return replace(op, layers=layers) if layers != op.layers else op


class NasBench301Adapter(NniDartsAdapter):
    """NAS-Bench-301's DARTS network (32 channels, 8 cells, CIFAR-10), Genotype strings as text.

    Arches, graphs, batches and sampling are ``nni-darts``'s at ``width=32, num_cells=8``; only
    the text and the cell ops' batch norms (no affine parameters, as NAS-Lib) differ.
    """

    description = (
        "NAS-Bench-301 / DARTS (32 channels, 8 cells, CIFAR-10); text: DARTS "
        "Genotype(normal=[...], normal_concat=[2, 3, 4, 5], reduce=[...], "
        "reduce_concat=[2, 3, 4, 5]); table nb301"
    )

    def __init__(self) -> None:
        super().__init__(width=WIDTH, num_cells=CELLS, dataset="cifar")

    def parse(self, text: str) -> tuple[int, ...]:
        return genotype_to_arch(parse_genotype(text))

    def format(self, arch: Hashable) -> str:
        return format_genotype(arch_to_genotype(self.check(arch)))

    def tables(self) -> dict[str, Callable[[], Table]]:
        """``nb301``: NAS-Lib's 500 cells with NAS-Bench-301's surrogate validation accuracy."""
        return {"nb301": nasbench301_table}

    def skeleton(self, width: int, depth: int) -> ChoiceSkeleton:
        key = (width, depth)
        if key not in self._skeletons:
            nni = super().skeleton(width, depth)
            slots: dict[int, tuple[int, Sequence[Op]]] = {
                slot.edge: (slot.column, tuple(_without_affine(op) for op in slot.options))
                for slot in nni.slots
            }
            self._skeletons[key] = ChoiceSkeleton(nni.skeleton, slots)
        return self._skeletons[key]

    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Per cell type and pair: a one-hot of its op (7) and of its input node (2..5 choices):
        2 x (8 x 7 + 28) = 168 columns."""
        rows = []
        for arch in archs:
            checked = self.check(arch)
            parts = []
            for number in range(len(CELL_TYPES)):
                part = checked[number * 2 * PAIRS : (number + 1) * 2 * PAIRS]
                parts.append(np.eye(len(DARTS_OPS))[list(part[:PAIRS])].ravel())
                for k in range(PAIRS):
                    parts.append(np.eye(k // 2 + 2)[part[PAIRS + k]])
            rows.append(np.concatenate(parts))
        return np.array(rows, dtype=float).reshape(len(rows), -1)

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Never: DARTS has no ``none`` op, so every node is reached from the cell's inputs."""
        return np.zeros(len(archs), dtype=bool)

    def chance_accuracy(self) -> float:
        return 10.0


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("nasbench301", NasBench301Adapter)


__all__ = [
    "NasBench301Adapter",
    "arch_to_compact",
    "arch_to_genotype",
    "compact_to_arch",
    "format_genotype",
    "genotype_to_arch",
    "parse_genotype",
]
