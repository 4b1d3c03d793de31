"""Every ``flash-nas`` command: the module that declares it, and its line in ``flash-nas --help``.

The command line imports a command's module only when that command runs (or its own ``--help``
is asked for): ``flash-nas --help`` reads this table alone.
"""

from __future__ import annotations

#: Command -> (module under flash_nas.cli that declares it, one line for the command list).
COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": ("info", "list registered adapters and hardware models"),
    "metrics": ("info", "list the training-free metrics"),
    "score": ("score", "score architectures with training-free metrics"),
    "hw": ("hardware", "latency, energy and area from a hardware model"),
    "measure": ("hardware", "time real torch inference on this machine"),
    "calibrate": ("hardware", "refit an analytical hardware model to measurements"),
    "sample": ("search", "choose architectures to label (train), spanning NN-Degree"),
    "search": ("search", "search: ask/tell with labels from a table, recommend an architecture"),
    "show": ("show", "print a search's summary from its --state file (also mid-run)"),
    "train": ("train", "train architectures on CIFAR-10/100 to get their accuracies"),
    "nni": ("nni", "register the FLASH tuner with NNI (nnictl algo register)"),
    "bench": ("bench", "where the benchmark suite runs (python -m benchmarks, from a clone)"),
}


def summary(command: str) -> str:
    """The command's line in ``flash-nas --help`` (its parser's ``help``)."""
    return COMMANDS[command][1]
