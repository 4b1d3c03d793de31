"""The search objective: predicted accuracy against hardware cost, with hard limits.

An objective is written as a formula over named quantities, e.g. ``acc/(latency*energy*area)``
(FLASH's default), ``acc`` (accuracy alone) or ``acc / latency**0.5``. Products, quotients and
constant powers of quantities only, so that the objective is a product of powers: it is
evaluated in logs, ``sum(exponent * log(quantity))``, which keeps latency in ms and energy in mJ
from dominating by their units alone. ``acc`` is the accuracy (predicted or measured); every
other name is a quantity of the search's vocabulary
(:class:`flash_nas.plugins.quantities.Vocabulary`): the metrics ``params`` and ``flops``, and
whatever the hardware model declares, by its name (``latency_ms``, ``memory_mb``) or, for the
standard ones, its short form (``latency``, ``energy``, ``area``).

Hard limits (``max_<quantity>``: ``max_latency_ms``, ``max_params``, ``max_memory_mb``...) make an
architecture infeasible; the search never returns an infeasible one as a result.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from flash_nas.errors import ObjectiveError, quote
from flash_nas.plugins.quantities import STANDARD_QUANTITIES, Vocabulary

__all__ = ["Objective", "default_objective", "parse_objective"]

#: Largest power of one quantity: acc**100 is about 1e200 already, a float holds up to 1e308.
MAX_EXPONENT = 100.0
#: Largest |log| of an objective's value (1e100): past it, the value and the ratios the search
#: takes of it overflow a float, and an infinite objective ranks nothing.
MAX_LOG_VALUE = math.log(1e100)


@dataclass(frozen=True)
class Objective:
    """``prod(quantity ** exponent)`` to maximise, subject to ``limits`` (column -> bound).

    ``exponents`` is keyed by the names as written (``acc``, ``latency``); ``sources`` maps each
    to the column it reads (``accuracy``, ``latency_ms``)."""

    exponents: Mapping[str, float]
    limits: Mapping[str, float] = field(default_factory=dict)
    text: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        """Every column the objective and its limits read."""
        needed = [self.sources[name] for name in self.exponents]
        return list(dict.fromkeys([*needed, *self.limits]))

    def log_value(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """``log`` of the objective for every row (``-inf`` where a quantity is <= 0)."""
        total: float | np.ndarray = 0.0
        for name, exponent in self.exponents.items():
            column = np.asarray(values[self.sources[name]], dtype=float)
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                total = total + exponent * np.where(column > 0, np.log(column), -np.inf)
        total = np.asarray(total, dtype=float)
        # A row whose quantities are all positive numbers must have a value; one that is not
        # (-inf, NaN) stays out of the search as before.
        huge = np.isfinite(total) & (np.abs(total) > MAX_LOG_VALUE)
        if np.any(huge):
            row = int(np.flatnonzero(huge)[0])
            raise ObjectiveError(
                f"The objective {quote(self.text)} is about 1e{total[row] / math.log(10):+.0f} "
                f"for an architecture ({int(huge.sum()):,} in all); expected values within "
                f"1e-100..1e100: use smaller powers, or quantities in other units."
            )
        return total

    def feasible(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        rows = len(next(iter(values.values())))
        ok = np.ones(rows, dtype=bool)
        for column, bound in self.limits.items():
            ok &= np.asarray(values[column], dtype=float) <= bound
        return ok


def default_objective(quantities: Sequence[str] | None) -> str:
    """The objective used when none is given: accuracy alone without a hardware model, else
    accuracy over the product of every standard cost the model reports (FLASH's form,
    ``acc/(latency*energy*area)`` for a model that reports all three)."""
    costs = [q.short for q in STANDARD_QUANTITIES if quantities and q in quantities]
    if not costs:
        return "acc"
    return f"acc/{costs[0]}" if len(costs) == 1 else f"acc/({'*'.join(costs)})"


def parse_objective(
    text: str,
    limits: Mapping[str, float | None] | None = None,
    vocabulary: Vocabulary | None = None,
) -> Objective:
    """Parse ``text`` (e.g. ``acc/(latency*energy*area)``) and the hard limits (``max_<quantity>``
    -> bound) over ``vocabulary``'s quantities (default: the metrics and the standard hardware
    quantities, for checking a formula before a hardware model is chosen)."""
    vocabulary = vocabulary or _STANDARD
    if len(text) > 1000:
        raise ObjectiveError(
            f"The objective is {len(text):,} characters long; an objective is a short formula "
            f"such as 'acc/(latency*energy*area)' (at most 1,000 characters)."
        )
    try:
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except (SyntaxError, RecursionError, MemoryError) as exc:
        reason = getattr(exc, "msg", type(exc).__name__)
        raise ObjectiveError(
            f"The objective {text!r} does not parse ({reason}); write products, quotients and "
            f"powers of {', '.join(vocabulary.terms)}, e.g. 'acc/(latency*energy*area)'."
        ) from None
    exponents: dict[str, float] = {}
    try:
        _collect(tree.body, 1.0, exponents, text, vocabulary)
    except RecursionError:
        raise ObjectiveError(
            f"The objective ({len(text):,} characters) nests too deeply; write it with fewer "
            f"factors, e.g. 'acc/(latency*energy*area)'."
        ) from None
    exponents = {name: power for name, power in exponents.items() if power != 0}
    wild = {name: power for name, power in exponents.items() if abs(power) > MAX_EXPONENT}
    if wild:
        name, power = next(iter(wild.items()))
        raise ObjectiveError(
            f"The objective {quote(text)} raises {name} to the power {power:g}; expected powers "
            f"between -{MAX_EXPONENT:g} and {MAX_EXPONENT:g}, so that its value is a number "
            f"(e.g. 'acc / latency**0.5')."
        )
    if "acc" not in exponents or exponents["acc"] <= 0:
        raise ObjectiveError(
            f"The objective {text!r} must reward accuracy: 'acc' needs a positive power."
        )
    sources = {name: vocabulary.column(name, text) for name in exponents}
    bounds: dict[str, float] = {}
    for name, bound in (limits or {}).items():
        if bound is None:
            continue
        column = vocabulary.limit(name)
        if isinstance(bound, bool) or not isinstance(bound, (int, float, np.number)):
            raise ObjectiveError(f"The limit {name} must be a positive number; got {bound!r}.")
        if not np.isfinite(bound) or bound <= 0:
            raise ObjectiveError(f"The limit {name} must be a positive number; got {bound!r}.")
        bounds[column] = float(bound)
    return Objective(exponents, bounds, text, sources)


def _collect(
    node: ast.AST, power: float, into: dict[str, float], text: str, vocabulary: Vocabulary
) -> None:
    if isinstance(node, ast.Name):
        vocabulary.column(node.id, text)  # an unknown name fails here, listing the known ones
        into[node.id] = into.get(node.id, 0.0) + power
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        _collect(node.left, power, into, text, vocabulary)
        _collect(node.right, power, into, text, vocabulary)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        _collect(node.left, power, into, text, vocabulary)
        _collect(node.right, -power, into, text, vocabulary)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        exponent = _constant(node.right, text)
        _collect(node.left, power * exponent, into, text, vocabulary)
    elif isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        _check_finite(node.value, text)
        if node.value <= 0:
            raise ObjectiveError(f"The objective {text!r} has a non-positive constant factor.")
        # A positive constant factor does not change which architecture is best.
    else:
        raise ObjectiveError(
            f"The objective {text!r} may only multiply, divide and raise to constant powers "
            f"the quantities {', '.join(vocabulary.terms)}; {ast.unparse(node)!r} is not allowed."
        )


_STANDARD = Vocabulary(standard=True)


def _constant(node: ast.AST, text: str) -> float:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_constant(node.operand, text)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return _check_finite(node.value, text)
    raise ObjectiveError(f"In the objective {text!r}, exponents must be numbers.")


def _check_finite(value: float, text: str) -> float:
    try:
        number = float(value)
    except OverflowError:  # an integer literal beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise ObjectiveError(
            f"The objective {quote(text)} holds a number too large for a float; expected "
            f"ordinary constants and powers between -{MAX_EXPONENT:g} and {MAX_EXPONENT:g}."
        )
    return number
