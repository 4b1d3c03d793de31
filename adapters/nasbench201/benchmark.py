"""Read the official NAS-Bench-201 benchmark file into a :class:`flash_nas.Table`.

The file (``NAS-Bench-201-v1_1-096897.pth``, or the older ``NAS-Bench-201-v1_0-e61699.pth``) is a
torch pickle of one dict:

* ``meta_archs``: the 15,625 arch strings; a string's position is its official index;
* ``evaluated_indexes``: the indexes that were trained;
* ``arch2infos``: index -> ``{'less': ..., 'full': ...}``, the state dicts of ``nas_201_api``'s
  ``ArchResults`` for the 12-epoch (``hp='12'``) and 200-epoch (``hp='200'``) training. Each holds
  one ``ResultsCount`` per (dataset, seed), whose accuracies (in %) are keyed ``'x-valid@199'``,
  ``'ori-test@199'`` and so on.

Numbers are read through ``nas_201_api``'s own ``ArchResults.get_metrics(..., is_random=False)``,
the seed mean that ``NASBench201API.get_more_info(..., is_random=False)`` returns. The dict is not
handed to ``NASBench201API`` itself: its constructor deep-copies the whole benchmark, doubling the
memory the loaded file already takes (several GB for the real one).

**Security**: a pickle runs code while it loads. Only read a file you downloaded yourself from
the benchmark's official source, never one someone sent you.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from flash_nas import ArchFormatError, Table, TableError, UnknownNameError, require
from flash_nas.plugins.progress import progress_wanted
from flash_nas.validation import ParameterError
from flash_nas_adapters.nasbench201.encoding import ops_from_string, ops_to_string

__all__ = ["ACCURACY_COLUMNS", "PICKLE_WARNING", "TRAIN_TIME_COLUMNS", "read_benchmark_file"]

#: Dataset -> (evaluation set in the file, column) pairs; names match the shipped CIFAR-10 table.
ACCURACY_COLUMNS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "cifar10-valid": (("x-valid", "c10_valid"), ("ori-test", "c10_valid_test")),
    "cifar10": (("ori-test", "c10_test"),),
    "cifar100": (("x-valid", "c100_valid"), ("x-test", "c100_test")),
    "ImageNet16-120": (("x-valid", "in16_valid"), ("x-test", "in16_test")),
}
#: Dataset -> column of the training time in seconds (all epochs, mean over seeds).
TRAIN_TIME_COLUMNS: Mapping[str, str] = {
    "cifar10-valid": "c10_valid_train_time_s",
    "cifar10": "c10_train_time_s",
    "cifar100": "c100_train_time_s",
    "ImageNet16-120": "in16_train_time_s",
}
#: hp -> key of its ArchResults in each ``arch2infos`` record.
_HP_KEYS = {"12": "less", "200": "full"}
_TOP_KEYS = ("meta_archs", "arch2infos", "evaluated_indexes")
_PROGRESS_FROM = 1000

PICKLE_WARNING = (
    "The NAS-Bench-201 file is a pickle, and loading a pickle runs code: only read a file you "
    "downloaded yourself from the official source (NAS-Bench-201-v1_1-096897.pth)."
)


def read_benchmark_file(
    path: str | Path,
    *,
    datasets: str | Iterable[str] = ("cifar10-valid", "cifar10"),
    hp: str | int = "200",
    train_times: bool = True,
) -> Table:
    """Accuracies (%, mean over the seeds trained) of every evaluated architecture in ``path``.

    ``path`` is the official NAS-Bench-201 file, e.g. ``NAS-Bench-201-v1_1-096897.pth``.
    **Loading it runs code** (it is a pickle): only pass a file you downloaded yourself. The real
    file is several GB, and loading it takes a while and much memory.

    ``datasets`` picks among ``cifar10-valid``, ``cifar10``, ``cifar100`` and ``ImageNet16-120``
    (columns in :data:`ACCURACY_COLUMNS`); ``hp`` is ``'200'`` (200 epochs, the usual target) or
    ``'12'``. With ``train_times`` each dataset also gets its training time in seconds
    (:data:`TRAIN_TIME_COLUMNS`): the times the benchmark stores, which are estimates (the same time
    every epoch; cifar10's is exactly twice cifar10-valid's), not per-run measurements.

    The table's ``archs`` are the arch strings and its ``indices`` the official indexes, in index
    order. Only architectures in ``evaluated_indexes`` are read; one that lacks a requested dataset
    or number is an error naming it, never a dropped row.
    """
    names = _check_datasets(datasets)
    hp_key = _check_hp(hp)
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise TableError(
            f"NAS-Bench-201 file {source!r} "
            f"{'is a directory' if path.is_dir() else 'does not exist'}; expected the path of "
            f"the official benchmark file such as NAS-Bench-201-v1_1-096897.pth. {PICKLE_WARNING}"
        )
    torch = require("torch", "Reading the official NAS-Bench-201 file")
    api = require("nas_201_api", "Reading the official NAS-Bench-201 file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
    except MemoryError:  # the full file is big; running out of memory is not a broken file
        raise
    except Exception as exc:  # unpickling can fail in any way a broken or foreign file makes it
        raise TableError(
            f"{source}: cannot read it as a torch pickle ({type(exc).__name__}: {exc}); expected "
            f"the official NAS-Bench-201 file such as NAS-Bench-201-v1_1-096897.pth. Download it "
            f"again if it may be truncated. {PICKLE_WARNING}"
        ) from exc
    meta_archs, arch2infos, indexes = _check_layout(data, source)
    archs: list[str] = []
    columns: dict[str, list[float]] = {
        column: [] for name in names for column in _columns_of(name, train_times)
    }
    rows = tqdm(
        indexes,
        desc="NAS-Bench-201 architectures",
        unit="arch",
        disable=len(indexes) < _PROGRESS_FROM or not progress_wanted(),
        leave=False,
    )
    for index in rows:
        arch = _arch_string(meta_archs[index], index, source)
        results = _arch_results(api, arch2infos, index, arch, hp_key, source)
        for name in names:
            for column, value in _read_dataset(results, name, train_times, index, arch, hp, source):
                columns[column].append(value)
        archs.append(arch)
    return Table(
        archs=tuple(archs),
        columns={column: np.asarray(values, dtype=float) for column, values in columns.items()},
        indices=np.asarray(indexes, dtype=np.int64),
        source=source,
    )


def _check_datasets(datasets: str | Iterable[str]) -> tuple[str, ...]:
    names = (datasets,) if isinstance(datasets, str) else tuple(datasets)
    if not names:
        raise ParameterError(
            f"The 'datasets' parameter of read_benchmark_file needs at least one of "
            f"{', '.join(ACCURACY_COLUMNS)}. Got an empty list instead."
        )
    for name in names:
        if name not in ACCURACY_COLUMNS:
            raise UnknownNameError(
                f"Unknown NAS-Bench-201 dataset {name!r}; expected one of "
                f"{', '.join(ACCURACY_COLUMNS)}."
            )
    if len(set(names)) != len(names):
        raise ParameterError(
            f"The 'datasets' parameter of read_benchmark_file lists a dataset twice. Got "
            f"{list(names)} instead."
        )
    return names


def _check_hp(hp: str | int) -> str:
    key = _HP_KEYS.get(str(hp))
    if key is None:
        raise UnknownNameError(
            f"Unknown NAS-Bench-201 training setting hp={hp!r}; expected '200' (200 epochs) or "
            f"'12' (12 epochs)."
        )
    return key


def _columns_of(dataset: str, train_times: bool) -> list[str]:
    names = [column for _, column in ACCURACY_COLUMNS[dataset]]
    return [*names, TRAIN_TIME_COLUMNS[dataset]] if train_times else names


def _check_layout(data: object, source: str) -> tuple[Sequence[str], Mapping[Any, Any], list[int]]:
    """The file's three parts, checked: arch strings, per-arch records, sorted evaluated indexes."""
    expected = f"expected a dict with the keys {', '.join(_TOP_KEYS)} (the NAS-Bench-201 format)"
    if not isinstance(data, Mapping):
        raise TableError(f"{source}: the file holds a {type(data).__name__}; {expected}.")
    missing = [key for key in _TOP_KEYS if key not in data]
    if missing:
        present = ", ".join(map(str, list(data)[:8])) or "none"
        raise TableError(
            f"{source}: missing key(s) {', '.join(missing)} (it has: {present}); {expected}. "
            f"NATS-Bench files have another format and are not read here."
        )
    meta_archs, arch2infos = data["meta_archs"], data["arch2infos"]
    if not isinstance(meta_archs, Sequence) or isinstance(meta_archs, str):
        raise TableError(
            f"{source}: 'meta_archs' is a {type(meta_archs).__name__}; expected the list of arch "
            f"strings in index order."
        )
    if not isinstance(arch2infos, Mapping):
        raise TableError(
            f"{source}: 'arch2infos' is a {type(arch2infos).__name__}; expected a dict from "
            f"index to that architecture's results."
        )
    try:
        indexes = sorted(int(index) for index in data["evaluated_indexes"])
    except (TypeError, ValueError) as exc:
        raise TableError(
            f"{source}: 'evaluated_indexes' must be a list of integer indexes ({exc})."
        ) from exc
    if not indexes:
        raise TableError(f"{source}: 'evaluated_indexes' is empty; no architecture was evaluated.")
    if len(set(indexes)) != len(indexes):
        raise TableError(f"{source}: 'evaluated_indexes' lists an index twice.")
    outside = [index for index in indexes if not 0 <= index < len(meta_archs)]
    if outside:
        raise TableError(
            f"{source}: evaluated index(es) {outside[:5]} lie outside 'meta_archs' "
            f"(0..{len(meta_archs) - 1})."
        )
    return meta_archs, arch2infos, indexes


def _arch_string(text: object, index: int, source: str) -> str:
    if not isinstance(text, str):
        raise TableError(
            f"{source}: 'meta_archs'[{index}] is a {type(text).__name__}; expected an arch string."
        )
    try:
        return ops_to_string(ops_from_string(text))
    except ArchFormatError as exc:
        raise TableError(f"{source}: 'meta_archs'[{index}]: {exc}") from exc


def _arch_results(
    api: Any, arch2infos: Mapping[Any, Any], index: int, arch: str, hp_key: str, source: str
) -> Any:
    """The ``ArchResults`` of one architecture for one hp, built the way ``NASBench201API`` does."""
    record = arch2infos.get(index)
    if not isinstance(record, Mapping) or hp_key not in record:
        raise TableError(
            f"{source}: architecture {index} ({arch}) is listed as evaluated but has no "
            f"'{hp_key}' results in 'arch2infos'; the file is incomplete or damaged."
        )
    state = record[hp_key]
    # create_from_state_dict would take a str for a path and load that file too.
    if not isinstance(state, Mapping):
        raise TableError(
            f"{source}: architecture {index} ({arch}): its '{hp_key}' results are a "
            f"{type(state).__name__}; expected an ArchResults state dict."
        )
    try:
        return api.ArchResults.create_from_state_dict(dict(state))
    except (AssertionError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise TableError(
            f"{source}: architecture {index} ({arch}): its '{hp_key}' results are not an "
            f"ArchResults state dict ({type(exc).__name__}: {exc})."
        ) from exc


def _read_dataset(
    results: Any,
    dataset: str,
    train_times: bool,
    index: int,
    arch: str,
    hp: str | int,
    source: str,
) -> list[tuple[str, float]]:
    """(column, seed-mean value) pairs of one dataset for one architecture."""
    where = f"{source}: architecture {index} ({arch})"
    seeds = results.dataset_seed.get(dataset)
    if not seeds:
        raise TableError(
            f"{where} has no hp={str(hp)!r} results on {dataset!r}; it has: "
            f"{', '.join(results.get_dataset_names()) or 'none'}. Read fewer datasets (the "
            f"'datasets' parameter) or another hp."
        )
    wanted = list(ACCURACY_COLUMNS[dataset])
    if train_times:
        wanted.append(("train", TRAIN_TIME_COLUMNS[dataset]))
    values = []
    for setname, column in wanted:
        field = "all_time" if setname == "train" else "accuracy"
        try:
            value = results.get_metrics(dataset, setname, is_random=False)[field]
        except (AssertionError, AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise TableError(
                f"{where} lacks the {setname!r} {field} on {dataset!r} for some of its seeds "
                f"{seeds} ({type(exc).__name__}: {exc}); the file is incomplete or damaged."
            ) from exc
        if value is None and setname == "train":
            raise TableError(
                f"{where} has no training times on {dataset!r}; pass train_times=False to read "
                f"the accuracies only."
            )
        if value is None or not math.isfinite(value):
            raise TableError(
                f"{where}: the {setname!r} {field} on {dataset!r} is {value!r}; expected a finite "
                f"number."
            )
        values.append((column, float(value)))
    return values
