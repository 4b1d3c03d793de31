"""Which architectures a search may propose: a whole space, or the part an NNI space declares.

A :class:`Domain` (the plugin API's, :mod:`flash_nas.plugins.domain`) lists its architectures
where that is cheap (up to :data:`LISTABLE`), draws them at random otherwise, and says whether one
belongs. :class:`AdapterDomain` is a whole adapter's space; the NNI, Optuna and Ray front ends
pass a plugin's translator, restricted to the parameters their search space declares
(:mod:`flash_nas.plugins.translator`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from flash_nas.errors import NotSupportedError
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.domain import LISTABLE, Domain

__all__ = ["LISTABLE", "AdapterDomain", "Domain", "ListDomain"]

class AdapterDomain(Domain):
    """Every architecture of ``adapter``'s space."""

    def __init__(self, adapter: Adapter) -> None:
        self.adapter = adapter

    def enumerate(self) -> list[Hashable] | None:
        size = self.adapter.size()
        if size is None or size > LISTABLE:
            return None
        try:
            whole = self.adapter.enumerate()
        except NotSupportedError:
            return None
        return [self.adapter.parse(text) for text in whole.texts()]

    def sample(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        size = self.adapter.size()
        if size is not None:
            n = min(n, size)
        drawn = self.adapter.sample(n, int(rng.integers(2**63)))
        return list(dict.fromkeys(self.adapter.parse(text) for text in drawn.texts()))


class ListDomain(Domain):
    """A fixed list of an adapter's architectures: search among these candidates only (a
    benchmark's sampled cells, the models a team can deploy...)."""

    def __init__(self, adapter: Adapter, archs: Sequence[Hashable]) -> None:
        self.adapter = adapter
        self.archs = list(dict.fromkeys(archs))
        if not self.archs:
            raise NotSupportedError("A ListDomain needs at least one architecture.")
        self._members = set(self.archs)

    def enumerate(self) -> list[Hashable] | None:
        return list(self.archs)

    def sample(self, n: int, rng: np.random.Generator) -> list[Hashable]:
        picked = rng.choice(len(self.archs), size=min(n, len(self.archs)), replace=False)
        return [self.archs[k] for k in picked]

    def contains(self, arch: Hashable) -> bool:
        return arch in self._members
