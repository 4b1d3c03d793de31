"""The Adapter interface: how a search space appears to flash-nas.

An adapter owns one search space. It turns the space's own architecture description (an arch
string, a config tuple, an NNI sample) into an :class:`~flash_nas.graph.ArchGraph`, and back into
the space's canonical text, which is what CSV files and the CLI show.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import ClassVar

import numpy as np

from flash_nas.errors import NotSupportedError
from flash_nas.graph import ArchGraph
from flash_nas.graph.batch import GraphBatch, ListBatch
from flash_nas.io.tables import Table
from flash_nas.plugins.relaxation import Relaxation

__all__ = ["Adapter"]


class Adapter(ABC):
    """Maps one external search space onto ArchGraph.

    Subclasses implement :meth:`parse`, :meth:`format` and :meth:`to_graph`; the other methods
    are optional and say "not supported" until overridden. ``__init__`` takes the space's
    parameters (input size, ranges...) as keyword arguments, all with defaults, so that
    ``flash-nas --space NAME`` works without any.
    """

    #: One line that ``flash-nas plugins`` shows.
    description: ClassVar[str] = ""
    #: The keyword options whose values are files the adapter reads: the command line refuses
    #: an output that would overwrite one of them (``-O KEY=PATH``).
    file_options: ClassVar[tuple[str, ...]] = ()
    #: True where an architecture's text names code that building it imports (``torch``'s
    #: ``module:callable``): such a space is never guessed from data, and imports only with
    #: :func:`~flash_nas.plugins.code_imports.allow_code_imports` (see that module).
    names_code: ClassVar[bool] = False

    @abstractmethod
    def parse(self, text: str) -> Hashable:
        """Architecture from its canonical text; raises ArchFormatError on malformed text.

        Called for every line of a ``--archs`` file and every ``arch`` cell of a CSV.
        """

    @abstractmethod
    def format(self, arch: Hashable) -> str:
        """The canonical text of ``arch``; ``parse(format(arch)) == arch``."""

    @abstractmethod
    def to_graph(self, arch: Hashable) -> ArchGraph:
        """The full network of ``arch`` (stem, cells, head) as an ArchGraph."""

    def index(self, arch: Hashable) -> int | None:
        """The space's official index of ``arch``, or None where the space has no index."""
        return None

    def size(self) -> int | None:
        """Exact number of architectures in the space, or None where it cannot be counted."""
        return None

    def enumerate(self) -> GraphBatch:
        """Every architecture of the space, in index order where there is one.

        Called by ``flash-nas score`` when neither ``--archs`` nor ``--sample`` is given.
        """
        raise NotSupportedError(
            f"The {type(self).__name__} space cannot be enumerated"
            + (f" ({self.size():,} architectures)" if self.size() else "")
            + "; draw a sample of it instead (on the command line: --sample N, or --archs "
            "FILE listing the architectures)."
        )

    def sample(self, n: int, seed: int) -> GraphBatch:
        """``n`` architectures drawn uniformly at random, reproducibly.

        Spaces small enough to draw without replacement should (NAS-Bench-201 does), so that a
        sample never lists an architecture twice. The default does so from :meth:`enumerate`, so
        a space that can be listed samples without writing anything more.
        """
        if type(self).enumerate is Adapter.enumerate:
            raise NotSupportedError(
                f"The {type(self).__name__} space does not support sampling; implement "
                f"Adapter.sample() or Adapter.enumerate()."
            )
        whole = self.enumerate()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= len(whole):
            raise NotSupportedError(
                f"The {type(self).__name__} space has {len(whole):,} architectures, so a sample "
                f"must be an int in 1..{len(whole):,}; got {n!r}."
            )
        # Rows drawn without replacement, kept in the space's order: a reproducible subset.
        rows = np.sort(np.random.default_rng(seed).choice(len(whole), size=int(n), replace=False))
        return self.batch([self.parse(whole.arch_text(int(row))) for row in rows])

    def tables(self) -> dict[str, Callable[[], Table]]:
        """Accuracy tables the space ships, by name (``--labels-from NAME:COLUMN``)."""
        return {}

    def relaxation(self) -> Relaxation:
        """The space as levels of continuous variables, for the hierarchical SHGO search."""
        raise NotSupportedError(
            f"The {type(self).__name__} space has no continuous relaxation, so SHGO cannot "
            f"search it; implement Adapter.relaxation()."
        )

    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """The architectures' own choices as an ``(n, k)`` float array in ``[0, 1]``.

        Called by the search engine, beside the training-free metrics, as the input of its
        probabilistic accuracy model: two architectures that share most choices should be close.
        Categorical choices come one-hot (NAS-Bench-201: each edge's op), ordinal ones normalised
        to ``[0, 1]`` (FLASH space: per-cell width, depth, skips). Without it the engine models
        accuracy on the metrics alone.
        """
        raise NotSupportedError(
            f"The {type(self).__name__} space has no architecture encoding; implement "
            f"Adapter.encode() so the search engine can tell its architectures apart."
        )

    def encoding_groups(self) -> list[int] | None:
        """For each column of :meth:`encode`, the id of the choice it describes (NAS-Bench-201:
        the edge of each one-hot column), so that the engine's model learns one length scale
        per choice; None (the default) for one length scale over the whole encoding."""
        return None

    def encoding_kinds(self) -> list[str] | None:
        """For each column of :meth:`encode`, what kind of choice it is (NAS-Bench-201: the op
        of each one-hot column, whichever edge it is on), so that the engine's cost fit can
        learn one cost per kind from a few measured rows (a device that prices an op the same
        wherever it runs); None (the default) where columns share nothing."""
        return None

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Boolean per architecture: its output has no path from its input through non-zero
        ops, so it computes a constant and trains to chance accuracy.

        The default builds each graph; spaces with many such cells override it with a fast form.
        """
        from flash_nas.graph.structure import output_cut_off

        return np.array([output_cut_off(self.to_graph(arch)) for arch in archs], dtype=bool)

    def chance_accuracy(self) -> float | None:
        """Accuracy (%) of a constant predictor: 100 / number of classes, read from the head of
        a graph of the space; None where the network has no classifier head."""
        from flash_nas.graph.structure import classes

        sample = self.sample(1, 0)
        count = classes(sample.graph(0))
        return None if not count else 100.0 / count

    def batch(self, archs: Sequence[Hashable]) -> GraphBatch:
        """A batch of the given architectures; override to offer a fast batched form."""
        has_index = type(self).index is not Adapter.index
        return ListBatch(archs, self.to_graph, self.format, self.index if has_index else None)
