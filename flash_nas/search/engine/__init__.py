"""The ask/tell search engine: one place where architectures are proposed, results learnt and
a recommendation made, for every front end (``flash-nas search`` and ``train``, the NNI tuner,
the Optuna sampler, the Ray Tune searcher, the benchmarks).

* :mod:`.engine` -- :class:`SearchEngine`, its configuration and the ask/tell protocol;
* :mod:`.design` -- the initial design, and when the method takes over;
* :mod:`.results` -- the recommendation, the accuracy-cost front and the top, for any method;
* :mod:`.bo`, :mod:`.flash` -- the two built-in methods (each a
  :class:`flash_nas.plugins.method.SearchMethod`), registered by :mod:`.methods`;
* :mod:`.acquisition` -- the default method's Gaussian process and expected improvement;
* :mod:`.candidates` -- precomputed metrics, encodings and costs of candidate architectures;
* :mod:`.domain` -- which architectures a search may propose;
* :mod:`.records` -- trials, proposals, recommendations, front points;
* :mod:`.summary` -- a fitted model's leave-one-out quality, in lines;
* :mod:`.state` -- saving and resuming a run as JSON.

Its public names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

# Lazy, so that importing one of its modules (the methods plugin, when `flash-nas plugins` or
# `score` loads every plugin) does not load the engine and scipy with it.
__getattr__, __dir__, __all__ = lazy_names(__name__)

if TYPE_CHECKING:  # the public names: type checkers read them here, __getattr__ loads them
    from flash_nas.search.engine.domain import (
        AdapterDomain as AdapterDomain,
        Domain as Domain,
        ListDomain as ListDomain,
    )
    from flash_nas.search.engine.engine import SearchEngine as SearchEngine
    from flash_nas.search.engine.records import (
        FrontPoint as FrontPoint,
        Proposal as Proposal,
        Recommendation as Recommendation,
        Trial as Trial,
    )
    from flash_nas.search.engine.state import StateError as StateError
