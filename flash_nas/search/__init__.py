"""Search: choosing which architectures to train, learning from their accuracies, recommending.

* :mod:`.engine` -- the ask/tell :class:`SearchEngine` every front end drives;
* :mod:`.gp` -- the default method's Gaussian process; :mod:`.predictor` -- FLASH's NN-Degree
  accuracy predictor; :mod:`.sampling` -- which architectures to label first;
* :mod:`.objective` -- accuracy against hardware cost, and limits; :mod:`.evaluation` -- one
  architecture's metrics, costs and objective;
* :mod:`.shgo` -- FLASH's hierarchical SHGO over an adapter's relaxation; :mod:`.pipeline` --
  the paper's steps in order; :mod:`.baselines` -- random search, REA, TPE... to compare with.

Room rule: imports the graph layer, the plugin API, :mod:`flash_nas.cost`, :mod:`flash_nas.io`,
:mod:`flash_nas.validation` and :mod:`flash_nas.errors`; never a front end or training.

The names of the old ``flash_nas.search`` module (the SHGO search) load from here on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

_PUBLIC = {
    "LevelTiming": "flash_nas.search.shgo",
    "SearchResult": "flash_nas.search.shgo",
    "exhaustive_search": "flash_nas.search.shgo",
    "hierarchical_shgo": "flash_nas.search.shgo",
    "SearchEngine": "flash_nas.search.engine",
}


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:
    from flash_nas.search.engine import (
        SearchEngine as SearchEngine,
    )
    from flash_nas.search.shgo import (
        LevelTiming as LevelTiming,
        SearchResult as SearchResult,
        exhaustive_search as exhaustive_search,
        hierarchical_shgo as hierarchical_shgo,
    )
