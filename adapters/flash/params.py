"""FLASH's space as NNI-style parameters: ``width_{c}``, ``depth_{c}``, ``skips_{c}`` per cell.

Per cell c = 1..n: ``width_{c}`` and ``depth_{c}`` as ``choice`` (integers), ``randint``
([low, high), NNI's convention) or ``quniform`` ([low, high, q]); ``skips_{c}`` as ``uniform``
(a density in [0, 1]: the cell takes ``round(density * capacity)`` skips) or ``randint`` (a skip
count, capped at the cell's capacity). The adapter is rebuilt with these widths, depths and
number of cells; its other options come from ``space_options``. Registered through the
``translate_search_space`` hook.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from flash_nas import Adapter, ArchFormatError
from flash_nas.errors import SearchSpaceError
from flash_nas.plugins.domain import LISTABLE
from flash_nas.plugins.translator import (
    Parameter,
    SpaceTranslator,
    is_number,
    name_error,
    parse_parameter,
)

__all__ = ["FlashTranslator"]


def _integer(value: Any, where: str) -> int:
    if is_number(value) and float(value).is_integer():
        return int(value)
    raise ArchFormatError(f"{where} must be an integer; got {value!r}.")


class FlashTranslator(SpaceTranslator):
    """``width_{c}``, ``depth_{c}``, ``skips_{c}`` per cell c = 1..n of FLASH's space."""

    SIZE_TYPES = ("choice", "randint", "quniform")
    SKIP_TYPES = ("uniform", "randint")
    FROM_SPACE = ("widths", "depths", "n_cells")

    def __init__(self, build: Callable[..., Adapter], space: Mapping[str, Any]) -> None:
        cells = self._cells(space)
        parameters: dict[str, Parameter] = {}
        for c in cells:
            for key, types in (("width", self.SIZE_TYPES), ("depth", self.SIZE_TYPES)):
                name = f"{key}_{c}"
                parameter = parse_parameter(name, space[name], types)
                bad = [v for v in parameter.options or () if not is_number(v) or v < 1]
                bad += [v for v in parameter.options or () if is_number(v) and v % 1]
                if bad:
                    raise SearchSpaceError(
                        f"Search-space parameter {name!r} must offer integers >= 1; it offers "
                        f"{bad[0]!r}."
                    )
                parameters[name] = parameter
            name = f"skips_{c}"
            parameter = parse_parameter(name, space[name], self.SKIP_TYPES)
            if parameter.kind == "uniform" and not 0 <= parameter.low < parameter.high <= 1:
                raise SearchSpaceError(
                    f"Search-space parameter {name!r} (uniform) is a skip density: its range must "
                    f"lie in [0, 1]; got [{parameter.low:g}, {parameter.high:g}]."
                )
            if parameter.kind == "randint" and parameter.low < 0:
                raise SearchSpaceError(
                    f"Search-space parameter {name!r} (randint) counts skips: it must start at "
                    f">= 0; got {parameter.low:g}."
                )
            parameters[name] = parameter
        adapter = build(
            n_cells=len(cells),
            widths=[sorted(int(v) for v in parameters[f"width_{c}"].options or ()) for c in cells],
            depths=[sorted(int(v) for v in parameters[f"depth_{c}"].options or ()) for c in cells],
        )
        self.n_cells = len(cells)
        super().__init__(adapter, parameters)

    @staticmethod
    def _cells(space: Mapping[str, Any]) -> list[int]:
        found: dict[str, set[int]] = {"width": set(), "depth": set(), "skips": set()}
        unknown = []
        for name in space:
            key, _, number = name.partition("_")
            if key in found and number.isdigit() and int(number) >= 1:
                found[key].add(int(number))
            else:
                unknown.append(name)
        n_cells = max(max(cells, default=0) for cells in found.values())
        expected = {f"{key}_{c}" for key in found for c in range(1, n_cells + 1)}
        missing = expected - set(space)
        if unknown or missing or not n_cells:
            raise SearchSpaceError(
                name_error(
                    "flash",
                    missing,
                    unknown,
                    "width_{c}, depth_{c} and skips_{c} for every cell c = 1..n",
                )
            )
        return list(range(1, n_cells + 1))

    @property
    def flash(self) -> Any:
        return self.adapter

    def _skip_range(self, c: int, capacity: int) -> tuple[int, int]:
        """The skip counts the cell's parameter can give at this capacity."""
        p = self.parameters[f"skips_{c}"]
        if p.kind == "uniform":
            return _round(p.low * capacity), _round(p.high * capacity)
        return min(int(p.low), capacity), min(int(p.high) - 1, capacity)

    def to_arch(self, params: Mapping[str, Any]) -> Hashable:
        self.check_names(params)
        cells = []
        for c in range(1, self.n_cells + 1):
            width = _integer(params[f"width_{c}"], f"Parameter 'width_{c}'")
            depth = _integer(params[f"depth_{c}"], f"Parameter 'depth_{c}'")
            if width < 1 or depth < 1:
                raise ArchFormatError(f"Cell {c}: width and depth must be >= 1.")
            capacity = self.flash.skip_capacity(width, depth)
            value, p = params[f"skips_{c}"], self.parameters[f"skips_{c}"]
            if not is_number(value):
                raise ArchFormatError(f"Parameter 'skips_{c}' must be a number; got {value!r}.")
            if p.kind == "uniform":
                skips = _round(min(max(float(value), 0.0), 1.0) * capacity)
            else:
                skips = min(_integer(value, f"Parameter 'skips_{c}'"), capacity)
            cells.append((width, depth, skips))
        return self.flash.check(cells)

    def to_params(self, arch: Hashable) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for c, (width, depth, skips) in enumerate(self.flash.check(arch), start=1):
            params[f"width_{c}"], params[f"depth_{c}"] = width, depth
            p = self.parameters[f"skips_{c}"]
            if p.kind == "uniform":
                capacity = self.flash.skip_capacity(width, depth)
                density = skips / capacity if capacity else 0.0
                params[f"skips_{c}"] = min(max(density, p.low), p.high)
            else:
                params[f"skips_{c}"] = max(skips, int(p.low))
        return params

    def enumerate(self) -> list[Hashable] | None:
        per_cell = []
        for c in range(1, self.n_cells + 1):
            options = []
            for width in self.flash.widths[c - 1]:
                for depth in self.flash.depths[c - 1]:
                    low, high = self._skip_range(c, self.flash.skip_capacity(width, depth))
                    options += [(width, depth, t) for t in range(low, high + 1)]
            per_cell.append(options)
        if math.prod(map(len, per_cell)) > LISTABLE:
            return None
        return [self.flash.check(cells) for cells in itertools.product(*per_cell)]


def _round(value: float) -> int:
    """Round half up (Python's round() goes to even, which would skip reachable counts)."""
    return math.floor(value + 0.5)


#: Method pairs an adapter may translate NNI parameters with, in the order they are looked for:
#: ``from_sample``/``to_sample`` are what the adapters of NNI's model spaces offer (their
