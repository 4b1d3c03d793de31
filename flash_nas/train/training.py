"""Train an architecture on CIFAR to measure its accuracy: the labels a predictor learns from.

The recipe is the usual one for CIFAR (as in NAS-Bench-201 and DenseNet): SGD with Nesterov
momentum and weight decay, a cosine learning-rate schedule from ``lr`` to zero over every step,
cross-entropy, and standard augmentation -- a random 32x32 crop of the image padded by 4 black
pixels, and a random horizontal flip -- done with tensor operations on the whole batch. Images are
normalised per channel with the dataset's mean and standard deviation (:attr:`CifarData.mean`).

Everything random (the weights, the shuffling, the augmentation) follows ``seed``: on the CPU two
runs with the same seed and thread count give the same numbers. GPU kernels may not repeat
exactly. torch is imported only when :func:`train_and_evaluate` runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flash_nas._imports import require
from flash_nas.errors import TrainingError
from flash_nas.train.cifar import CifarData
from flash_nas.train.torch_builder import build_module
from flash_nas.validation import check_int, check_number, check_optional

if TYPE_CHECKING:
    import torch

    from flash_nas.graph import ArchGraph

__all__ = ["TrainResult", "TrainingError", "check_fits", "train_and_evaluate"]

_PAD = 4
# The held-out validation images are a fixed shuffle's first ones, whatever the training seed, so
# validation accuracies of different seeds and architectures compare on the same images.
_SPLIT_SEED = 0


@dataclass(frozen=True)
class TrainResult:
    """What one training run measured. Accuracies are percentages.

    ``train_loss`` and ``train_accuracy`` are averages over the last epoch's (augmented) batches,
    as the network changed during it. ``valid_accuracy`` is None without a validation split.
    ``diverged`` is set when the loss stopped being finite; training then stops and the
    accuracies are those of the broken network (about chance).
    """

    test_accuracy: float
    train_accuracy: float
    train_loss: float
    valid_accuracy: float | None
    epochs: int
    steps: int
    train_seconds: float
    diverged: bool = False


def check_fits(graph: ArchGraph, data: CifarData) -> None:
    """Raise TrainingError unless ``graph`` reads ``data``'s images and scores its classes."""
    source, output = graph.node(graph.input), graph.node(graph.output)
    image = tuple(data.train_images.shape[1:])
    if (source.channels, source.height, source.width) != image:
        raise TrainingError(
            f"Architecture {graph.name!r} takes {_shape(source)} inputs, but {data.name} images "
            f"are {'x'.join(map(str, image))}; build the space for {image[1]}x{image[2]} images "
            f"(-O input_size={image[1]} on the command line, input_size={image[1]} in Python)."
        )
    if (output.channels, output.height, output.width) != (data.num_classes, 1, 1):
        raise TrainingError(
            f"Architecture {graph.name!r} outputs {_shape(output)} values, but {data.name} has "
            f"{data.num_classes} classes and needs {data.num_classes}x1x1 class scores; build the "
            f"space with -O num_classes={data.num_classes} (num_classes={data.num_classes} in "
            "Python)."
        )


def _shape(node: Any) -> str:
    return f"{node.channels}x{node.height}x{node.width}"


def _check(name: str, value: Any, ok: bool, expected: str) -> None:
    if not ok:
        raise TrainingError(
            f"The {name!r} parameter of train_and_evaluate must be {expected}. "
            f"Got {value!r} instead."
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def train_and_evaluate(
    graph: ArchGraph,
    data: CifarData,
    *,
    epochs: int,
    batch_size: int = 128,
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    nesterov: bool = True,
    seed: int = 0,
    augment: bool = True,
    valid_size: int = 0,
    threads: int | None = None,
    device: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train ``graph`` from scratch on ``data``'s training images; measure its accuracies.

    ``valid_size`` training images (a fixed random choice, the same for every seed) are held out
    and the network's accuracy on them is reported as ``valid_accuracy``. ``threads`` sets
    torch's CPU threads for the run (restored afterwards); ``device`` is a torch device name,
    by default ``"cuda"`` where one is available, else ``"cpu"``. ``progress`` shows a tqdm bar
    over the steps.

    Raises TrainingError for out-of-range parameters and for a graph that does not fit the data
    (see :func:`check_fits`), MissingDependencyError without torch.
    """
    torch = require("torch", "Training an architecture")
    owner = "train_and_evaluate"
    check_int(epochs, "epochs", owner=owner, low=1, error=TrainingError)
    check_int(batch_size, "batch_size", owner=owner, low=1, error=TrainingError)
    check_number(lr, "lr", owner=owner, positive=True, error=TrainingError)
    _check(
        "momentum", momentum, isinstance(momentum, (int, float)) and 0 <= momentum < 1, "in [0, 1)"
    )
    _check(
        "nesterov",
        nesterov,
        not nesterov or momentum > 0,
        "False when momentum is 0 (--no-nesterov on the command line)",
    )
    check_number(weight_decay, "weight_decay", owner=owner, low=0, error=TrainingError)
    check_int(seed, "seed", owner=owner, low=0, error=TrainingError)
    n_images = len(data.train_labels)
    _check(
        "valid_size",
        valid_size,
        _is_int(valid_size) and 0 <= valid_size < n_images,
        f"an int in 0..{n_images - 1} (it is taken from the {n_images} training images)",
    )
    check_optional(check_int, threads, "threads", owner=owner, low=1, error=TrainingError)
    check_fits(graph, data)
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _Run(torch, data, device, batch_size, int(valid_size)).train(
            graph,
            epochs=epochs,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            nesterov=nesterov,
            seed=seed,
            augment=augment,
            progress=progress,
        )
    finally:
        torch.set_num_threads(previous_threads)


class _Run:
    """The data of one training run, on its device, and the steps that use it."""

    def __init__(
        self, torch: Any, data: CifarData, device: str | None, batch_size: int, valid_size: int
    ) -> None:
        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.batch_size = batch_size
        images = torch.from_numpy(data.train_images)
        labels = torch.from_numpy(data.train_labels)
        split = torch.randperm(len(labels), generator=torch.Generator().manual_seed(_SPLIT_SEED))
        train, valid = split[valid_size:].sort().values, split[:valid_size].sort().values
        self.train_images = images[train].to(self.device)
        self.train_labels = labels[train].to(self.device)
        self.valid = (images[valid], labels[valid]) if valid_size else None
        self.test = (torch.from_numpy(data.test_images), torch.from_numpy(data.test_labels))
        self.shift = self._per_channel(data.mean)
        self.scale = self._per_channel(data.std)

    def _per_channel(self, values: tuple[float, ...]) -> torch.Tensor:
        """``values`` on the 0..255 pixel scale, shaped to broadcast over (N, C, H, W)."""
        tensor = self.torch.tensor(values, dtype=self.torch.float32, device=self.device)
        return 255 * tensor[:, None, None]

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images - self.shift) / self.scale

    def augment(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Random crops of the images padded with black pixels, half of them flipped."""
        torch = self.torch
        count, _, height, width = images.shape
        padded = torch.nn.functional.pad(images, (_PAD, _PAD, _PAD, _PAD))
        dy, dx = torch.randint(0, 2 * _PAD + 1, (2, count), generator=generator).to(self.device)
        rows = dy[:, None, None] + torch.arange(height, device=self.device)[None, :, None]
        cols = dx[:, None, None] + torch.arange(width, device=self.device)[None, None, :]
        batch = torch.arange(count, device=self.device)[:, None, None]
        crops = padded[batch, :, rows, cols].permute(0, 3, 1, 2)  # indexing puts channels last
        flip = (torch.rand(count, generator=generator) < 0.5).to(self.device)
        return torch.where(flip[:, None, None, None], crops.flip(3), crops)

    def train(
        self,
        graph: ArchGraph,
        *,
        epochs: int,
        lr: float,
        momentum: float,
        weight_decay: float,
        nesterov: bool,
        seed: int,
        augment: bool,
        progress: bool,
    ) -> TrainResult:
        torch = self.torch
        with torch.random.fork_rng(devices=[]):  # seed the weights without touching the caller's
            torch.manual_seed(seed)
            model = build_module(graph)
        model.to(self.device)
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        count = len(self.train_labels)
        steps_per_epoch = math.ceil(count / self.batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=epochs * steps_per_epoch
        )
        generator = torch.Generator().manual_seed(seed)
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * steps_per_epoch, desc="train", unit="step", disable=not progress)
        start = time.perf_counter()
        steps, loss, accuracy, diverged = 0, math.nan, math.nan, False
        with bar:
            for epoch in range(1, epochs + 1):
                model.train()
                order = torch.randperm(count, generator=generator).to(self.device)
                loss_sum = torch.zeros((), device=self.device)
                correct = torch.zeros((), dtype=torch.int64, device=self.device)
                for first in range(0, count, self.batch_size):
                    chosen = order[first : first + self.batch_size]
                    images = self.train_images[chosen].float()
                    if augment:
                        images = self.augment(images, generator)
                    labels = self.train_labels[chosen]
                    logits = model(self.normalise(images))
                    batch_loss = torch.nn.functional.cross_entropy(logits, labels)
                    optimizer.zero_grad(set_to_none=True)
                    batch_loss.backward()
                    optimizer.step()
                    schedule.step()
                    loss_sum += batch_loss.detach() * len(labels)
                    correct += (logits.argmax(1) == labels).sum()
                    steps += 1
                    bar.update()
                loss = float(loss_sum) / count
                accuracy = 100 * int(correct) / count
                bar.set_postfix(epoch=epoch, loss=f"{loss:.3f}", acc=f"{accuracy:.1f}%")
                if not math.isfinite(loss):
                    diverged = True
                    break
        seconds = time.perf_counter() - start
        return TrainResult(
            test_accuracy=self.accuracy(model, *self.test),
            train_accuracy=accuracy,
            train_loss=loss,
            valid_accuracy=None if self.valid is None else self.accuracy(model, *self.valid),
            epochs=epoch,
            steps=steps,
            train_seconds=seconds,
            diverged=diverged,
        )

    def accuracy(self, model: Any, images: torch.Tensor, labels: torch.Tensor) -> float:
        """Percentage of ``images`` the model classifies right (no augmentation)."""
        torch = self.torch
        model.eval()
        correct = 0
        with torch.inference_mode():
            for first in range(0, len(labels), self.batch_size):
                batch = images[first : first + self.batch_size].to(self.device).float()
                predicted = model(self.normalise(batch)).argmax(1).cpu()
                correct += int((predicted == labels[first : first + self.batch_size]).sum())
        return 100 * correct / len(labels)
