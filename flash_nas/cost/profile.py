"""A hardware model's fitted costs, kept as JSON: :class:`Profile`, :func:`load_profile`, and
how well the fit predicts held-out rows (:class:`Fit`). Fitting itself is
:mod:`flash_nas.cost.calibration`; a profile loads without scipy.

Room: cost models. Imports errors, validation and the IO layer only (the model is duck-typed
here, so the cost model can import this module without a circle).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from flash_nas.errors import FlashNasError, ProfileError, quote
from flash_nas.io.jsonfile import read_json
from flash_nas.validation import check_int, check_number, check_optional

__all__ = [
    "DEFAULTED",
    "MAX_COST",
    "PROFILE_FORMAT",
    "Fit",
    "Profile",
    "check_cost",
    "load_profile",
    "profile_status",
    "profile_summary",
]

PROFILE_FORMAT = "flash-nas-profile/1"
#: Largest cost per event a profile or an option may set: no event costs 1e100 of any unit,
#: and below it a network's costs (event counts well under 1e100) cannot overflow to inf.
MAX_COST = 1e100
#: How :func:`~flash_nas.cost.calibration.calibrate` records a quantity it left at the model's
#: defaults: the only case where a profile may leave that quantity's costs out.
DEFAULTED = "NOT calibrated: the model's default costs"


class CalibratedModel(Protocol):
    """What a profile checks a model against (any :class:`~flash_nas.cost.LinearCostModel`)."""

    def structure_parameters(self) -> dict[str, Any]: ...

    def coefficient_names(self) -> list[str]: ...

    @property
    def coefficients(self) -> Sequence[Any]: ...


@dataclass(frozen=True)
class Fit:
    """Quality of a model's predictions on rows it was not fitted on."""

    rows: int
    spearman: float
    kendall: float
    mape: float
    within_10pct: float
    #: How the judged rows were kept out of the fit: ``held-out`` or ``leave-one-out``.
    how: str = "held-out"

    def line(self) -> str:
        return (
            f"rho {self.spearman:.3f}, tau {self.kendall:.3f}, MAPE {self.mape:.1%}, "
            f"within +-10%: {self.within_10pct:.1%} ({self.rows} {self.how} rows)"
        )


@dataclass
class Profile:
    """Fitted costs of one model class, with how well they predict held-out measurements."""

    model: str
    costs: dict[str, float]
    fit: dict[str, Fit] = field(default_factory=dict)
    fit_rows: int = 0
    seed: int | None = None
    source: str = ""
    structure: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Per quantity of the model: how the profile sets its costs (fitted, carried from another
    #: calibrated quantity, or the model's defaults). Empty in profiles written before it.
    calibrated: dict[str, str] = field(default_factory=dict)

    def check_model(self, model: CalibratedModel) -> None:
        """Raise unless this profile was fitted for ``model``'s class and coefficients, and
        sets every cost but those of quantities it records as left at the defaults."""
        if self.model != type(model).__name__:
            named = self.model if self.model.isidentifier() else quote(self.model)
            raise ProfileError(
                f"This profile was fitted for the {named} model, not "
                f"{type(model).__name__}; use it with --hardware for that model, or calibrate "
                f"a new one."
            )
        if self.structure != model.structure_parameters():
            differ = sorted(
                str(name)
                for name in set(self.structure) | set(model.structure_parameters())
                if self.structure.get(name) != model.structure_parameters().get(name)
            )
            names = ", ".join(differ)
            names = names if len(names) <= 120 else f"{names[:100]}..."
            raise ProfileError(
                f"This profile was fitted with other structure parameters "
                f"({names}); build the model with the same ones as the "
                f"profile, or calibrate it again."
            )
        unknown = set(self.costs) - set(model.coefficient_names())
        if unknown:
            raise ProfileError(
                f"The profile names costs {quote(sorted(unknown))} that {type(model).__name__} "
                f"does not have; it was written by another version. Calibrate again."
            )
        missing = [
            coefficient.name
            for coefficient in model.coefficients
            if coefficient.name not in self.costs
            and self.calibrated.get(coefficient.quantity) != DEFAULTED
        ]
        if missing:
            raise ProfileError(
                f"The profile has no cost {', '.join(map(repr, missing))} of "
                f"{type(model).__name__}, and does not record its quantity as left at the "
                f"model's defaults; a profile sets every cost it calibrated. Calibrate again."
            )

    def to_json(self) -> str:
        data = asdict(self)
        data["format"] = PROFILE_FORMAT
        return json.dumps(data, indent=2, sort_keys=True)

    def save(self, path: str | Path) -> None:
        """Write the profile as JSON; the file is replaced only once complete."""
        from flash_nas.io.outputs import atomic_output

        with atomic_output(path, "w", encoding="utf-8") as handle:
            handle.write(self.to_json() + "\n")


def load_profile(path: str | Path) -> Profile:
    """Read a profile written by :meth:`Profile.save`; a corrupt or tampered file is a
    :class:`ProfileError` naming the file and the field, never a traceback."""
    where = f"Profile {str(path)!r}"
    data = read_json(path, error=ProfileError, what="a JSON file written by `flash-nas calibrate`")
    if data.get("format") != PROFILE_FORMAT:
        raise ProfileError(
            f"{where} is not a flash-nas profile (expected format {PROFILE_FORMAT!r}); write "
            f"one with `flash-nas calibrate`."
        )
    profile = Profile(
        model=_field(data, "model", str, where),
        costs=_costs(data.get("costs"), where),
        fit=_fits(data.get("fit", {}), where),
        fit_rows=check_int(data.get("fit_rows", 0), "fit_rows", **_owner(where), low=0),
        seed=check_optional(check_int, data.get("seed"), "seed", **_owner(where), low=0),
        source=_field(data, "source", str, where, ""),
        structure=_field(data, "structure", dict, where, {}),
        notes=_strings(_field(data, "notes", list, where, []), "notes", where),
        calibrated=_strings(_field(data, "calibrated", dict, where, {}), "calibrated", where),
    )
    return profile


def check_cost(
    value: Any, name: str, *, owner: str, error: type[FlashNasError] = ProfileError
) -> float:
    """A cost per event: a number (not a bool) in ``0..MAX_COST``; the message names the cost."""
    number = check_number(value, name, owner=owner, low=0.0, error=error, noun="cost")
    if number > MAX_COST:
        raise error(
            f"The {name!r} cost of {owner} is {number:g}, more than any event costs "
            f"({MAX_COST:g}): times a network's event counts it overflows to inf. Calibrate "
            f"again, or give the cost in the model's unit."
        )
    return number


def _owner(where: str) -> dict[str, Any]:
    return {"owner": where, "error": ProfileError, "noun": "field"}


def _field(data: dict[str, Any], name: str, kind: type, where: str, *default: Any) -> Any:
    if name not in data and default:
        return default[0]
    value = data.get(name)
    if not isinstance(value, kind):
        raise ProfileError(
            f"{where} is damaged: {name!r} must be a JSON {_JSON_NAMES[kind]}, got "
            f"{'nothing' if name not in data else type(value).__name__}. Calibrate again."
        )
    return value


_JSON_NAMES: dict[type, str] = {str: "string", dict: "object", list: "array"}


def _strings(values: Any, name: str, where: str) -> Any:
    items = values.values() if isinstance(values, dict) else values
    if not all(isinstance(item, str) for item in items):
        raise ProfileError(f"{where} is damaged: every entry of {name!r} must be a string.")
    return list(values) if isinstance(values, list) else dict(values)


def _costs(values: Any, where: str) -> dict[str, float]:
    if not isinstance(values, dict) or not values:
        raise ProfileError(
            f"{where} is damaged: it lists no costs; expected the fitted cost of every event "
            f"of its model under 'costs'. Write one with `flash-nas calibrate`."
        )
    # a profile writes its costs as JSON numbers: text ("1.0") is no cost there
    return {
        str(name): check_cost(None if isinstance(value, str) else value, name, owner=where)
        for name, value in values.items()
    }


def _fits(values: Any, where: str) -> dict[str, Fit]:
    if not isinstance(values, dict):
        raise ProfileError(f"{where} is damaged: 'fit' must be a JSON object.")
    fits = {}
    for quantity, entry in values.items():
        owner = f"{where}, fit of {quote(quantity, 40)}"
        names = {f.name: f for f in fields(Fit)}
        if not isinstance(entry, dict) or set(entry) - set(names):
            raise ProfileError(
                f"{owner} is damaged: expected an object with {', '.join(names)}. Calibrate again."
            )
        checked: dict[str, Any] = {}
        for name, spec in names.items():
            if name not in entry:
                if spec.default is MISSING:
                    raise ProfileError(f"{owner} is damaged: it has no {name!r}.")
                continue
            value = entry[name]
            if spec.type == "int":
                checked[name] = check_int(value, name, owner=owner, low=0, error=ProfileError)
            elif spec.type == "str":
                checked[name] = _field(entry, name, str, owner)
            elif (
                isinstance(value, bool) or not isinstance(value, int | float) or abs(value) > 1e300
            ):
                # a statistic may be NaN (rank correlation of constant predictions), not text
                raise ProfileError(f"{owner} is damaged: {name!r} must be a number.")
            else:
                checked[name] = float(value)
        fits[str(quantity)] = Fit(**checked)
    return fits


def profile_summary(profile: Profile, most_set_aside: int | None = None) -> list[str]:
    """One line per calibrated quantity, then what the profile did not fit, for printing.

    ``most_set_aside`` keeps at most that many "set aside" notes per quantity and counts the
    rest in one line: a published table of 15,625 cells has hundreds of rows a device timed
    oddly, which the profile's ``notes`` list every one of, but a terminal needs only a few."""
    lines = [f"{quantity}: {fit.line()}" for quantity, fit in profile.fit.items()]
    lines += profile_status(profile)
    aside = Counter(
        quantity
        for quantity, _, rest in (note.partition(": ") for note in profile.notes)
        if rest.startswith("set aside row")
    )
    shown: Counter[str] = Counter()
    for note in profile.notes:
        quantity, _, rest = note.partition(": ")
        if most_set_aside is not None and rest.startswith("set aside row"):
            shown[quantity] += 1
            if shown[quantity] == most_set_aside + 1:  # the first one left out: count them all
                lines.append(
                    f"note: {quantity}: {aside[quantity] - most_set_aside} more rows set aside "
                    f"({aside[quantity]} in all); the profile's \"notes\" name every one."
                )
            if shown[quantity] > most_set_aside:
                continue
        lines.append(f"note: {note}")
    return lines


def profile_status(profile: Profile) -> list[str]:
    """One line per quantity the profile did not fit itself: carried from another, or left at
    the model's defaults. Empty when it fitted every quantity (or predates the record)."""
    return [
        f"{quantity}: {status}"
        for quantity, status in profile.calibrated.items()
        if quantity not in profile.fit
    ]
