"""What every benchmark script shares: the machine line of its report, and its command line."""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flash_nas.outputs import atomic_output


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
