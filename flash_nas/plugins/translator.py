"""How a space's architectures appear as a search tool's parameters: the plugin API of the
``translate_search_space`` hook.

The NNI tuner, the Optuna sampler and the Ray Tune searcher hand out *parameters* by name, from a
search space written ``{"name": {"_type": ..., "_value": [...]}}`` (NNI's format, which all three
take). A :class:`SpaceTranslator`, one per adapter and built by the adapter's plugin, turns a
trial's parameters into the adapter's architecture (:meth:`~SpaceTranslator.to_arch`) and back
(:meth:`~SpaceTranslator.to_params`). A translator is also a
:class:`~flash_nas.plugins.domain.Domain`: the architectures its declared ranges can express,
which the search engine searches.

Parameter types: ``choice`` (numbers, strings or lists), ``randint`` (``[low, high)``, NNI's
convention), ``quniform`` (``[low, high, q]``), ``uniform`` and ``loguniform``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from flash_nas.errors import ArchFormatError, SearchSpaceError
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.domain import LISTABLE, Domain

__all__ = [
    "SAMPLED_TYPES",
    "Parameter",
    "SampleTranslator",
    "SpaceTranslator",
    "is_number",
    "json_key",
    "name_error",
    "parse_parameter",
]

#: The ``_type`` values a translator can sample and explore, whatever the adapter.
SAMPLED_TYPES = ("choice", "randint", "quniform", "uniform", "loguniform")


# --------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class Parameter:
    """One search-space parameter: discrete ``options`` in order, or a range."""

    name: str
    kind: str
    options: tuple[Any, ...] | None = None
    low: float = 0.0
    high: float = 0.0

    @property
    def ordered(self) -> bool:
        """Whether the options are numbers, so that neighbours are the adjacent ones."""
        return self.options is not None and all(is_number(o) for o in self.options)

    def sample(self, rng: np.random.Generator) -> Any:
        if self.options is not None:
            return self.options[int(rng.integers(len(self.options)))]
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        if self.options is not None:
            return any(_same(value, option) for option in self.options)
        return is_number(value) and self.low <= value <= self.high

    def neighbours(self, value: Any) -> list[Any]:
        """Values one step away: adjacent numbers, any other category, or a tenth of a range."""
        if self.options is None:
            if self.kind == "loguniform":
                step = (math.log(self.high) - math.log(self.low)) / 10
                moved = [math.exp(math.log(value) + s) for s in (-step, step)]
            else:
                step = (self.high - self.low) / 10
                moved = [value - step, value + step]
            return [min(max(v, self.low), self.high) for v in moved if v != value]
        if not self.ordered:
            return [option for option in self.options if not _same(option, value)]
        ordered = sorted(self.options)
        below = [o for o in ordered if o < value]
        above = [o for o in ordered if o > value]
        return below[-1:] + above[:1]


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 24 and 24.0 are, True and 1 are not."""
    if is_number(a) and is_number(b):
        return float(a) == float(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def parse_parameter(name: str, spec: Any, allowed: Sequence[str]) -> Parameter:
    """One ``{"_type": ..., "_value": [...]}`` entry, checked; errors name the parameter."""
    if not isinstance(spec, Mapping) or "_type" not in spec or "_value" not in spec:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} must be a dict with '_type' and '_value'; got "
            f"{spec!r}."
        )
    kind, value = spec["_type"], spec["_value"]
    if kind not in allowed:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} has _type {kind!r}, which flash-nas cannot take "
            f"here; supported: {', '.join(allowed)}."
        )
    if not isinstance(value, (list, tuple)) or not value:
        raise SearchSpaceError(
            f"Search-space parameter {name!r}: '_value' must be a non-empty list; got {value!r}."
        )
    if kind == "choice":
        nested = [v for v in value if isinstance(v, Mapping)]
        if nested:
            raise SearchSpaceError(
                f"Search-space parameter {name!r} chooses among nested search spaces "
                f"({nested[0]!r}); flash-nas takes choices of numbers, strings or lists."
            )
        if len({json_key(v) for v in value}) != len(value):
            raise SearchSpaceError(f"Search-space parameter {name!r} lists a choice twice.")
        return Parameter(name, kind, tuple(value))
    if len(value) != (3 if kind == "quniform" else 2) or not all(is_number(v) for v in value):
        form = "[low, high, q]" if kind == "quniform" else "[low, high]"
        raise SearchSpaceError(
            f"Search-space parameter {name!r} ({kind}) needs '_value' {form} of numbers; got "
            f"{value!r}."
        )
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} ({kind}) needs low < high; got {value!r}."
        )
    if kind == "randint":
        if not (low.is_integer() and high.is_integer()):
            raise SearchSpaceError(
                f"Search-space parameter {name!r} (randint) needs integer bounds; got {value!r}."
            )
        return Parameter(name, kind, tuple(range(int(low), int(high))), low, high)
    if kind == "quniform":
        q = float(value[2])
        if not q > 0 or (high - low) / q > 1e6:
            raise SearchSpaceError(
                f"Search-space parameter {name!r} (quniform) needs 0 < q and at most a million "
                f"steps; got {value!r}."
            )
        # NNI draws clip(round(uniform(low, high) / q) * q, low, high).
        steps = range(math.floor(low / q), math.ceil(high / q) + 1)
        values = sorted({min(max(k * q, low), high) for k in steps})
        return Parameter(name, kind, tuple(_tidy(v) for v in values), low, high)
    if kind == "loguniform" and low <= 0:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} (loguniform) needs 0 < low; got {value!r}."
        )
    return Parameter(name, kind, None, low, high)


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def json_key(value: Any) -> tuple[str, Any]:
    """A hashable key that tells 1 from True and "1" (choice values come from JSON)."""
    if isinstance(value, (list, tuple)):
        return ("list", tuple(json_key(v) for v in value))
    return (type(value).__name__, value)


def name_error(space: str, missing: Iterable[str], unknown: Iterable[str], expected: str) -> str:
    parts = []
    if missing := sorted(missing):
        parts.append(f"missing {', '.join(missing)}")
    if unknown := sorted(unknown):
        parts.append(f"unknown {', '.join(unknown)}")
    return f"The {space} search space needs {expected}; {'; '.join(parts)}."


# ------------------------------------------------------------------------- translators
class SpaceTranslator(Domain):
    """How the architectures of one adapter appear as one search space's parameters.

    A plugin's ``translate_search_space`` hook builds one. Subclasses implement :meth:`to_arch`
    and :meth:`to_params`; listing, sampling and neighbourhoods work on the parameters and need
    no more.
    """

    def __init__(self, adapter: Adapter, parameters: Mapping[str, Parameter]) -> None:
        self.adapter = adapter
        self.parameters = dict(parameters)

    def to_arch(self, params: Mapping[str, Any]) -> Hashable:
        """The architecture of one trial's parameters; ArchFormatError if they do not fit."""
        raise NotImplementedError

    def to_params(self, arch: Hashable) -> dict[str, Any]:
        """The parameters a trial receives for ``arch``."""
        raise NotImplementedError

    def check_names(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping):
            raise ArchFormatError(f"Expected trial parameters as a dict; got {params!r}.")
        missing = set(self.parameters) - set(params)
        unknown = set(params) - set(self.parameters)
        if missing or unknown:
            raise ArchFormatError(
                "Trial parameters do not match the search space: "
                + "; ".join(
                    f"{what} {', '.join(sorted(names))}"
                    for what, names in (("missing", missing), ("unknown", unknown))
                    if names
                )
                + "."
            )

    def contains(self, arch: Hashable) -> bool:
        """Whether a trial can receive ``arch``: its parameters lie in the declared ranges and
        read back as the same architecture."""
        try:
            params = self.to_params(arch)
            inside = all(p.contains(params[name]) for name, p in self.parameters.items())
            return inside and self.to_arch(params) == arch
        except (ArchFormatError, KeyError, TypeError, ValueError):
            return False

    def enumerate(self) -> list[Hashable] | None:
        """Every architecture of the search space, or None when it is continuous or larger
        than 200,000 parameter combinations."""
        options = [p.options for p in self.parameters.values()]
        listed = [o for o in options if o is not None]
        if len(listed) < len(options) or math.prod(map(len, listed)) > LISTABLE:
            return None
        names = list(self.parameters)
        combos = itertools.product(*listed)
        return list(dict.fromkeys(self.to_arch(dict(zip(names, c))) for c in combos))

    def sample(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        """``n`` draws of the parameters (uniform over each), as architectures."""
        return [
            self.to_arch({name: p.sample(rng) for name, p in self.parameters.items()})
            for _ in range(n)
        ]

    def neighbours(self, arch: Hashable) -> list[Hashable]:
        """Architectures of the space one parameter step away from ``arch``."""
        params = self.to_params(arch)
        found: dict[Hashable, None] = {}
        for name, parameter in self.parameters.items():
            for value in parameter.neighbours(params[name]):
                try:
                    other = self.to_arch({**params, name: value})
                except ArchFormatError:
                    continue
                if other != arch and self.contains(other):
                    found[other] = None
        return list(found)


class SampleTranslator(SpaceTranslator):
    """Parameters that *are* the adapter's own samples: ``read(params) -> arch`` and
    ``write(arch) -> params`` (NNI's model spaces, whose samples are parameters already)."""

    def __init__(
        self,
        adapter: Adapter,
        space: Mapping[str, Any],
        read: Callable[[dict[str, Any]], Hashable],
        write: Callable[[Hashable], Mapping[str, Any]],
    ) -> None:
        parameters = {
            name: parse_parameter(name, spec, SAMPLED_TYPES) for name, spec in space.items()
        }
        self._read, self._write = read, write
        super().__init__(adapter, parameters)

    def to_arch(self, params: Mapping[str, Any]) -> Hashable:
        self.check_names(params)
        return self._read(dict(params))

    def to_params(self, arch: Hashable) -> dict[str, Any]:
        return dict(self._write(arch))
