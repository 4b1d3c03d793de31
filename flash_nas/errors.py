"""The errors flash-nas raises on purpose; each says what was expected and how to fix it."""

from __future__ import annotations

__all__ = [
    "QUOTE_LIMIT",
    "ArchFormatError",
    "CalibrationError",
    "CostError",
    "DatasetError",
    "FlashNasError",
    "FlashNasWarning",
    "GraphError",
    "LabelError",
    "MissingDependencyError",
    "NoFeasibleArchitectureError",
    "NotFittedError",
    "NotSupportedError",
    "ObjectiveError",
    "OutputError",
    "ParameterError",
    "PluginError",
    "ProfileError",
    "SearchExhaustedError",
    "SearchSpaceError",
    "StateError",
    "TableError",
    "TrainingError",
    "TunerConfigError",
    "UnknownNameError",
    "UsageError",
    "quote",
]

#: Longest quotation of user input in a message: a 10 MB line must not make a 10 MB message.
QUOTE_LIMIT = 120


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut short in the middle (with the full length said) when it is long."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):  # an int past 4,300 digits, lists nested deeply
        digits = int(abs(value).bit_length() * 0.30103) + 1 if isinstance(value, int) else 0
        return f"<an integer of about {digits:,} digits>" if digits else "<a value nested deeply>"
    if len(text) <= limit:
        return text
    keep = max(limit - 40, 20)
    return f"{text[: keep // 2]}...{text[-keep // 2 :]} ({len(text):,} characters)"


class FlashNasError(Exception):
    """Base class of every error flash-nas raises deliberately."""


class GraphError(FlashNasError, ValueError):
    """An ArchGraph is inconsistent (shapes, dangling edges, cycles, bad cells)."""


class ArchFormatError(FlashNasError, ValueError):
    """An architecture's text, index or encoding is malformed or out of range."""


class UnknownNameError(FlashNasError, KeyError):
    """A space, metric, hardware model or op name is not known; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginError(FlashNasError):
    """A plugin failed to load, raised while registering, or registered something invalid."""


class TableError(FlashNasError, ValueError):
    """A table of measurements or accuracies is missing columns, rows or numbers."""


class NotSupportedError(FlashNasError):
    """The space or model cannot do what was asked (e.g. enumerate an uncountable space)."""


class MissingDependencyError(FlashNasError, ImportError):
    """An optional package is needed; the message names the extra that installs it."""


class NotFittedError(FlashNasError, ValueError):
    """A model's ``predict`` was called before its ``fit``."""


class LabelError(FlashNasError, ValueError):
    """A result told to the search engine is outside its label's range or names an unknown
    architecture."""


class CostError(LabelError):
    """A measured cost told to the search engine is not a positive number, names a quantity
    its hardware model does not report, or belongs to an unknown architecture."""


class SearchExhaustedError(FlashNasError):
    """Every architecture the search may propose was tried, is pending, or breaks a limit."""


class NoFeasibleArchitectureError(FlashNasError):
    """No architecture the search saw meets the hard limits."""


class FlashNasWarning(UserWarning):
    """Something the user should know that does not stop the work (a replaced label...)."""


class OutputError(FlashNasError):
    """An output cannot be written (a folder, a missing or read-only place, an input, a full
    disk); raised before the work where it can be told then, and never after a partial write."""


class ParameterError(FlashNasError, ValueError):
    """A parameter (of a space, a model or a call such as a sample size) is outside its stated
    range; the message gives the range."""


class StateError(FlashNasError, ValueError):
    """A state file that is not a flash-nas engine state, or that contradicts itself."""


class ObjectiveError(FlashNasError, ValueError):
    """An objective formula that does not parse or names an unknown quantity."""


class ProfileError(FlashNasError, ValueError):
    """A calibrated profile that cannot be read, is damaged, or does not fit the model."""


class TrainingError(FlashNasError, ValueError):
    """Training parameters are out of range, or the network does not fit the data."""


class CalibrationError(FlashNasError, ValueError):
    """A cost fit that predicts worse than the model's own costs, or cannot be made."""


class DatasetError(FlashNasError, ValueError):
    """A dataset folder is missing, incomplete or malformed, or its arrays are."""


class TunerConfigError(FlashNasError, ValueError):
    """A tuner's, sampler's or searcher's argument is missing, unknown or out of range."""


class SearchSpaceError(FlashNasError, ValueError):
    """An NNI search space the tuner cannot translate through the chosen adapter."""


class UsageError(FlashNasError):
    """Arguments that do not fit together (exit status 2)."""
