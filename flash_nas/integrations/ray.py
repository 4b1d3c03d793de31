"""FLASH as a Ray Tune searcher: ``tune.TuneConfig(search_alg=FlashSearcher(...))``.

Every :meth:`suggest` is one :meth:`SearchEngine.ask` (the trial's config holds the
architecture's parameters, named as in the NNI tuner's search space), every
:meth:`on_trial_complete` one :meth:`SearchEngine.tell` (or ``fail``). Trials run wherever Ray
schedules them; the searcher lives in the driver. :meth:`save`/:meth:`restore` (which Tune calls
for its experiment checkpoints) write the engine's JSON state plus the searcher's own map of
Tune trial ids to architectures, so a restored run (``tune.Tuner.restore``) neither repeats
an architecture nor loses a result. For a given seed the proposals are deterministic when
trials run one at a time (``max_concurrent_trials=1``). See ``docs/optuna_ray.md``.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

from flash_nas._imports import require
from flash_nas.errors import FlashNasWarning, LabelError, SearchExhaustedError
from flash_nas.integrations.params import TunerConfigError, translate_space
from flash_nas.integrations.settings import EngineSettings, read_metric
from flash_nas.io.tables import LabelScale
from flash_nas.plugins.translator import SpaceTranslator
from flash_nas.search.engine import SearchEngine
from flash_nas.search.engine.state import StateError

require("ray.tune", "flash_nas.integrations.ray (the FLASH searcher for Ray Tune)")

from ray.tune.search import Searcher  # noqa: E402
from ray.tune.search.sample import Domain  # noqa: E402

__all__ = ["MODES", "FlashSearcher"]

#: Ray's modes: ``max`` reads the metric as an accuracy in %, ``min`` as an error rate in %.
MODES = ("max", "min")
FORMAT = "flash-nas ray searcher"


class FlashSearcher(Searcher):
    """The search engine behind Ray Tune's searcher protocol.

    Arguments: ``search_space`` (the NNI-style search space whose parameters each trial's config
    holds), those of :mod:`flash_nas.integrations.settings` (space, hardware, objective,
    limits, method, seed...), and Ray's ``metric`` (the result entry to learn from) and ``mode``
    (``max``: an accuracy in %; ``min``: an error rate in %), here or in ``tune.TuneConfig``.
    """

    def __init__(
        self,
        *,
        search_space: Mapping[str, Any],
        metric: str | None = None,
        mode: str | None = None,
        seed: int = 0,
        **arguments: Any,
    ) -> None:
        _check_metric(metric, mode)
        super().__init__(metric=metric, mode=mode)
        self.settings = EngineSettings.check("FlashSearcher", seed=seed, **arguments)
        self.search_space = dict(search_space)
        self.translator: SpaceTranslator = translate_space(
            self.settings.space, self.settings.space_options, self.search_space
        )
        #: Tune trial id -> the architecture suggested for it.
        self.trial_archs: dict[str, Hashable] = {}
        self.engine: SearchEngine | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ metric and mode
    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Take Tune's metric and mode where the searcher has none (they must agree)."""
        _check_metric(metric, mode)
        searched = sorted(_domains(config or {}))
        if searched:
            raise TunerConfigError(
                f"The Tuner's param_space searches {', '.join(searched)} (tune.choice...), but "
                f"FlashSearcher proposes every trial's parameters itself: declare them in its "
                f"search_space, and keep only constants in param_space."
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

    def _require(self) -> SearchEngine:
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
        return self.engine

    # ------------------------------------------------------------------ protocol
    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        """The next architecture's parameters; ``Searcher.FINISHED`` once none is left."""
        with self._lock:
            engine = self._require()
            try:
                (proposal,) = engine.ask(1)
            except SearchExhaustedError:
                # Ray documents FINISHED (a str) as the answer but annotates Optional[Dict].
                return Searcher.FINISHED  # type: ignore[return-value]  # Ray's own protocol
            self.trial_archs[trial_id] = proposal.arch
            return self.translator.to_params(proposal.arch)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tell the engine the trial's ``metric``; an errored trial, or a result without a
        finite metric, is a failure."""
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
                    self.engine.tell([arch], [value])
            except LabelError as exc:
                warnings.warn(
                    f"Trial {trial_id} recorded as failed: {exc}", FlashNasWarning, stacklevel=2
                )
                self.engine.fail([arch], str(exc))

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """Plain data: metric, mode, the engine's state and the trial-id map."""
        engine = self.engine
        adapter = self.translator.adapter
        return {
            "format": FORMAT,
            "metric": self._metric,
            "mode": self._mode,
            "search_space": self.search_space,
            "engine": None if engine is None else engine.to_dict(),
            "trials": {key: adapter.format(arch) for key, arch in self.trial_archs.items()},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise StateError(f"Not a FlashSearcher checkpoint (no 'format': {FORMAT!r}).")
        if state["search_space"] != self.search_space:
            raise StateError(
                "The checkpoint was written by a FlashSearcher over another search space; "
                "restore it into a searcher built with the same search_space."
            )
        with self._lock:
            self._metric, self._mode = state["metric"], state["mode"]
            self.engine = None
            if state["engine"] is not None:
                self.engine = SearchEngine.from_dict(
                    state["engine"],
                    where="FlashSearcher checkpoint",
                    space=self.translator.adapter,
                    domain=self.translator,
                )
            adapter = self.translator.adapter
            self.trial_archs = {key: adapter.parse(text) for key, text in state["trials"].items()}

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(json.dumps(self.get_state()), encoding="utf-8")

    def restore(self, checkpoint_path: str) -> None:
        try:
            state = json.loads(Path(checkpoint_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StateError(
                f"{checkpoint_path}: not a FlashSearcher checkpoint ({exc})."
            ) from None
        self.set_state(state)

    # Tune pickles its searcher with the experiment: as plain data, not the engine's caches.
    def __getstate__(self) -> dict[str, Any]:
        kept = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("engine", "translator", "_lock", "trial_archs")
        }
        return {**kept, "_flash_state": self.get_state()}

    def __setstate__(self, data: dict[str, Any]) -> None:
        state = data.pop("_flash_state")
        self.__dict__.update(data)
        self._lock = threading.RLock()
        self.translator = translate_space(
            self.settings.space, self.settings.space_options, self.search_space
        )
        self.trial_archs, self.engine = {}, None
        self.set_state(state)


def _domains(config: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The names of ``config``'s entries that Tune would sample (unresolved domains)."""
    found = []
    for key, value in config.items():
        if isinstance(value, Domain):
            found.append(prefix + str(key))
        elif isinstance(value, Mapping):
            found += _domains(value, f"{prefix}{key}/")
    return found


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
