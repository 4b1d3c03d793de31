"""What every benchmark script shares: the machine line of its report, its command line, and
the networks that execute something."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flash_nas
from flash_nas.io.outputs import atomic_output


def machine() -> str:
    """The line each report states its machine with."""
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def standard_main(doc: str, run: Callable[..., Any]) -> None:
    """``--quick``, ``--seeds`` and ``--output``: run, print the Markdown, optionally save it."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few seeds: a smoke run")
    parser.add_argument("--seeds", type=int, help="seeds (default: the benchmark's full count)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()
    text = run(quick=args.quick, seeds=args.seeds).markdown()
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)


def executing(batch: flash_nas.GraphBatch) -> flash_nas.GraphBatch:
    """``batch`` without the networks whose output is cut off from their input: they execute
    nothing (:func:`flash_nas.executed_edges`), so a cost model says 0 (or a call's overhead)
    and a timing measures only the framework (NAS-Bench-201 has 341 such cells, about 2 %)."""
    graphs = list(batch.iter_graphs())
    kept = [graph for graph in graphs if flash_nas.executed_edges(graph).any()]
    if len(kept) == len(graphs):
        return batch
    return flash_nas.ListBatch(kept, to_graph=lambda graph: graph, to_text=lambda graph: graph.name)
