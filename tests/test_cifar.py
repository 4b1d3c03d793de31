"""Reading the CIFAR python-version folders, and one clear error for every way they go wrong."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from flash_nas.train.cifar import DATASETS, CifarData, DatasetError, load_cifar

CIFAR10_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]


def dump(path: Path, content: object) -> None:
    """Pickle as the official files are: protocol 2, bytes keys."""
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=2)


def batch(rng: np.random.Generator, count: int, classes: int, key: bytes = b"labels") -> dict:
    return {
        b"batch_label": b"training batch",
        key: rng.integers(0, classes, count).tolist(),
        b"data": rng.integers(0, 256, (count, 3072), dtype=np.uint8),
        b"filenames": [f"img_{i}.png".encode() for i in range(count)],
    }


def write_cifar10(folder: Path, per_batch: int = 4, test: int = 3, seed: int = 0) -> Path:
    """A small folder in the exact layout of cifar-10-batches-py."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for name in CIFAR10_TRAIN:
        dump(folder / name, batch(rng, per_batch, 10))
    dump(folder / "test_batch", batch(rng, test, 10))
    names = [f"class{i}".encode() for i in range(10)]
    dump(folder / "batches.meta", {b"label_names": names, b"num_vis": 3072})
    return folder


def write_cifar100(folder: Path, train: int = 6, test: int = 2) -> Path:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    for name, count in (("train", train), ("test", test)):
        content = batch(rng, count, 100, key=b"fine_labels")
        content[b"fine_labels"][0] = 99  # the top class is in range
        content[b"coarse_labels"] = rng.integers(0, 20, count).tolist()
        dump(folder / name, content)
    names = [f"fine{i}".encode() for i in range(100)]
    dump(folder / "meta", {b"fine_label_names": names, b"coarse_label_names": [b"c"] * 20})
    return folder


@pytest.fixture
def cifar10(tmp_path: Path) -> Path:
    return write_cifar10(tmp_path / "cifar-10-batches-py")


def test_reads_cifar10_channel_major_in_batch_order(cifar10):
    data = load_cifar(cifar10)
    assert data.name == "cifar10" and data.num_classes == 10
    assert data.train_images.shape == (20, 3, 32, 32) and data.train_images.dtype == np.uint8
    assert data.test_images.shape == (3, 3, 32, 32)
    assert data.train_labels.dtype == np.int64 and data.test_labels.dtype == np.int64
    first = pickle.loads((cifar10 / "data_batch_1").read_bytes(), encoding="bytes")
    last = pickle.loads((cifar10 / "data_batch_5").read_bytes(), encoding="bytes")
    # row = 1024 red values, then green, then blue, each 32 rows of 32
    assert np.array_equal(data.train_images[0, 1], first[b"data"][0, 1024:2048].reshape(32, 32))
    assert data.train_labels[:4].tolist() == first[b"labels"]
    assert data.train_labels[-4:].tolist() == last[b"labels"]
    assert data.class_names == tuple(f"class{i}" for i in range(10))
    assert data.mean == (0.4914, 0.4822, 0.4465)
    assert data.source == str(cifar10)


def test_accepts_the_folder_that_holds_the_dataset(cifar10):
    data = load_cifar(cifar10.parent)
    assert data.name == "cifar10" and data.source == str(cifar10)


def test_reads_cifar100_fine_labels(tmp_path):
    folder = write_cifar100(tmp_path / "cifar-100-python")
    for path in (folder, tmp_path):
        data = load_cifar(path)
        assert data.name == "cifar100" and data.num_classes == 100
        assert data.train_images.shape == (6, 3, 32, 32) and data.test_labels.shape == (2,)
        assert data.train_labels[0] == 99
        assert data.class_names[-1] == "fine99" and data.std == (0.2673, 0.2564, 0.2762)
    assert DATASETS == ("cifar10", "cifar100")


def test_the_meta_file_is_optional(cifar10):
    (cifar10 / "batches.meta").unlink()
    assert load_cifar(cifar10).class_names == ()


def test_train_limit_keeps_the_first_images(cifar10):
    data = load_cifar(cifar10)
    small = data.with_train_limit(6)
    assert np.array_equal(small.train_images, data.train_images[:6])
    assert np.array_equal(small.train_labels, data.train_labels[:6])
    assert small.test_images is data.test_images
    assert len(data.with_train_limit(1000).train_labels) == 20
    with pytest.raises(DatasetError, match="training limit must be an int >= 1; got 0"):
        data.with_train_limit(0)


# ------------------------------------------------------------------------------ folder errors
def test_missing_folder(tmp_path):
    with pytest.raises(
        DatasetError, match="No folder .*nowhere.*cifar-10-batches-py or cifar-100-python"
    ):
        load_cifar(tmp_path / "nowhere")


def test_folder_without_cifar_files(tmp_path):
    with pytest.raises(DatasetError, match="holds no CIFAR data: expected the CIFAR-10 files"):
        load_cifar(tmp_path)


def test_missing_files_are_listed(cifar10):
    (cifar10 / "data_batch_3").unlink()
    (cifar10 / "test_batch").unlink()
    with pytest.raises(
        DatasetError,
        match="not a complete cifar10 folder: missing data_batch_3, test_batch. It should hold "
        "data_batch_1, .*batches.meta",
    ):
        load_cifar(cifar10)


def test_the_dataset_argument_decides(cifar10):
    with pytest.raises(DatasetError, match="not a complete cifar100 folder: missing train, test"):
        load_cifar(cifar10, dataset="cifar100")
    with pytest.raises(
        DatasetError, match="Unknown dataset 'cifar1000'; expected one of cifar10, cifar100"
    ):
        load_cifar(cifar10, dataset="cifar1000")


def test_both_datasets_in_one_folder_need_a_choice(tmp_path):
    write_cifar10(tmp_path / "cifar-10-batches-py")
    write_cifar100(tmp_path / "cifar-100-python")
    with pytest.raises(DatasetError, match="holds both cifar-10-batches-py and cifar-100-python"):
        load_cifar(tmp_path)
    assert load_cifar(tmp_path, dataset="cifar100").name == "cifar100"


# -------------------------------------------------------------------------------- file errors
@pytest.mark.parametrize(
    "content",
    [b"not a pickle at all", pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)})[:40]],
    ids=["garbage", "truncated"],
)
def test_unreadable_pickle(cifar10, content):
    (cifar10 / "data_batch_2").write_bytes(content)
    with pytest.raises(DatasetError, match="data_batch_2: cannot read it as a CIFAR pickle"):
        load_cifar(cifar10)


def test_pickle_that_is_not_a_dict(cifar10):
    dump(cifar10 / "test_batch", [1, 2, 3])
    with pytest.raises(DatasetError, match="test_batch: expected a pickled dict .*got list"):
        load_cifar(cifar10)


def test_missing_key(cifar10):
    content = batch(np.random.default_rng(0), 4, 10)
    del content[b"labels"]
    dump(cifar10 / "data_batch_1", content)
    with pytest.raises(
        DatasetError,
        match="data_batch_1: missing key\\(s\\) 'labels'; the file has 'batch_label', 'data'",
    ):
        load_cifar(cifar10)


def test_cifar100_needs_fine_labels(tmp_path):
    folder = write_cifar100(tmp_path / "c100")
    content = batch(np.random.default_rng(0), 2, 10)  # CIFAR-10 style b'labels'
    dump(folder / "test", content)
    with pytest.raises(DatasetError, match="test: missing key\\(s\\) 'fine_labels'"):
        load_cifar(folder)


def replace_in(folder: Path, name: str, **changes: object) -> None:
    content = batch(np.random.default_rng(0), 4, 10)
    content.update({key.encode(): value for key, value in changes.items()})
    dump(folder / name, content)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"data": np.zeros((4, 3072), np.float32)},
            "'data' must be a uint8 numpy array; got float32",
        ),
        ({"data": [[0] * 3072] * 4}, "'data' must be a uint8 numpy array; got list"),
        (
            {"data": np.zeros((4, 3, 32, 32), np.uint8)},
            "'data' must have shape \\(N, 3072\\), one 3x32x32 image per row; got \\(4, 3, 32, 32\\)",
        ),
        ({"data": np.zeros((4, 1024), np.uint8)}, "got \\(4, 1024\\)"),
        ({"data": np.zeros((0, 3072), np.uint8), "labels": []}, "got \\(0, 3072\\)"),
        (
            {"labels": [0.5, 1, 2, 3]},
            "'labels' must be a flat list of integer class numbers; got an array of shape \\(4,\\) and dtype float64",
        ),
        (
            {"labels": [[0, 1], [2, 3]]},
            "'labels' must be a flat list of integer class numbers; got an array of shape \\(2, 2\\)",
        ),
        ({"labels": [0, 1, 2]}, "data_batch_4: 3 labels in 'labels' for 4 images in 'data'"),
        ({"labels": []}, "0 labels in 'labels' for 4 images"),
        (
            {"labels": [0, 1, 10, 3]},
            "'labels': label 10 at position 2 is out of range; expected 0..9 \\(10 classes\\)",
        ),
        ({"labels": [0, -1, 2, 3]}, "label -1 at position 1 is out of range"),
    ],
    ids=[
        "float data",
        "list data",
        "4-d data",
        "short rows",
        "no images",
        "float labels",
        "nested labels",
        "short labels",
        "no labels",
        "label too big",
        "negative label",
    ],
)
def test_malformed_batch(cifar10, changes, message):
    replace_in(cifar10, "data_batch_4", **changes)
    with pytest.raises(DatasetError, match=message):
        load_cifar(cifar10)


def test_cifar100_labels_range_to_99(tmp_path):
    folder = write_cifar100(tmp_path / "cifar-100-python")
    content = batch(np.random.default_rng(0), 3, 100, key=b"fine_labels")
    content[b"fine_labels"][1] = 100
    dump(folder / "train", content)
    with pytest.raises(
        DatasetError,
        match="train: 'fine_labels': label 100 at position 1 is out of range; expected 0..99",
    ):
        load_cifar(folder)


def test_malformed_meta(cifar10):
    dump(cifar10 / "batches.meta", {b"label_names": [b"cat", b"dog"]})
    with pytest.raises(
        DatasetError, match="batches.meta: expected 'label_names', a list of 10 class names"
    ):
        load_cifar(cifar10)


# ---------------------------------------------------------------------------- CifarData checks
def arrays(count: int = 2) -> dict:
    return {
        "train_images": np.zeros((count, 3, 32, 32), np.uint8),
        "train_labels": np.zeros(count, np.int64),
        "test_images": np.zeros((1, 3, 32, 32), np.uint8),
        "test_labels": np.zeros(1, np.int64),
    }


@pytest.mark.parametrize(
    ("name", "changes", "message"),
    [
        ("mnist", {}, "Unknown dataset 'mnist'; expected one of cifar10, cifar100"),
        (
            "cifar10",
            {"train_images": np.zeros((2, 3, 28, 28), np.uint8)},
            "train images must have shape \\(N, 3, 32, 32\\) with N >= 1; got \\(2, 3, 28, 28\\)",
        ),
        (
            "cifar10",
            {"test_images": np.zeros((1, 3, 32, 32))},
            "test images must be a uint8 numpy array; got float64",
        ),
        (
            "cifar10",
            {"train_labels": np.zeros(2, np.int32)},
            "train labels must be a 1-D int64 numpy array",
        ),
        ("cifar10", {"train_labels": np.zeros(3, np.int64)}, "train labels: 3 labels for 2 images"),
        (
            "cifar10",
            {"test_labels": np.array([10])},
            "test labels: label 10 at position 0 is out of range; expected 0..9",
        ),
        ("cifar10", {"class_names": ("cat",)}, "1 class names for 10 classes"),
    ],
)
def test_cifar_data_checks_itself(name, changes, message):
    with pytest.raises(DatasetError, match=message):
        CifarData(name, **{**arrays(), **changes})
