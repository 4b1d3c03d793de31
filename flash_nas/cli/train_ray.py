"""``flash-nas train --budget N --ray``: the engine's architectures trained as Ray tasks.

The driver (this process) holds the search engine; each architecture it asks for is trained by
a Ray task wherever the cluster has room (``--ray-address``, default a local instance), and its
result is told back as soon as it finishes, so the next proposal learns from it while other
tasks still run. The engine's state (``--state``) and the labels CSV are written after every
result: an interrupted run resumes, retraining the architectures that were in flight. Every
node must see the CIFAR folder at the same path (``--data``) and have flash-nas installed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from flash_nas._imports import require
from flash_nas.cli._args import UsageError
from flash_nas.cli._common import write_output
from flash_nas.cli._resume import engine_from_args
from flash_nas.cli._training import earlier_rows, labels_table, training
from flash_nas.errors import SearchExhaustedError
from flash_nas.io.tables import write_table
from flash_nas.search.engine import SearchEngine

__all__ = ["run_ray"]


def train_task(
    space: str | None,
    space_options: dict[str, Any],
    text: str,
    data: str,
    dataset: str | None,
    limit_train: int | None,
    training: dict[str, Any],
) -> dict[str, Any]:
    """Train one architecture (runs in a Ray worker): its accuracies, as plain data."""
    from flash_nas import plugins
    from flash_nas.train.cifar import load_cifar
    from flash_nas.train.training import check_fits, train_and_evaluate

    adapter = plugins.get_adapter(str(space), **space_options)
    graph = adapter.to_graph(adapter.parse(text))
    cifar = load_cifar(Path(data), dataset)
    if limit_train is not None:
        cifar = cifar.with_train_limit(limit_train)
    check_fits(graph, cifar)
    result = train_and_evaluate(graph, cifar, progress=False, **training)
    return {
        "accuracy": result.test_accuracy,
        "valid_accuracy": result.valid_accuracy,
        "train_accuracy": result.train_accuracy,
        "train_seconds": result.train_seconds,
        "diverged": result.diverged,
        "epochs": result.epochs,
    }


def run_ray(args: argparse.Namespace) -> int:
    ray = require("ray", "flash-nas train --ray")
    engine = engine_from_args(args)
    if engine.space_name is None:
        raise UsageError("train --ray needs a registered space (--space NAME).")
    from flash_nas.cli._training import CIFAR_TRAIN_IMAGES, default_valid_size, label_source

    n_train = args.limit_train or CIFAR_TRAIN_IMAGES
    if args.valid_size is None:
        args.valid_size = default_valid_size(n_train)
    print(label_source(args, n_train, args.dataset or "CIFAR"), file=sys.stderr)
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.ray_address, include_dashboard=False, log_to_driver=False)
    try:
        return _loop(ray, engine, args)
    finally:
        if started:
            ray.shutdown()


def _loop(ray: Any, engine: SearchEngine, args: argparse.Namespace) -> int:
    cpus = args.threads or 1
    task = ray.remote(num_cpus=cpus, num_gpus=args.ray_gpus)(train_task)
    concurrency = args.ray_concurrency or max(1, int(ray.cluster_resources().get("CPU", 1)) // cpus)
    rows = earlier_rows(args.output)
    # Architectures in flight when an earlier run stopped are trained again first.
    retrain = [t.arch for t in engine.trials.values() if t.status == "pending"]
    done = sum(t.status != "pending" for t in engine.trials.values())
    in_flight: dict[Any, Hashable] = {}
    exhausted = False
    options = training(args)
    while True:
        while (
            not exhausted and len(in_flight) < concurrency and done + len(in_flight) < args.budget
        ):
            if retrain:
                arch = retrain.pop(0)
            else:
                try:
                    (proposal,) = engine.ask(1)
                except SearchExhaustedError as exc:
                    print(f"Stopping early: {exc}", file=sys.stderr)
                    exhausted = True
                    break
                arch = proposal.arch
            text = engine.adapter.format(arch)
            reference = task.remote(
                engine.space_name,
                engine.space_options,
                text,
                str(args.data),
                args.dataset,
                args.limit_train,
                options,
            )
            in_flight[reference] = arch
        if not in_flight:
            break
        (ready,), _ = ray.wait(list(in_flight), num_returns=1)
        arch = in_flight.pop(ready)
        text = engine.adapter.format(arch)
        done += 1
        try:
            result = ray.get(ready)
        except Exception as exc:  # a task's error (or a lost node) fails that architecture only
            engine.fail([arch], f"the Ray task failed: {str(exc).splitlines()[0][:300]}")
            print(
                f"[{done}/{args.budget}] {text}: failed ({exc.__class__.__name__})", file=sys.stderr
            )
            _save(engine, rows, args)
            continue
        label = result["valid_accuracy"] if args.valid_size else result["accuracy"]
        if result["diverged"]:
            engine.fail([arch], f"training diverged in epoch {result['epochs']}")
        else:
            engine.tell([arch], [label])
        rows[text] = {
            "accuracy": result["accuracy"],
            "valid_accuracy": result["valid_accuracy"] if args.valid_size else float("nan"),
            "train_accuracy": result["train_accuracy"],
            "train_seconds": result["train_seconds"],
        }
        _save(engine, rows, args)
        print(f"[{done}/{args.budget}] {text}: label {label:.2f}%", file=sys.stderr)
    best = engine.recommend()
    print(f"Recommended: {best.text} ({best.accuracy:.2f}%, measured). {best.note}".rstrip())
    write_output(labels_table(engine, rows), args.output)
    return 0


def _save(
    engine: SearchEngine, rows: dict[str, dict[str, float]], args: argparse.Namespace
) -> None:
    if args.state is not None:
        engine.save(args.state)
    if args.output != "-" and rows:
        write_table(labels_table(engine, rows), Path(args.output))
    if args.history is not None:
        from flash_nas.cli.history import write_history

        write_history(engine, args.history)
