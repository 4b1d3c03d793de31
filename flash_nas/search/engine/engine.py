"""The ask/tell search engine every front end drives (CLI, NNI tuner, Optuna, Ray, benchmarks).

    engine = SearchEngine("nasbench201", hardware="pi3b", max_latency_ms=20, seed=0)
    for _ in range(25):
        (proposal,) = engine.ask()
        engine.tell([proposal.arch], [train(proposal.text)])   # your training, in %
    best = engine.recommend()

Methods (``method=``) are registered by name (:mod:`flash_nas.plugins.method` is their
interface; :mod:`.methods` registers the two built-in ones):

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

import warnings
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

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
from flash_nas.plugins.method import Pick, SearchMethod
from flash_nas.plugins.quantities import LIMIT_PREFIX, Vocabulary
from flash_nas.search.engine import messages
from flash_nas.search.engine.candidates import Candidates
from flash_nas.search.engine.config import configure
from flash_nas.search.engine.design import propose, redesign
from flash_nas.search.engine.domain import AdapterDomain, Domain
from flash_nas.search.engine.measuring import MeasuredCosts
from flash_nas.search.engine.records import (
    FAILED,
    PENDING,
    SUCCEEDED,
    FrontPoint,
    Proposal,
    Recommendation,
    Trial,
)
from flash_nas.search.engine.results import Results
from flash_nas.search.engine.told import check_value
from flash_nas.search.objective import Objective
from flash_nas.validation import check_int

__all__ = ["HOPELESS", "PROPOSE_FLOOR", "SearchEngine"]

#: The least chance of meeting the limits with which an architecture whose costs are uncertain
#: is proposed; above it, expected improvement is weighed by that chance (constrained EI). Low
#: because a prior can be confidently wrong about a whole kind of network (Jetson TX2: `pi3b`
#: prices cells that execute a 3x3 conv at twice their latency; with 0.5 none was ever tried:
#: ``python -m benchmarks.constrained_diagnosis``). On seeds 100-104, on the engine before its
#: doubt on extrapolations, 0.1 against 0.5: gap to the ceiling 0.74 against 1.34 points, no
#: break with either, 11.6 trainings of 25 over the limit against 7.2; 0.03 gave 0.77
#: (``python -m benchmarks.constrained_tuning --seeds 100-104 --variants
#: default,ceiling,floor_half,floor_low`` reruns them on the engine as it is).
PROPOSE_FLOOR = 0.1
#: Below this probability of meeting the limits an architecture is never proposed.
HOPELESS = 0.01


class SearchEngine(MeasuredCosts):
    """Propose architectures to train (:meth:`ask`), learn their results (:meth:`tell`),
    recommend one (:meth:`recommend`) and show the accuracy-cost front (:meth:`front`).

    Parameters: ``space`` (a registered name or an :class:`Adapter`) with ``space_options``;
    ``hardware`` (a registered name such as ``pi3b`` or ``hwnasbench:raspi4``, or a model) with
    ``hardware_options`` (``profile`` among them); ``objective`` (default: accuracy alone
    without hardware, else accuracy over every cost the model reports); hard limits as keywords
    (``max_<quantity>`` for any quantity the search has: ``max_params``, ``max_flops`` and one per
    quantity the hardware model declares, e.g. ``max_latency_ms``), as ``limits={...}`` or as
    keywords; ``method`` (a registered name: ``bo``, ``flash`` or a plugin's);
    ``initial_samples``; ``features`` (training-free metrics the model reads); ``label_scale``;
    ``seed``; ``pool_size`` (random candidates when the space cannot be listed); ``domain``
    (the part of the space to search; default all of it); ``confidence``: the probability with
    which an architecture whose costs are predicted, not measured, must meet the limits to be
    called feasible (:mod:`.cost_beliefs`; costs measured on the device and told with
    :meth:`tell` or :meth:`measure` are exact).
    """

    # Set by :func:`.config.configure`, the one place settings are checked.
    method: str
    seed: int
    pool_size: int
    initial_samples: int
    design: str
    limits: dict[str, float]
    space_name: str | None
    space_options: dict[str, Any]
    adapter: Adapter
    hardware_name: str | None
    hardware_options: dict[str, Any]
    hardware: HardwareModel | None
    vocabulary: Vocabulary
    objective_text: str
    objective: Objective
    features: list[str]
    confidence: float

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
        confidence: float = 0.95,
        limits: Mapping[str, float | None] | None = None,
        **limit_keywords: float | None,
    ) -> None:
        method_class = configure(
            self,
            space,
            space_options=space_options,
            hardware=hardware,
            hardware_options=hardware_options,
            objective=objective,
            method=method,
            initial_samples=initial_samples,
            design=design,
            features=features,
            seed=seed,
            pool_size=pool_size,
            confidence=confidence,
            limits={**dict(limits or {}), **limit_keywords},
            both=sorted(set(limit_keywords) & set(limits or {})),
        )
        self.label_scale = label_scale
        self.domain = domain or AdapterDomain(self.adapter)
        # The models learn a 0-100 utility; for a label in % (an accuracy, or an error rate
        # read lower-is-better) that utility is the accuracy, so chance accuracy maps as is.
        self.chance = self.adapter.chance_accuracy() if label_scale.unit == "%" else None
        self.trials: dict[Hashable, Trial] = {}
        self._rng = np.random.default_rng(self.seed)
        self._floor: tuple[Any, float] = (None, PROPOSE_FLOOR)
        self.candidates = Candidates(
            self.adapter, self.objective, self.features, self.hardware, self.confidence
        )
        self.candidates.beliefs.seed = self.seed
        self._build_pool()
        self.results = Results(self)
        #: The method's instance (``method`` is its registered name).
        self.strategy: SearchMethod = method_class(self)

    # ------------------------------------------------------------------ set-up
    @classmethod
    def check(cls, space: str | Adapter, **settings: Any) -> None:
        """Check ``settings`` as the constructor does (same errors), without building the
        engine: what a front end calls when it is created, before its search space is known,
        so that a mistake stops a run before any trial. Takes the constructor's keywords
        except ``label_scale`` and ``domain``."""
        limits = dict(settings.pop("limits", None) or {})
        keywords = {k: settings.pop(k) for k in list(settings) if k.startswith(LIMIT_PREFIX)}
        probe = cls.__new__(cls)
        configure(
            probe,
            space,
            limits={**limits, **keywords},
            both=sorted(set(limits) & set(keywords)),
            **settings,
        )

    def _build_pool(self) -> None:
        listed = self.domain.enumerate()
        self.listable = listed is not None
        if listed is None:
            listed = [a for a in self.domain.sample(self.pool_size, self._rng)]
            listed = [a for a in listed if self.domain.contains(a)]
        self.pool_rows = self.candidates.add(listed)
        features = self.candidates.column("features")[self.pool_rows]
        self._low = features.min(axis=0)
        self._span = np.where(np.ptp(features, axis=0) > 0, np.ptp(features, axis=0), 1.0)
        eligible = self.eligible(self.pool_rows)
        # Nothing even likely to meet the limits, measurements will not find one (a model whose
        # scale is in doubt counts it: a device may be several times faster): stop now.
        # An architecture that meets them only with less than the confidence may still be
        # proposed, trained and measured; recommend() says when none then does.
        if not eligible.any():
            raise NoFeasibleArchitectureError(messages.nothing_feasible(self))
        self.design_rows = redesign(self, self._rng)

    # ------------------------------------------------------------------ labels
    def utility(self, value: float | np.ndarray | None) -> Any:
        """A label in its own scale -> 0-100, higher better (what the methods learn)."""
        scale = self.label_scale
        fraction = (np.asarray(value, dtype=float) - scale.low) / (scale.high - scale.low)
        return 100.0 * (fraction if scale.higher_is_better else 1.0 - fraction)

    def label(self, utility: float | np.ndarray) -> Any:
        """A 0-100 utility -> the label's own scale."""
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
    def tell(
        self,
        archs: Sequence[Any],
        values: Sequence[Any],
        costs: Mapping[str, Sequence[float | None]] | None = None,
    ) -> None:
        """Record results: one value per architecture (its label, in the label's scale), and
        optionally its costs measured on the device (``costs={"latency_ms": [...]}``: one list
        per quantity the hardware model reports, one entry per architecture, None where not
        measured; see :meth:`measure`).

        ``None`` or NaN records a failure (the architecture is not proposed again); a value
        outside the label's range, or an architecture outside the space, raises
        :class:`LabelError` (a bad cost :class:`~flash_nas.errors.CostError`) before anything
        is recorded; a second result for one architecture replaces the first with a warning
        that names both.
        """
        if isinstance(archs, (str, bytes)) or len(archs) != len(values):
            raise LabelError(
                "tell() takes a list of architectures and a list of values of the same length; "
                f"got {len(archs) if not isinstance(archs, (str, bytes)) else 'a string'} and "
                f"{len(values)}."
            )
        found = [self._arch(a) for a in archs]
        checked = [(a, self.check_value(v, self.adapter.format(a))) for a, v in zip(found, values)]
        measured = self._checked_costs(found, costs)
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
        self._record_costs(found, measured)

    def fail(self, archs: Sequence[Any], reason: str) -> None:
        """Record that these architectures produced no usable result, and why; they are not
        proposed again (a later :meth:`tell` with a value replaces the failure, with a
        warning)."""
        self.tell(archs, [None] * len(archs))
        for item in archs:
            self.trials[self._arch(item)].reason = reason

    def check_value(self, value: Any, arch: Any) -> tuple[float | None, str]:
        """A label as a number (None and the reason for a failure), or LabelError."""
        return check_value(value, arch, self.label_scale)

    # ------------------------------------------------------------------ ask
    def ask(self, n: int = 1) -> list[Proposal]:
        """``n`` architectures to train next (each is then pending until told).

        Raises :class:`SearchExhaustedError` when every architecture the engine may propose
        was tried, is pending, breaks a limit or is cut off; may return fewer than ``n``
        proposals when only fewer are left.
        """
        n = check_int(n, "n", owner="SearchEngine.ask", low=1, high=10_000)
        chosen = propose(self, n)
        if not chosen:
            raise SearchExhaustedError(messages.exhausted(self))
        proposals = []
        for choice in chosen:
            proposal = self._proposal(choice)
            arch = proposal.arch
            # The trial keeps what the model expected of it then (the search's history).
            self.trials[arch] = Trial(
                arch,
                proposal.text,
                PENDING,
                source=choice.source,
                predicted=proposal.predicted,
                predicted_std=proposal.std,
            )
            proposals.append(proposal)
        return proposals

    def _proposal(self, choice: Any) -> Proposal:
        arch = self.candidates.archs[choice.row]
        return Proposal(
            arch,
            self.adapter.format(arch),
            choice.source,
            None if choice.mean is None else float(self.label(choice.mean)),
            None if choice.std is None else float(self.label_std(choice.std)),
            self.candidates.values(choice.row),
            float(self.candidates.column("p_feasible")[choice.row]),
        )

    @property
    def label_width(self) -> float:
        """One utility point in the label's own units."""
        return (self.label_scale.high - self.label_scale.low) / 100.0

    def label_std(self, std: float | np.ndarray) -> Any:
        """A standard deviation of the utility -> in the label's own units."""
        return std * self.label_width

    def eligible(self, rows: np.ndarray) -> np.ndarray:
        """Which rows may be proposed: likely enough to meet the limits
        (:meth:`propose_floor`), not cut off, not tried or pending."""
        c = self.candidates
        ok = (c.column("p_reach")[rows] >= self.propose_floor()) & ~c.column("cut_off")[rows]
        taken = np.array([c.archs[r] in self.trials for r in rows], dtype=bool)
        return ok & ~taken

    def propose_floor(self) -> float:
        """The least probability of meeting the limits a proposal needs:
        :data:`PROPOSE_FLOOR`, or less when no untried architecture of the pool reaches it
        (after a few measurements the model may doubt every one; training the likeliest, and
        so measuring it, is how it learns), but never below :data:`HOPELESS`."""
        c = self.candidates
        key = (c.beliefs.version, len(self.trials), len(c))
        if self._floor[0] != key:
            rows = self.pool_rows
            untried = ~c.column("cut_off")[rows] & np.array(
                [c.archs[r] not in self.trials for r in rows], dtype=bool
            )
            probability = c.column("p_reach")[rows][untried]
            best = float(probability.max()) if probability.size else 0.0
            self._floor = (key, min(PROPOSE_FLOOR, max(best, HOPELESS)))
        return self._floor[1]

    def candidate_rows(self) -> np.ndarray:
        """Every row a method may propose: the pool (plus, when the space cannot be listed,
        every architecture a search visited inside the domain), eligible."""
        rows = self.pool_rows if self.listable else np.arange(len(self.candidates))
        keep = self.eligible(rows)
        if not self.listable:
            archs = self.candidates.archs
            keep &= np.array([self.domain.contains(archs[r]) for r in rows], dtype=bool)
        return rows[keep]

    def pending(self) -> list[Hashable]:
        """Architectures proposed and not yet told."""
        return [t.arch for t in self.trials.values() if t.status == PENDING]

    @property
    def labels_key(self) -> int:
        """Changes whenever the set of labels changes (not when a proposal becomes pending):
        what a method's cached fit is keyed on."""
        return hash(tuple((t.text, t.value) for t in self.trials.values() if t.status != PENDING))

    def inputs(self, rows: np.ndarray) -> np.ndarray:
        """The model's input for rows: scaled metrics, then the adapter's encoding."""
        features = (self.candidates.column("features")[rows] - self._low) / self._span
        return np.hstack([features, self.candidates.column("encoding")[rows]])

    def labelled(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows and utilities (0-100) of every succeeded trial, in the order they were told."""
        done = [t for t in self.trials.values() if t.status == SUCCEEDED]
        rows = self.candidates.add([t.arch for t in done]) if done else np.zeros(0, np.int64)
        return rows, np.array([self.utility(t.value) for t in done], dtype=float)

    # ------------------------------------------------------------------ results
    def recommend(self) -> Recommendation:
        """The architecture to deploy (the method decides; see the module docstring)."""
        if not any(t.status == SUCCEEDED for t in self.trials.values()):
            raise LabelError(
                "Nothing to recommend yet: no result has been told. Train what ask() proposes "
                "and tell() the results first."
            )
        return self.results.recommendation(self.strategy.recommend())

    def best_measured(self) -> Pick:
        """The told architecture with the best objective among those that meet the limits
        (what a method recommends by default); NoFeasibleArchitectureError when none does."""
        return self.results.best_measured()

    def front(self) -> list[FrontPoint]:
        """Feasible architectures that no other beats on both accuracy and cost: measured
        accuracy where told, the method's prediction elsewhere (``measured`` says which)."""
        return self.results.front()

    def predict(self, archs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """The method's predicted label and its standard deviation for each architecture (in
        the label's scale); a cut-off cell gets the chance accuracy, with no spread."""
        rows = self.candidates.add([self._arch(a) for a in archs])
        labelled, _ = self.labelled()
        needed = self.strategy.min_labels
        if len(labelled) < needed:
            raise LabelError(
                f"The model needs {needed} labels before it predicts; it has {len(labelled)}."
            )
        mean, std = self.strategy.predict(rows)
        if self.chance is not None:
            cut_off = self.candidates.column("cut_off")[rows]
            mean = np.where(cut_off, self.chance, mean)
            std = np.where(cut_off, 0.0, std)
        return self.label(mean), self.label_std(std)

    def top(self, count: int) -> list[FrontPoint]:
        """The ``count`` best architectures by the objective, the recommendation first:
        measured accuracy where told, the method's prediction elsewhere."""
        count = check_int(count, "count", owner="SearchEngine.top", low=1)
        return self.results.top(count)

    def summary(self) -> list[str]:
        """Lines that describe the method's fitted model (what the CLI prints)."""
        rows, _ = self.labelled()
        needed = self.strategy.min_labels
        if len(rows) < needed:
            return [f"No model yet: {len(rows)} label(s), {needed} needed."]
        return list(self.strategy.summary())

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

        return load_engine(cls, Path(path), overrides)

    @classmethod
    def from_dict(
        cls, data: Any, *, where: str = "state", **overrides: Any
    ) -> SearchEngine:
        """An engine rebuilt from :meth:`to_dict`'s data held inside another file (a Ray Tune
        searcher's checkpoint), its trials replayed; ``where`` names that file in errors."""
        from flash_nas.search.engine.state import engine_from_dict

        return engine_from_dict(cls, data, overrides, where=where)


def _shown(value: float | None, reason: str) -> str:
    return f"{value:g}" if value is not None else f"failed: {reason}"
