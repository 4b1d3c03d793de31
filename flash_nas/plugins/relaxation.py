"""Continuous relaxations of discrete search spaces, for SHGO.

SHGO (``scipy.optimize.shgo``) searches continuous, low-dimensional boxes; its initial sampling
grows as ``2**dim``. A :class:`Relaxation` presents a space as a few *levels* of bounded
continuous variables -- FLASH's hierarchy: level 1 the width and depth of every cell, level 2 the
skip connections given level 1 -- and says how a point of the box rounds to an architecture.

* An *index* variable of ``size`` k takes ``0 .. k-1`` and rounds to the nearest integer: the
  position of a width in the allowed widths, or of an op in a list of options ordered by their
  NN-Degree contribution (how categorical choices are made ordinal).
* A *fraction* variable takes ``[0, 1]`` and the space turns it into an integer choice whose range
  depends on other variables (a skip count between 0 and the cell's capacity).

:meth:`Relaxation.neighbours` gives the integer neighbourhood that the search's repair step
explores after rounding.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Relaxation", "Variable"]


@dataclass(frozen=True)
class Variable:
    """One relaxed choice: an index over ``size`` options, or a fraction when ``size`` is None."""

    name: str
    size: int | None
    level: int

    @property
    def bounds(self) -> tuple[float, float]:
        return (0.0, float(self.size - 1)) if self.size is not None else (0.0, 1.0)

    def round(self, value: float) -> float:
        """The nearest value this variable can take exactly (fractions stay continuous)."""
        low, high = self.bounds
        value = min(max(float(value), low), high)
        return float(round(value)) if self.size is not None else value


class Relaxation(ABC):
    """A space's relaxed form: variables grouped in levels, and the map back to architectures."""

    @property
    @abstractmethod
    def variables(self) -> Sequence[Variable]:
        """Every variable, each with its level (1, 2, ...)."""

    @abstractmethod
    def decode(self, values: Mapping[str, float]) -> Hashable:
        """The architecture a point of the box rounds to (every variable given)."""

    @abstractmethod
    def encode(self, arch: Hashable) -> dict[str, float]:
        """A point of the box that decodes to ``arch``."""

    @abstractmethod
    def start(self) -> dict[str, float]:
        """Values of every variable before any level is searched (the middle of the space)."""

    def neighbours(self, arch: Hashable) -> Iterator[Hashable]:
        """Architectures one step away: each index variable +-1, each fraction +-1 unit.

        The default steps index variables only; spaces with fraction variables override it.
        """
        point = self.encode(arch)
        for variable in self.variables:
            if variable.size is None:
                continue
            for step in (-1, 1):
                value = point[variable.name] + step
                if 0 <= value <= variable.size - 1:
                    yield self.decode({**point, variable.name: value})

    @property
    def levels(self) -> list[list[Variable]]:
        """Variables grouped by level, in level order."""
        found = sorted({variable.level for variable in self.variables})
        return [[v for v in self.variables if v.level == level] for level in found]
