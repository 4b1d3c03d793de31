"""FLASH as an NNI tuner: NNI speaks to it as to TPE or Evolution; the engine does the rest.

Register it once per environment (``flash-nas nni register``) and name it in the experiment's
config (``tuner: {name: FlashTuner, classArgs: {space: nasbench201, ...}}``); see
``docs/nni.md`` for the arguments, the search spaces each space takes, and how results are read.
The tuner runs in NNI's dispatcher and only hands out parameters, so trials may run on any
training service. This module is the NNI protocol only: proposals come from
:meth:`SearchEngine.ask`, results go to :meth:`SearchEngine.tell`.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nni
from nni.tuner import Tuner

from flash_nas.errors import ArchFormatError, LabelError, SearchExhaustedError
from flash_nas.integrations.params import TunerConfigError, translate_space
from flash_nas.integrations.settings import EngineSettings, read_metric, reported_costs
from flash_nas.io.tables import LabelScale
from flash_nas.plugins.translator import SpaceTranslator
from flash_nas.search.engine import SearchEngine

__all__ = ["OPTIMIZE_MODES", "FlashTuner", "TrialRecord"]

# Under "nni" so that the dispatcher's log handler (set up by NNI) records it.
_logger = logging.getLogger("nni.tuner.flash")

OPTIMIZE_MODES = ("maximize", "minimize")


@dataclass
class TrialRecord:
    """The parameters NNI knows a trial by, and the architecture the tuner sent for them."""

    parameters: Any
    arch: Hashable | None
    source: str


class FlashTuner(Tuner):
    """The search engine behind NNI's tuner protocol.

    Arguments: those of :mod:`flash_nas.integrations.settings` (space, hardware, objective,
    limits, method...), plus ``metric_key`` (the entry of a dict metric to learn from,
    ``default``) and ``optimize_mode`` (``maximize``: the metric is an accuracy in %;
    ``minimize``: an error rate in %). ``seed`` None draws one and logs it, as NNI's tuners do.

    Measured costs: a dict final metric (``nni.report_final_metric({"default": acc,
    "latency_ms": 3.1})``) whose further entries are named like a quantity of the hardware model
    tells the engine those costs, measured, with the label. Other entries are left alone, as NNI
    leaves them (a tuner reads the ``default`` entry; the rest are shown in the web portal). A
    cost the engine refuses (negative, NaN, not a number) makes the result a failure, logged.
    """

    def __init__(
        self,
        *,
        metric_key: str = "default",
        optimize_mode: str = "maximize",
        seed: int | None = None,
        proposals: Any = None,
        **arguments: Any,
    ) -> None:
        if proposals is not None:
            raise TunerConfigError(
                "FlashTuner's 'proposals' argument was replaced by 'method': 'bo' (the default, "
                "Bayesian optimisation) or 'flash' (FLASH's predictor and SHGO)."
            )
        if optimize_mode not in OPTIMIZE_MODES:
            raise TunerConfigError(
                f"The 'optimize_mode' argument of FlashTuner must be one of "
                f"{', '.join(OPTIMIZE_MODES)}. Got {optimize_mode!r} instead."
            )
        if not isinstance(metric_key, str) or not metric_key:
            raise TunerConfigError(
                f"The 'metric_key' argument of FlashTuner must be a non-empty string. Got "
                f"{metric_key!r} instead."
            )
        if seed is None:
            import random

            seed = random.SystemRandom().randrange(2**31)
            _logger.info("FlashTuner: using random seed %d", seed)
        self.settings = EngineSettings.check("FlashTuner", seed=seed, **arguments)
        self.metric_key = metric_key
        self.optimize_mode = optimize_mode
        # An error rate is a percentage where lower is better.
        self.scale = LabelScale(0.0, 100.0, optimize_mode == "maximize", "%")
        self.records: dict[Any, TrialRecord] = {}
        self.results: dict[Any, tuple[float | None, str]] = {}
        #: The whole reported metric of each result, where it was a dict (its measured costs).
        self.reported: dict[Any, Mapping[str, Any]] = {}
        self.engine: SearchEngine | None = None
        self.translator: SpaceTranslator | None = None
        self._lock = threading.RLock()
        self._imported = 0

    # ----------------------------------------------------------------------- search space
    def update_search_space(self, search_space: dict[str, Any]) -> None:
        """Build the engine over the architectures the search space declares; results seen so
        far (imported or from an earlier space) are told again."""
        with self._lock:
            settings = self.settings
            translator = translate_space(settings.space, settings.space_options, search_space)
            self.translator, self.engine = translator, settings.engine(translator, self.scale)
            for key, record in self.records.items():
                record.arch = self._translate(record.parameters)
                if key in self.results:
                    self._tell(
                        record, *self.results[key], where=str(key), quiet=True, key=key
                    )
            _logger.info(
                "FlashTuner: %s space, %s, method %s, objective %s",
                settings.space,
                "listed whole" if self.engine.listable else "sampled",
                self.engine.method,
                self.engine.objective_text,
            )

    def _require(self) -> tuple[SearchEngine, SpaceTranslator]:
        if self.engine is None or self.translator is None:
            raise TunerConfigError(
                "FlashTuner has no search space yet: NNI calls update_search_space first (call "
                "it yourself when driving the tuner from Python)."
            )
        return self.engine, self.translator

    def _translate(self, parameters: Any) -> Hashable | None:
        try:
            return self._require()[1].to_arch(parameters)
        except (ArchFormatError, TypeError, ValueError) as exc:
            _logger.warning("FlashTuner: cannot read parameters %r: %s", parameters, exc)
            return None

    # ----------------------------------------------------------------------- proposals
    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        """The next architecture's parameters; ``nni.NoMoreTrialError`` once none is left."""
        with self._lock:
            engine, translator = self._require()
            try:
                (proposal,) = engine.ask(1)
            except SearchExhaustedError as exc:
                raise nni.NoMoreTrialError(str(exc)) from None
            params = translator.to_params(proposal.arch)
            self.records[parameter_id] = TrialRecord(params, proposal.arch, proposal.source)
            _logger.info(
                "FlashTuner: parameter %s (%s): %s", parameter_id, proposal.source, proposal.text
            )
            return params

    # ----------------------------------------------------------------------- results
    def receive_trial_result(
        self, parameter_id: int, parameters: Any, value: Any, **kwargs: Any
    ) -> None:
        """Tell the engine the result of ``parameter_id`` (the architecture the tuner sent)."""
        with self._lock:
            record = self.records.get(parameter_id)
            if record is None:
                source = "customized" if kwargs.get("customized") else "unknown"
                record = TrialRecord(parameters, self._translate(parameters), source)
                self.records[parameter_id] = record
            elif parameters is not None and parameters != record.parameters:
                _logger.warning(
                    "FlashTuner: the result for parameter %s came with parameters %r, but the "
                    "tuner sent %r; keeping the tuner's record.",
                    parameter_id,
                    parameters,
                    record.parameters,
                )
            self.results[parameter_id] = read_metric(value, self.metric_key)
            if isinstance(value, Mapping):
                self.reported[parameter_id] = value
            self._tell(
                record,
                *self.results[parameter_id],
                where=f"parameter {parameter_id}",
                key=parameter_id,
            )

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        """A trial that ended without a result is a failure (a late result still counts)."""
        with self._lock:
            record = self.records.get(parameter_id)
            if record is None or parameter_id in self.results:
                return
            reason = (
                "the trial ended without reporting a final result"
                if success
                else "the trial failed or was stopped"
            )
            self.results[parameter_id] = (None, reason)
            self._tell(record, None, reason, where=f"parameter {parameter_id}")

    def import_data(self, data: Sequence[Any]) -> None:
        """Results of earlier trials, ``{"parameter": ..., "value": ...}`` (dicts or JSON
        text; nothing is unpickled), become labels; a bad entry is skipped with a warning."""
        with self._lock:
            if not isinstance(data, (list, tuple)):
                _logger.warning("FlashTuner: import_data expects a list; got %r.", data)
                return
            usable = 0
            for position, entry in enumerate(data):
                item = _parse_entry(entry)
                if item is None:
                    _logger.warning(
                        "FlashTuner: skipping imported entry %d: expected a dict (or its JSON) "
                        "with 'parameter' and 'value'; got %s",
                        position,
                        repr(entry)[:200],
                    )
                    continue
                key = f"imported-{self._imported}"
                self._imported += 1
                self.records[key] = TrialRecord(item["parameter"], None, "imported")
                self.results[key] = read_metric(item["value"], self.metric_key)
                if isinstance(item["value"], Mapping):
                    self.reported[key] = item["value"]
                if self.engine is not None:
                    self.records[key].arch = self._translate(item["parameter"])
                    usable += self._tell(
                        self.records[key], *self.results[key], where=key, key=key
                    )
            _logger.info("FlashTuner: imported %d entries, %d usable now", len(data), usable)

    def _tell(
        self,
        record: TrialRecord,
        label: float | None,
        reason: str,
        *,
        where: str,
        quiet: bool = False,
        key: Any = None,
    ) -> bool:
        """Tell the engine (with the measured costs the result ``key`` reported); returns
        whether the result became a label."""
        engine = self.engine
        if engine is None:
            return False
        if record.arch is None:
            _logger.warning("FlashTuner: %s: its parameters are not in the search space.", where)
            return False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                if label is None:
                    engine.fail([record.arch], reason)
                else:
                    reported = self.reported.get(key, {})
                    costs = reported_costs(engine, reported, skip=(self.metric_key,))
                    if costs:
                        engine.tell([record.arch], [label], costs=costs)
                    else:
                        engine.tell([record.arch], [label])
            except LabelError as exc:  # a CostError too: neither label nor costs recorded
                label, reason = None, str(exc)
                trial = engine.trials.get(record.arch)
                if trial is None or trial.status == "pending":
                    engine.fail([record.arch], reason)
                else:  # an unusable second result does not undo a usable first one
                    reason += f"; the earlier result ({trial.status}) stands"
        for warning in caught:
            _logger.warning("FlashTuner: %s: %s", where, warning.message)
        if label is None:
            if not quiet:
                _logger.warning("FlashTuner: %s recorded as failed: %s", where, reason)
            return False
        if not quiet:
            text = engine.adapter.format(record.arch)
            _logger.info("FlashTuner: result for %s (%s): %r", where, text, label)
            self._log_best()
        return True

    def _log_best(self) -> None:
        engine = self.engine
        if engine is None:
            return
        try:
            best = engine.recommend()
        except Exception as exc:  # a log line must never break the tuner
            _logger.info("FlashTuner: no recommendation yet (%s)", exc)
            return
        kind = "measured" if best.measured else "predicted"
        _logger.info(
            "FlashTuner: best feasible so far (%s): %s at %.4g", kind, best.text, best.accuracy
        )


def _parse_entry(entry: Any) -> Mapping[str, Any] | None:
    if isinstance(entry, (str, bytes)):
        try:
            entry = json.loads(entry)
        except (ValueError, UnicodeDecodeError):
            return None
    if isinstance(entry, Mapping) and "parameter" in entry and "value" in entry:
        return entry
    return None
