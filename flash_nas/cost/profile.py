"""A hardware model's fitted costs, kept as JSON: :class:`Profile`, :func:`load_profile`, and
how well the fit predicts held-out rows (:class:`Fit`). Fitting itself is
:mod:`flash_nas.cost.calibration`; a profile loads without scipy.

Room: cost models. Imports errors and the IO layer only (the model is duck-typed here, so the
cost model can import this module without a circle).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from flash_nas.errors import FlashNasError

__all__ = [
    "PROFILE_FORMAT",
    "Fit",
    "Profile",
    "load_profile",
    "profile_status",
    "profile_summary",
]

PROFILE_FORMAT = "flash-nas-profile/1"



class CalibratedModel(Protocol):
    """What a profile checks a model against (any :class:`~flash_nas.cost.LinearCostModel`)."""

    def structure_parameters(self) -> dict[str, Any]: ...

    def coefficient_names(self) -> list[str]: ...


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
        """Raise unless this profile was fitted for ``model``'s class and coefficients."""
        if self.model != type(model).__name__:
            raise FlashNasError(
                f"This profile was fitted for the {self.model} model, not {type(model).__name__}; "
                f"use it with --hardware for that model, or calibrate a new one."
            )
        if self.structure != model.structure_parameters():
            differ = sorted(
                name
                for name in set(self.structure) | set(model.structure_parameters())
                if self.structure.get(name) != model.structure_parameters().get(name)
            )
            raise FlashNasError(
                f"This profile was fitted with other structure parameters ({', '.join(differ)}: "
                f"{ {n: self.structure.get(n) for n in differ} } in the profile); build the model "
                f"with the same ones, or calibrate it again."
            )
        unknown = set(self.costs) - set(model.coefficient_names())
        if unknown:
            raise FlashNasError(
                f"The profile names costs {sorted(unknown)} that {type(model).__name__} does not "
                f"have; it was written by another version. Calibrate again."
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
    """Read a profile written by :meth:`Profile.save`; corrupt files say what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FlashNasError(f"Profile {str(path)!r} does not exist.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FlashNasError(f"Profile {str(path)!r} is not valid JSON ({exc}).") from exc
    except OSError as exc:  # a folder, no permission...
        raise FlashNasError(
            f"Profile {str(path)!r} cannot be read ({exc.strerror or exc}); expected a JSON file "
            f"written by `flash-nas calibrate`."
        ) from exc
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise FlashNasError(
            f"Profile {str(path)!r} is not a flash-nas profile (expected format "
            f"{PROFILE_FORMAT!r}); write one with `flash-nas calibrate`."
        )
    try:
        costs = {str(k): float(v) for k, v in data["costs"].items()}
        fits = {q: Fit(**values) for q, values in data.get("fit", {}).items()}
        profile = Profile(
            model=str(data["model"]),
            costs=costs,
            fit=fits,
            fit_rows=int(data.get("fit_rows", 0)),
            seed=data.get("seed"),
            source=str(data.get("source", "")),
            structure=dict(data.get("structure", {})),
            notes=[str(note) for note in data.get("notes", [])],
            calibrated={str(k): str(v) for k, v in data.get("calibrated", {}).items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FlashNasError(f"Profile {str(path)!r} is damaged: {exc!r}.") from exc
    if not costs:
        raise FlashNasError(
            f"Profile {str(path)!r} lists no costs; expected the fitted cost of every event of "
            f"its model under 'costs'. Write one with `flash-nas calibrate`."
        )
    bad = [name for name, value in costs.items() if not math.isfinite(value) or value < 0]
    if bad:
        raise FlashNasError(f"Profile {str(path)!r} has negative or non-finite costs: {bad}.")
    return profile


def profile_summary(profile: Profile) -> list[str]:
    """One line per calibrated quantity, then what the profile did not fit, for printing."""
    lines = [f"{quantity}: {fit.line()}" for quantity, fit in profile.fit.items()]
    lines += profile_status(profile)
    return lines + [f"note: {note}" for note in profile.notes]


def profile_status(profile: Profile) -> list[str]:
    """One line per quantity the profile did not fit itself: carried from another, or left at
    the model's defaults. Empty when it fitted every quantity (or predates the record)."""
    return [
        f"{quantity}: {status}"
        for quantity, status in profile.calibrated.items()
        if quantity not in profile.fit
    ]
