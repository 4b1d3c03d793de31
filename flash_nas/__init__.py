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
from flash_nas.metrics import METRICS, Metric, get_metric, score, score_batch
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
    "Table",
    "TableError",
    "Tensor",
    "UnknownNameError",
    "__version__",
    "adapter_names",
    "get_adapter",
    "get_hardware",
    "get_metric",
    "hardware_names",
    "hookimpl",
    "load_plugins",
    "read_table",
    "registrations",
    "score",
    "score_batch",
    "write_table",
]
