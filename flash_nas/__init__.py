"""flash-nas: FLASH's training-free, hardware-aware neural architecture search for the NAS tools
people already use.

The package is laid out by stage, in the order one search flows through it (see
``docs/architecture.md``):

* :mod:`flash_nas.graph` -- the common graph form (:class:`ArchGraph`), batches of whole spaces
  as arrays, and the training-free metrics (NN-Degree, NN-Mass, parameters, FLOPs);
* :mod:`flash_nas.plugins` -- the plugin API (adapter and hardware bases, hook specifications),
  the registry and the contract tests a plugin runs;
* :mod:`flash_nas.cost` -- linear cost models, profiles and their calibration;
* :mod:`flash_nas.search` -- the ask/tell engine and everything it proposes with;
* :mod:`flash_nas.train` -- CIFAR, the torch builder and the training loop;
* :mod:`flash_nas.integrations` -- NNI, Optuna and Ray Tune front ends;
* :mod:`flash_nas.cli` -- the ``flash-nas`` command; :mod:`flash_nas.io` -- tables and safe
  outputs; :mod:`flash_nas.errors` and :mod:`flash_nas.validation` serve every stage.

Every public name below is importable from ``flash_nas`` itself and loads on first use (PEP 562),
so that ``import flash_nas`` (and ``flash-nas --help``) imports neither numpy nor scipy.
Modules of the old flat layout (``flash_nas.batch``, ``flash_nas.hardware``...) still import,
with a DeprecationWarning naming their new place (:mod:`flash_nas._moved`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas import _moved
from flash_nas._lazy import lazy_names

__version__ = "0.2.0"

_moved.install()

#: Public name -> the module that defines it.
_PUBLIC = {
    "ArchFormatError": "flash_nas.errors",
    "FlashNasError": "flash_nas.errors",
    "GraphError": "flash_nas.errors",
    "MissingDependencyError": "flash_nas.errors",
    "NotSupportedError": "flash_nas.errors",
    "PluginError": "flash_nas.errors",
    "TableError": "flash_nas.errors",
    "UnknownNameError": "flash_nas.errors",
    "require": "flash_nas._imports",
    "ArchGraph": "flash_nas.graph.arch",
    "Cell": "flash_nas.graph.arch",
    "Edge": "flash_nas.graph.arch",
    "Layer": "flash_nas.graph.arch",
    "Op": "flash_nas.graph.arch",
    "Tensor": "flash_nas.graph.arch",
    "ChoiceBatch": "flash_nas.graph.batch",
    "ChoiceSkeleton": "flash_nas.graph.batch",
    "GraphBatch": "flash_nas.graph.batch",
    "ListBatch": "flash_nas.graph.batch",
    "METRICS": "flash_nas.graph.metrics",
    "Metric": "flash_nas.graph.metrics",
    "get_metric": "flash_nas.graph.metrics",
    "score": "flash_nas.graph.metrics",
    "score_batch": "flash_nas.graph.metrics",
    "executed_edges": "flash_nas.graph.structure",
    "live_edges": "flash_nas.graph.structure",
    "Adapter": "flash_nas.plugins.adapter",
    "allow_code_imports": "flash_nas.plugins.code_imports",
    "QUANTITIES": "flash_nas.plugins.hardware",
    "HardwareModel": "flash_nas.plugins.hardware",
    "ENTRY_POINT_GROUP": "flash_nas.plugins.registry",
    "adapter_names": "flash_nas.plugins.registry",
    "get_adapter": "flash_nas.plugins.registry",
    "get_hardware": "flash_nas.plugins.registry",
    "hardware_names": "flash_nas.plugins.registry",
    "hookimpl": "flash_nas.plugins.registry",
    "load_plugins": "flash_nas.plugins.registry",
    "registrations": "flash_nas.plugins.registry",
    "Coefficient": "flash_nas.cost.linear",
    "LinearCostModel": "flash_nas.cost.linear",
    "Profile": "flash_nas.cost.profile",
    "load_profile": "flash_nas.cost.profile",
    "calibrate": "flash_nas.cost.calibration",
    "LabelScale": "flash_nas.io.tables",
    "Table": "flash_nas.io.tables",
    "read_table": "flash_nas.io.tables",
    "write_table": "flash_nas.io.tables",
    "SearchEngine": "flash_nas.search.engine",
    "Recommendation": "flash_nas.search.engine",
    "Proposal": "flash_nas.search.engine",
    "GaussianProcess": "flash_nas.search.gp",
    "AccuracyPredictor": "flash_nas.search.predictor",
    "NotFittedError": "flash_nas.search.predictor",
    "select_samples": "flash_nas.search.sampling",
    "Objective": "flash_nas.search.objective",
    "parse_objective": "flash_nas.search.objective",
    "Evaluator": "flash_nas.search.evaluation",
    "Relaxation": "flash_nas.plugins.relaxation",
    "Variable": "flash_nas.plugins.relaxation",
    "SearchResult": "flash_nas.search.shgo",
    "exhaustive_search": "flash_nas.search.shgo",
    "hierarchical_shgo": "flash_nas.search.shgo",
    "build_module": "flash_nas.train.torch_builder",
}


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


__all__ = ["__version__", *sorted(_PUBLIC)]

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ does the same
    from flash_nas._imports import (
        require as require,
    )
    from flash_nas.cost.calibration import (
        calibrate as calibrate,
    )
    from flash_nas.cost.linear import (
        Coefficient as Coefficient,
        LinearCostModel as LinearCostModel,
    )
    from flash_nas.cost.profile import (
        Profile as Profile,
        load_profile as load_profile,
    )
    from flash_nas.errors import (
        ArchFormatError as ArchFormatError,
        FlashNasError as FlashNasError,
        GraphError as GraphError,
        MissingDependencyError as MissingDependencyError,
        NotSupportedError as NotSupportedError,
        PluginError as PluginError,
        TableError as TableError,
        UnknownNameError as UnknownNameError,
    )
    from flash_nas.graph.arch import (
        ArchGraph as ArchGraph,
        Cell as Cell,
        Edge as Edge,
        Layer as Layer,
        Op as Op,
        Tensor as Tensor,
    )
    from flash_nas.graph.batch import (
        ChoiceBatch as ChoiceBatch,
        ChoiceSkeleton as ChoiceSkeleton,
        GraphBatch as GraphBatch,
        ListBatch as ListBatch,
    )
    from flash_nas.graph.metrics import (
        METRICS as METRICS,
        Metric as Metric,
        get_metric as get_metric,
        score as score,
        score_batch as score_batch,
    )
    from flash_nas.graph.structure import (
        executed_edges as executed_edges,
        live_edges as live_edges,
    )
    from flash_nas.io.tables import (
        LabelScale as LabelScale,
        Table as Table,
        read_table as read_table,
        write_table as write_table,
    )
    from flash_nas.plugins.adapter import (
        Adapter as Adapter,
    )
    from flash_nas.plugins.code_imports import (
        allow_code_imports as allow_code_imports,
    )
    from flash_nas.plugins.hardware import (
        QUANTITIES as QUANTITIES,
        HardwareModel as HardwareModel,
    )
    from flash_nas.plugins.registry import (
        ENTRY_POINT_GROUP as ENTRY_POINT_GROUP,
        adapter_names as adapter_names,
        get_adapter as get_adapter,
        get_hardware as get_hardware,
        hardware_names as hardware_names,
        hookimpl as hookimpl,
        load_plugins as load_plugins,
        registrations as registrations,
    )
    from flash_nas.plugins.relaxation import (
        Relaxation as Relaxation,
        Variable as Variable,
    )
    from flash_nas.search.engine import (
        Proposal as Proposal,
        Recommendation as Recommendation,
        SearchEngine as SearchEngine,
    )
    from flash_nas.search.evaluation import (
        Evaluator as Evaluator,
    )
    from flash_nas.search.gp import (
        GaussianProcess as GaussianProcess,
    )
    from flash_nas.search.objective import (
        Objective as Objective,
        parse_objective as parse_objective,
    )
    from flash_nas.search.predictor import (
        AccuracyPredictor as AccuracyPredictor,
        NotFittedError as NotFittedError,
    )
    from flash_nas.search.sampling import (
        select_samples as select_samples,
    )
    from flash_nas.search.shgo import (
        SearchResult as SearchResult,
        exhaustive_search as exhaustive_search,
        hierarchical_shgo as hierarchical_shgo,
    )
    from flash_nas.train.torch_builder import (
        build_module as build_module,
    )
