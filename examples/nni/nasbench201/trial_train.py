"""One trial of the NAS-Bench-201 example that trains the cell on CIFAR-10 for real.

For users with CIFAR-10's python version on disk (``cifar-10-batches-py``, as unpacked from the
archive on the CIFAR site; nothing is downloaded). In ``config.yml``::

    trialCommand: python trial_train.py --data ~/data/cifar-10-batches-py --epochs 12

or set ``FLASH_NAS_CIFAR`` to the folder and leave ``--data`` out. The network is the one the
``nasbench201`` adapter builds for the cell (NAS-Bench-201's own skeleton), trained by
:func:`flash_nas.train.training.train_and_evaluate`: SGD with Nesterov momentum, a cosine schedule,
random crops and flips. 5,000 training images are held out; the accuracy on them is what the
tuner learns from (``default``), the test accuracy is reported beside it::

    {"default": valid_accuracy, "test": test_accuracy, "arch": "|...|", "epochs": 12, ...}

NAS-Bench-201 trained each cell for 200 epochs; a short budget ranks cells less faithfully but
is what a search can afford. A GPU is used where torch finds one.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import nni

import flash_nas
from flash_nas.train.cifar import load_cifar
from flash_nas.train.training import train_and_evaluate
from flash_nas_adapters.nasbench201.encoding import ops_from_nni


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=os.environ.get("FLASH_NAS_CIFAR"),
        help="the cifar-10-batches-py folder (default: $FLASH_NAS_CIFAR)",
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--valid-size", type=int, default=5000, help="training images held out (default 5000)"
    )
    parser.add_argument("--limit-train", type=int, help="train on the first N images only")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("give --data FOLDER or set FLASH_NAS_CIFAR to the CIFAR-10 python folder")

    params = nni.get_next_parameter()
    if not params:
        sys.exit("trial_train.py is an NNI trial: run it through an experiment (see README.md).")
    adapter = flash_nas.get_adapter("nasbench201")
    arch = ops_from_nni(params)
    data = load_cifar(args.data, "cifar10")
    if args.limit_train:
        data = data.with_train_limit(args.limit_train)
    result = train_and_evaluate(
        adapter.to_graph(arch),
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        valid_size=args.valid_size,
        progress=False,
    )
    nni.report_final_result(
        {
            "default": result.valid_accuracy,
            "test": result.test_accuracy,
            "arch": adapter.format(arch),
            "epochs": result.epochs,
            "train_seconds": result.train_seconds,
            "diverged": result.diverged,
        }
    )


if __name__ == "__main__":
    main()
