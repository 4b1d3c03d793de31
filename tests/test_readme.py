"""Every shell command of README.md and docs/*.md runs as written.

Each ```bash block is cut into commands (``\\`` continues a line; ``#`` starts a comment) and
run by bash in a temporary folder, one folder per document, in the document's order, so that a
later command reads what an earlier one wrote (``host.csv`` before ``calibrate``). Each command
must exit with status 0, and every file it names with ``--output``, ``--plot`` or ``--state``
must exist afterwards.

A block that cannot run here carries a marker on the line above it, with the reason::

    <!-- readme-test: skip (installs) -->

The reasons are limited to :data:`SKIP_REASONS`; ``test_marked_block`` reports each skipped
block (``pytest -ra`` lists them), and a block that installs, runs CI or starts a service
without a marker fails :func:`test_blocks_that_cannot_run_here_are_marked`.

To keep the whole run within a few minutes on two cores, the commands run with smaller
settings, by these rules and no others (:data:`RULES`):

* ``PATH/cifar-10-batches-py`` is a folder of fake CIFAR-10 batches in the exact format
  (``tests/test_cifar.py``'s ``write_cifar10``: 20 training and 3 test images);
* ``--epochs N`` becomes ``--epochs 1`` and ``--valid-size N`` ``--valid-size 4`` (the fake
  folder holds 20 training images);
* ``flash-nas train --budget N`` trains at most 3 architectures (each is a real training run);
* ``--sample N`` draws at most 30 architectures, at most 3 with a ZigZag model (seconds per
  network);
* ``flash-nas measure`` times each network with 1 warm-up run and 3 repeats (``-H warmup=1 -H
  repeats=3``; the default is 3 and 10): the test checks that the commands work, not the timings;
* ``flash-nas calibrate`` gets ``--accept-worse-fit``: the documents calibrate on those quick
  timings, taken while another test worker loads the two cores, and on such noise the quality
  gate rightly refuses a fit now and then (``tests/test_calibration_robust.py`` tests the gate);
* ``my_archs.txt``, "your own list", holds two NAS-Bench-201 cells.

Searches keep their budgets: a 25-label search on the shipped tables takes seconds.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_cifar import write_cifar10

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

MARKER = re.compile(r"<!--\s*readme-test:\s*skip\s*\((?P<reason>[^)]*)\)\s*-->")
#: Why a block may be left out; anything else is a block the test should run.
#: Optional packages the documents' commands need (measure, --plot, zigzag, the NB201 file...).
EXTRAS_THE_DOCS_USE = ("torch", "matplotlib", "zigzag", "nas_201_api")

SKIP_REASONS = (
    "installs",
    "runs CI",
    "starts a long-lived service",
    "needs a cluster",
    "needs the torchvision extra",
)
#: Commands that must not run in a test: a block holding one needs a marker.
UNRUNNABLE = re.compile(r"\bpip install\b|\.ci/run\b|\bnnictl create\b|\bkubectl\b")

MY_ARCHS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|\n"
    "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|\n"
)


def _cap(option: str, most: int):
    def replace(match: re.Match[str]) -> str:
        return f"{option} {min(int(match.group(1)), most)}"

    return replace


def _cap_sample(command: str) -> str:
    most = 3 if "zigzag" in command else 30
    return re.sub(r"--sample (\d+)", _cap("--sample", most), command)


def _cap_train_budget(command: str) -> str:
    if not command.startswith("flash-nas train"):
        return command
    return re.sub(r"--budget (\d+)", _cap("--budget", 3), command)


def _quick_timing(command: str) -> str:
    if not command.startswith("flash-nas measure"):
        return command
    return command + " -H warmup=1 -H repeats=3"


def _accept_noisy_fit(command: str) -> str:
    if not command.startswith("flash-nas calibrate"):
        return command
    return command + " --accept-worse-fit"


#: The only changes made to a command before it runs (see the module docstring).
RULES = (
    _quick_timing,
    _accept_noisy_fit,
    lambda command: re.sub(r"--epochs \d+", "--epochs 1", command),
    lambda command: re.sub(r"--valid-size \d+", "--valid-size 4", command),
    _cap_train_budget,
    _cap_sample,
)


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    commands: tuple[str, ...]
    skip_reason: str | None

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"


def _commands(lines: list[str]) -> tuple[str, ...]:
    commands, pending = [], ""
    for raw in lines:
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        line = re.sub(r"\s+#\s.*$", "", line)  # a trailing comment
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        commands.append(pending + line)
        pending = ""
    return tuple(commands)


def bash_blocks(document: Path) -> list[Block]:
    lines = document.read_text().splitlines()
    blocks, index = [], 0
    while index < len(lines):
        if lines[index].strip() != "```bash":
            index += 1
            continue
        end = lines.index("```", index + 1)
        above = next((line for line in reversed(lines[:index]) if line.strip()), "")
        marker = MARKER.search(above)
        blocks.append(
            Block(
                document,
                index + 1,
                _commands(lines[index + 1 : end]),
                marker.group("reason") if marker else None,
            )
        )
        index = end + 1
    return blocks


ALL_BLOCKS = [block for document in DOCUMENTS for block in bash_blocks(document)]


def _named_outputs(command: str) -> list[str]:
    words = shlex.split(command)
    return [
        after
        for word, after in itertools.pairwise(words)
        if word in ("--output", "--plot", "--state") and after != "-"
    ]


def prepare(command: str, cifar: Path) -> str:
    for rule in RULES:
        command = rule(command)
    return command.replace("PATH/cifar-10-batches-py", str(cifar))


def _environment(home: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)  # flash-nas from the environment under test
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),  # python -m benchmarks from a temporary folder
        "HOME": str(home),
        "MPLBACKEND": "Agg",
    }


def test_the_documents_have_shell_blocks_to_run():
    # a parser that finds nothing would pass every document vacuously
    runnable = [block for block in ALL_BLOCKS if block.skip_reason is None]
    assert {block.document.name for block in runnable} >= {"README.md", "tutorial.md"}
    assert sum(len(block.commands) for block in runnable) >= 20


def test_commands_are_joined_and_stripped_of_comments():
    lines = ["# a comment", "flash-nas hw --space x \\", "   --output a.csv   # the costs", ""]
    assert _commands(lines) == ("flash-nas hw --space x --output a.csv",)
    assert _named_outputs("flash-nas search --output best.csv --plot 'p q.png'") == [
        "best.csv",
        "p q.png",
    ]
    assert prepare("flash-nas measure --sample 50 --epochs 10", Path("/c")) == (
        "flash-nas measure --sample 30 --epochs 1 -H warmup=1 -H repeats=3"
    )
    assert prepare("flash-nas train --budget 25 --data PATH/cifar-10-batches-py", Path("/c")) == (
        "flash-nas train --budget 3 --data /c"
    )
    assert prepare("flash-nas search --budget 25", Path("/c")) == "flash-nas search --budget 25"
    assert prepare("flash-nas calibrate --fit-samples 25", Path("/c")) == (
        "flash-nas calibrate --fit-samples 25 --accept-worse-fit"
    )


def test_blocks_that_cannot_run_here_are_marked():
    for block in ALL_BLOCKS:
        if block.skip_reason is None:
            unrunnable = [command for command in block.commands if UNRUNNABLE.search(command)]
            assert not unrunnable, (
                f"{block.where}: {unrunnable[0]!r} cannot run in a test; put "
                f"'<!-- readme-test: skip (REASON) -->' above the block, REASON one of "
                f"{SKIP_REASONS}"
            )
        else:
            assert block.skip_reason in SKIP_REASONS, (block.where, block.skip_reason)


@pytest.mark.parametrize(
    "block",
    [block for block in ALL_BLOCKS if block.skip_reason is not None],
    ids=lambda block: block.where,
)
def test_marked_block(block):
    pytest.skip(f"{block.where} not run ({block.skip_reason}): {' ; '.join(block.commands)}")


@pytest.mark.parametrize(
    "document",
    [document for document in DOCUMENTS if bash_blocks(document)],
    ids=lambda document: str(document.relative_to(ROOT)),
)
def test_every_command_of_the_document_runs(document, tmp_path):
    missing = [m for m in EXTRAS_THE_DOCS_USE if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the documents' commands use every extra; missing {missing} (pip install -e '.[all]')")
    cifar = write_cifar10(tmp_path / "data" / "cifar-10-batches-py")
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "my_archs.txt").write_text(MY_ARCHS)
    environment = _environment(tmp_path / "home")
    seconds: list[tuple[float, str]] = []
    for block in bash_blocks(document):
        if block.skip_reason is not None:
            continue
        for written in block.commands:
            command = prepare(written, cifar)
            start = time.perf_counter()
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", command],
                cwd=workdir,
                env=environment,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            seconds.append((time.perf_counter() - start, command))
            assert done.returncode == 0, (
                f"{block.where}: {written}\nran as: {command}\nexit {done.returncode}\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
            )
            for output in _named_outputs(command):
                assert (workdir / output).exists(), f"{block.where}: {command} wrote no {output}"
    # the slowest commands, for whoever keeps CI fast (pytest -s, or -rP, shows them)
    for duration, command in sorted(seconds, reverse=True)[:5]:
        print(f"{duration:6.1f} s  {command}")
