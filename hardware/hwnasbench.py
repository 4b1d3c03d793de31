"""Published per-architecture measurements as a hardware model (HW-NAS-Bench, or your own table).

HW-NAS-Bench (Li et al., "HW-NAS-Bench: Hardware-Aware Neural Architecture Search Benchmark",
ICLR 2021, MIT) measured or simulated every NAS-Bench-201 cell on CIFAR-10 (32x32 inputs, 10
classes) on six devices. ``hwnasbench:DEVICE`` looks those numbers up, so a search can use real
device figures where they exist:

=========  ========================================  =====================
device     target                                    quantities
=========  ========================================  =====================
edgegpu    NVIDIA Jetson TX2 (measured)              latency_ms, energy_mj
raspi4     Raspberry Pi 4 (measured)                 latency_ms
edgetpu    Google Edge TPU (measured)                latency_ms
pixel3     Google Pixel 3 (measured)                 latency_ms
eyeriss    Eyeriss ASIC (simulated)                  latency_ms, energy_mj
fpga       FPGA (simulated)                          latency_ms, energy_mj
=========  ========================================  =====================

``hwnasbench`` with ``table=PATH`` reads your own measurements instead: a CSV with an ``arch``
column and ``latency_ms`` (and optionally ``energy_mj``, ``area_mm2``) columns.

A lookup is only valid for the network that was measured: the shipped table refuses graphs that
are not NAS-Bench-201 cells at 32x32 with 10 classes. HW-NAS-Bench marks a failed measurement
with -1 (the Edge TPU has such cells); every value <= 0 comes back as NaN, never as a cost, and a
search treats such an architecture as infeasible.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

import flash_nas
from flash_nas import (
    ArchGraph,
    GraphBatch,
    HardwareModel,
    Table,
    TableError,
    UnknownNameError,
    read_table,
)
from flash_nas.validation import ParameterError

#: device -> (quantity -> column of the shipped table)
DEVICES: dict[str, dict[str, str]] = {
    "edgegpu": {"latency_ms": "edgegpu_latency", "energy_mj": "edgegpu_energy"},
    "raspi4": {"latency_ms": "raspi4_latency"},
    "edgetpu": {"latency_ms": "edgetpu_latency"},
    "pixel3": {"latency_ms": "pixel3_latency"},
    "eyeriss": {"latency_ms": "eyeriss_latency", "energy_mj": "eyeriss_energy"},
    "fpga": {"latency_ms": "fpga_latency", "energy_mj": "fpga_energy"},
}
SHIPPED_TABLE = "hwnasbench_cifar10.csv.gz"
_MEASURED_INPUT = (3, 32, 32)
_MEASURED_CLASSES = 10


def shipped_table_path() -> Path:
    return Path(str(resources.files("flash_nas_hardware") / "data" / SHIPPED_TABLE))


class TableHardwareModel(HardwareModel):
    """Latency and energy looked up per architecture (by its canonical text)."""

    description = "published measurements per architecture (HW-NAS-Bench devices, or table=PATH)"
    file_options = ("table",)

    def __init__(self, variant: str | None = None, *, table: str | Path | None = None) -> None:
        if (variant is None) == (table is None):
            raise ParameterError(
                "Name a HW-NAS-Bench device (hwnasbench:DEVICE, one of "
                f"{', '.join(DEVICES)}) or give table=PATH to your own measurements; not both."
            )
        if table is not None:
            self.table = read_table(table)
            known = [q for q in flash_nas.QUANTITIES if q in self.table.columns]
            if "latency_ms" not in known:
                raise TableError(
                    f"{self.table.source}: a measurement table needs a 'latency_ms' column "
                    f"(and optionally energy_mj, area_mm2); it has {', '.join(self.table.columns)}."
                )
            self.columns = {quantity: quantity for quantity in known}
            self.device = None
        else:
            if variant not in DEVICES:
                raise UnknownNameError(
                    f"Unknown HW-NAS-Bench device {variant!r}; expected one of "
                    f"{', '.join(DEVICES)}."
                )
            self.table = _shipped_table()
            self.columns = DEVICES[variant]
            self.device = variant
        # Which quantities exist depends on the device, so this shadows the class attribute.
        self.quantities = tuple(self.columns)

    def _check_graph(self, graph: ArchGraph) -> None:
        if self.device is None:
            return
        source = graph.node(graph.input)
        shape = (source.channels, source.height, source.width)
        classes = graph.node(graph.output).channels
        if shape != _MEASURED_INPUT or classes != _MEASURED_CLASSES:
            raise TableError(
                f"HW-NAS-Bench measured NAS-Bench-201 cells on 3x32x32 inputs with 10 classes; "
                f"this graph takes {'x'.join(map(str, shape))} and has {classes} outputs. Use an "
                f"analytical model (pi3b, imc) for other shapes."
            )

    def _lookup(self, archs: list[str]) -> dict[str, np.ndarray]:
        missing = [arch for arch in archs if arch not in self.table]
        if missing:
            where = f"HW-NAS-Bench ({self.device})" if self.device else self.table.source
            raise TableError(
                f"{where} has no measurement for {len(missing)} architecture(s), e.g. "
                f"{missing[0]!r}; the table covers the NAS-Bench-201 space only."
            )
        values = {q: self.table.lookup(archs, column) for q, column in self.columns.items()}
        return {q: np.where(v > 0, v, np.nan) for q, v in values.items()}

    def estimate(self, graph: ArchGraph) -> dict[str, float]:
        self._check_graph(graph)
        return {q: float(values[0]) for q, values in self._lookup([graph.name]).items()}

    def estimate_batch(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        if len(batch):
            self._check_graph(batch.graph(0))
        return self._lookup(batch.texts())


_CACHE: dict[str, Table] = {}


def _shipped_table() -> Table:
    if "shipped" not in _CACHE:
        _CACHE["shipped"] = read_table(shipped_table_path())
    return _CACHE["shipped"]


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("hwnasbench", TableHardwareModel)
