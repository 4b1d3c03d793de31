"""The architectures a search may propose, as the plugin API states them: a :class:`Domain` of
one adapter's space lists its architectures where that is cheap (up to :data:`LISTABLE`), draws
them at random otherwise, and says whether one belongs.

The search engine searches a domain (a whole space by default, ``flash_nas.search.engine``'s
``AdapterDomain``); a plugin's :class:`~flash_nas.plugins.translator.SpaceTranslator` is the domain
a tool's search space declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable

import numpy as np

from flash_nas.plugins.adapter import Adapter

__all__ = ["LISTABLE", "Domain"]

#: Spaces up to this size are listed whole: every search sees every architecture.
LISTABLE = 200_000


class Domain(ABC):
    """The architectures one search may propose, all of one adapter's space."""

    adapter: Adapter

    @abstractmethod
    def enumerate(self) -> list[Hashable] | None:
        """Every architecture, or None when there are more than :data:`LISTABLE`."""

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        """Up to ``n`` distinct architectures drawn at random (fewer where the draws repeat)."""

    def contains(self, arch: Hashable) -> bool:
        """Whether ``arch`` may be proposed (every architecture of the adapter, by default)."""
        return True
