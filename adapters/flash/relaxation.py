"""FLASH's space as SHGO's boxes (see :class:`FlashRelaxation`).

The room of the relaxation that :meth:`FlashSpaceAdapter.relaxation
<flash_nas_adapters.flash.space.FlashSpaceAdapter.relaxation>` builds.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from flash_nas.plugins.relaxation import Relaxation, Variable
from flash_nas.validation import ParameterError
from flash_nas_adapters.flash.encoding import CellConfig, FlashArch

if TYPE_CHECKING:  # for annotations only: the adapter's module imports this one
    from flash_nas_adapters.flash.space import FlashSpaceAdapter

__all__ = ["FlashRelaxation"]


class FlashRelaxation(Relaxation):
    """The FLASH space as SHGO's boxes, in FLASH's two levels.

    * **Level 1**, per cell ``c`` (numbered from 1 in the names): ``width{c}``, the position of
      the width in that cell's allowed widths, and ``depth{c}``, the position of the depth in
      its allowed depths (index variables; 6-D for 3 cells). A cell with a single allowed width
      (depth) has no such variable.
    * **Level 2**, per cell: ``rho{c}``, the skip density in [0, 1], decoded as
      ``t_c = round(rho_c * capacity(w_c, d_c))`` (3-D for 3 cells). It is NN-Mass's density
      (skips over the most the cell holds), so a level-2 point keeps its meaning whatever
      widths and depths level 1 chose.

    ``densities`` (ours, for checking against a grid): None for the continuous density above,
    or the few densities allowed, e.g. ``(0, 0.5, 1)``; ``rho{c}`` is then an index variable
    over them, and the relaxation covers exactly the grid an exhaustive search enumerates.

    :meth:`start` is the middle of the box: middle width and depth positions, density 0.5 (the
    middle allowed density on a grid). :meth:`encode` inverts :meth:`decode` (``rho = t /
    capacity``, 0 where the capacity is 0; on a grid, the nearest allowed density).
    :meth:`neighbours`, what the integer repair climbs, moves one cell at a time: its width or
    depth one position either way, keeping the skip density (``t`` rescaled to the new capacity
    and rounded); its skips by ``+-step`` with ``step = max(1, capacity // 16)`` (one skip
    channel is too small a step in a cell that holds hundreds); and its skips to the extremes,
    0 and ``capacity``. On a grid the skip moves are to the neighbouring and extreme densities.
    """

    def __init__(
        self, adapter: FlashSpaceAdapter, densities: Sequence[float] | None = None
    ) -> None:
        self.adapter = adapter
        self.densities = None if densities is None else tuple(sorted({float(r) for r in densities}))
        if self.densities is not None and (
            not self.densities or self.densities[0] < 0 or self.densities[-1] > 1
        ):
            raise ParameterError(
                f"The 'densities' of FlashRelaxation must be skip densities in [0, 1] (or None "
                f"for any density). Got {densities!r} instead."
            )
        found: list[Variable] = []
        for cell in range(adapter.n_cells):
            for name, allowed in (("width", adapter.widths), ("depth", adapter.depths)):
                if len(allowed[cell]) > 1:
                    found.append(Variable(f"{name}{cell + 1}", len(allowed[cell]), 1))
        levels = None if self.densities is None else len(self.densities)
        found += [Variable(f"rho{cell + 1}", levels, 2) for cell in range(adapter.n_cells)]
        self._variables = tuple(found)
        self._sizes = {variable.name: variable.size for variable in found}

    @property
    def variables(self) -> tuple[Variable, ...]:
        return self._variables

    def _index(self, values: Mapping[str, float], name: str) -> int:
        size = self._sizes.get(name)
        return 0 if size is None else round(min(max(float(values[name]), 0.0), size - 1.0))

    def _density(self, values: Mapping[str, float], cell: int) -> float:
        if self.densities is not None:
            return self.densities[self._index(values, f"rho{cell + 1}")]
        return min(max(float(values[f"rho{cell + 1}"]), 0.0), 1.0)

    def _skips(self, rho: float, width: int, depth: int) -> int:
        return round(rho * self.adapter.skip_capacity(width, depth))

    def decode(self, values: Mapping[str, float]) -> FlashArch:
        cells = []
        for cell in range(self.adapter.n_cells):
            width = self.adapter.widths[cell][self._index(values, f"width{cell + 1}")]
            depth = self.adapter.depths[cell][self._index(values, f"depth{cell + 1}")]
            rho = self._density(values, cell)
            cells.append(CellConfig(width, depth, self._skips(rho, width, depth)))
        return tuple(cells)

    def _rho(self, config: CellConfig) -> float:
        """The density ``config`` stands at: exact, or the nearest allowed one on a grid."""
        capacity = self.adapter.skip_capacity(config.width, config.depth)
        rho = config.skips / capacity if capacity else 0.0
        if self.densities is not None:
            return min(self.densities, key=lambda allowed: abs(allowed - rho))
        return rho

    def encode(self, arch: Hashable) -> dict[str, float]:
        point: dict[str, float] = {}
        for cell, config in enumerate(self.adapter.check(arch)):
            name = cell + 1
            point[f"width{name}"] = float(self.adapter.widths[cell].index(config.width))
            point[f"depth{name}"] = float(self.adapter.depths[cell].index(config.depth))
            rho = self._rho(config)
            point[f"rho{name}"] = (
                rho if self.densities is None else float(self.densities.index(rho))
            )
        return {name: value for name, value in point.items() if name in self._sizes}

    def start(self) -> dict[str, float]:
        return {
            variable.name: 0.5 if variable.size is None else (variable.size - 1) / 2
            for variable in self._variables
        }

    def neighbours(self, arch: Hashable) -> Iterator[FlashArch]:
        cells = self.adapter.check(arch)
        seen = {cells}
        for cell, config in enumerate(cells):
            width, depth = config.width, config.depth
            rho = self._rho(config)
            moved = []
            for allowed, is_width in (
                (self.adapter.widths[cell], True),
                (self.adapter.depths[cell], False),
            ):
                position = allowed.index(width if is_width else depth)
                for step in (-1, 1):
                    if 0 <= position + step < len(allowed):
                        value = allowed[position + step]
                        w, d = (value, depth) if is_width else (width, value)
                        moved.append((w, d, self._skips(rho, w, d)))
            moved += [(width, depth, t) for t in self._skip_moves(config, rho)]
            for numbers in moved:
                neighbour = (*cells[:cell], CellConfig(*numbers), *cells[cell + 1 :])
                if neighbour not in seen:
                    seen.add(neighbour)
                    yield neighbour

    def _skip_moves(self, config: CellConfig, rho: float) -> list[int]:
        capacity = self.adapter.skip_capacity(config.width, config.depth)
        if self.densities is None:
            step = max(1, capacity // 16)
            return [max(config.skips - step, 0), min(config.skips + step, capacity), 0, capacity]
        position = self.densities.index(rho)
        nearby = self.densities[max(position - 1, 0) : position + 2]
        targets = {*nearby, self.densities[0], self.densities[-1]}
        return [self._skips(target, config.width, config.depth) for target in sorted(targets)]
