"""FLASH's own search space (Li, Mandal, Ogras, Marculescu, TECS 2021) as a flash-nas adapter.

The room of the adapter: :class:`FlashSpaceAdapter` holds a space's options, checks
architectures against them, and hands each question to the module that answers it. It converts
between these representations:

* **text** and **arch** (a tuple of :class:`CellConfig`) -- written and read by
  :mod:`~flash_nas_adapters.flash.encoding`.
* **configs** -- the same numbers as an int array of shape ``(n, n_cells, 3)``: the form
  :class:`FlashBatch` (:mod:`~flash_nas_adapters.flash.batch`) scores in closed form
  (:mod:`~flash_nas_adapters.flash.formulas`), without building graphs; drawn and listed by
  :mod:`~flash_nas_adapters.flash.sampling`.
* **ArchGraph** -- the whole network, built by :meth:`FlashSpaceAdapter.to_graph` from the cells
  of :mod:`~flash_nas_adapters.flash.blocks` and the outline of
  :mod:`~flash_nas_adapters.flash.network`; hardware costs are summed part by part
  (:mod:`~flash_nas_adapters.flash.part_sums`).
* **relaxed point** -- per cell a width index, a depth index and a skip density in [0, 1]: the
  box :class:`FlashRelaxation` (:mod:`~flash_nas_adapters.flash.relaxation`) gives SHGO.

The space is counted exactly: per cell, every allowed (width, depth) with every skip count
0..capacity; cells choose independently. The default ranges (widths 16..64 step 8, depths 2..6)
give 5,635 choices per cell and 5,635**3 = 178,929,422,875 architectures for the dense block, more
than the "63 billion" FLASH reports (its ranges were not recovered).

Imports point one way: ``flash_formulas`` <- ``flash_blocks`` <- ``flash_network`` <-
``flash_part_sums``; ``flash_encoding``, ``flash_options`` and ``flash_sampling`` stand alone;
``flash_batch`` and ``flash_relaxation`` name the adapter only in annotations, so this module
imports every one of them plainly (``tests/test_flash_modules.py`` holds that). Every name
importable from here before the split still is (tests, benchmarks and the README use them);
the entry point ``flash`` names this module, which registers the plugin's hooks.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

import flash_nas
from flash_nas import Adapter, ArchFormatError, ArchGraph, UnknownNameError
from flash_nas.errors import quote
from flash_nas_adapters.flash.batch import FlashBatch
from flash_nas_adapters.flash.blocks import BLOCK_KINDS, BLOCKS
from flash_nas_adapters.flash.encoding import (
    CellConfig,
    FlashArch,
    format_text,
    parse_text,
    text_form,
)
from flash_nas_adapters.flash.formulas import CellArrays, metric_arrays, pair_count
from flash_nas_adapters.flash.network import FlashNetwork, Part, PartKey
from flash_nas_adapters.flash.options import (
    DEFAULT_DEPTHS,
    DEFAULT_WIDTHS,
    ENUMERATE_LIMIT,
    LIMITS,
    check_int,
    listing,
    per_cell,
)
from flash_nas_adapters.flash.part_sums import EdgeCounter, PartSumMemos
from flash_nas_adapters.flash.relaxation import FlashRelaxation
from flash_nas_adapters.flash.sampling import all_configs, draw_configs

if TYPE_CHECKING:  # the NNI translation loads only when a search space comes
    from flash_nas.plugins.translator import SpaceTranslator

__all__ = [
    "BLOCKS",
    "DEFAULT_DEPTHS",
    "DEFAULT_WIDTHS",
    "ENUMERATE_LIMIT",
    "LIMITS",
    "CellConfig",
    "FlashArch",
    "FlashBatch",
    "FlashRelaxation",
    "FlashSpaceAdapter",
    "register_adapters",
    "translate_search_space",
]


class FlashSpaceAdapter(Adapter):
    """FLASH's space: ``n_cells`` cells, each choosing a width, a depth and its skips.

    Parameters (all keyword, all with defaults):

    * ``block`` -- ``"dense"`` (FLASH's), ``"resnet"`` or ``"mobilenet"``; see
      :mod:`~flash_nas_adapters.flash.blocks`.
    * ``widths``, ``depths`` -- allowed values, one sequence shared by every cell or one per cell.
    * ``n_cells`` (3), ``input_size`` (32: a 32x32 RGB image), ``num_classes`` (10).
    * ``skip_seed`` (0) -- fixes how each cell's skips are laid out over its layer pairs.
    * ``expansion`` (4) -- the mobilenet block's expansion ratio; the other blocks ignore it.

    Stated limits (:data:`LIMITS`): ``input_size`` <= 4096, widths <= 8192, depths <= 1024,
    ``n_cells`` <= 64, ``num_classes`` <= 10^6, ``expansion`` <= 64; a value beyond them raises
    :class:`~flash_nas.errors.ParameterError`. Metrics are computed in float64 (exact below
    2^53), so no value within the limits overflows.
    """

    description: ClassVar[str] = (
        "FLASH's own space: cells of DenseNet-, ResNet- or MobileNet-type layers choosing "
        "width, depth and skip connections (Li et al., TECS 2021)"
    )

    def __init__(
        self,
        *,
        block: str = "dense",
        widths: Sequence[int] | Sequence[Sequence[int]] = DEFAULT_WIDTHS,
        depths: Sequence[int] | Sequence[Sequence[int]] = DEFAULT_DEPTHS,
        n_cells: int = 3,
        input_size: int = 32,
        num_classes: int = 10,
        skip_seed: int = 0,
        expansion: int = 4,
    ) -> None:
        if block not in BLOCK_KINDS:
            raise UnknownNameError(
                f"Unknown FLASH block {block!r}; expected one of {', '.join(BLOCKS)}."
            )
        self.block = block
        self.n_cells = check_int("n_cells", n_cells, 1)
        self.widths = per_cell("widths", widths, self.n_cells)
        self.depths = per_cell("depths", depths, self.n_cells)
        self.input_size = check_int("input_size", input_size, 1)
        self.num_classes = check_int("num_classes", num_classes, 1)
        self.skip_seed = check_int("skip_seed", skip_seed, 0)
        self.expansion = check_int("expansion", expansion, 1)
        self._block = BLOCK_KINDS[block]
        self._network = FlashNetwork(
            self._block,
            n_cells=self.n_cells,
            input_size=self.input_size,
            num_classes=self.num_classes,
            skip_seed=self.skip_seed,
            expansion=self.expansion,
        )
        self._part_sums = PartSumMemos()

    def __repr__(self) -> str:
        return (
            f"FlashSpaceAdapter(block={self.block!r}, n_cells={self.n_cells}, "
            f"input_size={self.input_size}, num_classes={self.num_classes}, "
            f"skip_seed={self.skip_seed}, expansion={self.expansion})"
        )

    # ------------------------------------------------------------------------ the space's rules
    def encode(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Per cell: width and depth as positions in their allowed ranges, and the skip density
        (skips over the cell's capacity), each in [0, 1] (the choices are ordered)."""
        rows = []
        for arch in archs:
            row: list[float] = []
            for cell, (width, depth, skips) in enumerate(self.check(arch)):
                widths, depths = self.widths[cell], self.depths[cell]
                row.append(widths.index(width) / max(len(widths) - 1, 1))
                row.append(depths.index(depth) / max(len(depths) - 1, 1))
                capacity = self.skip_capacity(width, depth)
                row.append(skips / capacity if capacity else 0.0)
            rows.append(row)
        return np.asarray(rows, dtype=float).reshape(len(rows), 3 * self.n_cells)

    def encoding_groups(self) -> list[int]:
        """Width, depth and skip density each share one length scale across cells."""
        return [0, 1, 2] * self.n_cells

    def cut_off(self, archs: Sequence[Hashable]) -> np.ndarray:
        """Never: every layer of a FLASH cell feeds the next, so no output is cut off."""
        return np.zeros(len(archs), dtype=bool)

    def skip_capacity(self, width: int, depth: int) -> int:
        """Most skips (in this block's unit: channels or links) a cell of this shape allows."""
        return self._block.capacity(width, depth)

    def _options(self, cell: int) -> list[tuple[int, int, int]]:
        """Every allowed ``(width, depth, capacity)`` of ``cell``."""
        return [
            (width, depth, self.skip_capacity(width, depth))
            for width in self.widths[cell]
            for depth in self.depths[cell]
        ]

    def size(self) -> int:
        """Exact count: per cell, every (width, depth) with each skip count 0..capacity."""
        total = 1
        for cell in range(self.n_cells):
            total *= sum(capacity + 1 for _, _, capacity in self._options(cell))
        return total

    def relaxation(self, densities: Sequence[float] | None = None) -> FlashRelaxation:
        """Widths and depths (level 1), then skip densities (level 2): see
        :class:`FlashRelaxation`; ``densities`` restricts the skips to a grid."""
        return FlashRelaxation(self, densities)

    def skip_layout(self, arch: Hashable) -> tuple[dict[tuple[int, int], int], ...]:
        """Per cell, ``{(layer, source layer): skips}`` for the pairs that carry any."""
        cells = self.check(arch)
        return tuple(self._network.layout(cell, config) for cell, config in enumerate(cells))

    def check(self, arch: Hashable) -> FlashArch:
        """``arch`` as a tuple of :class:`CellConfig`; ArchFormatError if it is not in the space."""
        rows: Any = arch
        try:
            cells = [tuple(map(operator.index, row)) for row in rows]
        except TypeError:
            cells = []
        if len(cells) != self.n_cells or any(len(cell) != 3 for cell in cells):
            raise ArchFormatError(
                f"Expected a FLASH architecture as {self.n_cells} (width, depth, skips) triples "
                f"of ints, one per cell (n_cells={self.n_cells}); got {quote(arch)}."
            )
        return tuple(self._check_cell(c, CellConfig(*cell)) for c, cell in enumerate(cells))

    def _check_cell(self, cell: int, config: CellConfig) -> CellConfig:
        width, depth, skips = config
        for name, value, allowed in (
            ("width", width, self.widths[cell]),
            ("depth", depth, self.depths[cell]),
        ):
            if value not in allowed:
                raise ArchFormatError(
                    f"Cell {cell + 1}: {name} {value} is not allowed; expected one of "
                    f"{listing(allowed)}."
                )
        capacity = self.skip_capacity(width, depth)
        if not 0 <= skips <= capacity:
            raise ArchFormatError(
                f"Cell {cell + 1}: {skips} skip {self._block.unit} is out of range for a "
                f"{self.block} cell of width {width} and depth {depth}; expected 0..{capacity} "
                f"(capacity {self._block.capacity_formula})."
            )
        return config

    def check_configs(self, configs: Any) -> np.ndarray:
        """``configs`` as an int64 array ``(n, n_cells, 3)`` of architectures in the space."""
        array = np.asarray(configs)
        if array.ndim != 3 or array.shape[1:] != (self.n_cells, 3):
            raise ArchFormatError(
                f"Expected a config array of shape (n, {self.n_cells}, 3), (width, depth, skips) "
                f"per cell; got shape {array.shape}."
            )
        if array.size and not np.issubdtype(array.dtype, np.integer):
            raise ArchFormatError(f"Configs must be integers; got dtype {array.dtype}.")
        array = array.astype(np.int64, copy=False)
        bad = ~self._valid(array)
        if bad.any():
            row = int(np.argmax(bad))
            try:
                self.check(array[row].tolist())
            except ArchFormatError as exc:
                raise ArchFormatError(f"Row {row}: {exc}") from None
        return array

    def _valid(self, array: np.ndarray) -> np.ndarray:
        valid = np.ones(len(array), dtype=bool)
        for cell in range(self.n_cells):
            width, depth, skips = array[:, cell].T
            capacity = pair_count(depth) * self._block.per_pair(width)
            valid &= np.isin(width, self.widths[cell]) & np.isin(depth, self.depths[cell])
            valid &= (skips >= 0) & (skips <= capacity)
        return valid

    # ---------------------------------------------------------------------------- text form
    @property
    def text_form(self) -> str:
        """The canonical text's shape, for error messages: ``dense:w=W1,W2,W3;d=...;t=...``."""
        return text_form(self.block, self.n_cells)

    def format(self, arch: Hashable) -> str:
        return format_text(self.block, self.check(arch))

    def parse(self, text: str) -> FlashArch:
        return self.check(parse_text(text, self.block, self.n_cells))

    # ---------------------------------------------------------------------------------- graph
    def to_graph(self, arch: Hashable) -> ArchGraph:
        cells = self.check(arch)
        return self._network.graph(cells, name=self.format(cells))

    def _part(self, key: PartKey) -> Part:
        """The part ``key`` of the network (:meth:`FlashNetwork.part`); the one place part sums
        build parts, so a test can count the builds."""
        return self._network.part(key)

    def _edge_sums(self, configs: np.ndarray, count: EdgeCounter, size: int) -> np.ndarray:
        """:meth:`FlashBatch.edge_sums`: per row of checked ``configs``, the sum over the
        network's edges of ``count(edge)``, each distinct part counted once per ``count``."""
        sums = self._part_sums.sums(self._part, count, size)
        return sums.totals([self._network.part_keys(row) for row in configs.tolist()])

    # -------------------------------------------------------------------------------- batches
    def sample(self, n: int, seed: int, *, replace: bool = False) -> FlashBatch:
        """``n`` distinct architectures drawn uniformly from the space, without replacement
        (``replace=True``: independent draws, which may repeat).

        Per cell, one integer uniform over that cell's choices picks both the (width, depth) --
        so each is drawn in proportion to its capacity + 1 -- and the skip count within it;
        cells draw independently, so the whole space is uniform. A draw that repeats an earlier
        one is replaced by a fresh draw (rejection keeps the sample uniform among the sets of
        ``n`` distinct architectures); a sample without repeats is the same as before. Asking
        for more than :meth:`size` gives the whole space in random order.
        """
        n = check_int("n", n, 0, owner="FlashSpaceAdapter.sample", maximum=10**8)
        if not replace:
            # a space smaller than the request gives all of it, shuffled (the random-search
            # baseline asks for batches larger than a tiny space); the CLI refuses such requests
            # with a message before it gets here
            n = min(n, self.size())
        rng = np.random.default_rng(seed)
        if not replace and 2 * n > self.size() and self.size() <= ENUMERATE_LIMIT:
            # most of a small space: rejection would redraw for ever; pick from the whole list
            whole = self.enumerate().configs
            return FlashBatch(self, whole[rng.choice(len(whole), size=n, replace=False)])
        options = [self._options(cell) for cell in range(self.n_cells)]
        return FlashBatch(self, draw_configs(options, n, rng, replace=replace))

    def enumerate(self) -> FlashBatch:
        """Every architecture, cell 1's choices slowest, where there are at most
        :data:`ENUMERATE_LIMIT` (a space narrowed by ``widths``/``depths``/``n_cells``)."""
        if self.size() > ENUMERATE_LIMIT:
            super().enumerate()  # raises NotSupportedError, saying to sample instead
        return FlashBatch(self, all_configs([self._options(c) for c in range(self.n_cells)]))

    def batch(self, archs: Sequence[Hashable]) -> FlashBatch:
        rows = [self.check(arch) for arch in archs]
        return FlashBatch(self, np.array(rows, dtype=np.int64).reshape(-1, self.n_cells, 3))

    def _cell_arrays(self, configs: np.ndarray) -> CellArrays:
        """Checked ``configs`` as the float arrays the closed forms take."""
        return CellArrays.of(configs, self._network.sizes, self.expansion, self._block.per_pair)

    def _metric_arrays(
        self, configs: np.ndarray | CellArrays, names: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """The metrics ``names`` (default: every one :class:`FlashBatch` knows) per row of
        checked ``configs``, as floats; only the formulas asked for are evaluated."""
        cells = configs if isinstance(configs, CellArrays) else self._cell_arrays(configs)
        return metric_arrays(cells, self._block.metrics, self.num_classes, names)


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    register("flash", FlashSpaceAdapter)


@flash_nas.hookimpl
def translate_search_space(
    adapter: Adapter, search_space: dict[str, Any], build: Callable[..., Adapter]
) -> SpaceTranslator | None:
    """``width_{c}``, ``depth_{c}``, ``skips_{c}`` (:mod:`flash_nas_adapters.flash.params`)."""
    if isinstance(adapter, FlashSpaceAdapter):
        from flash_nas_adapters.flash.params import FlashTranslator

        return FlashTranslator(build, search_space)
    return None
