"""CIFAR-10 and CIFAR-100 from the "python version" folders a user already has on disk.

The folders are the ones the official archives unpack to:

* ``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5`` (training), ``test_batch``, and
  ``batches.meta`` (class names);
* ``cifar-100-python/``: ``train``, ``test``, and ``meta`` (class names; ``fine_label_names``).

Each data file is a pickle of a dict with ``b'data'``, a ``(N, 3072)`` uint8 array holding each
32x32 image channel by channel (red plane, green, blue), and ``b'labels'`` (CIFAR-10) or
``b'fine_labels'`` (CIFAR-100). A plain pickle can run any code its file names, so these files
are read by a restricted unpickler (:class:`_CifarUnpickler`) that builds only what they hold --
dicts, lists, bytes, text, numbers and numpy arrays -- and refuses every other global: a crafted
file fails with a :class:`DatasetError` before anything in it runs. flash-nas never downloads.

Every reader error is a :class:`DatasetError` that names the file and says what was expected.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas.errors import DatasetError

__all__ = ["DATASETS", "CifarData", "DatasetError", "load_cifar"]

IMAGE_SHAPE = (3, 32, 32)
_PIXELS = 3 * 32 * 32


@dataclass(frozen=True)
class _Layout:
    """What one dataset's folder holds, and its statistics."""

    archive: str  # the official archive's file name
    folder: str  # the folder it unpacks to
    train: tuple[str, ...]
    test: str
    meta: str
    labels_key: str
    names_key: str
    num_classes: int
    mean: tuple[float, float, float]  # per channel, of the training images, on the 0..1 scale
    std: tuple[float, float, float]


_LAYOUTS: dict[str, _Layout] = {
    "cifar10": _Layout(
        archive="cifar-10-python.tar.gz",
        folder="cifar-10-batches-py",
        train=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test="test_batch",
        meta="batches.meta",
        labels_key="labels",
        names_key="label_names",
        num_classes=10,
        mean=(0.4914, 0.4822, 0.4465),
        std=(0.2470, 0.2435, 0.2616),
    ),
    "cifar100": _Layout(
        archive="cifar-100-python.tar.gz",
        folder="cifar-100-python",
        train=("train",),
        test="test",
        meta="meta",
        labels_key="fine_labels",
        names_key="fine_label_names",
        num_classes=100,
        mean=(0.5071, 0.4865, 0.4409),
        std=(0.2673, 0.2564, 0.2762),
    ),
}
#: The datasets :func:`load_cifar` reads, by the name its ``dataset`` argument takes.
DATASETS = tuple(_LAYOUTS)


@dataclass(frozen=True)
class CifarData:
    """One of :data:`DATASETS`: images ``(N, 3, 32, 32)`` uint8 and labels ``(N,)`` int64 per
    split, checked on construction (shapes, types, labels in range)."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        if self.name not in _LAYOUTS:
            raise DatasetError(
                f"Unknown dataset {self.name!r}; expected one of {', '.join(DATASETS)}."
            )
        for split in ("train", "test"):
            images = getattr(self, f"{split}_images")
            labels = getattr(self, f"{split}_labels")
            _check_images(images, f"{self._where()}{split} images")
            _check_labels(labels, len(images), self.num_classes, f"{self._where()}{split} labels")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise DatasetError(
                f"{self._where()}{len(self.class_names)} class names for {self.num_classes} "
                "classes."
            )

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    @property
    def num_classes(self) -> int:
        return _LAYOUTS[self.name].num_classes

    @property
    def mean(self) -> tuple[float, float, float]:
        """Per-channel mean of the whole training set, on the 0..1 scale, for normalising."""
        return _LAYOUTS[self.name].mean

    @property
    def std(self) -> tuple[float, float, float]:
        """Per-channel standard deviation of the whole training set, on the 0..1 scale."""
        return _LAYOUTS[self.name].std

    def with_train_limit(self, limit: int) -> CifarData:
        """The same data with at most the first ``limit`` training images (for quick runs)."""
        if not isinstance(limit, int) or limit < 1:
            raise DatasetError(f"The training limit must be an int >= 1; got {limit!r}.")
        return replace(
            self, train_images=self.train_images[:limit], train_labels=self.train_labels[:limit]
        )


def _check_images(images: Any, what: str) -> None:
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        kind = images.dtype if isinstance(images, np.ndarray) else type(images).__name__
        raise DatasetError(f"{what} must be a uint8 numpy array; got {kind}.")
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE or not len(images):
        raise DatasetError(
            f"{what} must have shape (N, 3, 32, 32) with N >= 1; got {images.shape}."
        )


def _check_labels(labels: Any, count: int, classes: int, what: str) -> None:
    if not isinstance(labels, np.ndarray) or labels.dtype != np.int64 or labels.ndim != 1:
        raise DatasetError(f"{what} must be a 1-D int64 numpy array.")
    if len(labels) != count:
        raise DatasetError(f"{what}: {len(labels)} labels for {count} images.")
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        first = int(np.argmax(bad))
        raise DatasetError(
            f"{what}: label {int(labels[first])} at position {first} is out of range; "
            f"expected 0..{classes - 1} ({classes} classes)."
        )


def load_cifar(path: str | Path, dataset: str | None = None) -> CifarData:
    """Read CIFAR-10 or CIFAR-100 from its python-version folder.

    ``path`` is the folder itself (``cifar-10-batches-py`` or ``cifar-100-python``) or a folder
    holding one of them. ``dataset`` (``"cifar10"`` or ``"cifar100"``) says which to read; by
    default it is told by the files present. The data files are pickles, read by a restricted
    unpickler that admits only the arrays, lists and dicts they hold: a crafted file is refused
    before any code in it runs.

    Raises DatasetError for a missing folder, missing files (all of them listed), a file that
    cannot be unpickled, and data of the wrong shape, type or range.
    """
    if dataset is not None and dataset not in _LAYOUTS:
        raise DatasetError(f"Unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}.")
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(
            f"No folder {str(folder)!r}. Pass the CIFAR python-version folder "
            f"({' or '.join(layout.folder for layout in _LAYOUTS.values())}, as unpacked from "
            "the archive on the CIFAR site) or the folder that holds it."
        )
    folder, name = _locate(folder, dataset)
    layout = _LAYOUTS[name]
    missing = [
        file
        for file in (*layout.train, layout.test)
        if not (folder / file).is_file()  # the meta file is optional: it holds names only
    ]
    if missing:
        raise DatasetError(
            f"{folder} is not a complete {name} folder: missing {', '.join(missing)}. It should "
            f"hold {', '.join((*layout.train, layout.test, layout.meta))}, as unpacked from "
            f"the official archive {layout.archive}."
        )
    train = [_read_batch(folder / file, layout) for file in layout.train]
    test_images, test_labels = _read_batch(folder / layout.test, layout)
    return CifarData(
        name=name,
        train_images=np.concatenate([images for images, _ in train]),
        train_labels=np.concatenate([labels for _, labels in train]),
        test_images=test_images,
        test_labels=test_labels,
        class_names=_read_names(folder / layout.meta, layout),
        source=str(folder),
    )


def _locate(folder: Path, dataset: str | None) -> tuple[Path, str]:
    """The dataset folder at or directly under ``folder``, and which dataset it holds."""
    names = [dataset] if dataset else list(_LAYOUTS)
    inside = [name for name in names if (folder / _LAYOUTS[name].folder).is_dir()]
    if len(inside) > 1:
        raise DatasetError(
            f"{folder} holds both {' and '.join(_LAYOUTS[name].folder for name in inside)}; "
            "pass one of them, or say which dataset to read (--dataset / dataset=)."
        )
    if inside:
        return folder / _LAYOUTS[inside[0]].folder, inside[0]
    if dataset:
        return folder, dataset
    for name in names:
        layout = _LAYOUTS[name]
        if any((folder / file).is_file() for file in (*layout.train, layout.test)):
            return folder, name
    raise DatasetError(
        f"{folder} holds no CIFAR data: expected the CIFAR-10 files "
        f"({', '.join((*_LAYOUTS['cifar10'].train, _LAYOUTS['cifar10'].test))}) or the "
        "CIFAR-100 files (train, test), or a cifar-10-batches-py or cifar-100-python folder."
    )


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` use it, and nothing more."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode is admitted only for latin1 bytes")
    return text.encode("latin1")


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()``, as protocol-2 pickles write an empty ``bytes``; no other call."""
    if args:
        raise pickle.UnpicklingError("bytes(...) is admitted only without arguments")
    return b""


def _numpy_globals() -> dict[tuple[str, str], Any]:
    """The numpy functions a pickled array names (``numpy.core`` before numpy 2, ``numpy._core``
    after): rebuilding an array from its dtype, shape and bytes, nothing else."""
    import importlib

    core = "numpy._core" if hasattr(np, "_core") else "numpy.core"
    multiarray = importlib.import_module(f"{core}.multiarray")
    numeric = importlib.import_module(f"{core}.numeric")
    admitted: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }
    for package in ("numpy.core", "numpy._core"):
        for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar")):
            admitted[(f"{package}.{module}", name)] = getattr(multiarray, name)
        admitted[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return admitted


class _CifarUnpickler(pickle.Unpickler):
    """Builds plain data and numpy arrays only; any other global (``os.system``, ``eval``, a
    class with a ``__reduce__``...) is refused before it could be called."""

    _ADMITTED: dict[tuple[str, str], Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if type(self)._ADMITTED is None:
            type(self)._ADMITTED = {
                **_numpy_globals(),
                ("_codecs", "encode"): _latin1_encode,
                ("__builtin__", "bytes"): _empty_bytes,
                ("builtins", "bytes"): _empty_bytes,
            }
        admitted = type(self)._ADMITTED
        assert admitted is not None  # filled just above on first use
        found = admitted.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"it names {module}.{name}, which a CIFAR batch never does (only numpy arrays, "
                f"dicts, lists, bytes and numbers are admitted); it was not run"
            )
        return found


def _unpickle(path: Path) -> dict[str, Any]:
    """The pickled dict at ``path`` with its keys as text (the official files use bytes keys)."""
    try:
        with path.open("rb") as handle:
            content = _CifarUnpickler(handle, encoding="bytes").load()
    except Exception as exc:  # a damaged pickle can fail with almost any exception
        raise DatasetError(
            f"{path}: cannot read it as a CIFAR pickle ({type(exc).__name__}: {exc}); unpack "
            "the official archive again."
        ) from exc
    if not isinstance(content, dict):
        raise DatasetError(
            f"{path}: expected a pickled dict with 'data' and labels; got {type(content).__name__}."
        )
    return {key.decode() if isinstance(key, bytes) else str(key): v for key, v in content.items()}


def _read_batch(path: Path, layout: _Layout) -> tuple[np.ndarray, np.ndarray]:
    content = _unpickle(path)
    absent = [key for key in ("data", layout.labels_key) if key not in content]
    if absent:
        raise DatasetError(
            f"{path}: missing key(s) {', '.join(map(repr, absent))}; the file has "
            f"{', '.join(map(repr, content)) or 'no keys'}."
        )
    data = content["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
        kind = data.dtype if isinstance(data, np.ndarray) else type(data).__name__
        raise DatasetError(f"{path}: 'data' must be a uint8 numpy array; got {kind}.")
    if data.ndim != 2 or data.shape[1] != _PIXELS or not len(data):
        raise DatasetError(
            f"{path}: 'data' must have shape (N, {_PIXELS}), one 3x32x32 image per row; got "
            f"{data.shape}."
        )
    raw = np.asarray(content[layout.labels_key])
    if raw.ndim != 1 or (len(raw) and not np.issubdtype(raw.dtype, np.integer)):
        raise DatasetError(
            f"{path}: {layout.labels_key!r} must be a flat list of integer class numbers; got "
            f"an array of shape {raw.shape} and dtype {raw.dtype}."
        )
    labels = raw.astype(np.int64)
    if len(labels) != len(data):
        raise DatasetError(
            f"{path}: {len(labels)} labels in {layout.labels_key!r} for {len(data)} images in "
            "'data'."
        )
    _check_labels(labels, len(data), layout.num_classes, f"{path}: {layout.labels_key!r}")
    return data.reshape(-1, *IMAGE_SHAPE), labels


def _read_names(path: Path, layout: _Layout) -> tuple[str, ...]:
    if not path.is_file():
        return ()
    names = _unpickle(path).get(layout.names_key)
    if not isinstance(names, list) or len(names) != layout.num_classes:
        raise DatasetError(
            f"{path}: expected {layout.names_key!r}, a list of {layout.num_classes} class names."
        )
    return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
