"""One trial of the NAS-Bench-201 example: look the cell's accuracy up and report it to NNI.

NNI hands the trial six parameters, ``cell/{j}_{i}`` (the op on the edge from node j to node i),
named as NNI's own NasBench201 model space names them. Instead of training, the trial reads the
CIFAR-10 table that ships with flash-nas (NAS-Bench-201's 200-epoch results, mean over seeds) and
reports, as the standard protocol has it, the *validation* accuracy as the metric the tuner
learns from, and the *test* accuracy beside it, for judging the search only:

    {"default": c10_valid, "c10_test": c10_test, "latency_ms": 6.9, "arch": "|...|"}

``latency_ms`` is the cell's latency on the hardware the tuner's limit is about (config.yml's
``hardware: hwnasbench:edgegpu``, HW-NAS-Bench's Jetson TX2 measurements), so NNI's web UI shows
which trials meet ``max_latency_ms`` beside their accuracy.

``trial_train.py`` trains instead, for users with CIFAR-10 on disk. Run alone
(``python trial.py``), the script prints what it would report for one cell.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import nni

import flash_nas
from flash_nas_adapters.nasbench201.encoding import ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

EXAMPLE = {
    "cell/0_1": "conv_3x3",
    "cell/0_2": "conv_3x3",
    "cell/1_2": "conv_3x3",
    "cell/0_3": "skip_connect",
    "cell/1_3": "conv_3x3",
    "cell/2_3": "conv_3x3",
}


#: The hardware model of config.yml's tuner (``classArgs.hardware``); change both together.
HARDWARE = "hwnasbench:edgegpu"


@cache
def _latency_model() -> tuple[flash_nas.Adapter, flash_nas.HardwareModel]:
    return flash_nas.get_adapter("nasbench201"), flash_nas.get_hardware(HARDWARE)


@cache
def _rows() -> tuple[dict[str, int], Any, Any]:
    table = load_shipped_table()
    rows = {arch: row for row, arch in enumerate(table.archs)}
    return rows, table.column("c10_valid"), table.column("c10_test")


def lookup(params: dict[str, str]) -> dict[str, Any]:
    """The metric dict NNI receives for one trial's parameters."""
    arch = ops_to_string(ops_from_nni(params))
    rows, valid, test = _rows()
    row = rows[arch]
    return {"default": float(valid[row]), "c10_test": float(test[row]), "arch": arch}


def report(params: dict[str, str]) -> dict[str, Any]:
    """:func:`lookup`'s metrics and the cell's latency on the tuner's hardware."""
    value = lookup(params)
    adapter, hardware = _latency_model()
    graph = adapter.to_graph(adapter.parse(value["arch"]))
    return {**value, "latency_ms": float(hardware.estimate(graph)["latency_ms"])}


def main() -> None:
    params = nni.get_next_parameter()
    if not params:  # not started by NNI
        print(f"Not run by NNI; for {EXAMPLE} the trial would report {report(EXAMPLE)}")
        return
    nni.report_final_result(report(params))


if __name__ == "__main__":
    main()
