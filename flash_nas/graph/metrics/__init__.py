"""Training-free metrics by name, on one graph or on a batch of graphs.

See :mod:`flash_nas.graph.metrics.graph_metrics` for each metric's definition. Metrics count the
*live* edges (:func:`live_edges`); hardware cost models count the *executed* ones
(:func:`executed_edges`, what a device runs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from flash_nas.errors import UnknownNameError
from flash_nas.graph import ArchGraph
from flash_nas.graph.metrics import graph_metrics
from flash_nas.graph.structure import executed_edges, live_edges

if TYPE_CHECKING:
    from flash_nas.graph.batch import GraphBatch

__all__ = [
    "METRICS",
    "Metric",
    "executed_edges",
    "get_metric",
    "live_edges",
    "parse_metric_names",
    "score",
    "score_batch",
]


@dataclass(frozen=True)
class Metric:
    """A named metric: what it measures, in which unit, and how to compute it on one graph."""

    name: str
    description: str
    unit: str
    on_graph: Callable[[ArchGraph], float]


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric(
            "nn_degree", "NN-Degree, channel level (FLASH)", "channels", graph_metrics.nn_degree
        ),
        Metric(
            "nn_degree_neuron",
            "NN-Degree, neuron level (conv counts C_in*k^2; our variant)",
            "neurons",
            graph_metrics.nn_degree_neuron,
        ),
        Metric(
            "nn_degree_computing",
            "NN-Degree over computing nodes only (flash-nas 0.1's rule; sums of identities "
            "left out)",
            "channels",
            graph_metrics.nn_degree_computing,
        ),
        Metric(
            "nn_mass", "NN-Mass (Bhardwaj et al., CVPR 2021)", "channels", graph_metrics.nn_mass
        ),
        Metric("params", "trainable parameters", "count", graph_metrics.params),
        Metric(
            "macs", "multiply-accumulates of conv and linear layers", "MACs", graph_metrics.macs
        ),
        Metric(
            "flops",
            "all arithmetic, 1 MAC = 1 FLOP (NAS-Bench-201's convention)",
            "FLOPs",
            graph_metrics.flops,
        ),
        Metric(
            "activations",
            "activation values of live tensors, input excluded",
            "values",
            graph_metrics.activations,
        ),
    )
}


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name lists the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownNameError(
            f"Unknown metric {name!r}; expected one of {', '.join(METRICS)}."
        ) from None


def parse_metric_names(text: str | Iterable[str]) -> list[str]:
    """Metric names from ``"a,b"`` or a list, each checked; duplicates are an error."""
    names = [part.strip() for part in text.split(",")] if isinstance(text, str) else list(text)
    if not names or any(not name for name in names):
        raise UnknownNameError(
            f"Expected a comma-separated list of metric names from {', '.join(METRICS)}; "
            f"got {text!r}."
        )
    for name in names:
        get_metric(name)
    if len(set(names)) != len(names):
        raise UnknownNameError(f"A metric is named twice in {text!r}.")
    return names


def score(graph: ArchGraph, names: Sequence[str] = tuple(METRICS)) -> dict[str, float]:
    """Every named metric of one graph."""
    return {name: get_metric(name).on_graph(graph) for name in names}


def score_batch(
    batch: GraphBatch,
    names: Sequence[str] = tuple(METRICS),
    *,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Every named metric of every architecture in ``batch``, as float arrays.

    A batch that knows a fast array form of a metric computes it at once; the others are scored
    one graph at a time (with a progress bar when ``progress`` is set).
    """
    metrics = [get_metric(name) for name in names]
    results: dict[str, np.ndarray] = {}
    slow = []
    for metric in metrics:
        fast = batch.fast_metric(metric.name)
        if fast is None:
            slow.append(metric)
        else:
            results[metric.name] = np.asarray(fast, dtype=float)
    if slow:
        columns = {metric.name: np.empty(len(batch)) for metric in slow}
        for position, graph in enumerate(batch.iter_graphs(progress=progress)):
            for metric in slow:
                columns[metric.name][position] = metric.on_graph(graph)
        results.update(columns)
    return {name: results[name] for name in names}
