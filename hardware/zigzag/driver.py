"""Running ZigZag: importing it, reading its hardware and mapping files, simulating one layer.

The loop-order search is lowered with ``lpf_limit`` (ZigZag's default is 6; here 4 on IMC, where
2 moved results by 15--30 %, and 2 on arrays). The pipeline is built from ZigZag's stages without
its saving and visualisation stages, so nothing is written to ``./outputs`` and the root logger
is left alone (ZigZag's API sets it to INFO); ZigZag's own loggers are kept to errors while it
runs. Written against zigzag-dse 3.9.1; another version gives a warning.

A layer is simulated by :func:`simulate_layer`, a plain function of picklable arguments
(:class:`Setup`, :class:`~flash_nas_hardware.zigzag.workload.ZigZagLayer`), so that
:func:`run_layers` can hand layers to a pool of spawned processes. Parsed hardware and mapping
files are kept once per process. ZigZag is imported when first needed, never at import time.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.metadata
import logging
import math
import multiprocessing
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

from flash_nas import FlashNasError, MissingDependencyError, require
from flash_nas_hardware.zigzag.workload import DEPTHWISE_NAME, ZigZagLayer

__all__ = [
    "SPATIAL_MAPPINGS",
    "ZIGZAG_VERSION",
    "Cost",
    "Setup",
    "file_hash",
    "import_zigzag",
    "inputs_folder",
    "parse_accelerator",
    "parse_mapping",
    "run_layers",
    "shipped_variants",
    "simulate_layer",
    "version_of",
]

#: The zigzag-dse release this plugin was written and checked against.
ZIGZAG_VERSION = "3.9.1"
#: ZigZag API's default number of spatial mappings tried per layer.
SPATIAL_MAPPINGS = 3

#: One layer's (energy in pJ, latency in cycles).
Cost = tuple[float, float]


@functools.cache
def import_zigzag() -> ModuleType:
    """Import zigzag (or say which extra installs it) and warn once if it is not the pinned one."""
    module = require("zigzag", "The ZigZag simulator plugin")
    version = version_of(module)
    if version != ZIGZAG_VERSION:
        warnings.warn(
            f"flash-nas's ZigZag plugin was written and checked against zigzag-dse "
            f"{ZIGZAG_VERSION}, but {version} is installed: its stages or results may differ. "
            f"Install the checked one with: pip install 'zigzag-dse=={ZIGZAG_VERSION}'",
            UserWarning,
            stacklevel=3,
        )
    return module


def inputs_folder(kind: str) -> Path:
    """ZigZag's shipped inputs of one ``kind`` (``hardware``, ``mapping``)."""
    location = import_zigzag().__file__
    if location is None:  # a namespace package: some folder named zigzag, not zigzag-dse
        raise MissingDependencyError(
            "The ZigZag simulator plugin found a 'zigzag' without files (a folder of that name "
            "on the Python path?), not zigzag-dse. Install it with: pip install "
            "'flash-nas[zigzag]'"
        )
    return Path(location).parent / "inputs" / kind


def shipped_variants() -> list[str]:
    """Names of the hardware descriptions shipped with the installed ZigZag."""
    return sorted(path.stem for path in inputs_folder("hardware").glob("*.yaml"))


@contextmanager
def quiet_zigzag() -> Iterator[None]:
    """ZigZag warns at length about every clipped unrolling; keep its loggers to errors."""
    logger = logging.getLogger("zigzag")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@dataclass(frozen=True)
class Setup:
    """What a simulator process needs besides the layer (picklable, for the process pool)."""

    hardware: str
    mapping: str
    lpf_limit: int


def depthwise_entry(mapping: list[dict[str, Any]]) -> dict[str, Any]:
    """The mapping's default entry with K replaced by G and C dropped, so that G unrolls."""
    default = next((entry for entry in mapping if entry["name"] == "default"), None)
    if default is None:
        raise FlashNasError(
            "The ZigZag mapping has no entry named 'default'; every mapping file must have one "
            "(see zigzag/inputs/mapping/default.yaml)."
        )
    entry = copy.deepcopy(default)
    entry["name"] = DEPTHWISE_NAME

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


def _problem(exc: Exception) -> str:
    """What went wrong reading a YAML file, without its text: the file may be anything (a
    hardware_yaml= naming /etc/passwd), and YAML's and ZigZag's messages quote what they read."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{type(exc).__name__}{where}"


@functools.lru_cache(maxsize=8)
def parse_accelerator(hardware: str) -> Any:
    """ZigZag's accelerator object for a hardware description, once per process."""
    import_zigzag()
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage

    with quiet_zigzag():
        try:
            return AcceleratorParserStage.parse_accelerator(hardware)
        except Exception as exc:
            raise FlashNasError(
                f"ZigZag could not read the hardware description {hardware} "
                f"({_problem(exc)}); expected a ZigZag hardware YAML (see the ones ZigZag ships "
                f"in zigzag/inputs/hardware)."
            ) from exc


@functools.lru_cache(maxsize=8)
def parse_mapping(mapping: str) -> list[dict[str, Any]]:
    """ZigZag's mapping entries plus our depthwise entry, once per process."""
    import_zigzag()
    from zigzag.stages.parser.workload_parser import WorkloadParserStage

    with quiet_zigzag():
        try:
            entries = WorkloadParserStage.parse_mapping_data(mapping)
        except Exception as exc:
            raise FlashNasError(
                f"ZigZag could not read the mapping {mapping} ({_problem(exc)}); expected a "
                f"ZigZag mapping YAML (see zigzag/inputs/mapping)."
            ) from exc
    entries = [entry for entry in entries if entry["name"] != DEPTHWISE_NAME]
    return [*entries, depthwise_entry(entries)]


def simulate_layer(setup: Setup, layer: ZigZagLayer) -> Cost:
    """(energy in pJ, latency in cycles) of one layer: ZigZag's stages minus saving/plotting."""
    import_zigzag()
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
    from zigzag.stages.stage import StageCallable
    from zigzag.stages.workload_iterator import WorkloadStage

    accelerator, mapping = parse_accelerator(setup.hardware), parse_mapping(setup.mapping)
    is_imc = isinstance(accelerator.operational_array, ImcArray)
    with quiet_zigzag():
        validator = WorkloadValidator([layer.zigzag()])
        data = validator.normalized_data
        if not validator.validate():
            raise FlashNasError(f"ZigZag rejected the layer {layer}: {validator.validator.errors}")
        workload = WorkloadFactory(data, mapping).create()
        # The stock API's pipeline (zigzag.api) minus its save, pickle, sum, visualisation and
        # inter-layer locality stages: one layer in, its best mapping out.
        # A cast, not a check: ZigZag's StageCallable protocol leaves out the keyword-only
        # arguments (accelerator, layer...) its own stage classes require.
        stages = cast(
            "list[StageCallable]",
            [
                WorkloadStage,
                MinimalLatencyStage,
                SpatialMappingGeneratorStage,
                MinimalLatencyStage,
                TemporalMappingGeneratorStage,
                CostModelStage,
            ],
        )
        results = MainStage(
            stages,
            accelerator=accelerator,
            workload=workload,
            loma_lpf_limit=setup.lpf_limit,
            loma_show_progress_bar=False,
            nb_mappings_generated=SPATIAL_MAPPINGS,
            enable_mix_spatial_mapping_generation=is_imc,
            access_same_data_considered_as_no_access=True,
            temporal_mapping_type=TemporalMappingType.UNEVEN,
        ).run()
    if len(results) != 1:
        raise FlashNasError(f"ZigZag returned {len(results)} results for the layer {layer}.")
    cme = results[0][0]
    return float(cme.energy_total), float(cme.latency_total2)


def file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def version_of(module: ModuleType) -> str:
    return str(getattr(module, "__version__", None) or importlib.metadata.version("zigzag-dse"))


def run_layers(
    setup: Setup, layers: Sequence[ZigZagLayer], processes: int = 1
) -> Iterator[tuple[ZigZagLayer, Cost]]:
    """Simulate ``layers`` (each once), in this process or in ``processes`` spawned ones, and
    yield each with its checked cost as it is done (in order of completion)."""
    if processes == 1 or len(layers) == 1:
        for layer in layers:
            yield layer, _checked(setup, layer, functools.partial(simulate_layer, setup, layer))
        return
    # Spawned, not forked: the parent may hold threads (torch, tqdm's monitor).
    context = multiprocessing.get_context("spawn")
    workers = min(processes, len(layers))
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(simulate_layer, setup, layer): layer for layer in layers}
        for future in as_completed(futures):
            layer = futures[future]
            yield layer, _checked(setup, layer, future.result)


def _checked(setup: Setup, layer: ZigZagLayer, run: Callable[[], Cost]) -> Cost:
    """``run()``'s cost of ``layer``, or an error saying what ZigZag did with it."""
    try:
        energy_pj, cycles = run()
    except FlashNasError:
        raise
    except Exception as exc:
        raise FlashNasError(
            f"ZigZag failed on {layer} on {Path(setup.hardware).name} with mapping "
            f"{Path(setup.mapping).name}: {type(exc).__name__}: {exc}"
        ) from exc
    if not (math.isfinite(energy_pj) and math.isfinite(cycles)) or min(energy_pj, cycles) < 0:
        raise FlashNasError(
            f"ZigZag returned energy {energy_pj} pJ and latency {cycles} cycles for {layer}; "
            f"expected finite numbers >= 0."
        )
    return energy_pj, cycles
