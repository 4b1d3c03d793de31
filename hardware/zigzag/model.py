"""The ZigZag simulator as a flash-nas hardware model: :class:`ZigZagModel`.

It checks its arguments, picks the hardware and mapping files, turns each network into its
workload (:mod:`flash_nas_hardware.zigzag.workload`), has the layers the cache
(:mod:`flash_nas_hardware.zigzag.cache`) lacks simulated (:mod:`flash_nas_hardware.zigzag.driver`)
and adds up their costs. What it simulates and at what price: :mod:`flash_nas_hardware.zigzag.sim`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas import ArchGraph, GraphBatch, UnknownNameError
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.progress import progress_wanted
from flash_nas.validation import check_choice, check_int, check_number, check_optional
from flash_nas_hardware.zigzag.cache import LayerCache, cache_path, write_cache_file
from flash_nas_hardware.zigzag.driver import (
    SPATIAL_MAPPINGS,
    Cost,
    Setup,
    file_hash,
    import_zigzag,
    inputs_folder,
    parse_accelerator,
    parse_mapping,
    run_layers,
    shipped_variants,
    version_of,
)
from flash_nas_hardware.zigzag.workload import ZigZagLayer, graph_layers, stored_block_diagonally

__all__ = ["ZigZagModel"]

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
# Fewer layers than this to simulate: no progress bar.
_FEW_LAYERS = 4
# Bump when the ZigZag layer dicts or the derived mapping entry change: old disk caches go stale.
_CACHE_FORMAT = 1
_IMC_GROUPS = ("block_diagonal", "zigzag")
_IMC_QUANTITIES = ("latency_ms", "energy_mj", "area_mm2")
_ARRAY_QUANTITIES = ("latency_ms", "energy_mj")


class ZigZagModel(HardwareModel):
    """Latency, energy and (IMC only) area of a network, simulated layer by layer with ZigZag.

    ``variant``: a hardware description shipped with ZigZag (``aimc``, ``dimc``, ``tpu_like``...;
    :func:`shipped_variants` lists them). ``hardware_yaml``: a user's own description, used
    instead of ``variant`` (which then becomes the file's name). ``mapping_yaml``: the mapping;
    by default the one ZigZag ships for the variant (``default_imc.yaml`` for a user's IMC
    hardware, ``default.yaml`` otherwise).

    ``lpf_limit``: depth of ZigZag's loop-order search (loop prime factors kept); None gives 4
    on IMC hardware and 2 on arrays, against ZigZag's 6 (:mod:`flash_nas_hardware.zigzag.sim`).
    ``clock_ghz``: ZigZag counts cycles; IMC hardware models its own clock period (``tclk``),
    arrays do not, so there latency = cycles / ``clock_ghz``, **1 GHz by assumption** (ZigZag's
    array descriptions state no clock). A number here overrides IMC's ``tclk`` too.
    ``precision``: bits of weights and activations (8, as the shipped hardware). ``imc_groups``:
    how grouped convs run on IMC hardware (:mod:`flash_nas_hardware.zigzag.workload`).
    ``area_mm2`` is the accelerator's (IMC macro and memories), the same for every network.

    ``cache_dir``: also keep simulated layers on disk (one JSON file per hardware, mapping,
    ``lpf_limit`` and zigzag version). ``processes``: simulate unique layers in this many
    processes (spawned: a script using it needs the ``if __name__ == "__main__"`` guard).
    ``progress``: show a progress bar when more than a few layers are simulated (default:
    as flash-nas's progress switch says, so that ``--quiet`` silences it:
    :func:`flash_nas.plugins.progress.progress_wanted`).
    """

    file_options = ("hardware_yaml", "mapping_yaml")
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
        progress: bool | None = None,
    ) -> None:
        import_zigzag()
        from zigzag.hardware.architecture.imc_array import ImcArray

        for name, value in (("precision", precision), ("processes", processes)):
            check_int(value, name, owner="ZigZagModel", low=1)
        check_optional(check_int, lpf_limit, "lpf_limit", owner="ZigZagModel", low=1)
        check_optional(check_number, clock_ghz, "clock_ghz", owner="ZigZagModel", positive=True)
        check_choice(imc_groups, "imc_groups", _IMC_GROUPS, owner="ZigZagModel")

        if hardware_yaml is None:
            variants = shipped_variants()
            if variant not in variants:
                raise UnknownNameError(
                    f"Unknown ZigZag hardware {variant!r}; expected one of: "
                    f"{', '.join(variants)} (ZigZag's zigzag/inputs/hardware), or pass "
                    f"hardware_yaml= a description of your own."
                )
            hardware = inputs_folder("hardware") / f"{variant}.yaml"
        else:
            hardware = _existing(hardware_yaml, "hardware_yaml")
            variant = hardware.stem
        accelerator = parse_accelerator(str(hardware))
        array = accelerator.operational_array
        self.is_imc = isinstance(array, ImcArray)
        if mapping_yaml is not None:
            mapping = _existing(mapping_yaml, "mapping_yaml")
        else:
            shipped = _MAPPING_OF.get(variant, variant) if hardware_yaml is None else ""
            if not (inputs_folder("mapping") / f"{shipped}.yaml").is_file():
                shipped = "default_imc" if self.is_imc else "default"
            mapping = inputs_folder("mapping") / f"{shipped}.yaml"
        parse_mapping(str(mapping))

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
        # Only IMC hardware has a modelled area.
        quantities = _IMC_QUANTITIES if self.is_imc else _ARRAY_QUANTITIES
        self.quantities = quantities
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
        self._setup = Setup(str(hardware), str(mapping), self.lpf_limit)
        self._cache = LayerCache()

    # -------------------------------------------------------------------------- workload
    def workload(self, graph: ArchGraph) -> list[ZigZagLayer]:
        """The layers simulated for ``graph``, repeats included (their costs add up)."""
        layers = graph_layers(graph, self.precision)
        if not self.is_imc or self.imc_groups != "block_diagonal":
            return layers
        # A grouped conv on IMC hardware as the crossbar stores it: groups side by side.
        return [stored_block_diagonally(layer, *self._imc_shape) for layer in layers]

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
        energy_pj = sum(self._cache[layer][0] for layer in layers)
        cycles = sum(self._cache[layer][1] for layer in layers)
        totals = {
            "latency_ms": cycles * self.clock_period_ns * 1e-6,
            "energy_mj": energy_pj * 1e-9,
        }
        if self.area_mm2 is not None:
            totals["area_mm2"] = self.area_mm2
        return totals

    def layer_cost(self, layer: ZigZagLayer) -> Cost:
        """(energy in pJ, latency in cycles) of one layer, simulated if not cached."""
        self.simulate([layer])
        return self._cache[layer]

    # -------------------------------------------------------------------------- simulation
    def simulate(self, layers: Iterable[ZigZagLayer]) -> None:
        """Simulate every layer not cached yet (each unique shape once) and cache the results."""
        todo = self._cache.missing(layers)
        path = None if self.cache_dir is None or not todo else self.cache_file
        if path is not None and not self._cache.file_read:
            self._cache.read(path)
            todo = self._cache.missing(todo)
        if not todo:
            return
        from tqdm.auto import tqdm

        done: dict[ZigZagLayer, Cost] = {}
        bar = tqdm(
            total=len(todo),
            desc=f"ZigZag {self.variant}",
            unit="layer",
            disable=not self._show_progress() or len(todo) < _FEW_LAYERS,
        )
        try:
            for layer, cost in run_layers(self._setup, todo, self.processes):
                done[layer] = cost
                bar.update()
        finally:
            bar.close()
            self._cache.add(done)
            if done and path is not None:
                settings = {**self.cache_settings(), "hardware": self._setup.hardware}
                write_cache_file(path, done, settings)

    def _show_progress(self) -> bool:
        if self.progress is not None:
            return bool(self.progress)
        return progress_wanted()

    # -------------------------------------------------------------------------- disk cache
    def cache_settings(self) -> dict[str, Any]:
        """Everything a cached layer cost depends on besides the layer itself."""
        return {
            "zigzag": version_of(import_zigzag()),
            "hardware_sha256": file_hash(self._setup.hardware),
            "mapping_sha256": file_hash(self._setup.mapping),
            "lpf_limit": self.lpf_limit,
            "spatial_mappings": SPATIAL_MAPPINGS,
            "format": _CACHE_FORMAT,
        }

    @property
    def cache_file(self) -> Path | None:
        """The JSON file this model's layers are cached in, or None without ``cache_dir``."""
        if self.cache_dir is None:
            return None
        return cache_path(self.cache_dir, self.variant, self.cache_settings())


def _existing(path: str | os.PathLike[str], name: str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise FileNotFoundError(
            f"The {name!r} parameter of ZigZagModel must name an existing YAML file. Got "
            f"{str(path)!r}, which does not exist."
        )
    return found
