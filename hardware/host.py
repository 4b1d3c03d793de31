"""Measured inference on the machine at hand: the ``host`` (CPU) and ``cuda`` hardware models.

Where the analytical models predict, these time: each graph becomes a torch module
(:func:`flash_nas.train.torch_builder.build_module`) of the edges a device runs
(:func:`flash_nas.executed_edges`: ``none`` edges multiply by zero and the convs behind them
run; cut-off cells, dead code to a compiler, are dropped) with fresh random weights, in eval
mode, fed a random input of the graph input's shape, under ``torch.inference_mode()``. After
``warmup`` untimed forward passes, ``repeats`` passes are timed one by one, and the model reports
the **median** in ms: the median ignores the odd pass slowed by another process, where a mean would
not. With ``batch_size`` > 1 it is the latency of one forward pass of the whole batch.

``threads`` fixes torch's intra-op CPU threads (``torch.set_num_threads``) for the measurement;
the previous setting is restored afterwards. One thread by default, so that measurements are
repeatable and comparable between machines with different core counts.

Each graph is measured once per model instance; asking again returns the remembered median. A
search asks for the same architecture many times, and a latency that changed between calls
would make its rankings inconsistent. Make a new model to measure afresh.

These measurements are what :func:`flash_nas.cost.calibration.calibrate` fits an analytical model
to (``flash-nas measure``, then ``flash-nas calibrate``). torch is imported on first use.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from time import perf_counter
from types import ModuleType
from typing import ClassVar

import flash_nas
from flash_nas import ArchGraph, HardwareModel, NotSupportedError, require
from flash_nas.train.torch_builder import build_module
from flash_nas.validation import ParameterError, check_int

__all__ = ["CudaModel", "HostModel"]


class HostModel(HardwareModel):
    """Median latency (ms) of real torch inference on this machine's CPU.

    Parameters, all ints >= 1: ``threads`` (1) torch CPU threads, ``batch_size`` (1) images per
    forward pass, ``warmup`` (3) untimed passes first, ``repeats`` (10) timed passes; and
    ``executed`` (True): build the edges a device runs, or with False only the metrics' live
    edges (to compare the two).
    """

    description = "measured torch inference on this machine's CPU (median latency of repeats)"
    quantities = ("latency_ms",)
    #: The torch device the module and its input live on.
    device: ClassVar[str] = "cpu"

    def __init__(
        self,
        *,
        threads: int = 1,
        batch_size: int = 1,
        warmup: int = 3,
        repeats: int = 10,
        executed: bool = True,
    ) -> None:
        if not isinstance(executed, bool):
            raise ParameterError(
                f"The 'executed' parameter of {type(self).__name__} must be true or false. Got "
                f"{executed!r} instead."
            )
        self.executed = executed
        for name, value in (
            ("threads", threads),
            ("batch_size", batch_size),
            ("warmup", warmup),
            ("repeats", repeats),
        ):
            check_int(value, name, owner=type(self).__name__, low=1)
        self.threads = threads
        self.batch_size = batch_size
        self.warmup = warmup
        self.repeats = repeats
        self._measured: dict[ArchGraph, float] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(threads={self.threads}, batch_size={self.batch_size}, "
            f"warmup={self.warmup}, repeats={self.repeats}, executed={self.executed})"
        )

    def estimate(self, graph: ArchGraph) -> dict[str, float]:
        if graph not in self._measured:
            self._measured[graph] = self._measure(graph)
        return {"latency_ms": self._measured[graph]}

    def _torch(self) -> ModuleType:
        """torch, once the device is known to be usable."""
        torch = require("torch", f"Timing inference with the {type(self).__name__}")
        self._check_device(torch)
        return torch

    def _check_device(self, torch: ModuleType) -> None:
        """Raise unless :attr:`device` can run a module (a CPU always can)."""

    def _synchronize(self, torch: ModuleType) -> None:
        """Wait until the device has finished its queued work (a CPU runs synchronously)."""

    def _measure(self, graph: ArchGraph) -> float:
        torch = self._torch()
        module = build_module(graph, executed=self.executed).eval().to(self.device)
        source = graph.node(graph.input)
        shape = (self.batch_size, source.channels, source.height, source.width)
        inputs = torch.randn(shape, device=self.device)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                for _ in range(self.warmup):
                    module(inputs)
                seconds = []
                for _ in range(self.repeats):
                    self._synchronize(torch)
                    start = perf_counter()
                    module(inputs)
                    self._synchronize(torch)
                    seconds.append(perf_counter() - start)
        finally:
            torch.set_num_threads(previous_threads)
        return 1e3 * statistics.median(seconds)


class CudaModel(HostModel):
    """:class:`HostModel` on the first CUDA GPU; timing waits for the GPU to finish each pass.

    Raises NotSupportedError when torch sees no GPU: on construction, and whenever a graph is
    to be measured.
    """

    description = "measured torch inference on this machine's CUDA GPU (median latency)"
    device = "cuda"

    def __init__(
        self,
        *,
        threads: int = 1,
        batch_size: int = 1,
        warmup: int = 3,
        repeats: int = 10,
        executed: bool = True,
    ) -> None:
        super().__init__(
            threads=threads,
            batch_size=batch_size,
            warmup=warmup,
            repeats=repeats,
            executed=executed,
        )
        self._torch()

    def _check_device(self, torch: ModuleType) -> None:
        if not torch.cuda.is_available():
            raise NotSupportedError(
                "The 'cuda' hardware model found no GPU: no GPU is visible to torch "
                "(torch.cuda.is_available() is False; is this a CPU-only torch build, or is "
                "CUDA_VISIBLE_DEVICES empty?). Use the 'host' hardware model to measure on the "
                "CPU instead (flash-nas measure --device cpu)."
            )

    def _synchronize(self, torch: ModuleType) -> None:
        torch.cuda.synchronize()


@flash_nas.hookimpl
def register_hardware(register: Callable[[str, type[HardwareModel]], None]) -> None:
    register("host", HostModel)
    register("cuda", CudaModel)
