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
so that ``import flash_nas`` (and ``flash-nas --help``) imports neither numpy nor scipy. The
``TYPE_CHECKING`` block at the end is the one list of them (:mod:`flash_nas._lazy` reads it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

__version__ = "0.3.0"

__getattr__, __dir__, _public = lazy_names(__name__)

__all__ = ["__version__", *_public]

if TYPE_CHECKING:  # the public names: type checkers read them here, __getattr__ loads them
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
    from flash_nas.plugins.method import (
        Choice as Choice,
        Pick as Pick,
        SearchMethod as SearchMethod,
    )
    from flash_nas.plugins.quantities import (
        Quantity as Quantity,
    )
    from flash_nas.plugins.registry import (
        ENTRY_POINT_GROUP as ENTRY_POINT_GROUP,
        adapter_names as adapter_names,
        get_adapter as get_adapter,
        get_hardware as get_hardware,
        hardware_names as hardware_names,
        hookimpl as hookimpl,
        load_plugins as load_plugins,
        method_names as method_names,
        registrations as registrations,
    )
    from flash_nas.plugins.relaxation import (
        Relaxation as Relaxation,
        Variable as Variable,
    )
    from flash_nas.search.engine import (
        ListDomain as ListDomain,
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
