"""ZigZag, KU Leuven's accelerator simulator (``zigzag-dse``), as a flash-nas hardware model.

FLASH checked its analytical in-memory-computing (IMC) models against architecture-level
simulation; here ZigZag plays that part. It is slow (a loop-order search per layer), so it is the
ground truth a fast model is fitted to, not a search-time objective.

Targets. ``--hardware zigzag:VARIANT`` names a hardware description shipped with ZigZag under
``zigzag/inputs/hardware`` (``aimc``: analog IMC, 128x128 cells; ``dimc``: digital IMC;
``tpu_like``: 32x32 systolic array; ``edge_tpu_like``, ``eyeriss_like``, ``ascend_like``,
``tesla_npu_like``, ``meta_prototype``...), each with the mapping ZigZag ships for it
(``default_imc.yaml`` for IMC, ``default.yaml`` where none is shipped). These defaults are
ZigZag's own files (KU Leuven, MIT licence), not ours; ``hardware_yaml=`` / ``mapping_yaml=`` take
a user's own. IMC hardware reports latency, energy and area (ZigZag models the macro's clock
period and area); the other targets report latency and energy only.

What is simulated. Every executed conv and linear layer of the ArchGraph becomes one ZigZag layer
at batch size 1: a ``Conv`` (loops B, K, G, OX, OY, C, FX, FY, with the graph's stride and padding)
or a ``Gemm`` (D, K, C), with ``precision``-bit weights and activations and partial sums of twice
that. A network costs the sum of its layers. **Not costed**: pooling (average, max, global), the
element-wise adds of sum nodes, concatenation, batch norm, activations and biases. That is what
ZigZag itself does with an ONNX model (it costs Conv/Gemm/MatMul only); on IMC hardware it skips
Add and Pooling layers even when they are given to it, and it has no Concat. So two cells that
differ only by an avg-pool against a skip edge cost the same here.

Grouped and depthwise convs use ZigZag's G loop. On arrays a mapping entry derived from the
hardware's default one (K replaced by G, C dropped) lets G unroll spatially; without it a
depthwise conv lands on one PE. ZigZag's IMC model cannot unroll G at all (inputs broadcast
along the wordlines and outputs summed along the bitlines), so by default (``imc_groups=
"block_diagonal"``, our choice) a grouped conv on IMC hardware is simulated as the crossbar would
store it: the ``b`` groups that fit one array (by its columns and by its rows for their
``C x kernel**2`` inputs) side by side, their weights block-diagonal, i.e. a conv of
``ceil(G / b)`` groups of ``b`` times the channels. ``imc_groups="zigzag"`` keeps
ZigZag's own (far slower) answer.

Speed and its price. Layers are simulated one at a time and cached by their shape (in memory
always; on disk in ``cache_dir`` when given, keyed by the zigzag version, the hashes of the
hardware and mapping files, ``lpf_limit`` and the layer), so a network costs one simulation per
layer shape it has not met before. The sum over layers equals a whole-network run of the same
stages (checked on a NAS-Bench-201 network), but only because ZigZag's inter-layer data-locality
stages are off, and evaluating layers one at a time needs them off on IMC. Those stages (which
ZigZag's API turns on for IMC) keep activations on chip between layers: they moved single IMC
layers by 11--35 % and cut a whole NAS-Bench-201 network's energy by about a third on ``aimc``.
So these are the costs of layers that read their inputs from and write their outputs to DRAM.
The loop-order search is lowered with ``lpf_limit`` (ZigZag's default is 6; here 4 on IMC, where
2 moved results by 15--30 %, and 2 on arrays). The pipeline is built from ZigZag's stages without
its saving and visualisation stages, so nothing is written to ``./outputs`` and the root logger
is left alone (ZigZag's API sets it to INFO); ZigZag's own loggers are kept to errors while it
runs. Written against zigzag-dse 3.9.1; another version gives a warning.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import logging
import math
import multiprocessing
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import flash_nas
from flash_nas import ArchGraph, FlashNasError, GraphBatch, UnknownNameError, require
from flash_nas.hardware import EdgeShape, HardwareModel, executed_edges

__all__ = [
    "ZIGZAG_VERSION",
    "ZigZagLayer",
    "ZigZagModel",
    "graph_layers",
    "register_hardware",
    "shipped_variants",
]

#: The zigzag-dse release this plugin was written and checked against.
ZIGZAG_VERSION = "3.9.1"

# Mappings ZigZag ships for its hardware files, where the names differ or the file is unusable:
# gemm_l1*'s own mappings name GEMM loops (D0..D2), not a conv's, so they get default.yaml.
_MAPPING_OF = {
    "aimc": "default_imc",
    "dimc": "default_imc",
    "meta_prototype": "meta_prototype_like",
    "gemm_l1": "default",
    "gemm_l1_l3": "default",
}
# Loop-order search depth by default: ECOSYSTEM.md measured 2 on IMC shifting results by 15-30 %.
_LPF_IMC, _LPF_ARRAY = 4, 2
# ZigZag API's default number of spatial mappings tried per layer.
_SPATIAL_MAPPINGS = 3
# Fewer layers than this to simulate: no progress bar.
_FEW_LAYERS = 4
# Bump when the ZigZag layer dicts or the derived mapping entry change: old disk caches go stale.
_CACHE_FORMAT = 1
# Mapping entries are matched by layer name first (ZigZag's MappingFactory).
_LAYER, _DEPTHWISE = "flash_nas_layer", "flash_nas_depthwise"
_IMC_GROUPS = ("block_diagonal", "zigzag")
_IMC_QUANTITIES = ("latency_ms", "energy_mj", "area_mm2")
_ARRAY_QUANTITIES = ("latency_ms", "energy_mj")


# ------------------------------------------------------------------------------ the workload
@dataclass(frozen=True)
class ZigZagLayer:
    """One conv or linear layer as ZigZag simulates it, at batch size 1.

    ``operator`` is ``"Conv"`` or ``"Gemm"``. ``k`` and ``c`` are output and input channels per
    group. A Gemm (linear layer) is applied at each of its ``out_height x out_width`` positions
    (1x1 after global pooling); the kernel, stride, padding and input fields are those of a conv.
    """

    operator: str
    k: int
    c: int
    groups: int = 1
    out_height: int = 1
    out_width: int = 1
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    in_height: int = 1
    in_width: int = 1
    precision: int = 8

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer."""
        return self.k * self.c * self.groups * self.kernel**2 * self.out_height * self.out_width

    def key(self) -> str:
        """The layer as a JSON list: its key in the disk cache."""
        return json.dumps(dataclasses.astuple(self))

    def zigzag(self) -> dict[str, Any]:
        """ZigZag's in-memory workload form of this layer (one entry of the layer list)."""
        bits = self.precision
        common = {
            "id": 0,
            "name": _DEPTHWISE if self.groups > 1 and self.c == 1 else _LAYER,
            "operand_precision": {"W": bits, "I": bits, "O": 2 * bits, "O_final": bits},
            # W comes from this layer itself (constant weights); I is read from memory.
            "operand_source": {"W": 0},
        }
        if self.operator == "Gemm":
            return {
                **common,
                "operator_type": "Gemm",
                "equation": "O[d][k]+=I[d][c]*W[c][k]",
                "dimension_relations": [],
                "loop_dims": ["D", "K", "C"],
                "loop_sizes": [self.out_height * self.out_width, self.k, self.c],
            }
        # As ZigZag's own ONNX Conv parser writes it.
        return {
            **common,
            "operator_type": "Conv",
            "equation": "O[b][g][k][oy][ox]+=W[g][k][c][fy][fx]*I[b][g][c][iy][ix]",
            "loop_dims": ["B", "K", "G", "OX", "OY", "C", "FX", "FY"],
            "loop_sizes": [
                1,
                self.k,
                self.groups,
                self.out_width,
                self.out_height,
                self.c,
                self.kernel,
                self.kernel,
            ],
            "dimension_relations": [f"ix={self.stride}*ox+1*fx", f"iy={self.stride}*oy+1*fy"],
            "pr_loop_dims": ["IX", "IY"],
            "pr_loop_sizes": [self.in_width, self.in_height],
            "padding": [[self.padding, self.padding], [self.padding, self.padding]],
        }


def graph_layers(graph: ArchGraph, precision: int = 8) -> list[ZigZagLayer]:
    """Every conv and linear layer on the edges the accelerator executes
    (:func:`flash_nas.executed_edges`), in edge order, repeats included."""
    layers = []
    for edge, alive in zip(graph.edges, executed_edges(graph)):
        if not alive:
            continue
        shape = EdgeShape.of(graph, edge)
        height, width = shape.height, shape.width
        for layer in shape.op.layers:
            out_height, out_width = layer.output_size(height, width)
            if layer.kind == "conv":
                layers.append(
                    ZigZagLayer(
                        "Conv",
                        layer.out_channels // layer.groups,
                        layer.in_channels // layer.groups,
                        layer.groups,
                        out_height,
                        out_width,
                        layer.kernel,
                        layer.stride,
                        layer.padding,
                        height,
                        width,
                        precision,
                    )
                )
            elif layer.kind == "linear":
                layers.append(
                    ZigZagLayer(
                        "Gemm",
                        layer.out_channels,
                        layer.in_channels,
                        out_height=out_height,
                        out_width=out_width,
                        precision=precision,
                    )
                )
            height, width = out_height, out_width
    return layers


# ------------------------------------------------------------------------------ ZigZag itself
@functools.cache
def _zigzag() -> ModuleType:
    """Import zigzag (or say which extra installs it) and warn once if it is not the pinned one."""
    module = require("zigzag", "The ZigZag simulator plugin")
    version = _version_of(module)
    if version != ZIGZAG_VERSION:
        warnings.warn(
            f"flash-nas's ZigZag plugin was written and checked against zigzag-dse "
            f"{ZIGZAG_VERSION}, but {version} is installed: its stages or results may differ. "
            f"Install the checked one with: pip install 'zigzag-dse=={ZIGZAG_VERSION}'",
            UserWarning,
            stacklevel=3,
        )
    return module


def _inputs(kind: str) -> Path:
    return Path(_zigzag().__file__).parent / "inputs" / kind


def shipped_variants() -> list[str]:
    """Names of the hardware descriptions shipped with the installed ZigZag."""
    return sorted(path.stem for path in _inputs("hardware").glob("*.yaml"))


@contextmanager
def _quiet_zigzag() -> Iterator[None]:
    """ZigZag warns at length about every clipped unrolling; keep its loggers to errors."""
    logger = logging.getLogger("zigzag")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class _Setup:
    """What a simulator process needs besides the layer (picklable, for the process pool)."""

    hardware: str
    mapping: str
    lpf_limit: int


def _depthwise_entry(mapping: list[dict[str, Any]]) -> dict[str, Any]:
    """The mapping's default entry with K replaced by G and C dropped, so that G unrolls."""
    default = next((entry for entry in mapping if entry["name"] == "default"), None)
    if default is None:
        raise FlashNasError(
            "The ZigZag mapping has no entry named 'default'; every mapping file must have one "
            "(see zigzag/inputs/mapping/default.yaml)."
        )
    entry = copy.deepcopy(default)
    entry["name"] = _DEPTHWISE

    def swap(items: Sequence[str]) -> list[str]:
        out = []
        for item in items:
            dim, sep, size = item.partition(",")
            if dim.strip() == "C":
                continue
            out.append(f"G{sep}{size}" if dim.strip() == "K" else item)
        return list(dict.fromkeys(out))

    for field in ("spatial_mapping", "spatial_mapping_hint"):
        if entry.get(field):
            # An OA dimension left empty is filled by ZigZag's own search (OX, OY...).
            swapped = {oa: dims for oa, items in entry[field].items() if (dims := swap(items))}
            entry[field] = swapped or None
    return entry


@functools.lru_cache(maxsize=8)
def _parse_accelerator(hardware: str) -> Any:
    """ZigZag's accelerator object for a hardware description, once per process."""
    _zigzag()
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage

    with _quiet_zigzag():
        try:
            return AcceleratorParserStage.parse_accelerator(hardware)
        except Exception as exc:
            raise FlashNasError(
                f"ZigZag could not read the hardware description {hardware}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


@functools.lru_cache(maxsize=8)
def _parse_mapping(mapping: str) -> list[dict[str, Any]]:
    """ZigZag's mapping entries plus our depthwise entry, once per process."""
    _zigzag()
    from zigzag.stages.parser.workload_parser import WorkloadParserStage

    with _quiet_zigzag():
        try:
            entries = WorkloadParserStage.parse_mapping_data(mapping)
        except Exception as exc:
            raise FlashNasError(
                f"ZigZag could not read the mapping {mapping}: {type(exc).__name__}: {exc}"
            ) from exc
    entries = [entry for entry in entries if entry["name"] != _DEPTHWISE]
    return [*entries, _depthwise_entry(entries)]


def _simulate_layer(setup: _Setup, layer: ZigZagLayer) -> tuple[float, float]:
    """(energy in pJ, latency in cycles) of one layer: ZigZag's stages minus saving/plotting."""
    _zigzag()
    from zigzag.hardware.architecture.imc_array import ImcArray
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.parser.workload_factory import WorkloadFactory
    from zigzag.parser.workload_validator import WorkloadValidator
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import (
        TemporalMappingGeneratorStage,
    )
    from zigzag.stages.results.reduce_stages import MinimalLatencyStage
    from zigzag.stages.workload_iterator import WorkloadStage

    accelerator, mapping = _parse_accelerator(setup.hardware), _parse_mapping(setup.mapping)
    is_imc = isinstance(accelerator.operational_array, ImcArray)
    with _quiet_zigzag():
        validator = WorkloadValidator([layer.zigzag()])
        data = validator.normalized_data
        if not validator.validate():
            raise FlashNasError(f"ZigZag rejected the layer {layer}: {validator.validator.errors}")
        workload = WorkloadFactory(data, mapping).create()
        # The stock API's pipeline (zigzag.api) minus its save, pickle, sum, visualisation and
        # inter-layer locality stages: one layer in, its best mapping out.
        stages = [
            WorkloadStage,
            MinimalLatencyStage,
            SpatialMappingGeneratorStage,
            MinimalLatencyStage,
            TemporalMappingGeneratorStage,
            CostModelStage,
        ]
        results = MainStage(
            stages,
            accelerator=accelerator,
            workload=workload,
            loma_lpf_limit=setup.lpf_limit,
            loma_show_progress_bar=False,
            nb_mappings_generated=_SPATIAL_MAPPINGS,
            enable_mix_spatial_mapping_generation=is_imc,
            access_same_data_considered_as_no_access=True,
            temporal_mapping_type=TemporalMappingType.UNEVEN,
        ).run()
    if len(results) != 1:
        raise FlashNasError(f"ZigZag returned {len(results)} results for the layer {layer}.")
    cme = results[0][0]
    return float(cme.energy_total), float(cme.latency_total2)


def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ the model
class ZigZagModel(HardwareModel):
    """Latency, energy and (IMC only) area of a network, simulated layer by layer with ZigZag.

    ``variant``: a hardware description shipped with ZigZag (``aimc``, ``dimc``, ``tpu_like``...;
    :func:`shipped_variants` lists them). ``hardware_yaml``: a user's own description, used
    instead of ``variant`` (which then becomes the file's name). ``mapping_yaml``: the mapping;
    by default the one ZigZag ships for the variant (``default_imc.yaml`` for a user's IMC
    hardware, ``default.yaml`` otherwise).

    ``lpf_limit``: depth of ZigZag's loop-order search (loop prime factors kept); None gives 4
    on IMC hardware and 2 on arrays, against ZigZag's 6 (module docstring). ``clock_ghz``:
    ZigZag counts cycles; IMC hardware models its own clock period (``tclk``), arrays do not,
    so there latency = cycles / ``clock_ghz``, **1 GHz by assumption** (ZigZag's array
    descriptions state no clock). A number here overrides IMC's ``tclk`` too. ``precision``:
    bits of weights and activations (8, as the shipped hardware). ``imc_groups``: how grouped
    convs run on IMC hardware (module docstring). ``area_mm2`` is the accelerator's (IMC macro
    and memories), the same for every network.

    ``cache_dir``: also keep simulated layers on disk (one JSON file per hardware, mapping,
    ``lpf_limit`` and zigzag version). ``processes``: simulate unique layers in this many
    processes (spawned: a script using it needs the ``if __name__ == "__main__"`` guard).
    ``progress``: show a progress bar when more than a few layers are simulated.
    """

    description = (
        "ZigZag accelerator simulator (KU Leuven; zigzag:aimc, :dimc, :tpu_like...): slow, "
        "cached per layer"
    )

    def __init__(
        self,
        variant: str = "aimc",
        *,
        hardware_yaml: str | os.PathLike[str] | None = None,
        mapping_yaml: str | os.PathLike[str] | None = None,
        lpf_limit: int | None = None,
        clock_ghz: float | None = None,
        precision: int = 8,
        imc_groups: str = "block_diagonal",
        cache_dir: str | os.PathLike[str] | None = None,
        processes: int = 1,
        progress: bool = True,
    ) -> None:
        _zigzag()
        from zigzag.hardware.architecture.imc_array import ImcArray

        for name, value in (("precision", precision), ("processes", processes)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(
                    f"The {name!r} parameter of ZigZagModel must be an int >= 1. Got {value!r} "
                    f"instead."
                )
        if lpf_limit is not None and (not isinstance(lpf_limit, int) or lpf_limit < 1):
            raise ValueError(
                f"The 'lpf_limit' parameter of ZigZagModel must be an int >= 1 or None. Got "
                f"{lpf_limit!r} instead."
            )
        if clock_ghz is not None and not (
            isinstance(clock_ghz, (int, float)) and math.isfinite(clock_ghz) and clock_ghz > 0
        ):
            raise ValueError(
                f"The 'clock_ghz' parameter of ZigZagModel must be a number > 0 or None. Got "
                f"{clock_ghz!r} instead."
            )
        if imc_groups not in _IMC_GROUPS:
            raise ValueError(
                f"The 'imc_groups' parameter of ZigZagModel must be one of "
                f"{', '.join(map(repr, _IMC_GROUPS))}. Got {imc_groups!r} instead."
            )

        if hardware_yaml is None:
            variants = shipped_variants()
            if variant not in variants:
                raise UnknownNameError(
                    f"Unknown ZigZag hardware {variant!r}; expected one of: "
                    f"{', '.join(variants)} (ZigZag's zigzag/inputs/hardware), or pass "
                    f"hardware_yaml= a description of your own."
                )
            hardware = _inputs("hardware") / f"{variant}.yaml"
        else:
            hardware = _existing(hardware_yaml, "hardware_yaml")
            variant = hardware.stem
        accelerator = _parse_accelerator(str(hardware))
        array = accelerator.operational_array
        self.is_imc = isinstance(array, ImcArray)
        if mapping_yaml is not None:
            mapping = _existing(mapping_yaml, "mapping_yaml")
        else:
            shipped = _MAPPING_OF.get(variant, variant) if hardware_yaml is None else ""
            if not (_inputs("mapping") / f"{shipped}.yaml").is_file():
                shipped = "default_imc" if self.is_imc else "default"
            mapping = _inputs("mapping") / f"{shipped}.yaml"
        _parse_mapping(str(mapping))

        self.variant = variant
        self.hardware_yaml = hardware
        self.mapping_yaml = mapping
        self.lpf_limit = lpf_limit or (_LPF_IMC if self.is_imc else _LPF_ARRAY)
        self.clock_ghz = clock_ghz
        self.precision = precision
        self.imc_groups = imc_groups
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.processes = processes
        self.progress = progress
        # HardwareModel declares `quantities` as a ClassVar; it depends on the hardware here, so
        # each instance shadows it: only IMC hardware has a modelled area.
        quantities = _IMC_QUANTITIES if self.is_imc else _ARRAY_QUANTITIES
        self.quantities = quantities  # type: ignore[misc]
        if clock_ghz is not None:
            self.clock_period_ns = 1.0 / clock_ghz
        elif self.is_imc:
            self.clock_period_ns = float(array.tclk)
        else:
            self.clock_period_ns = 1.0  # 1 GHz: an assumption, see the class docstring
        # Area of the macro and its memories: the same for every network (ZigZag's area_total).
        self.area_mm2: float | None = None
        if self.is_imc:
            levels = accelerator.memory_hierarchy.mem_level_list
            self.area_mm2 = float(array.area) + sum(level.memory_instance.area for level in levels)
            # Crossbar columns (outputs, along a wordline) and rows (inputs, along a bitline).
            self._imc_shape = (int(array.wordline_dim_size), int(array.bitline_dim_size))
        self._setup = _Setup(str(hardware), str(mapping), self.lpf_limit)
        self._memory: dict[ZigZagLayer, tuple[float, float]] = {}
        self._disk_loaded = False

    # -------------------------------------------------------------------------- workload
    def workload(self, graph: ArchGraph) -> list[ZigZagLayer]:
        """The layers simulated for ``graph``, repeats included (their costs add up)."""
        return [self._as_run(layer) for layer in graph_layers(graph, self.precision)]

    def _as_run(self, layer: ZigZagLayer) -> ZigZagLayer:
        """A grouped conv on IMC hardware as the crossbar stores it: groups side by side."""
        if not self.is_imc or self.imc_groups != "block_diagonal" or layer.groups == 1:
            return layer
        columns, rows = self._imc_shape
        per_array = min(columns // layer.k, rows // (layer.c * layer.kernel**2))
        if per_array <= 1:
            return layer
        arrays = math.ceil(layer.groups / per_array)
        per_array = math.ceil(layer.groups / arrays)
        return dataclasses.replace(
            layer, k=layer.k * per_array, c=layer.c * per_array, groups=arrays
        )

    # -------------------------------------------------------------------------- estimates
    def estimate(self, graph: ArchGraph) -> dict[str, float]:
        layers = self.workload(graph)
        self.simulate(layers)
        return self._totals(layers)

    def estimate_batch(self, batch: GraphBatch) -> dict[str, np.ndarray]:
        """Every architecture; the unique layers of the whole batch are simulated together."""
        workloads = [self.workload(graph) for graph in batch.iter_graphs()]
        self.simulate(layer for layers in workloads for layer in layers)
        columns = {name: np.empty(len(workloads)) for name in self.quantities}
        for position, layers in enumerate(workloads):
            for name, value in self._totals(layers).items():
                columns[name][position] = value
        return columns

    def _totals(self, layers: Sequence[ZigZagLayer]) -> dict[str, float]:
        energy_pj = sum(self._memory[layer][0] for layer in layers)
        cycles = sum(self._memory[layer][1] for layer in layers)
        totals = {
            "latency_ms": cycles * self.clock_period_ns * 1e-6,
            "energy_mj": energy_pj * 1e-9,
        }
        if self.area_mm2 is not None:
            totals["area_mm2"] = self.area_mm2
        return totals

    def layer_cost(self, layer: ZigZagLayer) -> tuple[float, float]:
        """(energy in pJ, latency in cycles) of one layer, simulated if not cached."""
        self.simulate([layer])
        return self._memory[layer]

    # -------------------------------------------------------------------------- simulation
    def simulate(self, layers: Iterable[ZigZagLayer]) -> None:
        """Simulate every layer not cached yet (each unique shape once) and cache the results."""
        todo = [layer for layer in dict.fromkeys(layers) if layer not in self._memory]
        if todo and self.cache_dir is not None and not self._disk_loaded:
            self._memory.update(
                (layer, cost)
                for layer, cost in self._read_disk().items()
                if layer not in self._memory
            )
            self._disk_loaded = True
            todo = [layer for layer in todo if layer not in self._memory]
        if not todo:
            return
        from tqdm.auto import tqdm

        done: dict[ZigZagLayer, tuple[float, float]] = {}
        bar = tqdm(
            total=len(todo),
            desc=f"ZigZag {self.variant}",
            unit="layer",
            disable=not self.progress or len(todo) < _FEW_LAYERS,
        )
        try:
            for layer, cost in self._run(todo):
                done[layer] = cost
                bar.update()
        finally:
            bar.close()
            self._memory.update(done)
            if done and self.cache_dir is not None:
                self._write_disk(done)

    def _run(self, todo: list[ZigZagLayer]) -> Iterator[tuple[ZigZagLayer, tuple[float, float]]]:
        if self.processes == 1 or len(todo) == 1:
            for layer in todo:
                yield (
                    layer,
                    self._checked(layer, functools.partial(_simulate_layer, self._setup, layer)),
                )
            return
        # Spawned, not forked: the parent may hold threads (torch, tqdm's monitor).
        context = multiprocessing.get_context("spawn")
        workers = min(self.processes, len(todo))
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_simulate_layer, self._setup, layer): layer for layer in todo}
            for future in as_completed(futures):
                layer = futures[future]
                yield layer, self._checked(layer, future.result)

    def _checked(self, layer: ZigZagLayer, run: Any) -> tuple[float, float]:
        try:
            energy_pj, cycles = run()
        except FlashNasError:
            raise
        except Exception as exc:
            raise FlashNasError(
                f"ZigZag failed on {layer} on {self.hardware_yaml.name} with mapping "
                f"{self.mapping_yaml.name}: {type(exc).__name__}: {exc}"
            ) from exc
        if not (math.isfinite(energy_pj) and math.isfinite(cycles)) or min(energy_pj, cycles) < 0:
            raise FlashNasError(
                f"ZigZag returned energy {energy_pj} pJ and latency {cycles} cycles for {layer}; "
                f"expected finite numbers >= 0."
            )
        return energy_pj, cycles

    # -------------------------------------------------------------------------- disk cache
    def cache_settings(self) -> dict[str, Any]:
        """Everything a cached layer cost depends on besides the layer itself."""
        return {
            "zigzag": _version_of(_zigzag()),
            "hardware_sha256": _file_hash(self._setup.hardware),
            "mapping_sha256": _file_hash(self._setup.mapping),
            "lpf_limit": self.lpf_limit,
            "spatial_mappings": _SPATIAL_MAPPINGS,
            "format": _CACHE_FORMAT,
        }

    @property
    def cache_file(self) -> Path | None:
        """The JSON file this model's layers are cached in, or None without ``cache_dir``."""
        if self.cache_dir is None:
            return None
        settings = json.dumps(self.cache_settings(), sort_keys=True)
        digest = hashlib.sha256(settings.encode()).hexdigest()[:16]
        return self.cache_dir / f"zigzag-{self.variant}-{digest}.json"

    def _read_disk(self) -> dict[ZigZagLayer, tuple[float, float]]:
        path = self.cache_file
        if path is None or not path.is_file():
            return {}
        try:
            content = json.loads(path.read_text())
            return {
                ZigZagLayer(*json.loads(key)): (float(value[0]), float(value[1]))
                for key, value in content["layers"].items()
            }
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise FlashNasError(
                f"The ZigZag cache file {path} is damaged ({type(exc).__name__}: {exc}); "
                f"delete it and the layers will be simulated again."
            ) from exc

    def _write_disk(self, done: dict[ZigZagLayer, tuple[float, float]]) -> None:
        """Merge ``done`` into the cache file; written whole and renamed, so never half-written."""
        path = self.cache_file
        assert path is not None  # only called with a cache_dir
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**self._read_disk(), **done}
        content = {
            "settings": {**self.cache_settings(), "hardware": self._setup.hardware},
            "fields": [field.name for field in dataclasses.fields(ZigZagLayer)],
            "values": ["energy_pj", "cycles"],
            "layers": {layer.key(): list(cost) for layer, cost in merged.items()},
        }
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(handle, "w") as stream:
                json.dump(content, stream, indent=1)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _version_of(module: ModuleType) -> str:
    return str(getattr(module, "__version__", None) or importlib.metadata.version("zigzag-dse"))


def _existing(path: str | os.PathLike[str], name: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise FileNotFoundError(
            f"The {name!r} parameter of ZigZagModel must name an existing YAML file. Got "
            f"{str(path)!r}, which does not exist."
        )
    return found


@flash_nas.hookimpl
def register_hardware(register: Any) -> None:
    register("zigzag", ZigZagModel)
