"""NAS-Bench-101 (Ying et al., ICML 2019) as a flash-nas search space.

The network is NAS-Bench-101's own (``nasbench/lib/model_builder.py``):

* **stem** -- conv3x3 (no bias) to 128 channels, BN, ReLU;
* **three stacks of three cells**; between stacks a 2x2/2 max pool, and the channels double
  (128, 256, 512);
* **head** -- global average pooling, dense (with bias) to 10 classes.

A **cell** is a DAG of up to 7 vertices: vertex 0 is the cell input, the last vertex its output,
each interior vertex one op (``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``).
Before anything is built the cell is *pruned*: vertices not on an input->output path are removed,
as NAS-Bench-101's ``ModelSpec.prune`` does; the pruned cell must have at most 7 vertices and 9
edges. The channels of each vertex follow the official ``compute_vertex_channels``: the output
concatenates the vertices that feed it, each with ``C // k`` channels (the first ``C % k`` of them
one more), and every other vertex takes the largest width among the vertices it feeds. An
interior vertex sums its inputs: other vertices truncated to its width (the first channels),
and the cell input through a 1x1 projection (conv-BN-ReLU). The output adds a projection of the
input to the concatenation when the matrix has an input->output edge. So the parameter count
depends on the vertex order (which vertex gets the remainder channel), as NAS-Bench-101 publishes;
so do NN-Degree's conv in-degrees (a vertex's width), slightly: among NAS-Lib's 500 cells, 2 of the
48 isomorphism classes with several members differ in NN-Degree (by < 0.2 %), all others agree.

A cell whose output has no path from its input is no NAS-Bench-101 network (its API rejects the
spec); flash-nas keeps it, as a cell whose output is a zero edge from its input, so that samplers
can see it is cut off (it trains to chance accuracy).

Canonical text: ``MATRIX;OPS`` as NAS-Lib's exports write them: the adjacency matrix rows as 0/1
digits joined by ``/`` (``m[i][j] = 1``: an edge from vertex i to vertex j), then the op names
joined by ``|`` (``0111101/0000011/...;input|maxpool3x3|...|output``). The arch is that text's
parts, unpruned: two texts that prune to the same cell are two archs with equal graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import cached_property

import numpy as np

import flash_nas
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
    Table,
    Tensor,
)
from flash_nas.validation import check_int
from flash_nas_adapters.space_tables import nasbench101_table

#: Op names of interior vertices, in NAS-Lib's code order (codes 2, 3, 4).
OPS = ("maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
INPUT, OUTPUT = "input", "output"
MAX_VERTICES = 7
MAX_EDGES = 9
STACKS = 3
CELLS_PER_STACK = 3

#: An arch: the upper-triangular matrix as rows of 0/1 and the op names, both as tuples.
Arch = tuple[tuple[tuple[int, ...], ...], tuple[str, ...]]


# ------------------------------------------------------------------------- text and checks
def parse_arch(text: str) -> Arch:
    """``MATRIX;OPS`` -> (matrix rows, ops); one clear error per kind of bad input."""
    if not isinstance(text, str) or text.count(";") != 1:
        raise ArchFormatError(
            f"NAS-Bench-101 arch {text!r} is malformed; expected 'MATRIX;OPS', e.g. "
            f"'0110/0001/0001/0000;input|conv3x3-bn-relu|maxpool3x3|output'."
        )
    matrix_text, ops_text = (part.strip() for part in text.split(";"))
    rows = matrix_text.split("/")
    if not all(row and set(row) <= {"0", "1"} for row in rows):
        raise ArchFormatError(
            f"NAS-Bench-101 matrix {matrix_text!r}: rows must be 0/1 digits joined by '/'."
        )
    matrix = tuple(tuple(int(digit) for digit in row) for row in rows)
    return check_arch((matrix, tuple(ops_text.split("|"))))


def format_arch(arch: Arch) -> str:
    matrix, ops = arch
    return "/".join("".join(map(str, row)) for row in matrix) + ";" + "|".join(ops)


#: NAS-Lib's op codes (``nasbench101/conversions.py``): input, output, then the interior ops.
NASLIB_CODES = (INPUT, OUTPUT, *OPS)


def from_naslib(values: Sequence[int]) -> Arch:
    """The arch of NAS-Lib's 56-tuple: the 7 x 7 matrix row-major, then 7 op codes."""
    values = [int(v) for v in values]
    if len(values) != MAX_VERTICES**2 + MAX_VERTICES or not all(
        0 <= v < len(NASLIB_CODES) for v in values[MAX_VERTICES**2 :]
    ):
        raise ArchFormatError(
            f"NAS-Lib's NAS-Bench-101 tuple has 49 matrix entries then 7 op codes in 0..4 "
            f"({', '.join(f'{i} {name}' for i, name in enumerate(NASLIB_CODES))}); got {values!r}."
        )
    size = MAX_VERTICES
    matrix = tuple(tuple(values[row * size : (row + 1) * size]) for row in range(size))
    return check_arch((matrix, tuple(NASLIB_CODES[v] for v in values[size * size :])))


def to_naslib(arch: Arch) -> tuple[int, ...]:
    """NAS-Lib's 56-tuple of a 7-vertex arch."""
    matrix, ops = check_arch(arch)
    if len(matrix) != MAX_VERTICES:
        raise ArchFormatError(
            f"NAS-Lib's tuple holds 7-vertex cells; this one has {len(matrix)} vertices."
        )
    return (*(v for row in matrix for v in row), *(NASLIB_CODES.index(op) for op in ops))


def check_arch(arch: object) -> Arch:
    """``arch`` validated: square, upper-triangular 0/1 matrix, matching ops, a small pruned
    cell."""
    try:
        if isinstance(arch, (str, bytes)) or not isinstance(arch, Iterable):
            raise TypeError("not a pair")
        raw_matrix, raw_ops = arch
        # 0/1 or True/False (numpy's too); a 0.5 or a "1" is refused, never rounded
        if not all(isinstance(v, (int, np.integer, np.bool_)) for row in raw_matrix for v in row):
            raise TypeError("entries that are not integers")
        matrix = tuple(tuple(int(v) for v in row) for row in raw_matrix)
        if not all(isinstance(op, str) for op in raw_ops):
            raise TypeError("op names that are not text")
        ops = tuple(raw_ops)
    except (TypeError, ValueError):
        raise ArchFormatError(
            f"A NAS-Bench-101 arch is (matrix rows, op names); got {arch!r}."
        ) from None
    size = len(matrix)
    if any(len(row) != size for row in matrix):
        raise ArchFormatError(
            f"NAS-Bench-101 matrix is not square: {size} row(s) of "
            f"{', '.join(str(len(row)) for row in matrix)} entries; expected {size} rows of "
            f"{size} entries each."
        )
    if not 2 <= size <= MAX_VERTICES:
        raise ArchFormatError(
            f"NAS-Bench-101 matrix has {size} vertices; expected 2..{MAX_VERTICES}."
        )
    if any(v not in (0, 1) for row in matrix for v in row):
        raise ArchFormatError("NAS-Bench-101 matrix entries must be 0 or 1.")
    below = [(i, j) for i in range(size) for j in range(i + 1) if matrix[i][j]]
    if below:
        i, j = below[0]
        raise ArchFormatError(
            f"NAS-Bench-101 matrix is not upper-triangular: entry ({i}, {j}) is 1; edges must "
            f"go from a vertex to a later one (m[i][j] with i < j)."
        )
    if len(ops) != size:
        raise ArchFormatError(
            f"NAS-Bench-101 arch has {len(ops)} ops for a {size} x {size} matrix; give one op "
            f"per vertex ('input', {size - 2} interior ops, 'output')."
        )
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ArchFormatError(
            f"NAS-Bench-101 ops must start with 'input' and end with 'output'; got {ops[0]!r} "
            f"... {ops[-1]!r}."
        )
    unknown = [op for op in ops[1:-1] if op not in OPS]
    if unknown:
        raise ArchFormatError(
            f"Unknown NAS-Bench-101 op {unknown[0]!r}; expected one of {', '.join(OPS)}."
        )
    pruned_matrix, _ = prune(matrix, ops)
    edges = int(np.sum(pruned_matrix))
    if len(pruned_matrix) > MAX_VERTICES or edges > MAX_EDGES:
        raise ArchFormatError(
            f"NAS-Bench-101 cell has {len(pruned_matrix)} vertices and {edges} edges after "
            f"pruning; NAS-Bench-101 allows at most {MAX_VERTICES} vertices and {MAX_EDGES} "
            f"edges."
        )
    return matrix, ops


def prune(
    matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """NAS-Bench-101's ``ModelSpec.prune``: drop vertices off every input->output path.

    A cell whose output is cut off from its input comes back as the bare 2-vertex cell with no
    edge (NAS-Bench-101 marks that spec invalid).
    """
    m = np.asarray(matrix, dtype=np.int64)
    size = len(m)
    forward = _reach(m, 0)
    backward = _reach(m.T, size - 1)
    keep = [v for v in range(size) if v in forward and v in backward]
    if len(keep) < 2:
        return np.zeros((2, 2), dtype=np.int64), [INPUT, OUTPUT]
    return m[np.ix_(keep, keep)], [ops[v] for v in keep]


def _reach(m: np.ndarray, start: int) -> set[int]:
    seen, frontier = {start}, [start]
    while frontier:
        top = frontier.pop()
        for v in np.flatnonzero(m[top]):
            if int(v) not in seen:
                seen.add(int(v))
                frontier.append(int(v))
    return seen


def vertex_channels(input_channels: int, output_channels: int, matrix: np.ndarray) -> list[int]:
    """NAS-Bench-101's ``compute_vertex_channels``, line for line."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[n - 1] = input_channels, output_channels
    if n == 2:
        return channels
    in_degree = matrix[1:].sum(axis=0)
    interior, correction = divmod(output_channels, int(in_degree[n - 1]))
    for v in range(1, n - 1):
        if matrix[v, n - 1]:
            channels[v] = interior + (1 if correction else 0)
            correction = max(correction - 1, 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v, n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def cut_off_many(matrices: np.ndarray) -> np.ndarray:
    """Per cell of a stack of ``(n, V, V)`` matrices: no path from vertex 0 to vertex V-1."""
    m = np.asarray(matrices, dtype=bool)
    reach = m.copy()
    for _ in range(m.shape[1]):  # a path has at most V-1 edges
        reach = reach | (np.einsum("nij,njk->nik", reach.astype(np.int64), m) > 0)
    return ~reach[:, 0, -1]


# ----------------------------------------------------------------------------- graph
def _conv_bn_relu(name: str, c_in: int, c_out: int, kernel: int) -> Op:
    return Op(
        name,
        (
            Layer("conv", c_in, c_out, kernel=kernel, padding=kernel // 2),
            Layer("bn", c_out, c_out),
            Layer("relu", c_out, c_out),
        ),
    )


def _vertex_op(name: str, channels: int) -> Op:
    if name == "maxpool3x3":
        return Op(name, (Layer("max_pool", channels, channels, kernel=3, padding=1),))
    return _conv_bn_relu(name, channels, channels, 3 if name.startswith("conv3x3") else 1)


class NasBench101Adapter(Adapter):
    """NAS-Bench-101's cell space on CIFAR-10.

    Parameters: ``input_size`` (32), ``num_classes`` (10), ``stem_channels`` (128, doubled at
    each of the two downsamplings). Canonical text: ``MATRIX;OPS`` (see the module docstring).
    """

    description = (
        "NAS-Bench-101 cells (stem 128, 3 stacks x 3 cells); text MATRIX;OPS, e.g. "
        "'0111101/0000011/...;input|maxpool3x3|...|output'; table nb101 (500 cells)"
    )

    def __init__(
        self, *, input_size: int = 32, num_classes: int = 10, stem_channels: int = 128
    ) -> None:
        # upper limits as NAS-Bench-201 states them: beyond them the numbers mean nothing (a
        # 10^12-pixel input is a typo) and the counts would overflow
        for name, value, low, high in (
            ("input_size", input_size, 4, 4096),
            ("num_classes", num_classes, 1, 1_000_000),
            ("stem_channels", stem_channels, 1, 8192),
        ):
            check_int(value, name, owner="NasBench101Adapter", low=low, high=high)
        self.input_size = input_size
        self.num_classes = num_classes
        self.stem_channels = stem_channels

    def parse(self, text: str) -> Arch:
        return parse_arch(text)

    def format(self, arch: Hashable) -> str:
        return format_arch(check_arch(arch))

    def tables(self) -> dict[str, Callable[[], Table]]:
        """``nb101``: NAS-Lib's 500 cells (validation accuracy, published params and proxies)."""
        return {"nb101": nasbench101_table}

    def to_graph(self, arch: Hashable) -> ArchGraph:
        matrix, ops = check_arch(arch)
        pruned, pruned_ops = prune(matrix, ops)
        side, channels = self.input_size, self.stem_channels
        nodes = [Tensor("input", 3, side, side), Tensor("stem", channels, side, side)]
        edges = [Edge("input", "stem", _conv_bn_relu("stem", 3, channels, 3))]
        cells: list[Cell] = []
        previous = "stem"
        for stack in range(STACKS):
            if stack:
                side //= 2
                pooled = f"down{stack}"
                nodes.append(Tensor(pooled, channels, side, side))
                pool = Layer("max_pool", channels, channels, kernel=2, stride=2)
                edges.append(Edge(previous, pooled, Op("downsample", (pool,))))
                previous, wide = pooled, channels * 2
            else:
                wide = channels
            for repeat in range(CELLS_PER_STACK):
                name = f"s{stack}c{repeat}"
                previous = self._cell(
                    nodes, edges, cells, name, previous, channels, wide, side, pruned, pruned_ops
                )
                channels = wide
        nodes.append(Tensor("pooled", channels, 1, 1))
        edges.append(
            Edge(previous, "pooled", Op("pool", (Layer("global_avg_pool", channels, channels),)))
        )
        nodes.append(Tensor("logits", self.num_classes, 1, 1))
        head = Layer("linear", channels, self.num_classes, bias=True)
        edges.append(Edge("pooled", "logits", Op("classifier", (head,))))
        return ArchGraph(
            tuple(nodes),
            tuple(edges),
            "input",
            "logits",
            tuple(cells),
            name=format_arch((matrix, ops)),
        )

    @staticmethod
    def _cell(
        nodes: list[Tensor],
        edges: list[Edge],
        cells: list[Cell],
        name: str,
        source: str,
        c_in: int,
        c_out: int,
        side: int,
        matrix: np.ndarray,
        ops: list[str],
    ) -> str:
        """One cell reading ``source``; returns its output node."""
        n = len(matrix)
        widths = vertex_channels(c_in, c_out, matrix)
        members = [source]
        tensors = {0: source}
        concat_in = []
        for t in range(1, n - 1):
            summed, out = f"{name}.v{t}.in", f"{name}.v{t}"
            nodes.append(Tensor(summed, widths[t], side, side))
            for src in range(1, t):
                if matrix[src, t]:  # truncation: the first widths[t] channels
                    edges.append(Edge(tensors[src], summed, Op.identity("truncate"), 0, widths[t]))
            if matrix[0, t]:
                edges.append(Edge(source, summed, _conv_bn_relu("projection", c_in, widths[t], 1)))
            nodes.append(Tensor(out, widths[t], side, side))
            edges.append(Edge(summed, out, _vertex_op(ops[t], widths[t])))
            members += [summed, out]
            tensors[t] = out
            if matrix[t, n - 1]:
                concat_in.append(out)
        output = f"{name}.out"
        if not concat_in:
            nodes.append(Tensor(output, c_out, side, side))
            op = _conv_bn_relu("projection", c_in, c_out, 1) if matrix[0, n - 1] else Op.zero()
            edges.append(Edge(source, output, op))
        else:
            if matrix[0, n - 1]:
                concat = f"{name}.concat"
                nodes.append(Tensor(concat, c_out, side, side, "concat"))
                members.append(concat)
            else:
                concat = output
            nodes.append(Tensor(output, c_out, side, side, "concat" if concat == output else "sum"))
            edges.extend(Edge(vertex, concat, Op.identity("concat")) for vertex in concat_in)
            if concat != output:
                edges.append(Edge(concat, output, Op.identity("concat_out")))
                edges.append(Edge(source, output, _conv_bn_relu("projection", c_in, c_out, 1)))
        members.append(output)
        cells.append(Cell(name, tuple(members), (source,), output))
        return output

    # ------------------------------------------------------------ search-engine hooks
    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Cells whose output has no path from the input, all at once (boolean reachability)."""
        padded = np.stack([self._padded(check_arch(arch)[0]) for arch in archs])
        return cut_off_many(padded) if len(archs) else np.zeros(0, dtype=bool)

    @staticmethod
    def _padded(matrix: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
        """An n x n matrix as 7 x 7, the output moved to vertex 6 (padding vertices unused)."""
        m = np.asarray(matrix, dtype=np.int64)
        n = len(m)
        where = [*range(n - 1), MAX_VERTICES - 1]
        out = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        out[np.ix_(where, where)] = m
        return out

    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Per arch, of its pruned cell (what is built): the 21 upper-triangular entries of the
        7 x 7 matrix (output at vertex 6), then per interior vertex 1..5 a one-hot of its op."""
        upper = np.triu_indices(MAX_VERTICES, k=1)
        rows = []
        for arch in archs:
            matrix, ops = prune(*check_arch(arch))
            interior = np.zeros((MAX_VERTICES - 2, len(OPS)))
            for vertex, op in enumerate(ops[1:-1]):
                interior[vertex, OPS.index(op)] = 1.0
            rows.append(np.concatenate([self._padded(matrix)[upper], interior.ravel()]))
        return np.array(rows, dtype=float).reshape(len(rows), -1)

    def chance_accuracy(self) -> float:
        return 100.0 / self.num_classes

    def batch(self, archs: Sequence[Hashable]) -> GraphBatch:
        checked = [check_arch(arch) for arch in archs]
        return ListBatch(checked, self._cached_graph, format_arch)

    @cached_property
    def _graphs(self) -> dict[str, ArchGraph]:
        return {}

    def _cached_graph(self, arch: Arch) -> ArchGraph:
        """Graphs are rebuilt for every metric pass of a ListBatch: keep the few last ones."""
        text = format_arch(arch)
        if text not in self._graphs:
            if len(self._graphs) > 4096:
                self._graphs.clear()
            self._graphs[text] = self.to_graph(arch)
        return self._graphs[text]

    def sample(self, n: int, seed: int) -> GraphBatch:
        """``n`` distinct valid cells, drawn as NAS-Bench-101's examples draw them: a random 7 x 7
        upper-triangular matrix (each edge with probability 1/2) and random interior ops, kept
        when the pruned cell connects input to output with at most 9 edges."""
        check_int(n, "n", owner="NasBench101Adapter.sample", low=1)
        rng = np.random.default_rng(seed)
        found: dict[str, Arch] = {}
        upper = np.triu(np.ones((MAX_VERTICES, MAX_VERTICES), dtype=bool), k=1)
        while len(found) < n:
            matrix = (rng.random((MAX_VERTICES, MAX_VERTICES)) < 0.5) & upper
            ops = (INPUT, *(OPS[i] for i in rng.integers(0, len(OPS), MAX_VERTICES - 2)), OUTPUT)
            pruned, _ = prune(matrix, ops)
            if cut_off_many(pruned[None])[0] or pruned.sum() > MAX_EDGES:
                continue
            arch: Arch = (tuple(tuple(int(v) for v in row) for row in matrix), ops)
            found.setdefault(format_arch(arch), arch)
        return self.batch(list(found.values()))


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("nasbench101", NasBench101Adapter)
