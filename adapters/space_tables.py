"""The accuracy tables of NAS-Bench-101, NAS-Bench-301 and TransNAS-Bench-101 micro.

Each reads the compact copy shipped in ``adapters/data`` (sources in its README), or a user's CSV
with an ``arch`` column in the space's text, and declares the range and direction of every label
column (:class:`flash_nas.io.tables.LabelScale`), so that a search reads a negative loss or an SSIM
right. Tables are read once per process.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from flash_nas import Table, TableError, read_table
from flash_nas.io.tables import PERCENT, LabelScale

NB101_FILE = "nb101_cifar10_500.csv.gz"
NB301_FILE = "nb301_cifar10_500.csv.gz"
TNB101_FILE = "tnb101_micro.csv.gz"

#: TransNAS-Bench-101 micro: task -> (label column, its scale, classes of its head or None).
#: Every column is stored higher-is-better (room layout as a negative L2 loss).
TNB101_TASKS: dict[str, tuple[str, LabelScale, int | None]] = {
    "class_scene": ("class_scene_valid_top1", PERCENT, 63),
    "class_object": ("class_object_valid_top1", PERCENT, 100),
    "jigsaw": ("jigsaw_valid_top1", PERCENT, 1000),
    "room_layout": ("room_layout_valid_neg_loss", LabelScale(-10.0, 0.0, True, "-L2 loss"), None),
    "segmentsemantic": ("segmentsemantic_valid_acc", PERCENT, None),
    "normal": ("normal_valid_ssim", LabelScale(0.0, 1.0, True, "SSIM"), None),
    "autoencoder": ("autoencoder_valid_ssim", LabelScale(0.0, 1.0, True, "SSIM"), None),
}

_CACHE: dict[str, Table] = {}


def data_path(name: str) -> Path:
    """Path of a table shipped in ``flash_nas_adapters/data``."""
    return Path(str(resources.files("flash_nas_adapters") / "data" / name))


def _load(
    path: str | Path | None, shipped: str, required: tuple[str, ...], scales: dict[str, LabelScale]
) -> Table:
    """A user's table is read every time (it may change); a shipped one once."""
    key = str(path or data_path(shipped))
    if path is not None or key not in _CACHE:
        table = read_table(key, required=required)
        for column, scale in scales.items():
            values = table.columns.get(column)
            if values is not None and not all(scale.contains(v) for v in values):
                raise TableError(
                    f"{table.source}: column {column!r} has values outside its declared range "
                    f"{scale.low}..{scale.high} ({scale.unit})."
                )
        declared = {c: s for c, s in scales.items() if c in table.columns and s != PERCENT}
        loaded = Table(table.archs, table.columns, table.indices, table.source, declared)
        if path is not None:
            return loaded
        _CACHE[key] = loaded
    return _CACHE[key]


def nasbench101_table(path: str | Path | None = None) -> Table:
    """NAS-Lib's 500 NAS-Bench-101 cells: ``val_accuracy`` (%, 108 epochs, one of the three
    training runs, as the API samples it). ``path``: your own CSV in the same form."""
    return _load(path, NB101_FILE, ("val_accuracy",), {"val_accuracy": PERCENT})


def nasbench301_table(path: str | Path | None = None) -> Table:
    """NAS-Lib's 500 NAS-Bench-301 cells: ``val_accuracy`` (%), the NAS-Bench-301 v1.0 XGB
    surrogate's CIFAR-10 prediction (one noisy draw), not a trained result."""
    return _load(path, NB301_FILE, ("val_accuracy",), {"val_accuracy": PERCENT})


def transnas101_table(path: str | Path | None = None) -> Table:
    """All 4,096 TransNAS-Bench-101 micro cells, one column per task (final-epoch validation
    metric, higher is better as stored): see :data:`TNB101_TASKS` for columns and scales."""
    scales = {column: scale for column, scale, _ in TNB101_TASKS.values()}
    return _load(path, TNB101_FILE, (), scales)
