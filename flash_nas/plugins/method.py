"""The interface every search method implements: :class:`SearchMethod`.

A search method is the part of :class:`~flash_nas.search.engine.SearchEngine` that decides:
which architectures to train once the initial design has come back, what it expects of an
untried one, which one to deploy, and how it describes itself. Everything else (checking
settings and labels, the initial design spread over NN-Degree, pending trials, scoring costs
and limits, saving the state, the accuracy-cost front) is the engine's, the same for every
method. Methods are registered by name (``register_methods`` in :mod:`.hookspecs`), so that
``SearchEngine(method="NAME")``, ``flash-nas search --method NAME`` and every integration can
use a third party's method.

Accuracies cross this interface as a 0-100 *utility* (higher is better, whatever the label's
own scale): :meth:`SearchEngine.labelled` gives the told labels so, and :meth:`predict` answers
so. Architectures cross it as *rows* of ``engine.candidates`` (precomputed metrics, encoding,
costs, feasibility; ``engine.candidates.add(archs)`` gives rows for new ones).

Room: the plugin API. The engine appears in annotations only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np

    from flash_nas.search.engine.engine import SearchEngine

__all__ = ["Choice", "Pick", "SearchMethod"]


@dataclass(frozen=True)
class Choice:
    """One architecture a method proposes: its row, where it came from (``model`` for a
    method's own choice; the trial records it) and, when the method has a model, the utility it
    predicts with its standard deviation."""

    row: int
    source: str = "model"
    mean: float | None = None
    std: float | None = None


@dataclass(frozen=True)
class Pick:
    """The architecture a method recommends: its row, its utility (the told label's when
    ``measured``, else the method's prediction with its ``std``) and a note for the user."""

    row: int
    utility: float
    std: float | None = None
    measured: bool = True
    note: str = ""


class SearchMethod(ABC):
    """A way to choose architectures, bound to one engine.

    The engine builds one instance per engine (``cls(engine)``) when it is constructed, after
    its settings are checked and its pool of candidates is scored, and calls:

    * :meth:`propose` from :meth:`SearchEngine.ask` once :attr:`min_labels` labels (and the
      engine's ``initial_samples``) have come back; before that the engine proposes its
      initial design without asking the method;
    * :meth:`predict` from :meth:`SearchEngine.predict`, :meth:`SearchEngine.front` and
      :meth:`SearchEngine.top` (for the untried architectures of the pool);
    * :meth:`recommend` from :meth:`SearchEngine.recommend`, once at least one label was told;
    * :meth:`summary` from :meth:`SearchEngine.summary` (what ``flash-nas search`` prints);
    * :meth:`state_dict` when the engine is saved and :meth:`load_state_dict` when a saved
      engine is loaded (after its trials are replayed).

    A method reads the engine through its public API only (``labelled``, ``candidate_rows``,
    ``inputs``, ``candidates``, ``objective``, ``labels_key``...); it caches what it fits and
    refits when :attr:`SearchEngine.labels_key` changes (a new or replaced label, not a new
    pending trial). Subclasses set the class attributes below and implement :meth:`propose`
    and :meth:`predict`.
    """

    #: One line that ``flash-nas plugins`` and ``--help`` show.
    description: ClassVar[str] = ""
    #: Training-free metrics the engine scores for this method when ``features`` is not given
    #: (the first one spreads the initial design).
    default_features: ClassVar[tuple[str, ...]] = ("nn_degree",)
    #: The initial design's size when ``initial_samples`` is not given.
    default_initial_samples: ClassVar[int] = 10
    #: Labels the method needs before it proposes or predicts (fewer: the design goes on).
    min_labels: ClassVar[int] = 1

    def __init__(self, engine: SearchEngine) -> None:
        self.engine = engine

    @abstractmethod
    def propose(self, count: int, taken: set[int]) -> list[Choice]:
        """Up to ``count`` rows to train next, best first, none of them in ``taken`` (rows
        already chosen for this request). Propose only rows the engine may propose
        (``engine.candidate_rows()`` or ``engine.eligible(rows)``: feasible, computing, not
        tried, not pending, inside the searched domain); an empty list means nothing is left."""

    @abstractmethod
    def predict(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The utility (0-100) the method expects at ``rows`` and its standard deviation, one
        each per row. The engine replaces cut-off cells by the chance accuracy afterwards."""

    def recommend(self) -> Pick:
        """The architecture to deploy. By default the best measured architecture that meets
        the limits (by the objective); raises
        :class:`~flash_nas.errors.NoFeasibleArchitectureError` when no told one does."""
        return self.engine.best_measured()

    def summary(self) -> list[str]:
        """Lines that describe the method's fitted model and how well it fits."""
        return [f"Method: {type(self).__name__}."]

    def state_dict(self) -> Mapping[str, Any]:
        """What the method must save beyond the trials, as JSON-ready data (the built-in methods
        refit from the trials and save nothing)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Take back what :meth:`state_dict` returned (called after the trials are replayed);
        a method that saves nothing refuses a state it did not write."""
        if state:
            raise ValueError(
                f"{type(self).__name__} keeps no state beyond the trials; got {sorted(state)}."
            )
