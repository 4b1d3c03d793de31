"""NAS-Bench-201 cell encodings, and pure functions between them.

Representations (one cell, six edges; node ``i`` sums edges from every ``j < i``; node 3 is the
cell output):

* **ops** -- our canonical tuple of six op-ids in arch-string order, edges
  (1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2); ids index :data:`OPS`, the order NAS-Bench-201
  itself lists its op names in.
* **arch string** -- ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, the benchmark's own text.
* **NASLib tuple** -- six NASLib op-ids (0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1,
  4 avg_pool_3x3) in edge order (1->2), (1->3), (1->4), (2->3), (2->4), (3->4) with 1-based
  nodes: ``(a, b, c, d, e, f)`` is the string ``|a~0|+|b~0|d~1|+|c~0|e~1|f~2|``.
* **NNI sample** -- NNI's ``NasBench201`` space labels ``cell/{j}_{i}`` (node j feeds node i) with
  the choices ``none, skip_connect, conv_1x1, conv_3x3, avg_pool_3x3``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from flash_nas import ArchFormatError
from flash_nas.errors import quote
from flash_nas_adapters.choice_codes import choice_codes

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (source node, target node) of each position in the ops tuple.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
# NASLib position k holds our ops position _NASLIB_ORDER[k].
_NASLIB_ORDER = (0, 1, 3, 2, 4, 5)
NNI_OPS = {
    "none": "none",
    "skip_connect": "skip_connect",
    "nor_conv_1x1": "conv_1x1",
    "nor_conv_3x3": "conv_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
}
_FROM_NNI = {nni: ours for ours, nni in NNI_OPS.items()}
_STRING_FORM = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")

#: Six op ids, one per edge of :data:`EDGES` (the length is checked where an ops tuple is made:
#: :func:`check_ops` and the parsers).
Ops = tuple[int, ...]


def _op_id(name: str, text: str) -> int:
    """The id of op ``name`` read from arch string ``text`` (quoted only in the error: a
    search parses every cell of the space, and quoting each one cost more than the parse)."""
    try:
        return OPS.index(name)
    except ValueError:
        raise ArchFormatError(
            f"Arch string {quote(text)}: unknown op {name!r}; expected one of {', '.join(OPS)}."
        ) from None


def ops_from_string(text: str) -> Ops:
    """The ops tuple of an arch string; malformed text says what was expected."""
    # A search lists the space as text and parses every cell back (a new engine does so for all
    # 15,625): each string is parsed once per process. Errors are not cached (raised each time).
    return _parsed(text) if isinstance(text, str) else _parse(text)


@lru_cache(maxsize=2 * 5**6)
def _parsed(text: str) -> Ops:
    return _parse(text)


def _parse(text: str) -> Ops:
    stripped = text.strip()
    nodes = stripped.split("+")
    if len(nodes) != 3:
        raise ArchFormatError(
            f"Malformed NAS-Bench-201 arch string {quote(text)}: expected three '+'-separated node "
            f"groups like {_STRING_FORM}."
        )
    ops: list[int] = []
    for target, group in enumerate(nodes, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 3:
            raise ArchFormatError(
                f"Malformed NAS-Bench-201 arch string {quote(text)}: node {target}'s group "
                f"{quote(group)} "
                f"must be wrapped in '|'; expected {_STRING_FORM}."
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != target:
            raise ArchFormatError(
                f"Malformed NAS-Bench-201 arch string {quote(text)}: node {target} needs {target} "
                f"input edge(s), got {len(tokens)}."
            )
        for source, token in enumerate(tokens):
            match = _TOKEN.match(token)
            if match is None:
                raise ArchFormatError(
                    f"Malformed NAS-Bench-201 arch string {quote(text)}: edge {quote(token)} "
                    f"must read "
                    f"'op~{source}'."
                )
            if int(match.group(2)) != source:
                raise ArchFormatError(
                    f"Malformed NAS-Bench-201 arch string {quote(text)}: edge {quote(token)} "
                    f"into node "
                    f"{target} must come from node {source} (write 'op~{source}')."
                )
            ops.append(_op_id(match.group(1), text))
    return tuple(ops)


def ops_to_string(ops: Sequence[int]) -> str:
    """The benchmark's arch string of an ops tuple."""
    names = [OPS[op] for op in check_ops(ops)]
    return f"|{names[0]}~0|+|{names[1]}~0|{names[2]}~1|+|{names[3]}~0|{names[4]}~1|{names[5]}~2|"


def check_ops(ops: object) -> Ops:
    """``ops`` as a validated tuple of six op-ids (Python ints)."""
    values = choice_codes(ops, len(EDGES), len(OPS))
    if values is None:
        raise ArchFormatError(
            f"Expected six op ids in 0..{len(OPS) - 1} (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, "
            f"3<-2); got {ops!r}."
        )
    return values


def ops_to_naslib(ops: Sequence[int]) -> tuple[int, ...]:
    """NASLib's op tuple of an ops tuple."""
    ours = check_ops(ops)
    return tuple(NASLIB_OPS.index(OPS[ours[position]]) for position in _NASLIB_ORDER)


def ops_from_naslib(naslib: Sequence[int] | str) -> Ops:
    """The ops tuple of a NASLib tuple, given as a sequence or its text ``"(4, 3, 3, 0, 0, 0)"``."""
    if isinstance(naslib, str):
        try:
            values = tuple(int(part) for part in naslib.strip().strip("()").split(","))
        except ValueError:
            raise ArchFormatError(
                f"Malformed NASLib tuple {naslib!r}: expected six integers like "
                "'(4, 3, 3, 0, 0, 0)'."
            ) from None
    else:
        values = tuple(naslib)
    if len(values) != 6 or not all(isinstance(v, int) and 0 <= v < len(NASLIB_OPS) for v in values):
        raise ArchFormatError(
            f"Malformed NASLib tuple {naslib!r}: expected six op ids in 0..4 "
            f"({', '.join(f'{i}={name}' for i, name in enumerate(NASLIB_OPS))})."
        )
    ours = [0] * 6
    for naslib_position, our_position in enumerate(_NASLIB_ORDER):
        ours[our_position] = OPS.index(NASLIB_OPS[values[naslib_position]])
    return tuple(ours)


def ops_to_nni(ops: Sequence[int]) -> dict[str, str]:
    """NNI's ``NasBench201`` sample of an ops tuple."""
    ours = check_ops(ops)
    return {f"cell/{j}_{i}": NNI_OPS[OPS[op]] for (j, i), op in zip(EDGES, ours)}


def ops_from_nni(sample: Mapping[str, str]) -> Ops:
    """The ops tuple of an NNI ``NasBench201`` sample; unknown or missing labels are errors."""
    expected = {f"cell/{j}_{i}" for j, i in EDGES}
    labels = set(sample)
    if labels != expected:
        raise ArchFormatError(
            f"An NNI NasBench201 sample needs exactly the labels {sorted(expected)}; missing "
            f"{sorted(expected - labels)}, unexpected {sorted(labels - expected)}."
        )
    ours = []
    for j, i in EDGES:
        choice = sample[f"cell/{j}_{i}"]
        if choice not in _FROM_NNI:
            raise ArchFormatError(
                f"NNI sample label 'cell/{j}_{i}' holds {choice!r}; expected one of "
                f"{', '.join(_FROM_NNI)}."
            )
        ours.append(OPS.index(_FROM_NNI[choice]))
    return tuple(ours)
