"""The ask/tell search engine every front end drives (CLI, NNI tuner, Optuna, Ray, benchmarks).

    engine = SearchEngine("nasbench201", hardware="pi3b", max_latency_ms=20, seed=0)
    for _ in range(25):
        (proposal,) = engine.ask()
        engine.tell([proposal.arch], [train(proposal.text)])   # your training, in %
    best = engine.recommend()

Two methods (``method=``):

* ``bo`` (default): an initial design spread over NN-Degree (``initial_samples``, 10), then
  Bayesian optimisation: a Gaussian process over the training-free metrics and the adapter's
  encoding of the architecture (:mod:`.acquisition`), proposals by expected improvement of the
  objective under the hardware limits, over the whole space where it can be listed, else over a
  random pool plus hierarchical SHGO on the adapter's relaxation. :meth:`recommend` returns the
  best *measured* architecture and says when the model predicts a better untried one.
* ``flash``: FLASH as published: ``initial_samples`` (25) labels stratified over NN-Degree, the
  monotone NN-Degree predictor, hierarchical SHGO; :meth:`recommend` returns the search's pick
  (a prediction, marked as such, beside the best measured label).

Labels are percentages in ``[0, 100]`` (higher is better) unless ``label_scale`` says otherwise
(a loss, a 0-1 score: :class:`flash_nas.io.tables.LabelScale`); the models work on the label mapped
to a 0-100 utility. A cut-off cell (output independent of input) is never proposed and is
predicted at the adapter's chance accuracy. The state (configuration and every trial) saves to
JSON and loads back (:mod:`.state`), so a run resumes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas import plugins
from flash_nas.errors import (
    ArchFormatError,
    FlashNasWarning,
    LabelError,
    NoFeasibleArchitectureError,
    SearchExhaustedError,
)
from flash_nas.io.tables import PERCENT, LabelScale
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.search.engine.candidates import Candidates
from flash_nas.search.engine.domain import AdapterDomain, Domain
from flash_nas.search.engine.records import (
    FAILED,
    PENDING,
    SUCCEEDED,
    FrontPoint,
    Proposal,
    Recommendation,
    Trial,
)
from flash_nas.search.objective import (
    LIMITS,
    Objective,
    ObjectiveError,
    default_objective,
    parse_objective,
)
from flash_nas.search.sampling import STRATEGIES, select_samples
from flash_nas.validation import ParameterError, check_choice, check_int

__all__ = ["DEFAULT_FEATURES", "METHODS", "SearchEngine"]

METHODS = ("bo", "flash")
DEFAULT_FEATURES = {
    "bo": ("nn_degree", "nn_degree_neuron", "params", "flops"),
    "flash": ("nn_degree",),
}
DEFAULT_INITIAL = {"bo": 10, "flash": 25}
#: Labels a model needs before it may choose (fewer: the initial design goes on).
MIN_LABELS = {"bo": 3, "flash": 5}


class SearchEngine:
    """Propose architectures to train (:meth:`ask`), learn their results (:meth:`tell`),
    recommend one (:meth:`recommend`) and show the accuracy-cost front (:meth:`front`).

    Parameters: ``space`` (a registered name or an :class:`Adapter`) with ``space_options``;
    ``hardware`` (a registered name such as ``pi3b`` or ``hwnasbench:raspi4``, or a model) with
    ``hardware_options`` (``profile`` among them); ``objective`` (default: accuracy alone
    without hardware, else accuracy over every cost the model reports); hard limits as keywords
    (``max_latency_ms``, ``max_energy_mj``, ``max_area_mm2``, ``max_params``); ``method``;
    ``initial_samples``; ``features`` (training-free metrics the model reads); ``label_scale``;
    ``seed``; ``pool_size`` (random candidates when the space cannot be listed); ``domain``
    (the part of the space to search; default all of it).
    """

    def __init__(
        self,
        space: str | Adapter,
        *,
        space_options: Mapping[str, Any] | None = None,
        hardware: str | HardwareModel | None = None,
        hardware_options: Mapping[str, Any] | None = None,
        objective: str | None = None,
        method: str = "bo",
        initial_samples: int | None = None,
        design: str = "stratified",
        features: Sequence[str] | None = None,
        label_scale: LabelScale = PERCENT,
        seed: int = 0,
        pool_size: int = 20_000,
        domain: Domain | None = None,
        **limits: float | None,
    ) -> None:
        owner = "SearchEngine"
        self.method = check_choice(method, "method", METHODS, owner=owner)
        self.seed = check_int(seed, "seed", owner=owner, low=0)
        self.pool_size = check_int(pool_size, "pool_size", owner=owner, low=10, high=2_000_000)
        initial = DEFAULT_INITIAL[method] if initial_samples is None else initial_samples
        self.initial_samples = check_int(initial, "initial_samples", owner=owner, low=1)
        self.design = check_choice(design, "design", STRATEGIES, owner=owner)
        unknown = sorted(set(limits) - set(LIMITS))
        if unknown:
            raise ParameterError(
                f"SearchEngine got unknown keyword(s) {', '.join(unknown)}; hard limits are "
                f"{', '.join(LIMITS)}."
            )
        self.limits = {name: value for name, value in limits.items() if value is not None}
        self.space_name = space if isinstance(space, str) else None
        self.space_options = dict(space_options or {})
        self.adapter = (
            plugins.get_adapter(space, **self.space_options) if isinstance(space, str) else space
        )
        self.hardware_name = hardware if isinstance(hardware, str) else None
        self.hardware_options = dict(hardware_options or {})
        self.hardware = (
            plugins.get_hardware(hardware, **self.hardware_options)
            if isinstance(hardware, str)
            else hardware
        )
        quantities = None if self.hardware is None else self.hardware.quantities
        self.objective_text = objective or default_objective(quantities)
        self.objective: Objective = parse_objective(self.objective_text, self.limits)
        self._check_objective_inputs()
        self.features = list(features or DEFAULT_FEATURES[method])
        self.label_scale = label_scale
        self.domain = domain or AdapterDomain(self.adapter)
        # The models learn a 0-100 utility; for a label in % (an accuracy, or an error rate
        # read lower-is-better) that utility is the accuracy, so chance accuracy maps as is.
        self.chance = self.adapter.chance_accuracy() if label_scale.unit == "%" else None
        self.trials: dict[Hashable, Trial] = {}
        self._rng = np.random.default_rng(self.seed)
        self.candidates = Candidates(self.adapter, self.objective, self.features, self.hardware)
        self._build_pool()
        self._model: Any = None
        self._flash_result: Any = None
        self._known: tuple[int | None, dict[int, Any]] = (None, {})
        self._model_version = -1
        self._version = 0

    # ------------------------------------------------------------------ set-up
    def _check_objective_inputs(self) -> None:
        hardware_columns = ("latency_ms", "energy_mj", "area_mm2")
        needed = [c for c in self.objective.columns if c in hardware_columns]
        if needed and self.hardware is None:
            raise ObjectiveError(
                f"The objective {self.objective_text!r} and limits need "
                f"{', '.join(needed)}; choose a hardware model (hardware=...)."
            )
        missing = [c for c in needed if self.hardware and c not in self.hardware.quantities]
        if missing:
            reports = ", ".join(self.hardware.quantities) if self.hardware else ""
            raise ObjectiveError(
                f"The objective {self.objective_text!r} or a limit needs {', '.join(missing)}, "
                f"which the hardware model {type(self.hardware).__name__} does not report (it "
                f"reports {reports}); drop that term or limit, or choose another model."
            )

    def _build_pool(self) -> None:
        listed = self.domain.enumerate()
        self.listable = listed is not None
        if listed is None:
            listed = [a for a in self.domain.sample(self.pool_size, self._rng)]
            listed = [a for a in listed if self.domain.contains(a)]
        self._pool_rows = self.candidates.add(listed)
        features = self.candidates.column("features")[self._pool_rows]
        self._low = features.min(axis=0)
        self._span = np.where(np.ptp(features, axis=0) > 0, np.ptp(features, axis=0), 1.0)
        eligible = self._eligible(self._pool_rows)
        if not eligible.any():
            raise NoFeasibleArchitectureError(self._nothing_feasible_message())
        rows = self._pool_rows[eligible]
        degree = self.candidates.column("value:" + self.features[0])[rows]
        count = min(self.initial_samples, len(rows))
        picked = select_samples(degree, count, strategy=self.design, seed=self.seed)
        # Spread the design's order too, so that a run stopped early still spans NN-Degree.
        self._design = [int(rows[k]) for k in self._rng.permutation(picked)]

    def _nothing_feasible_message(self) -> str:
        bounds = ", ".join(f"{c} <= {b:g}" for c, b in self.objective.limits.items())
        violation = self.candidates.column("violation")[self._pool_rows]
        closest = self._pool_rows[np.argsort(violation)[:3]]
        described = "; ".join(
            self.adapter.format(self.candidates.archs[r])
            + " ("
            + ", ".join(
                f"{c} {self.candidates.column('value:' + c)[r]:.4g}" for c in self.objective.limits
            )
            + ")"
            for r in closest
        )
        where = "the space" if self.listable else f"a pool of {len(self._pool_rows):,}"
        return (
            f"No architecture of {where} meets the limits ({bounds or 'none set'})"
            f" and computes something (a cell cut off from its input does not). Closest: "
            f"{described}. Relax a limit."
        )

    # ------------------------------------------------------------------ labels
    def _utility(self, value: float | np.ndarray | None) -> Any:
        """A label in its own scale -> 0-100, higher better (what the models learn)."""
        scale = self.label_scale
        fraction = (np.asarray(value, dtype=float) - scale.low) / (scale.high - scale.low)
        return 100.0 * (fraction if scale.higher_is_better else 1.0 - fraction)

    def _from_utility(self, utility: float | np.ndarray) -> Any:
        scale = self.label_scale
        fraction = np.asarray(utility, dtype=float) / 100.0
        fraction = fraction if scale.higher_is_better else 1.0 - fraction
        return scale.low + fraction * (scale.high - scale.low)

    def _arch(self, item: Any) -> Hashable:
        """An architecture from itself or its text; unknown ones raise LabelError."""
        arch = item
        if isinstance(item, str):
            try:
                arch = self.adapter.parse(item)
            except ArchFormatError as exc:
                raise LabelError(f"Cannot tell a result for {item[:200]!r}: {exc}") from None
        if arch in self.trials or arch in self.candidates.rows:
            return arch
        try:
            self.adapter.format(arch)
            known = self.domain.contains(arch)
        except (ArchFormatError, TypeError, ValueError, KeyError, IndexError):
            known = False
        if not known:
            raise LabelError(
                f"{item!r} is not an architecture of the {self.space_name or 'given'} space this "
                f"engine searches; tell results for architectures it proposed or can parse."
            )
        return arch

    # ------------------------------------------------------------------ tell
    def tell(self, archs: Sequence[Any], values: Sequence[Any]) -> None:
        """Record results: one value per architecture (its label, in the label's scale).

        ``None`` or NaN records a failure (the architecture is not proposed again); a value
        outside the label's range, or an architecture outside the space, raises
        :class:`LabelError` before anything is recorded; a second result for one architecture
        replaces the first with a warning that names both.
        """
        if isinstance(archs, (str, bytes)) or len(archs) != len(values):
            raise LabelError(
                "tell() takes a list of architectures and a list of values of the same length; "
                f"got {len(archs) if not isinstance(archs, (str, bytes)) else 'a string'} and "
                f"{len(values)}."
            )
        found = [self._arch(a) for a in archs]
        checked = [(a, self._check_value(v, self.adapter.format(a))) for a, v in zip(found, values)]
        for arch, (value, reason) in checked:
            trial = self.trials.get(arch)
            if trial is None:
                trial = self.trials[arch] = Trial(arch, self.adapter.format(arch))
            elif trial.status != PENDING:
                warnings.warn(
                    f"{trial.text}: a second result ({_shown(value, reason)}) replaces the first "
                    f"({_shown(trial.value, trial.reason)}).",
                    FlashNasWarning,
                    stacklevel=2,
                )
            trial.value, trial.reason = value, reason
            trial.status = FAILED if value is None else SUCCEEDED
            self.candidates.add([arch])
        self._version += 1

    def fail(self, archs: Sequence[Any], reason: str) -> None:
        """Record that these architectures produced no usable result, and why; they are not
        proposed again (a later :meth:`tell` with a value replaces the failure, with a
        warning)."""
        self.tell(archs, [None] * len(archs))
        for item in archs:
            self.trials[self._arch(item)].reason = reason

    def _check_value(self, value: Any, arch: Any) -> tuple[float | None, str]:
        if value is None:
            return None, "no result (None)"
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise LabelError(
                f"The result for {str(arch)[:200]!r} must be a number (or None for a failure); "
                f"got {value!r}."
            )
        number = float(value)
        if math.isnan(number):
            return None, "the result is NaN"
        scale = self.label_scale
        if not scale.contains(number):
            raise LabelError(
                f"The result {number!r} for {str(arch)[:200]!r} is outside the label's range "
                f"[{scale.low:g}, {scale.high:g}] ({scale.unit}); give accuracies in percent, "
                f"or declare the label's scale (label_scale=...)."
            )
        return number, ""

    # ------------------------------------------------------------------ ask
    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` architectures to train next (each is then pending until told).

        Raises :class:`SearchExhaustedError` when every architecture the engine may propose
        was tried, is pending, breaks a limit or is cut off; may return fewer than ``n``
        proposals when only fewer are left.
        """
        n = check_int(n, "n", owner="SearchEngine.ask", low=1, high=10_000)
        from flash_nas.search.engine import methods

        chosen = methods.propose(self, n)
        if not chosen:
            raise SearchExhaustedError(self._exhausted_message())
        proposals = []
        for row, source, predicted, std in chosen:
            arch = self.candidates.archs[row]
            proposal = Proposal(
                arch,
                self.adapter.format(arch),
                source,
                None if predicted is None else float(self._from_utility(predicted)),
                None if std is None else float(std * self._scale_width()),
                self.candidates.values(row),
            )
            # The trial keeps what the model expected of it then (the search's history).
            self.trials[arch] = Trial(
                arch,
                proposal.text,
                PENDING,
                source=source,
                predicted=proposal.predicted,
                predicted_std=proposal.std,
            )
            proposals.append(proposal)
        self._version += 1
        return proposals

    def _scale_width(self) -> float:
        return (self.label_scale.high - self.label_scale.low) / 100.0

    def _exhausted_message(self) -> str:
        tried = sum(t.status != PENDING for t in self.trials.values())
        pending = sum(t.status == PENDING for t in self.trials.values())
        where = "of the space" if self.listable else f"of a pool of {len(self._pool_rows):,}"
        return (
            f"No architecture {where} is left to propose: {tried} tried, {pending} pending, the "
            f"rest break a limit or are cut off. Recommend from what was tried, relax a limit, "
            f"or widen the space."
        )

    def _eligible(self, rows: np.ndarray) -> np.ndarray:
        """Which rows may be proposed: feasible, not cut off, not tried or pending."""
        c = self.candidates
        ok = c.column("feasible")[rows] & ~c.column("cut_off")[rows]
        taken = np.array([c.archs[r] in self.trials for r in rows], dtype=bool)
        return ok & ~taken

    def inputs(self, rows: np.ndarray) -> np.ndarray:
        """The model's input for rows: scaled metrics, then the adapter's encoding."""
        features = (self.candidates.column("features")[rows] - self._low) / self._span
        return np.hstack([features, self.candidates.column("encoding")[rows]])

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and utilities (0-100) of every succeeded trial, in the order they were told."""
        done = [t for t in self.trials.values() if t.status == SUCCEEDED]
        rows = self.candidates.add([t.arch for t in done]) if done else np.zeros(0, np.int64)
        return rows, np.array([self._utility(t.value) for t in done], dtype=float)

    # ------------------------------------------------------------------ results
    def recommend(self) -> Recommendation:
        """The architecture to deploy (see the methods in the module docstring)."""
        from flash_nas.search.engine import methods

        return methods.recommend(self)

    def front(self) -> list[FrontPoint]:
        """Feasible architectures that no other beats on both accuracy and cost: measured
        accuracy where told, the model's prediction elsewhere (``measured`` says which)."""
        from flash_nas.search.engine import methods

        return methods.front(self)

    def predict(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """The model's predicted label and its standard deviation for each architecture (in
        the label's scale); a cut-off cell gets the chance accuracy, with no spread."""
        from flash_nas.search.engine import methods

        rows = self.candidates.add([self._arch(a) for a in archs])
        mean, std = methods.predict(self, rows)
        return self._from_utility(mean), std * self._scale_width()

    def top(self, count: int) -> list[FrontPoint]:
        """The ``count`` best architectures by the objective, the recommendation first:
        measured accuracy where told, the model's prediction elsewhere."""
        from flash_nas.search.engine import methods

        count = check_int(count, "count", owner="SearchEngine.top", low=1)
        return methods.top(self, count)

    def summary(self) -> list[str]:
        """Lines that describe the fitted model (what the CLI prints)."""
        from flash_nas.search.engine.summary import summary

        return summary(self)

    @property
    def history(self) -> list[Trial]:
        """Every trial, in the order the engine first heard of it."""
        return list(self.trials.values())

    # ------------------------------------------------------------------ state
    def to_dict(self) -> dict[str, Any]:
        from flash_nas.search.engine.state import engine_to_dict

        return engine_to_dict(self)

    def save(self, path: str | Path) -> None:
        """Write the state as JSON (atomically: a crash leaves the previous file)."""
        from flash_nas.search.engine.state import save_engine

        save_engine(self, Path(path))

    @classmethod
    def load(cls, path: str | Path, **overrides: Any) -> SearchEngine:
        """An engine rebuilt from a saved state, its trials replayed; ``overrides`` (e.g. an
        ``adapter`` or ``hardware`` object not saved by name) replace saved settings."""
        from flash_nas.search.engine.state import load_engine

        return load_engine(Path(path), overrides)


def _shown(value: float | None, reason: str) -> str:
    return f"{value:g}" if value is not None else f"failed: {reason}"
