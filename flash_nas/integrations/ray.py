"""FLASH as a Ray Tune searcher: ``tune.TuneConfig(search_alg=FlashSearcher(...))``.

The searched parameters come, as Tune users expect of any searcher, from the Tuner's
``param_space`` (``tune.choice``, ``tune.randint``, ``tune.uniform``... over the
architecture's parameters, named as in the NNI tuner's search space), from ``search_space=``
(the NNI-style dict), or, given neither, from the adapter itself. Every :meth:`suggest` is one
:meth:`SearchEngine.ask` (the trial's config holds the architecture's parameters, and
``param_space``'s constants), every
:meth:`on_trial_complete` one :meth:`SearchEngine.tell` (or ``fail``). Trials run wherever Ray
schedules them; the searcher lives in the driver. :meth:`save`/:meth:`restore` (which Tune calls
for its experiment checkpoints) write the engine's JSON state plus the searcher's own map of
Tune trial ids to architectures, so a restored run (``tune.Tuner.restore``) neither repeats
an architecture nor loses a result. For a given seed the proposals are deterministic when
trials run one at a time (``max_concurrent_trials=1``). A trial's further reported metrics named
like a quantity of the hardware model (``tune.report({"acc": ..., "latency_ms": 3.1})``) are
its measured costs, told with the label. See ``docs/optuna_ray.md``.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Any

from flash_nas._imports import require
from flash_nas.errors import FlashNasError, FlashNasWarning, LabelError, SearchExhaustedError
from flash_nas.integrations.params import (
    SearchSpaceError,
    TunerConfigError,
    adapter_search_space,
    translate_space,
)
from flash_nas.integrations.settings import EngineSettings, read_metric, reported_costs
from flash_nas.io.tables import LabelScale
from flash_nas.plugins.translator import SpaceTranslator
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.state import StateError

require("ray.tune", "flash_nas.integrations.ray (the FLASH searcher for Ray Tune)")

from ray.tune.search import Searcher  # noqa: E402
from ray.tune.search.sample import (  # noqa: E402
    Categorical,
    Domain,
    Float,
    Integer,
    LogUniform,
    Quantized,
    Uniform,
)

__all__ = ["MODES", "FlashSearcher"]

#: Ray's modes: ``max`` reads the metric as an accuracy in %, ``min`` as an error rate in %.
MODES = ("max", "min")
FORMAT = "flash-nas ray searcher"


class FlashSearcher(Searcher):
    """The search engine behind Ray Tune's searcher protocol.

    Arguments: ``search_space`` (optional: the NNI-style search space whose parameters each
    trial's config holds; by default the Tuner's ``param_space``, or the adapter's own
    parameters), those of :mod:`flash_nas.integrations.settings` (space, hardware, objective,
    limits, method, seed...), and Ray's ``metric`` (the result entry to learn from) and ``mode``
    (``max``: an accuracy in %; ``min``: an error rate in %), here or in ``tune.TuneConfig``.
    """

    def __init__(
        self,
        *,
        search_space: Mapping[str, Any] | None = None,
        metric: str | None = None,
        mode: str | None = None,
        seed: int = 0,
        **arguments: Any,
    ) -> None:
        _check_metric(metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.settings = EngineSettings.check("FlashSearcher", seed=seed, **arguments)
        #: The NNI-style search space searched (None until known), and where each of its
        #: parameters sits in a trial's config (its keys' path in a nested param_space).
        self.search_space: dict[str, Any] | None = None
        self.paths: dict[str, list[str]] = {}
        self.translator: SpaceTranslator | None = None
        #: Tune trial id -> the architecture suggested for it.
        self.trial_archs: dict[str, Hashable] = {}
        self.engine: SearchEngine | None = None
        self._lock = threading.RLock()
        if search_space is not None:
            self._use_space(dict(search_space), None)

    def _use_space(self, space: dict[str, Any], paths: dict[str, list[str]] | None) -> None:
        self.translator = translate_space(self.settings.space, self.settings.space_options, space)
        self.search_space = space
        self.paths = paths or {name: [name] for name in space}

    # ------------------------------------------------------------------ Tune's properties
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Take Tune's metric and mode where the searcher has none (they must agree), and the
        space from the ``param_space`` entries Tune would sample (its constants stay as they
        are: Tune merges them into every trial's config)."""
        _check_metric(metric, mode)
        searched = _domains(config or {})
        if searched:
            space = {name: _nni_parameter(name, domain) for name, (_, domain) in searched.items()}
            paths = {name: path for name, (path, _) in searched.items()}
            if self.search_space is None:
                try:
                    self._use_space(space, paths)
                except SearchSpaceError as exc:
                    raise SearchSpaceError(
                        f"The Tuner's param_space: {exc} FlashSearcher searches only the "
                        f"architecture's parameters; give any other entry as a constant."
                    ) from None
            elif space != self.search_space or paths != self.paths:
                raise TunerConfigError(
                    f"The Tuner's param_space searches {', '.join(sorted(searched))} "
                    f"(tune.choice...), but FlashSearcher already searches another space (its "
                    f"search_space argument, or a checkpoint's): declare the space in one "
                    f"place, the param_space as for Tune's other searchers."
                )
        for name, given in (("metric", metric), ("mode", mode)):
            mine = getattr(self, f"_{name}")
            if given is not None and mine is not None and given != mine:
                raise TunerConfigError(
                    f"FlashSearcher was built with {name}={mine!r} but Tune's config says "
                    f"{given!r}; give it in one place."
                )
            if given is not None:
                setattr(self, f"_{name}", given)
        return True

    def _require(self) -> tuple[SearchEngine, SpaceTranslator]:
        if self.translator is None:  # neither search_space nor param_space: the adapter's own
            self._use_space(
                adapter_search_space(self.settings.space, self.settings.space_options), None
            )
        assert self.translator is not None
        if self.engine is None:
            if self._metric is None or self._mode is None:
                raise TunerConfigError(
                    "FlashSearcher needs Ray's metric and mode (the result entry holding the "
                    "accuracy, 'max'; or an error rate, 'min'): pass them to FlashSearcher "
                    "(Tune hands TuneConfig's metric and mode to a searcher only when the Tuner "
                    "has a param_space)."
                )
            scale = LabelScale(0.0, 100.0, self._mode == "max", "%")
            self.engine = self.settings.engine(self.translator, scale)
        return self.engine, self.translator

    # ------------------------------------------------------------------ protocol
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next architecture's parameters; ``Searcher.FINISHED`` once none is left."""
        with self._lock:
            engine, translator = self._require()
            try:
                (proposal,) = engine.ask(1)
            except SearchExhaustedError:
                # Ray documents FINISHED (a str) as the answer but annotates Optional[Dict].
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's own protocol
            self.trial_archs[trial_id] = proposal.arch
            return _nest(translator.to_params(proposal.arch), self.paths)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the engine the trial's ``metric``, with the costs measured for it (the result's
        entries named like a quantity of the hardware model); an errored trial, a result
        without a finite metric, or a cost the engine refuses, is a failure."""
        with self._lock:
            arch = self.trial_archs.get(trial_id)
            if arch is None or self.engine is None:
                return
            if error or result is None:
                value, reason = None, "the trial errored" if error else "the trial gave no result"
            else:
                value, reason = read_metric(result, str(self._metric))
            try:
                if value is None:
                    self.engine.fail([arch], reason)
                else:
                    assert result is not None  # a value comes from a result
                    costs = reported_costs(self.engine, result, skip=(str(self._metric),))
                    if costs:
                        self.engine.tell([arch], [value], costs=costs)
                    else:
                        self.engine.tell([arch], [value])
            except LabelError as exc:  # a CostError too: neither label nor costs recorded
                warnings.warn(
                    f"Trial {trial_id} recorded as failed: {exc}", FlashNasWarning, stacklevel=2
                )
                self.engine.fail([arch], str(exc))

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """Plain data: metric, mode, the space, the engine's state and the trial-id map."""
        engine = self.engine
        adapter = _adapter(self)
        return {
            "format": FORMAT,
            "metric": self._metric,
            "mode": self._mode,
            "search_space": self.search_space,
            "paths": self.paths,
            "engine": None if engine is None else engine.to_dict(),
            "trials": {key: adapter.format(arch) for key, arch in self.trial_archs.items()},
        }

    def set_state(self, state: dict[str, Any], where: str = "FlashSearcher checkpoint") -> None:
        """Take a checkpoint's state, checked whole before anything changes: a malformed or
        contradicting one is a :class:`StateError` naming ``where``."""
        with self._lock:
            restored = _guarded(where, lambda: self._read_state(state, where))
            (self._metric, self._mode, self.search_space, self.paths, self.translator,
             self.engine, self.trial_archs) = restored  # fmt: skip

    def _read_state(self, state: Any, where: str) -> tuple[Any, ...]:
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise StateError(f"{where}: not a FlashSearcher checkpoint (no 'format': {FORMAT!r}).")
        metric, mode = state.get("metric"), state.get("mode")
        if mode is not None and mode not in MODES:
            raise StateError(f"{where}: the checkpoint's mode is not 'max' or 'min'.")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise StateError(f"{where}: the checkpoint's metric is not a result entry's name.")
        for name, saved in (("metric", metric), ("mode", mode)):
            mine = getattr(self, f"_{name}")
            if mine is not None and saved is not None and mine != saved:
                raise StateError(
                    f"{where}: the checkpoint was written with {name}={saved[:100]!r}, but this "
                    f"FlashSearcher has {name}={mine!r}; restore it into a searcher with "
                    f"{name}={saved[:100]!r} (its results were learnt as such), or start anew."
                )
        space, paths = state.get("search_space"), state.get("paths")
        translator = self.translator
        if space is None:
            if state.get("engine") is not None or state.get("trials"):
                raise StateError(f"{where}: the checkpoint has trials but no search space.")
        elif self.search_space is not None:
            if space != self.search_space:
                raise StateError(
                    f"{where}: the checkpoint was written by a FlashSearcher over another search "
                    f"space; restore it into a searcher built with the same search_space."
                )
        else:
            try:
                translator = translate_space(
                    self.settings.space, self.settings.space_options, space
                )
            except FlashNasError:  # its text would quote the checkpoint
                raise StateError(
                    f"{where}: the checkpoint's search space is not one of the "
                    f"{self.settings.space} space."
                ) from None
        if space is not None:
            paths = _checked_paths(paths, space, where)
        engine = None
        if state.get("engine") is not None:
            assert translator is not None
            settings = state["engine"].get("settings") if isinstance(state["engine"], dict) else {}
            # The searcher gives the engine its space and domain (as objects, which its state
            # writes as null): a state naming others was not written by a FlashSearcher.
            if isinstance(settings, dict) and (
                settings.get("space") is not None or "domain" in settings
            ):
                raise StateError(
                    f"{where}: the checkpoint's engine state names a space or domain of its "
                    f"own; a FlashSearcher's takes the searcher's ({self.settings.space})."
                )
            engine = SearchEngine.from_dict(
                state["engine"], where=where, space=translator.adapter, domain=translator
            )
        trials = state.get("trials") or {}
        if not isinstance(trials, dict) or not all(isinstance(t, str) for t in trials.values()):
            raise StateError(f"{where}: 'trials' is not a map of trial id to architecture text.")
        archs = {}
        for key, text in trials.items():
            try:
                arch = translator.adapter.parse(text) if translator is not None else None
            except FlashNasError:  # its text would quote the checkpoint
                arch = None
            if engine is None or arch is None or arch not in engine.trials:
                raise StateError(f"{where}: trial {key[:100]!r} names an unknown architecture.")
            archs[key] = arch
        return metric, mode, space, paths or {}, translator, engine, archs

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(json.dumps(self.get_state()), encoding="utf-8")

    def restore(self, checkpoint_path: str) -> None:
        try:
            text = Path(checkpoint_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise StateError(f"{checkpoint_path}: cannot read the checkpoint ({exc}).") from None
        try:
            state = json.loads(text)
        except (ValueError, RecursionError) as exc:  # its position, or which limit, not text
            what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
            raise StateError(
                f"{checkpoint_path}: not a FlashSearcher checkpoint (not JSON: {what})."
            ) from None
        self.set_state(state, where=str(checkpoint_path))

    # Tune pickles its searcher with the experiment: as plain data, not the engine's caches.
    def __getstate__(self) -> dict[str, Any]:
        dropped = ("engine", "translator", "_lock", "trial_archs", "search_space", "paths")
        kept = {k: v for k, v in self.__dict__.items() if k not in dropped}
        return {**kept, "_flash_state": self.get_state()}

    def __setstate__(self, data: dict[str, Any]) -> None:
        state = data.pop("_flash_state")
        self.__dict__.update(data)
        self._lock = threading.RLock()
        self.search_space, self.paths, self.translator = None, {}, None
        self.trial_archs, self.engine = {}, None
        self.set_state(state)


def _adapter(searcher: FlashSearcher) -> Any:
    """The adapter whose texts the checkpoint holds."""
    if searcher.translator is not None:
        return searcher.translator.adapter
    from flash_nas import plugins

    return plugins.get_adapter(searcher.settings.space, **searcher.settings.space_options)


def _guarded(where: str, read: Callable[[], Any]) -> Any:
    """``read()``, where anything but a flash-nas error means a malformed checkpoint."""
    try:
        return read()
    except FlashNasError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError) as exc:  # fmt: skip
        # Its text would quote the checkpoint: name the kind of fault only.
        raise StateError(
            f"{where}: a malformed FlashSearcher checkpoint ({type(exc).__name__} reading it); "
            f"it was changed since Tune wrote it, or written by another flash-nas."
        ) from None


def _checked_paths(paths: Any, space: Any, where: str) -> dict[str, list[str]]:
    if paths is None:  # written before param_space was taken: flat names
        return {name: [name] for name in space}
    ok = isinstance(paths, dict) and isinstance(space, dict) and set(paths) == set(space)
    if not ok or not all(
        isinstance(p, list) and p and all(isinstance(k, str) for k in p) for p in paths.values()
    ):
        raise StateError(f"{where}: 'paths' does not give each parameter's place in a config.")
    return paths


def _domains(config: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """``config``'s entries that Tune would sample (unresolved domains): name (the keys'
    path joined by ``/``, as Tune flattens it) -> (path, domain)."""
    found: dict[str, Any] = {}
    for key, value in config.items():
        path = (*prefix, str(key))
        if isinstance(value, Domain):
            found["/".join(path)] = (list(path), value)
        elif isinstance(value, Mapping):
            found.update(_domains(value, path))
    return found


def _nni_parameter(name: str, domain: Domain) -> dict[str, Any]:
    """The NNI-style parameter a Tune domain samples from."""
    sampler = domain.get_sampler()
    quantum = sampler.q if isinstance(sampler, Quantized) else None
    base = sampler.get_sampler() if isinstance(sampler, Quantized) else sampler
    if isinstance(domain, Categorical) and isinstance(base, Uniform) and quantum is None:
        return {"_type": "choice", "_value": list(domain.categories)}
    if isinstance(domain, Integer) and isinstance(base, Uniform):
        if quantum in (None, 1):  # tune.randint and qrandint(q=1): upper bound excluded
            return {"_type": "randint", "_value": [domain.lower, domain.upper]}
        return {"_type": "quniform", "_value": [domain.lower, domain.upper, quantum]}
    if isinstance(domain, Float) and isinstance(base, (Uniform, LogUniform)):
        if quantum is not None and isinstance(base, Uniform):
            return {"_type": "quniform", "_value": [domain.lower, domain.upper, quantum]}
        if quantum is None:
            kind = "loguniform" if isinstance(base, LogUniform) else "uniform"
            return {"_type": kind, "_value": [domain.lower, domain.upper]}
    how = type(base).__name__.lstrip("_") + ("" if quantum is None else ", quantized")
    raise TunerConfigError(
        f"The Tuner's param_space samples {name!r} as {type(domain).__name__} with a {how} "
        f"sampler, which FlashSearcher cannot search; use tune.choice, tune.randint, "
        f"tune.qrandint, tune.uniform, tune.quniform or tune.loguniform."
    )


def _nest(params: Mapping[str, Any], paths: Mapping[str, list[str]]) -> dict[str, Any]:
    """A trial's config: each parameter at its place in the param_space."""
    config: dict[str, Any] = {}
    for name, value in params.items():
        *parents, last = paths.get(name) or [name]
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return config


def _check_metric(metric: Any, mode: Any) -> None:
    if mode is not None and mode not in MODES:
        raise TunerConfigError(
            f"FlashSearcher's mode must be 'max' (the metric is an accuracy in %) or 'min' (an "
            f"error rate in %). Got {mode!r} instead."
        )
    if metric is not None and (not isinstance(metric, str) or not metric):
        raise TunerConfigError(
            f"FlashSearcher's metric must be the name of a result entry. Got {metric!r} instead."
        )
