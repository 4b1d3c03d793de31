"""FLASH as an Optuna sampler: ``optuna.create_study(sampler=FlashSampler(...))``.

A trial's architecture comes whole from :meth:`SearchEngine.ask` (Optuna's *relative*
sampling); its result goes back through :meth:`SearchEngine.tell` when the trial ends. The
parameters are the adapter's own (NAS-Bench-201: six ``cell/{j}_{i}`` choices over NNI's op
names), or those of an NNI-style ``search_space`` that restricts them, with the names and values
of the NNI tuner's, so one objective works with both (see ``docs/optuna_ray.md``)::

    sampler = FlashSampler(space="nasbench201", seed=0)

    def objective(trial):
        ops = sampler.suggest_architecture(trial)   # {"cell/0_1": "conv_3x3", ...}
        return train(ops)                           # accuracy in %

    optuna.create_study(direction="maximize", sampler=sampler).optimize(objective, 30)

Measured costs go to the engine with the label, read by the name of a quantity of the hardware
model (``latency_ms``...) from the trial's user attributes (``trial.set_user_attr("latency_ms",
3.1)``) and, in a multi-objective study, from the further values ``study.set_metric_names``
names (``["accuracy", "latency_ms"]``); a value named otherwise is not a measurement. A cost the
engine refuses (negative, NaN, not a number, two different values for one quantity) makes the
trial a failure, with a warning.

A sampler joining a study that has trials (``optuna.load_study``, or workers sharing its
storage) tells the engine the finished ones first, and does not propose what another worker
is training.

``choice`` parameters are asked with ``suggest_categorical(name, choices)`` (the choices in the
search space's order), ``randint [low, high)`` with ``suggest_int(name, low, high - 1)``,
``quniform [low, high, q]`` with ``suggest_float(name, low, high, step=q)`` (``suggest_int``
where all three are integers), ``uniform`` with ``suggest_float(name, low, high)`` and
``loguniform`` with ``suggest_float(name, low, high, log=True)``: :func:`distributions` gives
each. Parameters outside the architecture (a learning rate...) come from ``independent_sampler``
when one is given; without one, asking for them is an error that names the search space.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from flash_nas._imports import require
from flash_nas.errors import (
    ArchFormatError,
    CostError,
    FlashNasWarning,
    LabelError,
)
from flash_nas.integrations.params import (
    SearchSpaceError,
    TunerConfigError,
    adapter_search_space,
    translate_space,
)
from flash_nas.integrations.settings import EngineSettings, reported_costs
from flash_nas.io.tables import LabelScale
from flash_nas.plugins.quantities import ACCURACY_COLUMN
from flash_nas.plugins.translator import Parameter, SpaceTranslator
from flash_nas.search.engine import Proposal, SearchEngine

optuna = require("optuna", "flash_nas.integrations.optuna (the FLASH sampler for Optuna)")

from optuna.distributions import (  # noqa: E402
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler  # noqa: E402
from optuna.study import Study, StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

__all__ = ["LABELS", "FlashSampler", "distributions"]

#: What the study's first objective value is: an accuracy (maximised) or an error rate
#: (minimised), in percent.
LABELS = {"accuracy": StudyDirection.MAXIMIZE, "error": StudyDirection.MINIMIZE}


_FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def _outcome(state: TrialState, values: Sequence[float] | None) -> tuple[float | None, str]:
    """A finished trial's label (its first value), or None and why there is none."""
    if state == TrialState.COMPLETE and values:
        return float(values[0]), ""
    if state == TrialState.PRUNED:
        return None, "the trial was pruned"
    return None, f"the trial ended {state.name.lower()} without a value"


def distributions(translator: SpaceTranslator) -> dict[str, BaseDistribution]:
    """Optuna's distribution for each parameter of a translated NNI search space."""
    return {name: _distribution(p) for name, p in translator.parameters.items()}


def _distribution(parameter: Parameter) -> BaseDistribution:
    if parameter.kind == "choice":
        # Lists become tuples (Optuna compares choices and needs them hashable).
        options = parameter.options or ()
        choices: list[Any] = [tuple(o) if isinstance(o, list) else o for o in options]
        return CategoricalDistribution(choices)
    if parameter.kind == "randint":
        return IntDistribution(int(parameter.low), int(parameter.high) - 1)
    if parameter.kind == "quniform":
        options = parameter.options or ()
        low, high = options[0], options[-1]
        step = options[1] - options[0] if len(options) > 1 else None
        if all(isinstance(v, int) for v in options) and (step is None or float(step).is_integer()):
            return IntDistribution(int(low), int(high), step=int(step or 1))
        return FloatDistribution(float(low), float(high), step=step)
    return FloatDistribution(parameter.low, parameter.high, log=parameter.kind == "loguniform")


def _suggest(trial: Any, name: str, distribution: BaseDistribution) -> Any:
    """``trial.suggest_*`` for one declared distribution."""
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    if isinstance(distribution, IntDistribution):
        low, high, step, log = (
            distribution.low,
            distribution.high,
            distribution.step,
            distribution.log,
        )
        return trial.suggest_int(name, low, high, step=step, log=log)
    assert isinstance(distribution, FloatDistribution)  # the only kinds distributions() makes
    low_, high_ = distribution.low, distribution.high
    return trial.suggest_float(name, low_, high_, step=distribution.step, log=distribution.log)


class FlashSampler(BaseSampler):
    """The search engine behind Optuna's sampler protocol.

    Arguments: ``search_space`` (optional: the NNI-style search space whose parameters trials
    ask for; by default the adapter's own, see :attr:`search_space` and
    :meth:`suggest_architecture`),
    those of :mod:`flash_nas.integrations.settings` (space, hardware, objective, limits,
    method, seed...), ``label`` (``accuracy``: the study's first value is an accuracy in %,
    maximised; ``error``: an error rate in %, minimised) and ``independent_sampler`` (for
    parameters outside the architecture). A multi-objective study's further values are costs
    (minimised) and need an objective with hardware terms; :meth:`proposal` gives a trial's
    hardware quantities for them.
    """

    def __init__(
        self,
        *,
        search_space: Mapping[str, Any] | None = None,
        label: str = "accuracy",
        independent_sampler: BaseSampler | None = None,
        seed: int = 0,
        **arguments: Any,
    ) -> None:
        if label not in LABELS:
            raise TunerConfigError(
                f"The 'label' argument of FlashSampler must be one of {', '.join(LABELS)}. "
                f"Got {label!r} instead."
            )
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise TunerConfigError(
                f"The 'independent_sampler' argument of FlashSampler must be an Optuna sampler "
                f"(e.g. optuna.samplers.RandomSampler()). Got {independent_sampler!r} instead."
            )
        self.settings = EngineSettings.check("FlashSampler", seed=seed, **arguments)
        self.label = label
        self.scale = LabelScale(0.0, 100.0, label == "accuracy", "%")
        if search_space is None:  # the adapter's own parameters
            search_space = adapter_search_space(self.settings.space, self.settings.space_options)
        self.translator = translate_space(
            self.settings.space, self.settings.space_options, search_space
        )
        self.search_space = distributions(self.translator)
        self.engine: SearchEngine = self.settings.engine(self.translator, self.scale)
        self.independent_sampler = independent_sampler
        #: Optuna trial number -> the proposal the engine made for it.
        self.proposals: dict[int, Proposal] = {}
        self._lock = threading.RLock()
        self._checked: tuple[StudyDirection, ...] | None = None
        #: Numbers of the study's trials the engine has heard of (told, or skipped with a
        #: warning), so that each finished trial reaches it once.
        self._known: set[int] = set()

    # ------------------------------------------------------------------ directions
    def _check_directions(self, study: Study) -> None:
        directions = tuple(study.directions)
        if directions == self._checked:
            return
        expected = LABELS[self.label]
        if directions[0] != expected:
            raise TunerConfigError(
                f"FlashSampler reads the study's first value as {self.label} in % (label="
                f"{self.label!r}), which is {expected.name.lower()}d, but the study "
                f"{directions[0].name.lower()}s it. Create the study with "
                f"direction={expected.name.lower()!r}, or pass label="
                f"{'error' if self.label == 'accuracy' else 'accuracy'!r} to FlashSampler."
            )
        if len(directions) > 1:
            hardware = [c for c in self.engine.objective.columns if c != ACCURACY_COLUMN]
            if not hardware:
                raise TunerConfigError(
                    f"A study with {len(directions)} objectives needs an objective with hardware "
                    f"terms (its further values are costs); FlashSampler's objective is "
                    f"{self.engine.objective_text!r}. Set hardware= (and an objective such as "
                    f"'acc/latency'), or optimise accuracy alone."
                )
            wrong = [k for k, d in enumerate(directions[1:], 1) if d != StudyDirection.MINIMIZE]
            if wrong:
                raise TunerConfigError(
                    f"The study maximises value(s) {wrong}, but FlashSampler's objective "
                    f"{self.engine.objective_text!r} divides accuracy by its costs: values "
                    f"after the first are costs ({', '.join(hardware)}) and must be minimised."
                )
        self._checked = directions

    # ------------------------------------------------------------------ sampling
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._check_directions(study)
        with self._lock:
            self._join(study)
        return dict(self.search_space)

    def _join(self, study: Study) -> None:
        """Tell the engine every finished trial of the study it has not heard of: those of an
        existing study the sampler joined (``optuna.load_study(..., sampler=...)``), and those
        other workers sharing the study's storage finished. Without them, the engine would
        propose again what the study already ran, and learn from a part of its results."""
        skipped = []
        for trial in study.get_trials(deepcopy=False, states=_FINISHED):
            if trial.number in self._known or trial.number in self.proposals:
                continue
            self._known.add(trial.number)
            arch = self._params_arch(trial, quiet=True)
            if arch is None:
                skipped.append(trial.number)
                continue
            value, reason = _outcome(trial.state, trial.values)
            self._tell(arch, value, reason, trial.number, study, trial, trial.values)
        if skipped:
            # Skipped, not refused: a study may also hold trials of other experiments, and a
            # trial that failed before asking for every parameter; neither is a result the
            # engine could learn from, and stopping the study would help nobody.
            warnings.warn(
                f"FlashSampler skips trial(s) {', '.join(map(str, skipped))} of study "
                f"{study.study_name!r}: their parameters are not an architecture of its "
                f"{self.settings.space} search space ({', '.join(self.search_space)}), so the "
                f"engine does not learn from them.",
                FlashNasWarning,
                stacklevel=4,
            )

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The whole architecture of one ``engine.ask()``, as the trial's parameters."""
        if not search_space:
            return {}
        with self._lock:
            elsewhere = self._running_elsewhere(study, trial.number)
            (proposal,) = self.engine.ask(1)  # SearchExhaustedError once none is left
            while proposal.arch in elsewhere:
                # Another worker is training it: it stays pending here, and is told when that
                # trial finishes (_join). Ends: the engine never proposes a pending one twice.
                (proposal,) = self.engine.ask(1)
            self.proposals[trial.number] = proposal
            params = self.translator.to_params(proposal.arch)
        return {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in params.items()
            if name in search_space
        }

    def _running_elsewhere(self, study: Study, current: int) -> set[Hashable]:
        """The architectures other workers sharing the study's storage are training."""
        found = set()
        for other in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if other.number != current and other.number not in self.proposals:
                arch = self._params_arch(other, quiet=True)
                if arch is not None:
                    found.add(arch)
        return found

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if param_name in self.search_space:
            raise SearchSpaceError(
                f"The trial asks for {param_name!r} as {param_distribution}, but FlashSampler's "
                f"search space declares it as {self.search_space[param_name]}; ask for it with "
                f"the declared choices or range (flash_nas.integrations.optuna.distributions "
                f"gives each)."
            )
        if self.independent_sampler is None:
            names = ", ".join(self.search_space)
            raise SearchSpaceError(
                f"The trial asks for {param_name!r}, which is not a parameter of FlashSampler's "
                f"{self.settings.space} search space ({names}). Ask only for those, or pass "
                f"independent_sampler=optuna.samplers.RandomSampler() (or another sampler) for "
                f"parameters outside the architecture."
            )
        return self.independent_sampler.sample_independent(
            study, trial, param_name, param_distribution
        )

    # ------------------------------------------------------------------ results
    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Tell the engine the trial's first value; a failed or pruned trial is a failure."""
        if self.independent_sampler is not None:
            self.independent_sampler.after_trial(study, trial, state, values)
        with self._lock:
            self._known.add(trial.number)
            arch = self._arch(trial)
            if arch is None:
                return
            value, reason = _outcome(state, values)
            self._tell(arch, value, reason, trial.number, study, trial, values)

    def _arch(self, trial: FrozenTrial) -> Hashable | None:
        """The architecture the trial ran: the proposal, or what its parameters (enqueued by
        hand) say where they name the whole architecture."""
        proposal = self.proposals.get(trial.number)
        ran = self._params_arch(trial)
        if proposal is not None and ran is not None and ran != proposal.arch:
            # Fixed (enqueued) parameters overrode the proposal: it was never trained.
            self.engine.fail([proposal.arch], f"trial {trial.number} ran other parameters")
        if ran is None and proposal is not None:
            pending = self.engine.trials.get(proposal.arch)
            return proposal.arch if pending is not None and pending.status == "pending" else None
        return ran

    def _params_arch(self, trial: FrozenTrial, quiet: bool = False) -> Hashable | None:
        """The architecture the trial's parameters name, or None where they name none."""
        params = {name: trial.params[name] for name in self.search_space if name in trial.params}
        if len(params) < len(self.search_space):
            return None
        try:
            return self.translator.to_arch(
                {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
            )
        except (ArchFormatError, TypeError, ValueError) as exc:
            if not quiet:
                warnings.warn(
                    f"Trial {trial.number}: its parameters are not an architecture of the "
                    f"search space ({exc}).",
                    FlashNasWarning,
                    stacklevel=4,
                )
            return None

    def _tell(
        self,
        arch: Hashable,
        value: float | None,
        reason: str,
        number: int,
        study: Study,
        trial: FrozenTrial,
        values: Sequence[float] | None,
    ) -> None:
        try:
            if value is None:
                self.engine.fail([arch], reason)
            else:
                costs = self.measured_costs(study, trial, values)
                if costs:
                    self.engine.tell([arch], [value], costs=costs)
                else:
                    self.engine.tell([arch], [value])
        except LabelError as exc:  # an impossible value or cost: a failure, said aloud
            warnings.warn(
                f"Trial {number} recorded as failed: {exc}", FlashNasWarning, stacklevel=3
            )
            self.engine.fail([arch], str(exc))

    def measured_costs(
        self, study: Study, trial: FrozenTrial, values: Sequence[float] | None
    ) -> dict[str, list[Any]]:
        """The costs measured for ``trial``, by quantity: its user attributes named like a
        quantity of the hardware model, and its further values that ``study.metric_names``
        names so (the first value is the label)."""
        costs = reported_costs(self.engine, trial.user_attrs)
        names = study.metric_names
        if names and values:
            named = reported_costs(self.engine, dict(zip(names[1:], values[1:])))
            for quantity, cost in named.items():
                if quantity in costs and costs[quantity] != cost:
                    raise CostError(
                        f"{quantity} is both the user attribute {costs[quantity][0]!r} and the "
                        f"study value {cost[0]!r} (metric names {names}); report a measured "
                        f"cost in one place."
                    )
                costs[quantity] = cost
        return costs

    # ------------------------------------------------------------------ helpers
    def suggest_architecture(self, trial: Any) -> dict[str, Any]:
        """Ask ``trial`` for every parameter of the search space, as declared (the
        distributions of :attr:`search_space`), and return them: the architecture this sampler
        proposed for the trial (or the parameters an enqueued trial fixed)."""
        return {name: _suggest(trial, name, d) for name, d in self.search_space.items()}

    def proposal(self, trial: Any) -> Proposal:
        """The engine's proposal for a running trial (its ``text`` and ``values``: hardware
        quantities and metrics, by quantity name, for a multi-objective study)."""
        number = trial.number
        if number not in self.proposals:
            raise KeyError(f"Trial {number} has no proposal yet: ask for its parameters first.")
        return self.proposals[number]

    def reseed_rng(self) -> None:
        # The engine's proposals follow its seed alone (reproducible), whatever Optuna asks.
        if self.independent_sampler is not None:
            self.independent_sampler.reseed_rng()
