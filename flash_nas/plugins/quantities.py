"""The vocabulary of costs: every quantity a search can name, and its limit's name.

A :class:`Quantity` is a name with a unit and a description. A hardware model declares the
quantities it reports (:attr:`flash_nas.HardwareModel.quantities`); the training-free metrics
``params`` and ``flops`` are quantities of every search. An objective names any of them (by its
name, or for the standard ones by its short form: ``latency`` for ``latency_ms``), and every
quantity ``q`` has a hard limit ``max_q`` (``max_latency_ms``, ``max_memory_mb`` for a model that
declares ``memory_mb``). :class:`Vocabulary` is the list one search may use; the names below are
the only place the standard quantities are spelled (``tests/test_layout.py`` checks this).

Room: the plugin API. Imports the errors only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flash_nas.errors import ObjectiveError, PluginError

if TYPE_CHECKING:
    from flash_nas.plugins.hardware import HardwareModel

__all__ = [
    "ACCURACY",
    "AREA_MM2",
    "ENERGY_MJ",
    "FLOPS",
    "LATENCY_MS",
    "LIMIT_PREFIX",
    "METRIC_QUANTITIES",
    "PARAMS",
    "QUANTITIES",
    "STANDARD_QUANTITIES",
    "Quantity",
    "Vocabulary",
    "limit_name",
]

#: A limit's name is this prefix and the quantity's name: ``max_latency_ms``.
LIMIT_PREFIX = "max_"


class Quantity(str):
    """A quantity's name (it *is* that string, so columns keep being keyed by name), with its
    unit, a description and an optional short form for objectives (``latency``)."""

    unit: str
    description: str
    short: str

    def __new__(cls, name: str, unit: str = "", description: str = "", short: str = "") -> Quantity:
        if not name.isidentifier() or name != name.lower():
            raise PluginError(
                f"A quantity's name must be a lower-case identifier (e.g. 'memory_mb'); got "
                f"{name!r}."
            )
        self = super().__new__(cls, name)
        self.unit, self.description, self.short = unit, description, short or name
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Quantity, (str(self), self.unit, self.description, self.short))

    @property
    def name(self) -> str:
        return str(self)

    @property
    def limit(self) -> str:
        """The name of this quantity's hard limit (``max_<name>``)."""
        return limit_name(self)


def limit_name(quantity: str) -> str:
    """``latency_ms`` -> ``max_latency_ms``."""
    return LIMIT_PREFIX + quantity


LATENCY_MS = Quantity("latency_ms", "ms", "inference latency at batch size 1", "latency")
ENERGY_MJ = Quantity("energy_mj", "mJ", "energy per inference at batch size 1", "energy")
AREA_MM2 = Quantity("area_mm2", "mm2", "the accelerator's area", "area")
#: The standard quantities a hardware model may report under these names without declaring
#: a unit of its own.
STANDARD_QUANTITIES: tuple[Quantity, ...] = (LATENCY_MS, ENERGY_MJ, AREA_MM2)
#: Their names (what a model's ``quantities`` held before quantities had units).
QUANTITIES: tuple[str, ...] = STANDARD_QUANTITIES
PARAMS = Quantity("params", "", "trainable parameters (a training-free metric)")
FLOPS = Quantity("flops", "", "floating-point operations (a training-free metric)")
#: Quantities every search has, whatever its hardware model (computed from the graph).
METRIC_QUANTITIES = (PARAMS, FLOPS)
#: What an objective calls the accuracy (the one quantity it must reward), and its column.
ACCURACY = Quantity("acc", "%", "predicted or measured accuracy")
ACCURACY_COLUMN = "accuracy"


def declared(model: HardwareModel) -> tuple[Quantity, ...]:
    """The quantities ``model`` reports, each with its unit: a plain name must be one of
    :data:`QUANTITIES`; any other quantity is declared as a :class:`Quantity`."""
    standard = {q.name: q for q in STANDARD_QUANTITIES}
    found = []
    for item in model.quantities:
        if isinstance(item, Quantity):
            found.append(item)
        elif isinstance(item, str) and item in standard:
            found.append(standard[item])
        else:
            raise PluginError(
                f"The hardware model {type(model).__name__} reports {item!r} without a unit; "
                f"declare it as flash_nas.Quantity({item!r}, unit=..., description=...) in its "
                f"'quantities' (plain names are for {', '.join(standard)})."
            )
    return tuple(found)


class Vocabulary:
    """The quantities one search may name: the metrics, then what its hardware model declares."""

    def __init__(self, hardware: HardwareModel | None = None, *, standard: bool = False) -> None:
        """The vocabulary of a search over ``hardware`` (None: the metrics only); ``standard``
        instead takes every standard quantity (checking a formula before a model is chosen)."""
        self.hardware = hardware
        self.hardware_quantities = (
            STANDARD_QUANTITIES if standard else () if hardware is None else declared(hardware)
        )
        self.quantities: dict[str, Quantity] = {
            q.name: q for q in (*METRIC_QUANTITIES, *self.hardware_quantities)
        }
        self._terms = {q.short: q.name for q in self.quantities.values()}
        self._terms.update({name: name for name in self.quantities})

    @property
    def terms(self) -> list[str]:
        """Every name an objective may use, accuracy first."""
        return [ACCURACY.name, *self._terms]

    def _listed(self) -> str:
        """The names an objective may use, each quantity once with its short form."""
        shown = [q if q.short == q else f"{q} ({q.short})" for q in self.quantities.values()]
        return ", ".join([ACCURACY.name, *shown])

    @property
    def limits(self) -> list[str]:
        """Every limit a search may set (``max_<quantity>``)."""
        return [limit_name(name) for name in self.quantities]

    def column(self, term: str, objective: str) -> str:
        """The column an objective's term reads (``latency`` -> ``latency_ms``)."""
        if term == ACCURACY.name:
            return ACCURACY_COLUMN
        if term in self._terms:
            return self._terms[term]
        if self.hardware is None and self.hardware_quantities:  # the standard vocabulary
            raise ObjectiveError(
                f"The objective {objective!r} names an unknown quantity {term!r}; it may name "
                f"{self._listed()}, or any quantity its hardware model declares."
            )
        raise ObjectiveError(
            f"The objective {objective!r} names {term!r}, which {self._whose()} does not "
            f"report; it may name {self._listed()}{self._hint(term)}."
        )

    def limit(self, name: str) -> str:
        """The column a limit bounds (``max_memory_mb`` -> ``memory_mb``)."""
        quantity = name.removeprefix(LIMIT_PREFIX)
        if name.startswith(LIMIT_PREFIX) and quantity in self.quantities:
            return quantity
        raise ObjectiveError(
            f"Unknown limit {name!r}: {self._whose()} reports no such quantity; the limits are "
            f"{', '.join(self.limits)}{self._hint(quantity)}."
        )

    def describe(self) -> list[str]:
        """``name (unit): description`` for every quantity, what ``--help`` lists."""
        return [_line(q) for q in self.quantities.values()]

    def _whose(self) -> str:
        if self.hardware is None and self.hardware_quantities:
            return "no standard quantity nor metric"
        if self.hardware is None:
            return "the search without a hardware model"
        return f"the hardware model {type(self.hardware).__name__}"

    def _hint(self, name: str) -> str:
        standard = {q.name for q in STANDARD_QUANTITIES}
        standard |= {q.short for q in STANDARD_QUANTITIES}
        if self.hardware is None and name in standard:
            return "; choose a hardware model (hardware=..., --hardware) that reports it"
        if self.hardware is not None and name in standard:
            return "; drop that term or limit, or choose another hardware model"
        return ""


def _line(quantity: Quantity) -> str:
    unit = f" ({quantity.unit})" if quantity.unit else ""
    return f"{quantity.name}{unit}: {quantity.description}" if quantity.description else quantity


def standard_names() -> Iterable[str]:
    """The standard quantities' names and their limits' names (what the layout test checks)."""
    for quantity in STANDARD_QUANTITIES:
        yield quantity.name
        yield quantity.limit
