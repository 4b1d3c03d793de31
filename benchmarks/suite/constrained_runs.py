"""One run of each method of the constrained-search benchmark (:mod:`.constrained`).

A run searches NAS-Bench-201 (CIFAR-10) for the best accuracy under a latency limit on one
HW-NAS-Bench device. What it may look at is what a user would have: a trained network's label
(``c10_valid``) and, since the network exists once trained, its latency on the device; and, for
the methods that take them, latency-only measurements. "Measuring" is looking the architecture
up in HW-NAS-Bench's table (:class:`Device`); the Edge TPU's failed measurements (-1 in the
table, 30 % of the cells) are cells the device did not run: the engine is told so (a cost of
``math.inf``, :meth:`Device.reading`), Optuna's samplers see a broken constraint, and the
others keep no number.

Every run returns an :class:`Outcome`: what it recommends and what it believes of it; the part
judges it (:func:`judge`) by the *true* latency and ``c10_test`` of that architecture.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

import flash_nas
from flash_nas.cost.calibration import calibrate
from flash_nas.cost.profile import Profile
from flash_nas.errors import NoFeasibleArchitectureError, SearchExhaustedError
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.schedule import measurements_before
from flash_nas_adapters.nasbench201.space import load_shipped_table
from flash_nas_hardware.hwnasbench import DEVICES, shipped_table_path
from flash_nas_hardware.pi3b import Pi3BModel

LABELS, TRUTH, LATENCY = "c10_valid", "c10_test", "latency_ms"
#: The engine's prior: the Pi 3B model as ``--hardware pi3b`` builds it (no profile of ours).
PRIOR = "pi3b"
#: NSGA-II's population: its default of 50 would make a 25- or 50-trial study one generation
#: of random samples; 10 lets it evolve (as the search part's regularized evolution does).
NSGA2_POPULATION = 10


@dataclass(frozen=True)
class Space:
    """NAS-Bench-201's CIFAR-10 labels and test accuracies by architecture text."""

    texts: tuple[str, ...]
    valid: dict[str, float]
    test: dict[str, float]


@dataclass(frozen=True)
class Device:
    """One HW-NAS-Bench device's latencies by architecture text (NaN: the measurement failed)."""

    name: str
    latency: dict[str, float]

    def measure(self, text: str) -> float | None:
        """The measured latency (ms), or None where the device gave no number."""
        value = self.latency[text]
        return value if math.isfinite(value) else None

    def reading(self, text: str) -> float:
        """What the engine is told: the measured latency, or ``math.inf`` where the device
        could not run the cell (the engine's "does not run", which meets no limit)."""
        value = self.measure(text)
        return math.inf if value is None else value

    def limit(self, quantile: float) -> float:
        """The ``quantile`` of the device's latencies over every cell it measured."""
        values = np.array([v for v in self.latency.values() if math.isfinite(v)])
        return float(np.quantile(values, quantile))

    def holds(self, text: str | None, limit_ms: float) -> bool:
        """Whether ``text``'s TRUE latency is within ``limit_ms`` (no architecture, or one the
        device could not run, breaks it)."""
        if text is None:
            return False
        value = self.latency[text]
        return math.isfinite(value) and value <= limit_ms


@functools.cache
def load_space() -> Space:
    table = load_shipped_table()
    texts = tuple(table.archs)
    return Space(
        texts,
        dict(zip(texts, map(float, table.column(LABELS)))),
        dict(zip(texts, map(float, table.column(TRUTH)))),
    )


@functools.cache
def load_device(name: str) -> Device:
    table = flash_nas.read_table(shipped_table_path())
    values = table.column(DEVICES[name][LATENCY])
    latency = {t: (float(v) if v > 0 else math.nan) for t, v in zip(table.archs, values)}
    if set(latency) != set(load_space().valid):
        raise ValueError(f"HW-NAS-Bench's {name} table does not list NAS-Bench-201's cells.")
    return Device(name, latency)


@dataclass
class Outcome:
    """One method's run: the recommended architecture (None: it had none to recommend), the
    latency it believes that architecture has (``told_ms``: measured where ``measured``, else
    its prediction; None when it has no number), and the networks it trained, in order."""

    method: str
    seed: int
    text: str | None
    told_ms: float | None
    measured: bool
    trained: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


# ---------------------------------------------------------------------- the engine
def drive_engine(
    space: Space,
    device: Device,
    limit_ms: float,
    seed: int,
    *,
    trainings: int,
    measurements: int = 0,
    ceiling: bool = False,
) -> tuple[SearchEngine, list[str]]:
    """The engine's default method under the limit, driven by the loop of the measured-costs
    API: before training number ``step``, ``measurements_before(step, ...)`` latency-only
    measurements of what ``ask_measure`` names; every trained network told with its measured
    latency. ``ceiling``: the engine given the device's true table, told labels only. Returns
    the engine and the networks it trained, in order: fewer than ``trainings`` when the engine
    has nothing left to propose (:class:`SearchExhaustedError`; its message says to recommend
    from what was tried, as a user would)."""
    hardware = f"hwnasbench:{device.name}" if ceiling else PRIOR
    engine = SearchEngine(
        "nasbench201", hardware=hardware, objective="acc", max_latency_ms=limit_ms, seed=seed
    )
    trained = []
    for step in range(trainings):
        count = 0 if ceiling else measurements_before(step, trainings, measurements)
        if count:
            todo = engine.ask_measure(count)
            if todo:
                engine.measure(
                    [t.arch for t in todo], {LATENCY: [device.reading(t.text) for t in todo]}
                )
        try:
            (proposal,) = engine.ask()
        except SearchExhaustedError:
            break
        costs = None if ceiling else {LATENCY: [device.reading(proposal.text)]}
        engine.tell([proposal.arch], [space.valid[proposal.text]], costs=costs)
        trained.append(proposal.text)
    return engine, trained


def engine_outcome(
    space: Space,
    device: Device,
    limit_ms: float,
    seed: int,
    *,
    trainings: int,
    measurements: int = 0,
    ceiling: bool = False,
    method: str = "",
) -> Outcome:
    """The engine's default method under the limit (:func:`drive_engine`), and what it
    recommends."""
    started = time.perf_counter()
    name = method or ("ceiling" if ceiling else f"bo_m{measurements}")
    try:
        engine, trained = drive_engine(
            space,
            device,
            limit_ms,
            seed,
            trainings=trainings,
            measurements=measurements,
            ceiling=ceiling,
        )
    except NoFeasibleArchitectureError as error:
        return Outcome(name, seed, None, None, False, seconds=0.0, note=str(error))
    try:
        recommendation = engine.recommend()
    except NoFeasibleArchitectureError as error:  # nothing it believes meets the limit
        return Outcome(
            name, seed, None, None, False, trained, time.perf_counter() - started, str(error)
        )
    told = recommendation.values.get(LATENCY)
    note = recommendation.note
    if len(trained) < trainings:
        note = f"the search was exhausted after {len(trained)} of {trainings} trainings; {note}"
    return Outcome(
        name,
        seed,
        recommendation.text,
        None if told is None else float(told),
        ceiling or recommendation.costs_measured,
        trained,
        time.perf_counter() - started,
        note,
    )


def calibrated_pi3b(
    device: Device,
    texts: Sequence[str],
    *,
    fit_samples: int | Literal["all"],
    seed: int = 0,
    source: str,
) -> Profile:
    """The Pi 3B model's profile calibrated on ``device``'s measured latencies of ``texts``
    (every one measured), whatever the fit's quality: a worse fit than the defaults is the
    method's result here, not an error."""
    adapter = flash_nas.get_adapter("nasbench201")
    return calibrate(
        Pi3BModel(),
        adapter.batch([adapter.parse(t) for t in texts]),
        {LATENCY: np.array([device.latency[t] for t in texts])},
        fit_samples=fit_samples,
        seed=seed,
        source=source,
        accept_worse=True,
    )


def flash_outcome(
    space: Space, device: Device, limit_ms: float, seed: int, *, trainings: int, calibration: int
) -> Outcome:
    """FLASH as published: the Pi 3B model calibrated on ``calibration`` random cells'
    measured latencies (every one fitted), then method ``flash`` with that profile: its
    ``trainings`` labels stratified over NN-Degree, SHGO's pick recommended (a prediction)."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    picked = [space.texts[i] for i in rng.choice(len(space.texts), calibration, replace=False)]
    measured = [t for t in picked if device.measure(t) is not None]
    profile = calibrated_pi3b(
        device,
        measured,
        fit_samples="all",
        seed=seed,
        source=f"{len(measured)} random cells measured on {device.name}",
    )
    try:
        engine = SearchEngine(
            "nasbench201",
            hardware=Pi3BModel(profile=profile),
            objective="acc",
            method="flash",
            initial_samples=trainings,
            max_latency_ms=limit_ms,
            seed=seed,
        )
    except NoFeasibleArchitectureError as error:
        return Outcome("flash", seed, None, None, False, note=str(error))
    proposals = engine.ask(trainings)
    trained = [p.text for p in proposals]
    engine.tell([p.arch for p in proposals], [space.valid[t] for t in trained])
    try:
        recommendation = engine.recommend()
    except NoFeasibleArchitectureError as error:
        return Outcome(
            "flash", seed, None, None, False, trained, time.perf_counter() - started, str(error)
        )
    told = recommendation.values.get(LATENCY)
    note = recommendation.note
    if len(trained) < trainings:
        note = f"the search was exhausted after {len(trained)} of {trainings} trainings; {note}"
    return Outcome(
        "flash",
        seed,
        recommendation.text,
        None if told is None else float(told),
        False,
        trained,
        time.perf_counter() - started,
        note,
    )


# ---------------------------------------------------------------------- baselines
def best_within(
    trained: Sequence[str], measured: Sequence[float | None], space: Space, limit_ms: float
) -> tuple[str | None, float | None]:
    """The baselines' recommendation: the best ``c10_valid`` among the trained networks whose
    measured latency is within the limit; (None, None) when none is."""
    holding = [(t, m) for t, m in zip(trained, measured) if m is not None and m <= limit_ms]
    if not holding:
        return None, None
    return max(holding, key=lambda pair: space.valid[pair[0]])


def random_texts(space: Space, seed: int, count: int) -> list[str]:
    """``count`` distinct cells drawn at random."""
    rng = np.random.default_rng(seed)
    return [space.texts[i] for i in rng.choice(len(space.texts), count, replace=False)]


def random_outcome(
    space: Space, device: Device, limit_ms: float, seed: int, *, trainings: int
) -> Outcome:
    started = time.perf_counter()
    trained = random_texts(space, seed, trainings)
    measured = [device.measure(t) for t in trained]
    text, told = best_within(trained, measured, space, limit_ms)
    return Outcome(
        "random", seed, text, told, text is not None, trained, time.perf_counter() - started
    )


#: A trial's measured latency, as the study records it (None: the measurement failed).
MEASURED_ATTR = "measured_latency_ms"


def _violation(measured: float | None, limit_ms: float | None) -> float:
    """The constraint Optuna sees: measured latency minus the limit (<= 0 holds; 0 without a
    limit); a network the device could not run violates it without bound."""
    if measured is None:
        return math.inf
    return 0.0 if limit_ms is None else measured - limit_ms


def constraint_values(trial: Any) -> list[float]:
    """The constraint values Optuna's samplers read from a finished trial."""
    values = getattr(trial, "constraints", None)  # Optuna 5: a dict by name
    if isinstance(values, dict):
        return [float(v) for v in values.values()]
    return [float(v) for v in trial.system_attrs.get("constraints", ())]  # Optuna 4


def optuna_study(
    sampler: str,
    seed: int,
    trials: int,
    label: Callable[[str], float],
    measure: Callable[[str], float | None],
    limit_ms: float | None = None,
) -> Any:
    """An Optuna study of ``trials`` over NAS-Bench-201's six edges (categorical): ``tpe`` or
    ``nsga2``. With ``limit_ms``: one objective (``label``) and a constraint on the measured
    latency; without: two objectives (``label`` up, measured latency down). Either way a
    network the device could not run is infeasible (a constraint without bound; its latency
    +inf): a failed trial instead would leave the sampler proposing it again and again.
    Returns the study.

    The constraint is set the way the installed Optuna documents: ``Trial.set_constraint``
    from Optuna 5 on (which deprecates the samplers' ``constraints_func``), else
    ``constraints_func``; the samplers read the same values either way."""
    import optuna

    from benchmarks.suite.integrations import SPACE, _texts

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    per_trial = hasattr(optuna.trial.Trial, "set_constraint")
    constraints = None
    if not per_trial:

        def constraints(trial: Any) -> list[float]:
            return [_violation(trial.user_attrs[MEASURED_ATTR], limit_ms)]

    if sampler == "tpe":
        chosen = optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    elif sampler == "nsga2":
        chosen = optuna.samplers.NSGAIISampler(
            seed=seed, constraints_func=constraints, population_size=NSGA2_POPULATION
        )
    else:
        raise ValueError(f"Unknown sampler {sampler!r}; expected tpe or nsga2.")
    directions = ["maximize"] if limit_ms is not None else ["maximize", "minimize"]
    study = optuna.create_study(directions=directions, sampler=chosen)

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        text = _texts({n: trial.suggest_categorical(n, s["_value"]) for n, s in SPACE.items()})
        trial.set_user_attr("arch", text)
        measured = measure(text)
        trial.set_user_attr(MEASURED_ATTR, measured)
        if per_trial:
            trial.set_constraint(LATENCY, _violation(measured, limit_ms))
        if limit_ms is not None:
            return label(text)
        return label(text), math.inf if measured is None else measured

    study.optimize(objective, n_trials=trials)
    return study


def optuna_outcome(
    sampler: str, space: Space, device: Device, limit_ms: float, seed: int, *, trainings: int
) -> Outcome:
    started = time.perf_counter()
    study = optuna_study(
        sampler, seed, trainings, space.valid.__getitem__, device.measure, limit_ms
    )
    done = study.trials
    trained = [t.user_attrs["arch"] for t in done]
    measured = [t.user_attrs[MEASURED_ATTR] for t in done]
    text, told = best_within(trained, measured, space, limit_ms)
    return Outcome(
        sampler, seed, text, told, text is not None, trained, time.perf_counter() - started
    )


# ---------------------------------------------------------------------- many objectives
def hypervolume(points: Sequence[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area dominated by ``points`` (accuracy up, latency down) and bounded by
    ``reference`` = (lowest accuracy, highest latency): points beyond it add nothing."""
    low_accuracy, high_latency = reference
    inside = sorted(
        (latency, accuracy)
        for accuracy, latency in points
        if accuracy > low_accuracy and latency < high_latency
    )
    area, best = 0.0, low_accuracy
    for latency, accuracy in inside:  # fastest first: each new best adds a strip
        if accuracy > best:
            area += (high_latency - latency) * (accuracy - best)
            best = accuracy
    return area


def normalised_hypervolume(
    trained: Sequence[str], space: Space, device: Device, measured_only: bool = True
) -> float:
    """Hypervolume of the trained networks' (``c10_valid``, latency) points over the box the
    whole space spans: reference (lowest ``c10_valid``, highest latency), divided by the box's
    area (1 = one network as accurate as the best cell and as fast as the fastest). A network
    the device could not run has no point."""
    accuracies = np.array(list(space.valid.values()))
    latencies = np.array([v for v in device.latency.values() if math.isfinite(v)])
    points = [
        (space.valid[t], device.latency[t])
        for t in dict.fromkeys(trained)
        if math.isfinite(device.latency[t])
    ]
    box = (accuracies.max() - accuracies.min()) * (latencies.max() - latencies.min())
    return hypervolume(points, (float(accuracies.min()), float(latencies.max()))) / box


def front_trained(method: str, space: Space, device: Device, seed: int, trials: int) -> list[str]:
    """The networks a multi-objective search trains, in order: the engine with its default
    hardware objective (every trained network told with its measured latency), Optuna's
    NSGA-II and TPE on (``c10_valid``, measured latency), or random cells."""
    if method == "engine":
        engine = SearchEngine("nasbench201", hardware=PRIOR, seed=seed)
        trained = []
        for _ in range(trials):
            (proposal,) = engine.ask()
            engine.tell(
                [proposal.arch],
                [space.valid[proposal.text]],
                costs={LATENCY: [device.reading(proposal.text)]},
            )
            trained.append(proposal.text)
        return trained
    if method == "random":
        return random_texts(space, seed, trials)
    study = optuna_study(method, seed, trials, space.valid.__getitem__, device.measure)
    return [t.user_attrs["arch"] for t in study.trials]


def trained_architectures(
    device: str, limit_ms: float, seed: int, trainings: int = 25
) -> list[str]:
    """The texts of the networks the default row (M = 0) trains for ``device`` at
    ``limit_ms`` and ``seed``, in order: what ``flash-nas search --space nasbench201
    --hardware pi3b --max-latency-ms L --objective acc --labels-from TABLE:c10_valid
    --costs-from TABLE:latency_ms --budget 25 --seed S`` must train too."""
    outcome = engine_outcome(load_space(), load_device(device), limit_ms, seed, trainings=trainings)
    return outcome.trained
