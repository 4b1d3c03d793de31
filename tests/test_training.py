"""Training architectures on CIFAR-format data: the recipe learns, repeats, and labels a CSV."""

from __future__ import annotations

import argparse
import csv
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from flash_nas import ArchFormatError, get_adapter
from flash_nas.cli import train
from flash_nas.cli._args import UsageError
from flash_nas.train.cifar import CifarData
from flash_nas.train.training import TrainingError, _Run, check_fits, train_and_evaluate

torch = pytest.importorskip("torch", reason="training needs the [torch] extra")

ARCH = "dense:w=8;d=2;t=0"
# Four of CIFAR-10's ten classes, each a colour under heavy pixel noise: crops and flips keep
# the colour, so a tiny network learns it in a few epochs, while chance stays at 25%.
COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [120, 120, 120]])


def colour_images(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, len(COLOURS), count)
    images = COLOURS[labels][:, :, None, None] + rng.normal(0, 40, (count, 3, 32, 32))
    return np.clip(images, 0, 255).astype(np.uint8), labels.astype(np.int64)


@pytest.fixture(scope="module")
def data() -> CifarData:
    rng = np.random.default_rng(0)
    return CifarData("cifar10", *colour_images(200, rng), *colour_images(50, rng))


def flash_graph(**options):
    adapter = get_adapter("flash", widths=[8], depths=[2], n_cells=1, **options)
    return adapter.to_graph(adapter.parse(ARCH))


def quick(graph, data, **options):
    settings = {"epochs": 3, "batch_size": 32, "threads": 1, "progress": False, **options}
    return train_and_evaluate(graph, data, **settings)


def test_learns_well_above_chance_and_repeats_for_a_seed(data):
    graph = flash_graph()
    first = quick(graph, data, seed=3)
    assert first.test_accuracy >= 70  # chance is 25%
    assert first.train_accuracy >= 50 and first.train_loss < math.log(10)
    assert first.valid_accuracy is None and not first.diverged
    assert (first.epochs, first.steps) == (3, 3 * 7)  # 200 images in batches of 32
    assert first.train_seconds > 0
    again = quick(graph, data, seed=3)
    assert (again.test_accuracy, again.train_accuracy, again.train_loss) == (
        first.test_accuracy,
        first.train_accuracy,
        first.train_loss,
    )
    other = quick(graph, data, seed=4)
    assert other.train_loss != first.train_loss


def test_validation_split_is_held_out(data):
    result = quick(flash_graph(), data, epochs=2, valid_size=40, augment=False)
    assert result.valid_accuracy is not None and 0 <= result.valid_accuracy <= 100
    assert result.steps == 2 * 5  # 160 training images left


def test_divergence_stops_training(data):
    result = quick(flash_graph(), data, lr=1e30)
    assert result.diverged and math.isnan(result.train_loss)
    assert result.epochs == 1 and result.steps == 7
    assert 0 <= result.test_accuracy <= 100


def test_threads_are_restored(data):
    before = torch.get_num_threads()
    quick(flash_graph(), data, epochs=1, threads=1 if before > 1 else 2)
    assert torch.get_num_threads() == before


def test_trains_a_nasbench201_network(data):
    adapter = get_adapter("nasbench201", stem_channels=4, cells_per_stage=1)
    graph = adapter.to_graph(
        adapter.parse("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|")
    )
    result = quick(graph, data, epochs=1)
    assert result.steps == 7 and 0 <= result.test_accuracy <= 100


def test_augmentation_crops_padded_images_and_flips_some(data):
    run = _Run(torch, data, "cpu", batch_size=8, valid_size=0)
    images = torch.arange(16 * 3 * 32 * 32, dtype=torch.float32).reshape(16, 3, 32, 32)
    out = run.augment(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    flipped = 0
    for image, source in zip(out, padded):
        windows = [source[:, dy : dy + 32, dx : dx + 32] for dy in range(9) for dx in range(9)]
        plain = any(torch.equal(image, window) for window in windows)
        mirrored = any(torch.equal(image, window.flip(2)) for window in windows)
        assert plain or mirrored
        flipped += mirrored and not plain
    assert 0 < flipped < 16


# ---------------------------------------------------------------------------------- errors
def test_the_network_must_fit_the_data(data):
    with pytest.raises(
        TrainingError,
        match="outputs 100x1x1 values, but cifar10 has 10 classes .*-O num_classes=10 \\(num_classes=10 in Python\\)",
    ):
        check_fits(flash_graph(num_classes=100), data)
    with pytest.raises(
        TrainingError,
        match="takes 3x16x16 inputs, but cifar10 images are 3x32x32; .*-O input_size=32",
    ):
        quick(flash_graph(input_size=16), data)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"epochs": 0},
            "The 'epochs' parameter of train_and_evaluate must be an int >= 1. Got 0 instead.",
        ),
        ({"batch_size": 2.5}, "'batch_size' parameter .* must be an int >= 1. Got 2.5"),
        ({"lr": 0}, "'lr' parameter .* must be a finite number > 0"),
        ({"momentum": 1.0}, "'momentum' parameter .* must be in \\[0, 1\\)"),
        ({"momentum": 0}, "'nesterov' parameter .* must be False when momentum is 0"),
        ({"weight_decay": -1e-4}, "'weight_decay' parameter .* must be a finite number >= 0"),
        ({"seed": -1}, "'seed' parameter .* must be an int >= 0"),
        (
            {"valid_size": 200},
            "'valid_size' parameter .* must be an int in 0..199 \\(it is taken from the 200 training images\\)",
        ),
        ({"threads": 0}, "'threads' parameter .* must be an int >= 1"),
    ],
)
def test_parameters_are_checked(data, options, message):
    with pytest.raises(TrainingError, match=message):
        quick(flash_graph(), data, **options)


# ------------------------------------------------------------------------------------- CLI
def write_cifar10(folder: Path, train: tuple, test: tuple) -> Path:
    """``train`` and ``test`` (images, labels) as a cifar-10-batches-py folder."""
    folder.mkdir()
    images, labels = train
    parts = zip(np.array_split(images, 5), np.array_split(labels, 5))
    files = [(f"data_batch_{i}", part) for i, part in enumerate(parts, start=1)]
    for name, (pixels, classes) in [*files, ("test_batch", test)]:
        content = {b"data": pixels.reshape(len(pixels), -1), b"labels": classes.tolist()}
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return folder


@pytest.fixture(scope="module")
def cifar_folder(data, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data") / "cifar-10-batches-py"
    return write_cifar10(
        root, (data.train_images, data.train_labels), (data.test_images, data.test_labels)
    )


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    train.add_to(parser.add_subparsers())
    return parser.parse_args(["train", *argv])


def cli(tmp_path: Path, folder: Path, archs: str, *options: str) -> argparse.Namespace:
    listing = tmp_path / "archs.txt"
    listing.write_text(archs)
    return parse(
        "--data",
        str(folder),
        "--archs",
        str(listing),
        "--output",
        str(tmp_path / "labels.csv"),
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--threads",
        "1",
        *options,
    )


def test_cli_writes_labels_for_each_architecture(tmp_path, cifar_folder, capsys):
    archs = f"# two FLASH networks\n{ARCH}\ndense:w=8;d=3;t=2\n"
    args = cli(
        tmp_path,
        cifar_folder,
        archs,
        "--space",
        "flash",
        "-O",
        "widths=[8]",
        "-O",
        "depths=[2, 3]",
        "-O",
        "n_cells=1",
        "--valid-size",
        "40",
        "--limit-train",
        "180",
        "--seed",
        "1",
    )
    assert args.run(args) == 0
    with open(tmp_path / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        "arch",
        "accuracy",
        "valid_accuracy",
        "train_accuracy",
        "train_seconds",
    ]
    assert [row["arch"] for row in rows] == [ARCH, "dense:w=8;d=3;t=2"]
    assert all(0 <= float(row["accuracy"]) <= 100 for row in rows)
    err = capsys.readouterr().err
    assert f"[1/2] {ARCH}: test " in err and "valid " in err and "Wrote 2 rows" in err


def test_cli_labels_carry_the_space_index(tmp_path, cifar_folder):
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
    args = cli(
        tmp_path,
        cifar_folder,
        arch,
        "--space",
        "nasbench201",
        "-O",
        "stem_channels=4",
        "-O",
        "cells_per_stage=1",
        "--epochs",
        "1",
        "--limit-train",
        "64",
    )
    assert args.run(args) == 0
    with open(tmp_path / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["arch", "index", "accuracy", "train_accuracy", "train_seconds"]
    adapter = get_adapter("nasbench201")
    assert int(rows[0]["index"]) == adapter.index(adapter.parse(arch))


@pytest.mark.parametrize(
    ("archs", "options", "error", "message"),
    [
        (f"{ARCH}\n{ARCH}\n", (), ArchFormatError, r"line 2: the architecture of .*line 1 again"),
        (
            ARCH,
            ("--valid-size", "200"),
            UsageError,
            "--valid-size 200 leaves no training images: cifar10 has 200",
        ),
        (ARCH, ("-O", "num_classes=100"), TrainingError, "-O num_classes=10"),
    ],
)
def test_cli_refuses_before_training(tmp_path, cifar_folder, archs, options, error, message):
    args = cli(
        tmp_path,
        cifar_folder,
        archs,
        "--space",
        "flash",
        "-O",
        "widths=[8]",
        "-O",
        "depths=[2]",
        "-O",
        "n_cells=1",
        *options,
    )
    with pytest.raises(error, match=message):
        args.run(args)
    assert not (tmp_path / "labels.csv").exists()


def test_cli_checks_counts(capsys):
    with pytest.raises(SystemExit):
        parse(
            "--space",
            "flash",
            "--archs",
            "a.txt",
            "--data",
            ".",
            "--output",
            "x.csv",
            "--epochs",
            "0",
        )
    assert "expected an integer >= 1, got '0'" in capsys.readouterr().err


def test_train_budget_lets_the_engine_choose_and_resumes(tmp_path, cifar_folder, capsys):
    """``train --budget``: each architecture comes from the engine, its validation accuracy
    goes back; a second run with a larger budget resumes from the saved state."""
    state, labels = tmp_path / "state.json", tmp_path / "labels.csv"
    common = (
        "--data", str(cifar_folder), "--output", str(labels), "--epochs", "1",
        "--batch-size", "32", "--threads", "1", "--space", "flash",
        "-O", "widths=[8, 16]", "-O", "depths=[2, 3]", "-O", "n_cells=1",
        "--valid-size", "40", "--limit-train", "120", "--state", str(state),
    )
    args = parse(*common, "--budget", "2")
    assert args.run(args) == 0
    first = list(csv.DictReader(labels.open(newline="")))
    assert len(first) == 2 and "Recommended:" in capsys.readouterr().out
    args = parse(*common, "--budget", "3")
    assert args.run(args) == 0
    assert "Resuming from" in capsys.readouterr().err
    rows = list(csv.DictReader(labels.open(newline="")))
    assert [r["arch"] for r in rows[:2]] == [r["arch"] for r in first]
    assert len({r["arch"] for r in rows}) == 3
    from flash_nas import SearchEngine

    engine = SearchEngine.load(state)
    told = {t.text: t.value for t in engine.history}
    assert set(told) == {r["arch"] for r in rows}
    for row in rows:  # the engine learnt the validation accuracy, not the test accuracy
        assert told[row["arch"]] == pytest.approx(float(row["valid_accuracy"]))


def test_train_needs_archs_or_budget(capsys):
    with pytest.raises(SystemExit):
        parse("--space", "flash", "--data", "x", "--epochs", "1", "--output", "o.csv")
    assert "one of the arguments --archs --budget is required" in capsys.readouterr().err


# ------------------------------------------------ train --budget: which split labels come from
def _budget(tmp_path, folder, *extra):
    state, labels = tmp_path / "state.json", tmp_path / "labels.csv"
    args = parse(
        "--data", str(folder), "--output", str(labels), "--epochs", "1", "--batch-size", "32",
        "--threads", "1", "--space", "flash", "-O", "widths=[8, 16]", "-O", "depths=[2, 3]",
        "-O", "n_cells=1", "--limit-train", "120", "--state", str(state), "--budget", "2", *extra,
    )
    assert args.run(args) == 0
    rows = list(csv.DictReader(labels.open(newline="")))
    from flash_nas import SearchEngine

    told = {t.text: t.value for t in SearchEngine.load(state).history}
    return rows, told


def test_by_default_the_search_learns_validation_accuracy(tmp_path, cifar_folder, capsys):
    history = tmp_path / "history.csv"
    rows, told = _budget(tmp_path, cifar_folder, "--history", str(history))
    trials = list(csv.DictReader(history.open(newline="")))
    assert [t["arch"] for t in trials] == [r["arch"] for r in rows]
    assert [float(t["label"]) for t in trials] == pytest.approx(
        [float(r["valid_accuracy"]) for r in rows]
    )
    err = capsys.readouterr().err
    assert (
        "Labels: validation accuracy on 12 images held out of the 120 training images of "
        "cifar10 (the test images are only reported, never learnt from)." in err
    )
    assert "(validation)" in err and "Warning" not in err
    assert len(rows) == 2 and all(row["valid_accuracy"] != "" for row in rows)
    for row in rows:
        assert told[row["arch"]] == pytest.approx(float(row["valid_accuracy"]))


def test_valid_size_0_learns_test_accuracy_with_a_warning(tmp_path, cifar_folder, capsys):
    rows, told = _budget(tmp_path, cifar_folder, "--valid-size", "0")
    err = capsys.readouterr().err
    assert "Warning: --valid-size 0: the search learns from the test accuracy of cifar10" in err
    assert "valid_accuracy" not in rows[0]
    for row in rows:
        assert told[row["arch"]] == pytest.approx(float(row["accuracy"]))
