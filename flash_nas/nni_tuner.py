"""FLASH as an NNI tuner: NNI experiments pick it by name, as they pick TPE or Evolution.

Register it once per environment (``flash-nas nni register``), then name it in the config::

    tuner:
      name: FlashTuner            # or its alias FLASH
      classArgs:
        space: nasbench201
        hardware: hwnasbench:edgegpu
        objective: acc
        max_latency_ms: 7

From Python, ``AlgorithmConfig(name="FlashTuner", class_args={...})`` or
``CustomAlgorithmConfig(class_name="flash_nas.nni_tuner.FlashTuner", class_args={...})``.

The tuner lives in the NNI manager's dispatcher process and only hands out parameters, so it
works unchanged whatever training service runs the trials (local, remote, Kubernetes...).
Importing :mod:`flash_nas` does not import this module (nor NNI).

How it proposes
---------------
1. **Initial samples.** The first ``initial_samples`` trials (25, FLASH's number) are chosen by
   ``strategy`` (``stratified``: spread evenly over NN-Degree) from every architecture of the
   NNI search space where it can be listed (up to 200,000), else from a pool of ``pool_size``
   draws of the space's parameters.
2. **Until** ``initial_samples`` **trials have succeeded**, every further request gets another
   sample: the untried architecture of the pool farthest in NN-Degree from all proposed so far.
   This happens when NNI asks for trials while earlier results are still pending (concurrency
   > 1) and when trials fail.
3. **Then** each request refits the accuracy predictor on every result so far (only when new
   results arrived; a fit takes tens of milliseconds) and proposes the best *untried*
   architecture under the objective:

   * ``proposals="local"`` (default): the untried *neighbours* of the best measured
     architecture -- one NNI parameter changed; measured accuracy, the hardware model's cost
     and the limits decide "best" -- ranked by the predictor under the objective. When all
     neighbours of the best were tried, those of the next best; when no measured architecture
     has an untried feasible neighbour, the global ranking below.
   * ``proposals="global"``: FLASH as published: hierarchical SHGO over the whole space
     (:func:`flash_nas.pipeline.run_search`), then every architecture it scored (all of them for
     a space of up to 200,000, plus the sampling pool) in order of the objective.

   Why local is the default (ours, not the paper's): on NAS-Bench-201 a predictor on NN-Degree
   ranks the whole space well (Spearman 0.74) but not its very top: the cells it ranks first
   score about 92.3 % CIFAR-10 test accuracy, below the best of the 25 samples, so global
   proposals add nothing within 30 trials, while the predictor does tell which *neighbour* of a
   measured cell is better. ``benchmarks/nni_tuners.py`` measures both against NNI's tuners.
4. **Never the same architecture twice.** Once every architecture of a listable space was
   proposed, ``generate_parameters`` raises ``nni.NoMoreTrialError`` and NNI ends the
   experiment when the running trials finish.

Results
-------
``receive_trial_result`` takes a number or a dict (its ``metric_key`` entry, ``"default"``
unless set). NaN, infinite and non-numeric results are recorded as failures (with a warning in
NNI's dispatcher log), never as labels; so are trials that end without a result (``trial_end``).
With ``optimize_mode="minimize"`` the metric is read as an error rate in percent and the
predictor learns ``100 - value``. The tuner keeps its own record, :attr:`FlashTuner.history`,
keyed by parameter id: with concurrency > 1 NNI's exports were seen pairing a result with
another trial's parameters, so only the parameter id of each call is trusted. Resumed
experiments (``import_data``) and trials added by hand become labels too.

Search spaces
-------------
NAS-Bench-201 (``space: nasbench201``): six ``choice`` parameters named as NNI's own
NasBench201 model space labels them, ``cell/{j}_{i}`` for the edge from node j to node i
(``cell/0_1 cell/0_2 cell/1_2 cell/0_3 cell/1_3 cell/2_3``), each over op names -- NNI's
(``none skip_connect conv_1x1 conv_3x3 avg_pool_3x3``) or NAS-Bench-201's (``nor_conv_1x1``...);
a subset of the ops restricts the search to it. Trials receive the names the space declares.

FLASH's space (``space: flash``): per cell c = 1..n, ``width_{c}`` and ``depth_{c}`` as
``choice`` (integers), ``randint`` ([low, high), NNI's convention) or ``quniform``
([low, high, q]), and ``skips_{c}`` as ``uniform`` (a density in [0, 1]: the cell takes
``round(density * capacity)`` skips, capacity as the adapter defines it) or ``randint`` (a skip
count, capped at the cell's capacity). The adapter is built with these widths, depths and number
of cells; the other adapter options come from ``space_options``.

Any other space: give its adapter these methods (the tuner looks for them before its own
table, so a subclass of a built-in adapter can override the built-in translation):

* ``from_nni(params: dict) -> arch`` -- the architecture of one trial's parameters; raise
  ``ArchFormatError`` for parameters it cannot read;
* ``to_nni(arch) -> dict`` -- the parameters a trial receives (``from_nni`` inverts it);
* ``check_nni_space(space: dict) -> None`` (optional) -- raise an error that names any
  parameter or ``_type`` the adapter cannot take.

``from_sample``/``to_sample`` serve as well, so the adapters of NNI's model spaces
(``nni-nasbench201``, ``nni-darts``, ``nni-proxylessnas``) take a search space with one
``choice`` per label of the model space (an input choice's values written as one-element lists,
as NNI samples them).

The tuner then samples and explores the space through its parameters (``choice``, ``randint``,
``quniform``, ``uniform``, ``loguniform``); architectures that do not survive the round trip
``from_nni(to_nni(arch)) == arch`` within the declared ranges are never proposed.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nni
import numpy as np
from nni.tuner import Tuner

from flash_nas import plugins
from flash_nas.adapter import Adapter
from flash_nas.errors import ArchFormatError, FlashNasError, NotSupportedError
from flash_nas.evaluation import Evaluator, Scored
from flash_nas.metrics import parse_metric_names, score_batch
from flash_nas.objective import LIMITS, QUANTITY_SOURCES, parse_objective
from flash_nas.pipeline import (
    PREFETCH_LIMIT,
    Labels,
    NoFeasibleArchitecture,
    fit_predictor,
    run_search,
)
from flash_nas.predictor import AccuracyPredictor
from flash_nas.sampling import STRATEGIES, select_samples

__all__ = [
    "FlashTuner",
    "SearchSpaceError",
    "SpaceTranslator",
    "TrialRecord",
    "TunerConfigError",
    "translate_space",
]

# Under "nni" so that the dispatcher's log handler (set up by NNI) records it.
_logger = logging.getLogger("nni.tuner.flash")

#: The NNI ``_type`` values the tuner can sample and explore, whatever the adapter.
SAMPLED_TYPES = ("choice", "randint", "quniform", "uniform", "loguniform")
PROPOSALS = ("local", "global")
OPTIMIZE_MODES = ("maximize", "minimize")
#: Labels the predictor needs at the very least (AccuracyPredictor's min_samples).
_MIN_LABELS = 5
#: Fresh pools drawn before a non-listable space counts as explored.
_POOL_REFILLS = 3


class TunerConfigError(FlashNasError, ValueError):
    """A FlashTuner class argument is missing, unknown or out of range."""


class SearchSpaceError(FlashNasError, ValueError):
    """An NNI search space the tuner cannot translate through the chosen adapter."""


# ------------------------------------------------------------------------ NNI parameters
@dataclass(frozen=True)
class _Parameter:
    """One NNI search-space parameter: discrete ``options`` in order, or a range."""

    name: str
    kind: str
    options: tuple[Any, ...] | None = None
    low: float = 0.0
    high: float = 0.0

    @property
    def ordered(self) -> bool:
        """Whether the options are numbers, so that neighbours are the adjacent ones."""
        return self.options is not None and all(_is_number(o) for o in self.options)

    def sample(self, rng: np.random.Generator) -> Any:
        if self.options is not None:
            return self.options[int(rng.integers(len(self.options)))]
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))
        return float(rng.uniform(self.low, self.high))

    def contains(self, value: Any) -> bool:
        if self.options is not None:
            return any(_same(value, option) for option in self.options)
        return _is_number(value) and self.low <= value <= self.high

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


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: 24 and 24.0 are, True and 1 are not."""
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _integer(value: Any, where: str) -> int:
    if _is_number(value) and float(value).is_integer():
        return int(value)
    raise ArchFormatError(f"{where} must be an integer; got {value!r}.")


def _parse_parameter(name: str, spec: Any, allowed: Sequence[str]) -> _Parameter:
    """One ``{"_type": ..., "_value": [...]}`` entry, checked; errors name the parameter."""
    if not isinstance(spec, Mapping) or "_type" not in spec or "_value" not in spec:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} must be a dict with '_type' and '_value'; got "
            f"{spec!r}."
        )
    kind, value = spec["_type"], spec["_value"]
    if kind not in allowed:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} has _type {kind!r}, which FlashTuner cannot take "
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
                f"({nested[0]!r}); FlashTuner takes choices of numbers, strings or lists."
            )
        if len({json_key(v) for v in value}) != len(value):
            raise SearchSpaceError(f"Search-space parameter {name!r} lists a choice twice.")
        return _Parameter(name, kind, tuple(value))
    if len(value) != (3 if kind == "quniform" else 2) or not all(_is_number(v) for v in value):
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
        return _Parameter(name, kind, tuple(range(int(low), int(high))), low, high)
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
        return _Parameter(name, kind, tuple(_tidy(v) for v in values), low, high)
    if kind == "loguniform" and low <= 0:
        raise SearchSpaceError(
            f"Search-space parameter {name!r} (loguniform) needs 0 < low; got {value!r}."
        )
    return _Parameter(name, kind, None, low, high)


def _tidy(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def json_key(value: Any) -> tuple[str, Any]:
    """A hashable key that tells 1 from True and "1" (choice values come from JSON)."""
    if isinstance(value, (list, tuple)):
        return ("list", tuple(json_key(v) for v in value))
    return (type(value).__name__, value)


def _check_space_shape(space: Any) -> Mapping[str, Any]:
    if not isinstance(space, Mapping) or not space:
        raise SearchSpaceError(
            f"An NNI search space must be a non-empty dict of parameter name -> "
            f"{{'_type': ..., '_value': [...]}}; got {space!r}."
        )
    return space


def _name_error(space: str, missing: Iterable[str], unknown: Iterable[str], expected: str) -> str:
    parts = []
    if missing := sorted(missing):
        parts.append(f"missing {', '.join(missing)}")
    if unknown := sorted(unknown):
        parts.append(f"unknown {', '.join(unknown)}")
    return f"The {space} search space needs {expected}; {'; '.join(parts)}."


# ------------------------------------------------------------------------- translators
class SpaceTranslator:
    """How the architectures of one adapter appear as one NNI search space's parameters.

    Built by :func:`translate_space`. Subclasses implement :meth:`from_nni` and :meth:`to_nni`;
    listing, sampling and neighbourhoods work on the parameters and need no more.
    """

    def __init__(self, adapter: Adapter, parameters: Mapping[str, _Parameter]) -> None:
        self.adapter = adapter
        self.parameters = dict(parameters)

    def from_nni(self, params: Mapping[str, Any]) -> Hashable:
        """The architecture of one trial's parameters; ArchFormatError if they do not fit."""
        raise NotImplementedError

    def to_nni(self, arch: Hashable) -> dict[str, Any]:
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
            params = self.to_nni(arch)
            inside = all(p.contains(params[name]) for name, p in self.parameters.items())
            return inside and self.from_nni(params) == arch
        except (ArchFormatError, KeyError, TypeError, ValueError):
            return False

    def enumerate(self) -> list[Hashable] | None:
        """Every architecture of the search space, or None when it is continuous or larger
        than 200,000 parameter combinations."""
        options = [p.options for p in self.parameters.values()]
        if any(o is None for o in options) or math.prod(map(len, options)) > PREFETCH_LIMIT:  # type: ignore[arg-type]
            return None
        names = list(self.parameters)
        combos = itertools.product(*options)  # type: ignore[arg-type]
        return list(dict.fromkeys(self.from_nni(dict(zip(names, c))) for c in combos))

    def sample(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        """``n`` draws of the parameters (uniform over each), as architectures."""
        return [
            self.from_nni({name: p.sample(rng) for name, p in self.parameters.items()})
            for _ in range(n)
        ]

    def neighbours(self, arch: Hashable) -> list[Hashable]:
        """Architectures of the space one parameter step away from ``arch``."""
        params = self.to_nni(arch)
        found: dict[Hashable, None] = {}
        for name, parameter in self.parameters.items():
            for value in parameter.neighbours(params[name]):
                try:
                    other = self.from_nni({**params, name: value})
                except ArchFormatError:
                    continue
                if other != arch and self.contains(other):
                    found[other] = None
        return list(found)


class _NasBench201Translator(SpaceTranslator):
    """Six ``choice`` parameters ``cell/{j}_{i}`` over op names (NNI's or NAS-Bench-201's)."""

    def __init__(self, adapter: Adapter, space: Mapping[str, Any]) -> None:
        from flash_nas_adapters.nb201_encoding import EDGES, NNI_OPS, OPS

        self.labels = [f"cell/{j}_{i}" for j, i in EDGES]
        self.op_ids = {name: OPS.index(name) for name in OPS}
        self.op_ids.update({nni_name: OPS.index(ours) for ours, nni_name in NNI_OPS.items()})
        if set(space) != set(self.labels):
            raise SearchSpaceError(
                _name_error(
                    "nasbench201",
                    set(self.labels) - set(space),
                    set(space) - set(self.labels),
                    f"exactly the six edge parameters {', '.join(self.labels)} (NNI's "
                    f"NasBench201 labels)",
                )
            )
        parameters = {
            label: _parse_parameter(label, space[label], ("choice",)) for label in self.labels
        }
        # declared value of each op, per edge: trials receive the names the space uses
        self.declared: dict[str, dict[int, str]] = {}
        for label, parameter in parameters.items():
            ops: dict[int, str] = {}
            for value in parameter.options or ():
                if not isinstance(value, str) or value not in self.op_ids:
                    raise SearchSpaceError(
                        f"Search-space parameter {label!r} lists {value!r}, not a NAS-Bench-201 "
                        f"op; expected names from {', '.join(self.op_ids)}."
                    )
                if self.op_ids[value] in ops:
                    raise SearchSpaceError(
                        f"Search-space parameter {label!r} names one op twice: "
                        f"{ops[self.op_ids[value]]!r} and {value!r}."
                    )
                ops[self.op_ids[value]] = value
            self.declared[label] = ops
        super().__init__(adapter, parameters)

    def from_nni(self, params: Mapping[str, Any]) -> Hashable:
        self.check_names(params)
        ops = []
        for label in self.labels:
            value = params[label]
            if not isinstance(value, str) or value not in self.op_ids:
                raise ArchFormatError(
                    f"Parameter {label!r} holds {value!r}; expected an op name from "
                    f"{', '.join(self.op_ids)}."
                )
            ops.append(self.op_ids[value])
        return tuple(ops)

    def to_nni(self, arch: Hashable) -> dict[str, Any]:
        params = {}
        for label, op in zip(self.labels, arch):  # type: ignore[call-overload]
            if op not in self.declared[label]:
                raise ArchFormatError(
                    f"{self.adapter.format(arch)} uses an op that {label!r} does not offer."
                )
            params[label] = self.declared[label][op]
        return params


class _FlashTranslator(SpaceTranslator):
    """``width_{c}``, ``depth_{c}``, ``skips_{c}`` per cell c = 1..n of FLASH's space."""

    SIZE_TYPES = ("choice", "randint", "quniform")
    SKIP_TYPES = ("uniform", "randint")
    FROM_SPACE = ("widths", "depths", "n_cells")

    def __init__(self, build: Callable[..., Adapter], space: Mapping[str, Any]) -> None:
        cells = self._cells(space)
        parameters: dict[str, _Parameter] = {}
        for c in cells:
            for key, types in (("width", self.SIZE_TYPES), ("depth", self.SIZE_TYPES)):
                name = f"{key}_{c}"
                parameter = _parse_parameter(name, space[name], types)
                bad = [v for v in parameter.options or () if not _is_number(v) or v < 1]
                bad += [v for v in parameter.options or () if _is_number(v) and v % 1]
                if bad:
                    raise SearchSpaceError(
                        f"Search-space parameter {name!r} must offer integers >= 1; it offers "
                        f"{bad[0]!r}."
                    )
                parameters[name] = parameter
            name = f"skips_{c}"
            parameter = _parse_parameter(name, space[name], self.SKIP_TYPES)
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
                _name_error(
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

    def from_nni(self, params: Mapping[str, Any]) -> Hashable:
        self.check_names(params)
        cells = []
        for c in range(1, self.n_cells + 1):
            width = _integer(params[f"width_{c}"], f"Parameter 'width_{c}'")
            depth = _integer(params[f"depth_{c}"], f"Parameter 'depth_{c}'")
            if width < 1 or depth < 1:
                raise ArchFormatError(f"Cell {c}: width and depth must be >= 1.")
            capacity = self.flash.skip_capacity(width, depth)
            value, p = params[f"skips_{c}"], self.parameters[f"skips_{c}"]
            if not _is_number(value):
                raise ArchFormatError(f"Parameter 'skips_{c}' must be a number; got {value!r}.")
            if p.kind == "uniform":
                skips = _round(min(max(float(value), 0.0), 1.0) * capacity)
            else:
                skips = min(_integer(value, f"Parameter 'skips_{c}'"), capacity)
            cells.append((width, depth, skips))
        return self.flash.check(cells)

    def to_nni(self, arch: Hashable) -> dict[str, Any]:
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
        if math.prod(map(len, per_cell)) > PREFETCH_LIMIT:
            return None
        return [self.flash.check(cells) for cells in itertools.product(*per_cell)]


def _round(value: float) -> int:
    """Round half up (Python's round() goes to even, which would skip reachable counts)."""
    return math.floor(value + 0.5)


#: Method pairs an adapter may translate NNI parameters with, in the order they are looked for:
#: ``from_sample``/``to_sample`` are what the adapters of NNI's model spaces offer (their
#: samples are NNI parameters).
HOOKS = (("from_nni", "to_nni"), ("from_sample", "to_sample"))


def _hooks(adapter: Adapter) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
    for reader, writer in HOOKS:
        read, write = getattr(adapter, reader, None), getattr(adapter, writer, None)
        if callable(read) and callable(write):
            return read, write
    return None


class _HookTranslator(SpaceTranslator):
    """An adapter's own ``from_nni`` / ``to_nni`` (and optional ``check_nni_space``)."""

    def __init__(self, adapter: Adapter, space: Mapping[str, Any]) -> None:
        check = getattr(adapter, "check_nni_space", None)
        if check is not None:
            check(dict(space))
        parameters = {
            name: _parse_parameter(name, spec, SAMPLED_TYPES) for name, spec in space.items()
        }
        self._read, self._write = _hooks(adapter)  # type: ignore[misc]
        super().__init__(adapter, parameters)

    def from_nni(self, params: Mapping[str, Any]) -> Hashable:
        self.check_names(params)
        return self._read(dict(params))

    def to_nni(self, arch: Hashable) -> dict[str, Any]:
        return dict(self._write(arch))


def _builtin_translators() -> dict[type, Callable[..., SpaceTranslator]]:
    from flash_nas_adapters.flash_space import FlashSpaceAdapter
    from flash_nas_adapters.nasbench201 import NasBench201Adapter

    return {
        NasBench201Adapter: lambda build, adapter, space: _NasBench201Translator(adapter, space),
        FlashSpaceAdapter: lambda build, adapter, space: _FlashTranslator(build, space),
    }


def translate_space(
    space_name: str, space_options: Mapping[str, Any], search_space: Any
) -> SpaceTranslator:
    """The translator of ``search_space`` for the adapter registered as ``space_name``.

    The adapter's own ``from_nni``/``to_nni`` win; then the built-in table, by adapter class
    (subclasses included).
    """
    search_space = _check_space_shape(search_space)

    def build(**derived: Any) -> Adapter:
        clash = sorted(set(derived) & set(space_options))
        if clash:
            raise TunerConfigError(
                f"space_options sets {', '.join(clash)}, which the {space_name} search space "
                f"itself decides (from its parameters); remove them from space_options."
            )
        return plugins.get_adapter(space_name, **{**space_options, **derived})

    adapter = plugins.get_adapter(space_name, **space_options)
    if _hooks(adapter) is not None:
        return _HookTranslator(adapter, search_space)
    table = _builtin_translators()
    for klass in type(adapter).__mro__:
        if klass in table:
            return table[klass](build, adapter, search_space)
    raise SearchSpaceError(
        f"The {space_name!r} adapter ({type(adapter).__name__}) cannot read NNI search spaces: "
        f"FlashTuner translates nasbench201 and flash itself, and any adapter that defines "
        f"from_nni(params) and to_nni(arch), or from_sample and to_sample (see "
        f"flash_nas.nni_tuner)."
    )


# ------------------------------------------------------------------------------- tuner
@dataclass
class TrialRecord:
    """What the tuner knows of one trial (or one imported result).

    ``source``: how the architecture was chosen -- ``initial`` (the stratified samples),
    ``stratified`` (further samples while results were pending or failed), ``local`` or
    ``global`` (the predictor's proposals), ``imported`` (``import_data``) or ``customized``
    (added by hand in NNI). ``status``: ``pending``, ``succeeded`` or ``failed`` (``reason``
    says why). ``label`` is what the predictor learns (the metric, or ``100 - metric`` when
    minimising).
    """

    parameters: Any
    arch: Hashable | None
    source: str
    status: str = "pending"
    value: Any = None
    label: float | None = None
    reason: str = ""
    ended: bool = False


def _config_error(name: str, expected: str, got: Any) -> TunerConfigError:
    return TunerConfigError(
        f"The {name!r} class argument of FlashTuner must be {expected}. Got {got!r} instead."
    )


def _int_arg(name: str, value: Any, low: int) -> int:
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)) or value < low:
        raise _config_error(name, f"an int >= {low}", value)
    return int(value)


def _dict_arg(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise _config_error(name, "a dict of option name -> value", value)
    return dict(value)


def default_objective(quantities: Sequence[str] | None) -> str:
    """``acc`` without hardware; else ``acc`` over the product of what the model reports
    (``acc/(latency*energy*area)`` for a model that reports all three, as FLASH does)."""
    if not quantities:
        return "acc"
    names = [n for n in ("latency", "energy", "area") if QUANTITY_SOURCES[n] in quantities]
    return f"acc/{names[0]}" if len(names) == 1 else f"acc/({'*'.join(names)})"


class FlashTuner(Tuner):
    """FLASH's stratified samples, then predictor-ranked proposals; see the module docs.

    Class arguments (all keyword; NNI never calls a validator, so ``__init__`` checks them):

    * ``space`` -- adapter name (``nasbench201``, ``flash``, or a plugin's); ``space_options``
      -- its options (a dict).
    * ``hardware`` -- hardware model name (``hwnasbench:edgegpu``, ``pi3b``, ``imc``...), with
      ``hardware_options`` (a dict) and ``profile`` (a calibrated profile's path).
    * ``objective`` -- what to maximise (:mod:`flash_nas.objective`); by default ``acc``
      without hardware, else ``acc`` over the product of the quantities the model reports.
    * ``max_latency_ms``, ``max_energy_mj``, ``max_area_mm2``, ``max_params`` -- hard limits.
    * ``initial_samples`` (25), ``strategy`` (``stratified``; or ``quantile``, ``random``),
      ``features`` (``nn_degree``; a comma-separated string or a list, the first one is
      spread by the samples; ``nn_degree_neuron`` tells kernel sizes apart, which matters in
      spaces that mix them, as NAS-Bench-201 does), ``proposals`` (``local`` or ``global``),
      ``pool_size`` (10,000: candidates drawn where the space cannot be listed), ``seed``
      (None: drawn and logged, as NNI's tuners do).
    * ``metric_key`` (``default``): the entry of a dict metric to learn from;
      ``optimize_mode`` (``maximize``; ``minimize`` reads the metric as an error in percent).
    """

    def __init__(
        self,
        space: str | None = None,
        space_options: Mapping[str, Any] | None = None,
        hardware: str | None = None,
        hardware_options: Mapping[str, Any] | None = None,
        profile: str | None = None,
        objective: str | None = None,
        initial_samples: int = 25,
        features: str | Sequence[str] = "nn_degree",
        strategy: str = "stratified",
        proposals: str = "local",
        pool_size: int = 10_000,
        seed: int | None = None,
        metric_key: str = "default",
        optimize_mode: str = "maximize",
        **limits: Any,
    ) -> None:
        unknown = sorted(set(limits) - set(LIMITS))
        for name in set(limits) & set(LIMITS):
            if limits[name] is not None and not _is_number(limits[name]):
                raise _config_error(name, "a number (or null for no limit)", limits[name])
        if unknown:
            known = (
                "space, space_options, hardware, hardware_options, profile, objective, "
                f"{', '.join(LIMITS)}, initial_samples, features, strategy, proposals, "
                "pool_size, seed, metric_key, optimize_mode"
            )
            raise TunerConfigError(
                f"FlashTuner got unknown class argument(s) {', '.join(unknown)}; it takes: {known}."
            )
        if not isinstance(space, str) or not space:
            names = ", ".join(plugins.adapter_names())
            raise _config_error("space", f"the name of a search space ({names})", space)
        self.space_name = space
        self.space_options = _dict_arg("space_options", space_options)
        self.initial_samples = _int_arg("initial_samples", initial_samples, _MIN_LABELS)
        self.pool_size = _int_arg("pool_size", pool_size, self.initial_samples)
        if strategy not in STRATEGIES:
            raise _config_error("strategy", f"one of {', '.join(STRATEGIES)}", strategy)
        self.strategy = strategy
        if proposals not in PROPOSALS:
            raise _config_error("proposals", f"one of {', '.join(PROPOSALS)}", proposals)
        self.proposals = proposals
        if optimize_mode not in OPTIMIZE_MODES:
            raise _config_error(
                "optimize_mode", f"one of {', '.join(OPTIMIZE_MODES)}", optimize_mode
            )
        self.optimize_mode = optimize_mode
        if not isinstance(metric_key, str) or not metric_key:
            raise _config_error("metric_key", "a non-empty string", metric_key)
        self.metric_key = metric_key
        if seed is None:
            seed = int(np.random.default_rng().integers(2**31))
            _logger.info("FlashTuner: using random seed %d", seed)
        self.seed = _int_arg("seed", seed, 0)
        if not isinstance(features, (str, list, tuple)):
            raise _config_error("features", "metric names, e.g. 'nn_degree'", features)
        self.features = parse_metric_names(features)
        # Fail here, not at the first trial: the space's name and options must build.
        plugins.get_adapter(self.space_name, **self.space_options)
        self.hardware = None
        if hardware is not None:
            if not isinstance(hardware, str) or not hardware:
                raise _config_error("hardware", "a hardware model name", hardware)
            options = _dict_arg("hardware_options", hardware_options)
            if profile is not None:
                options["profile"] = str(profile)
            self.hardware = plugins.get_hardware(hardware, **options)
        elif hardware_options or profile is not None:
            raise TunerConfigError(
                "FlashTuner got hardware_options or a profile but no 'hardware' to apply them to."
            )
        if objective is not None and not isinstance(objective, str):
            raise _config_error("objective", "a formula such as 'acc/(latency*energy)'", objective)
        text = objective or default_objective(self.hardware and self.hardware.quantities)
        self.objective = parse_objective(text, limits)
        if self.objective.needs_hardware() and self.hardware is None:
            raise TunerConfigError(
                f"The objective {text!r} and limits {sorted(limits)} need hardware cost; set the "
                f"'hardware' class argument (e.g. hwnasbench:edgegpu, pi3b, imc)."
            )

        self.history: dict[Any, TrialRecord] = {}
        self.predictor: AccuracyPredictor | None = None
        self.translator: SpaceTranslator | None = None
        self._lock = threading.RLock()
        self._rng = np.random.default_rng(self.seed)
        self._tried: set[Hashable] = set()
        self._labels_version = 0
        self._fitted_version = -1
        self._evaluator: Evaluator | None = None
        self._ranking: list[Scored] | None = None
        self._warned_infeasible = False
        self._imported = 0
        self._accept_customized_trials(True)

    # ---------------------------------------------------------------------------- space
    @property
    def adapter(self) -> Adapter:
        return self._require_space().adapter

    def update_search_space(self, search_space: Mapping[str, Any]) -> None:
        """Translate the NNI space; results so far are kept (re-read in the new space)."""
        with self._lock:
            translator = translate_space(self.space_name, self.space_options, search_space)
            # Check the evaluation chain once, before any trial: objective against hardware.
            Evaluator(translator.adapter, self.objective, None, self.features, self.hardware)
            self.translator = translator
            whole = translator.enumerate()
            self._listable = whole is not None
            self._pool: list[Hashable] = []
            self._pool_index: dict[Hashable, int] = {}
            self._pool_values = np.zeros(0)
            self._contains: dict[Hashable, bool] = {}
            if whole is not None:
                self._add_to_pool(whole)
            else:
                self._refill_pool()
            self._retranslate_history()
            rows = np.flatnonzero([arch not in self._tried for arch in self._pool])
            count = min(self.initial_samples, len(rows))
            chosen = []
            if count:
                picked = select_samples(
                    self._pool_values[rows], count, strategy=self.strategy, seed=self.seed
                )
                chosen = [self._pool[rows[k]] for k in self._rng.permutation(picked)]
            self._initial = chosen
            _logger.info(
                "FlashTuner: %s space with %s candidates (%s); %d initial samples by %s over %s",
                self.space_name,
                f"{len(self._pool):,}",
                "the whole space" if self._listable else "a uniform pool",
                len(chosen),
                self.strategy,
                self.features[0],
            )

    def _require_space(self) -> SpaceTranslator:
        if self.translator is None:
            raise FlashNasError(
                "FlashTuner has no search space yet: NNI calls update_search_space first (call "
                "it yourself when driving the tuner from Python)."
            )
        return self.translator

    def _add_to_pool(self, archs: Sequence[Hashable]) -> int:
        fresh = [a for a in dict.fromkeys(archs) if a not in self._pool_index]
        if not fresh:
            return 0
        values = score_batch(self.adapter.batch(fresh), [self.features[0]])[self.features[0]]
        for arch in fresh:
            self._pool_index[arch] = len(self._pool)
            self._pool.append(arch)
        self._pool_values = np.concatenate([self._pool_values, values])
        return len(fresh)

    def _refill_pool(self) -> int:
        """Draw ``pool_size`` parameter samples more; the number of new architectures."""
        translator = self._require_space()
        drawn = [a for a in translator.sample(self.pool_size, self._rng) if self._inside(a)]
        return self._add_to_pool(drawn)

    def _inside(self, arch: Hashable) -> bool:
        known = self._contains.get(arch)
        if known is None:
            known = self._contains[arch] = self._require_space().contains(arch)
        return known

    def _retranslate_history(self) -> None:
        self._tried = set()
        for record in self.history.values():
            record.arch = self._translate(record.parameters, quiet=True)
            if record.arch is not None:
                self._tried.add(record.arch)
        self._labels_version += 1

    def _translate(self, parameters: Any, *, quiet: bool = False) -> Hashable | None:
        try:
            return self._require_space().from_nni(parameters)
        except (ArchFormatError, TypeError, ValueError) as exc:
            if not quiet:
                _logger.warning("FlashTuner: cannot read parameters %r: %s", parameters, exc)
            return None

    # ------------------------------------------------------------------------ proposals
    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        """The next architecture's parameters; ``nni.NoMoreTrialError`` once all were tried."""
        with self._lock:
            translator = self._require_space()
            arch, source = self._next()
            params = translator.to_nni(arch)
            self._tried.add(arch)
            self.history[parameter_id] = TrialRecord(params, arch, source)
            _logger.info(
                "FlashTuner: parameter %s (%s): %s",
                parameter_id,
                source,
                self.adapter.format(arch),
            )
            return params

    def _next(self) -> tuple[Hashable, str]:
        if self._listable and all(arch in self._tried for arch in self._pool):
            raise nni.NoMoreTrialError(
                f"FlashTuner has proposed all {len(self._pool):,} architectures of the space."
            )
        labels = self.labels()
        if len(labels.archs) < self.initial_samples:
            while self._initial:
                arch = self._initial.pop(0)
                if arch not in self._tried:
                    return arch, "initial"
            arch = self._farthest_untried()
            if arch is not None:
                return arch, "stratified"
            if len(labels.archs) < _MIN_LABELS:
                raise nni.NoMoreTrialError("FlashTuner found no untried architecture to sample.")
        return self._propose(labels)

    def _untried(self) -> np.ndarray:
        return np.array([arch not in self._tried for arch in self._pool], dtype=bool)

    def _farthest_untried(self) -> Hashable | None:
        """The untried pool architecture farthest in the sampled feature from those tried."""
        untried = self._untried()
        refills = 0 if self._listable else _POOL_REFILLS
        while not untried.any() and refills:
            refills -= 1
            if self._refill_pool():
                untried = self._untried()
        if not untried.any():
            return None
        values = self._pool_values
        tried = values[~untried]
        gap = (
            np.min(np.abs(values[:, None] - tried[None, :]), axis=1)
            if len(tried)
            else np.zeros(len(values))
        )
        gap[~untried] = -np.inf
        best = np.flatnonzero(gap == gap.max())
        return self._pool[int(self._rng.choice(best))]

    def labels(self) -> Labels:
        """Every successful result, one label per architecture (the mean of repeats)."""
        with self._lock:
            grouped: dict[Hashable, list[float]] = {}
            for record in self.history.values():
                if record.status == "succeeded" and record.arch is not None:
                    grouped.setdefault(record.arch, []).append(record.label)  # type: ignore[arg-type]
            archs = list(grouped)
            values = np.array([np.mean(grouped[a]) for a in archs], dtype=float)
            return Labels(archs, values, "nni")

    def _propose(self, labels: Labels) -> tuple[Hashable, str]:
        if self._fitted_version != self._labels_version:
            self.predictor = fit_predictor(self.adapter, labels, self.features)
            self._evaluator = Evaluator(
                self.adapter, self.objective, self.predictor, self.features, self.hardware
            )
            self._ranking = None
            self._fitted_version = self._labels_version
        if self.proposals == "local" and self._evaluator is not None:
            arch = self._best_neighbour(labels, self._evaluator)
            if arch is not None:
                return arch, "local"
        return self._best_ranked(), "global"

    def _best_neighbour(self, labels: Labels, evaluator: Evaluator) -> Hashable | None:
        """The predictor's best untried feasible neighbour of the best measured architecture
        that still has one."""
        translator = self._require_space()
        columns = evaluator.columns(self.adapter.batch(labels.archs))
        columns["accuracy"] = labels.accuracies
        log_value = self.objective.log_value(columns)
        feasible = self.objective.feasible(columns) & np.isfinite(log_value)
        for row in np.lexsort((-log_value, ~feasible)):
            if not self._inside(labels.archs[row]):
                continue
            candidates = [
                a for a in translator.neighbours(labels.archs[row]) if a not in self._tried
            ]
            if not candidates:
                continue
            best = min(evaluator.evaluate(candidates), key=lambda s: s.loss)
            if best.feasible:
                return best.arch
        return None

    def _best_ranked(self) -> Hashable:
        """The best untried architecture of the global ranking (hierarchical SHGO + pool)."""
        for _ in range(_POOL_REFILLS + 1):
            if self._ranking is None:
                self._ranking = self._rank()
            for scored in self._ranking:
                if scored.arch not in self._tried:
                    if not scored.feasible and not self._warned_infeasible:
                        self._warned_infeasible = True
                        _logger.warning(
                            "FlashTuner: no untried architecture meets the limits (%s); "
                            "proposing the closest ones.",
                            ", ".join(f"{c} <= {b:g}" for c, b in self.objective.limits.items()),
                        )
                    return scored.arch
            if self._listable or not self._refill_pool():
                break
            self._ranking = None
        raise nni.NoMoreTrialError("FlashTuner has no untried architecture left to propose.")

    def _rank(self) -> list[Scored]:
        evaluator: Evaluator | None = None
        try:
            _, evaluator = run_search(
                self.adapter, self.predictor, self.features, self.objective, self.hardware
            )  # type: ignore[arg-type]
        except NotSupportedError:
            pass  # no relaxation: the pool alone is ranked
        except NoFeasibleArchitecture as exc:
            _logger.warning("FlashTuner: %s", exc)
        if evaluator is None:
            evaluator = Evaluator(
                self.adapter, self.objective, self.predictor, self.features, self.hardware
            )
        evaluator.prefetch(self._pool)
        ranked = [s for s in evaluator.cache.values() if self._inside(s.arch)]
        return sorted(ranked, key=lambda s: s.loss)

    # -------------------------------------------------------------------------- results
    def receive_trial_result(
        self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any
    ) -> None:
        """Record a final result under ``parameter_id`` (the architecture the tuner sent)."""
        with self._lock:
            record = self.history.get(parameter_id)
            if record is None:
                source = "customized" if kwargs.get("customized") else "unknown"
                record = TrialRecord(parameters, self._translate(parameters), source)
                self.history[parameter_id] = record
                if record.arch is not None:
                    self._tried.add(record.arch)
            elif parameters is not None and parameters != record.parameters:
                _logger.warning(
                    "FlashTuner: the result for parameter %s came with parameters %r, but the "
                    "tuner sent %r; keeping the tuner's record.",
                    parameter_id,
                    parameters,
                    record.parameters,
                )
            self._set_result(record, value, f"parameter {parameter_id}")

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        """A trial that ended without a result is a failure (a late result still counts)."""
        with self._lock:
            record = self.history.get(parameter_id)
            if record is None:
                return
            record.ended = True
            if record.status == "pending":
                record.status = "failed"
                record.reason = (
                    "the trial ended without reporting a final result"
                    if success
                    else "the trial failed or was stopped"
                )
                _logger.warning("FlashTuner: parameter %s: %s.", parameter_id, record.reason)

    def import_data(self, data: Sequence[Any]) -> None:
        """Results of earlier trials (``{'parameter': ..., 'value': ...}``) become labels."""
        with self._lock:
            usable = 0
            for entry in data:
                item = nni.load(entry) if isinstance(entry, str) else entry
                if not isinstance(item, Mapping) or "parameter" not in item or "value" not in item:
                    _logger.warning("FlashTuner: skipping imported entry %r", entry)
                    continue
                record = TrialRecord(
                    item["parameter"], self._translate(item["parameter"]), "imported"
                )
                key = f"imported-{self._imported}"
                self._imported += 1
                self.history[key] = record
                if record.arch is not None:
                    self._tried.add(record.arch)
                self._set_result(record, item["value"], key)
                usable += record.status == "succeeded"
            _logger.info("FlashTuner: imported %d results, %d usable as labels", len(data), usable)

    def _set_result(self, record: TrialRecord, value: Any, where: str) -> None:
        record.value = value
        label, reason = self._label(value)
        if record.arch is None:
            label, reason = None, "its parameters are not in the search space"
        if label is None:
            record.status, record.label, record.reason = "failed", None, reason
            _logger.warning("FlashTuner: %s recorded as failed: %s.", where, reason)
            return
        record.status, record.label, record.reason = "succeeded", label, ""
        self._labels_version += 1
        _logger.info(
            "FlashTuner: result for %s (%s): %r", where, self.adapter.format(record.arch), value
        )

    def _label(self, value: Any) -> tuple[float | None, str]:
        """The label a metric gives, or None and why it gives none."""
        number = value
        if isinstance(value, Mapping):
            if self.metric_key not in value:
                keys = ", ".join(map(repr, value)) or "none"
                return None, f"the metric dict has no {self.metric_key!r} entry (it has {keys})"
            number = value[self.metric_key]
        if not _is_number(number):
            return None, f"the metric {number!r} is not a number"
        number = float(number)
        if not math.isfinite(number):
            return None, f"the metric is {number}"
        if self.optimize_mode == "minimize":
            if not 0 <= number <= 100:
                return None, (
                    f"with optimize_mode 'minimize' the metric is an error in percent, but it "
                    f"is {number}"
                )
            return 100.0 - number, ""
        return number, ""
