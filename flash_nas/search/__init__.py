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

Its public names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__)

if TYPE_CHECKING:  # the public names: type checkers read them here, __getattr__ loads them
    from flash_nas.search.engine import (
        SearchEngine as SearchEngine,
    )
    from flash_nas.search.shgo import (
        LevelTiming as LevelTiming,
        SearchResult as SearchResult,
        exhaustive_search as exhaustive_search,
        hierarchical_shgo as hierarchical_shgo,
    )
