"""HW-NAS-Bench's published FBNet-space latencies as a hardware model: ``hwnasbench-fbnet:DEVICE``.

HW-NAS-Bench (Li et al., ICLR 2021, MIT) priced FBNet-space networks on CIFAR-100 (32x32 inputs,
100 classes) with per-layer look-up tables; the shipped copy holds HELP's 5,000 sampled
architectures (HayeonLee/HELP, MIT; sources in ``hardware/data/README.md``):

=========  ====================================
device     target
=========  ====================================
raspi4     Raspberry Pi 4 (measured layers)
pixel3     Google Pixel 3 (measured layers)
eyeriss    Eyeriss ASIC (simulated)
fpga       FPGA (simulated)
=========  ====================================

Each quantity is ``latency_ms``. Graphs are looked up by their canonical text (the ``fbnet``
space's block names joined by ``-``); an architecture outside the 5,000 is an error naming it,
and a graph that is not a 3x32x32 network with 100 outputs is refused. A value <= 0 would come
back as NaN (none occurs in this table).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import flash_nas
from flash_nas import ArchGraph, Table, TableError, UnknownNameError, read_table
from flash_nas_hardware.hwnasbench import TableHardwareModel

DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga")
SHIPPED_TABLE = "hwnasbench_fbnet_cifar100.csv.gz"
_MEASURED_INPUT = (3, 32, 32)
_MEASURED_CLASSES = 100
_CACHE: dict[str, Table] = {}


def shipped_table_path() -> Path:
    return Path(str(resources.files("flash_nas_hardware") / "data" / SHIPPED_TABLE))


def load_fbnet_latencies() -> Table:
    """The 5,000 architectures: ``<device>_latency_ms`` for the four devices (read once)."""
    if "shipped" not in _CACHE:
        _CACHE["shipped"] = read_table(shipped_table_path())
    return _CACHE["shipped"]


class FBNetTableModel(TableHardwareModel):
    """Latency of an FBNet-space architecture on one HW-NAS-Bench device, looked up."""

    description = "HW-NAS-Bench's FBNet-space latencies (raspi4, pixel3, eyeriss, fpga)"

    def __init__(self, variant: str | None = None) -> None:
        if variant not in DEVICES:
            raise UnknownNameError(
                f"Unknown HW-NAS-Bench FBNet device {variant!r}; expected "
                f"hwnasbench-fbnet:DEVICE with DEVICE one of {', '.join(DEVICES)}."
            )
        self.table = load_fbnet_latencies()
        self.columns = {"latency_ms": f"{variant}_latency_ms"}
        self.device = variant
        self.quantities = tuple(self.columns)

    def _check_graph(self, graph: ArchGraph) -> None:
        source = graph.node(graph.input)
        shape = (source.channels, source.height, source.width)
        classes = graph.node(graph.output).channels
        if shape != _MEASURED_INPUT or classes != _MEASURED_CLASSES:
            raise TableError(
                f"HW-NAS-Bench priced FBNet networks on 3x32x32 inputs with 100 classes; this "
                f"graph takes {'x'.join(map(str, shape))} and has {classes} outputs. Use an "
                f"analytical model (pi3b, imc) for other shapes."
            )

    def _lookup(self, archs: list[str]) -> dict[str, Any]:
        missing = [arch for arch in archs if arch not in self.table]
        if missing:
            raise TableError(
                f"HW-NAS-Bench FBNet ({self.device}) has no latency for {len(missing)} "
                f"architecture(s), e.g. {missing[0]!r}; the shipped table covers HELP's 5,000 "
                f"sampled FBNet architectures only."
            )
        return super()._lookup(archs)


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("hwnasbench-fbnet", FBNetTableModel)
