"""Write a small, learnable data set in CIFAR-10's python format, for the tutorial's pictures.

Not CIFAR: 10 classes, each a colour and a stripe direction, plus noise, so that short training
separates good architectures from poor ones in minutes on a CPU. Usage::

    python docs/images/synthetic_cifar.py OUTPUT_FOLDER [--per-batch 100] [--test 200]
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

import numpy as np


def images(rng: np.random.Generator, labels: np.ndarray, colours: np.ndarray) -> np.ndarray:
    count = len(labels)
    base = colours[labels][:, None, None, None] * np.ones((count, 3, 32, 32))
    base[:, labels % 3] += 30  # a dominant channel per class
    stripes = np.sin(np.arange(32) * (1 + labels[:, None] % 4) * np.pi / 8)
    vertical = (labels >= 5)[:, None, None]
    pattern = np.where(vertical, stripes[:, None, :], stripes[:, :, None])
    noisy = base + 25 * pattern[:, None] + rng.normal(0, 30, base.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8).reshape(count, 3072)


def write(folder: Path, per_batch: int, test: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    colours = rng.permutation(np.linspace(40, 215, 10))  # one per class, train and test alike
    for name, count in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [
        ("test_batch", test)
    ]:
        labels = rng.integers(0, 10, count)
        data = images(rng, labels, colours)
        content = {b"data": data, b"labels": labels.tolist()}
        (folder / name).write_bytes(pickle.dumps(content))
    names = [f"class{i}".encode() for i in range(10)]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--per-batch", type=int, default=100)
    parser.add_argument("--test", type=int, default=200)
    args = parser.parse_args()
    write(args.folder, args.per_batch, args.test)
