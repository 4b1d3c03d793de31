"""flash-nas: FLASH's training-free, hardware-aware neural architecture search for the NAS tools
people already use.

Importing this package pulls in numpy and pluggy only; torch, NNI and the NAS-Bench-201 API load
when a feature that needs them is used.
"""

from __future__ import annotations

from flash_nas.adapter import Adapter
from flash_nas.batch import ChoiceBatch, ChoiceSkeleton, GraphBatch, ListBatch
from flash_nas.errors import (
    ArchFormatError,
    FlashNasError,
    GraphError,
    MissingDependencyError,
    NotSupportedError,
    PluginError,
    TableError,
    UnknownNameError,
)
from flash_nas.graph import ArchGraph, Cell, Edge, Layer, Op, Tensor
from flash_nas.hardware import QUANTITIES, HardwareModel
from flash_nas.metrics import (
    METRICS,
    Metric,
    executed_edges,
    get_metric,
    live_edges,
    score,
    score_batch,
)
from flash_nas.plugins import (
    ENTRY_POINT_GROUP,
    adapter_names,
    get_adapter,
    get_hardware,
    hardware_names,
    hookimpl,
    load_plugins,
    registrations,
)
from flash_nas.tables import Table, read_table, write_table

__version__ = "0.1.0"

# Heavier parts load on first use (PEP 562), so that `import flash_nas` stays light: scipy for
# the predictor, search and calibration, torch for the builder.
_LAZY = {
    "require": "flash_nas._imports",
    "SearchEngine": "flash_nas.engine",
    "Recommendation": "flash_nas.engine",
    "Proposal": "flash_nas.engine",
    "LabelScale": "flash_nas.tables",
    "GaussianProcess": "flash_nas.gp",
    "AccuracyPredictor": "flash_nas.predictor",
    "NotFittedError": "flash_nas.predictor",
    "select_samples": "flash_nas.sampling",
    "parse_objective": "flash_nas.objective",
    "Objective": "flash_nas.objective",
    "Evaluator": "flash_nas.evaluation",
    "Relaxation": "flash_nas.relaxation",
    "Variable": "flash_nas.relaxation",
    "hierarchical_shgo": "flash_nas.search",
    "exhaustive_search": "flash_nas.search",
    "SearchResult": "flash_nas.search",
    "LinearCostModel": "flash_nas.hardware",
    "Coefficient": "flash_nas.hardware",
    "calibrate": "flash_nas.calibration",
    "load_profile": "flash_nas.calibration",
    "Profile": "flash_nas.calibration",
    "build_module": "flash_nas.torch_builder",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flash_nas' has no attribute {name!r}")

__all__ = [
    "ENTRY_POINT_GROUP",
    "METRICS",
    "QUANTITIES",
    "Adapter",
    "ArchFormatError",
    "ArchGraph",
    "Cell",
    "ChoiceBatch",
    "ChoiceSkeleton",
    "Edge",
    "FlashNasError",
    "GraphBatch",
    "GraphError",
    "HardwareModel",
    "Layer",
    "ListBatch",
    "Metric",
    "MissingDependencyError",
    "NotSupportedError",
    "Op",
    "PluginError",
    "SearchEngine",
    "Table",
    "TableError",
    "Tensor",
    "UnknownNameError",
    "__version__",
    "adapter_names",
    "executed_edges",
    "get_adapter",
    "get_hardware",
    "get_metric",
    "hardware_names",
    "hookimpl",
    "live_edges",
    "load_plugins",
    "read_table",
    "registrations",
    "require",
    "score",
    "score_batch",
    "write_table",
]
