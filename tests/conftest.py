"""Shared fixtures: the reference data beside the clone, plugin registration helpers, and
expensive set-ups run once per test run however many pytest-xdist workers need them."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import flash_nas.plugins
from flash_nas.train.torchvision_compat import import_torchvision_if_installed

# Where torchvision is installed beside the CPU torch, importing it plainly fails, and with it
# torchmetrics, lightning and NNI's model hub, which the NNI tests import directly.
import_torchvision_if_installed()

#: ``../shared/data`` beside the repository: real published NAS-Bench-201 measurements. CI has it;
#: a user's clone may not, and then the tests that need it skip.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"reference data not found at {SHARED_DATA} (only CI and developers have it)")
    return SHARED_DATA


@pytest.fixture
def add_plugin() -> Iterator:
    """Register plugin objects for one test; they are removed afterwards, even on failure."""
    added: list[str] = []

    def add(plugin: object, name: str) -> None:
        flash_nas.plugins.add_plugin(plugin, name)
        added.append(name)

    try:
        yield add
    finally:
        for name in added:
            flash_nas.plugins.remove_plugin(name)


T = TypeVar("T")


def run_once(
    factory: pytest.TempPathFactory, name: str, make: Callable[[Path], T]
) -> tuple[T, Path]:
    """``make(folder)``'s value and its folder, computed by the first worker that asks and
    shared with the others (pytest-xdist gives each worker its own session, so a session
    fixture alone runs once per worker). The pattern pytest-xdist documents: a file lock in the
    temporary folder all workers of this run share; the value is pickled beside the folder the
    set-up wrote into. Without xdist it is this session's own temporary folder."""
    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this run, and only by them
    folder, done = base / f"once-{name}", base / f"once-{name}.pickle"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    asked = time.perf_counter()
    with open(base / f"once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here until the first is done
        try:
            waited = time.perf_counter() - asked
            if not done.is_file():
                shutil.rmtree(folder, ignore_errors=True)  # what a failed first try left
                folder.mkdir()
                value = make(folder)
                done.write_bytes(pickle.dumps(value))
                what = f"computed in {time.perf_counter() - asked - waited:.0f} s"
            else:
                what = f"reused after waiting {waited:.0f} s"
            with open(base / f"once-{name}.log", "a") as log:  # where CI's time goes
                log.write(f"{worker}: {what}\n")
            return pickle.loads(done.read_bytes()), folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """:func:`run_once` bound to this run's temporary folders."""

    def call(name: str, make: Callable[[Path], T]) -> tuple[T, Path]:
        return run_once(tmp_path_factory, name, make)

    return call


@pytest.fixture(scope="session")
def quick_seeded(once: Callable[..., Any]) -> Any:
    """The quick suite's parts that take ``--first-seed`` (tests/bench_runs.py), run once."""
    from tests.bench_runs import quick_run

    return quick_run(once, "seeded")


@pytest.fixture(scope="session")
def quick_rest(once: Callable[..., Any]) -> Any:
    """The quick suite's other parts, with a user table (tests/bench_runs.py), run once."""
    from tests.bench_runs import quick_run

    return quick_run(once, "rest")
