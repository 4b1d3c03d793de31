"""``flash-nas plugins`` and ``flash-nas metrics``: what is installed."""

from __future__ import annotations

import argparse

from flash_nas import plugins
from flash_nas.cli._common import print_columns
from flash_nas.cli.commands import summary
from flash_nas.graph.metrics import METRICS


def add_to(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("plugins", help=summary("plugins"))
    listing.set_defaults(run=run_plugins)
    metrics = commands.add_parser("metrics", help=summary("metrics"))
    metrics.set_defaults(run=run_metrics)


def run_plugins(args: argparse.Namespace) -> int:
    rows = [("kind", "name", "plugin", "distribution", "description")]
    for entry in plugins.registrations():
        description = getattr(entry.factory, "description", "") or entry.factory.__name__
        rows.append((entry.kind, entry.name, entry.plugin, entry.distribution or "-", description))
    print_columns(rows)
    return 0


def run_metrics(args: argparse.Namespace) -> int:
    rows = [("name", "unit", "description")]
    rows += [(metric.name, metric.unit, metric.description) for metric in METRICS.values()]
    print_columns(rows)
    return 0
