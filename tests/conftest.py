"""Shared fixtures: the reference data beside the clone, plugin registration helpers, and
expensive set-ups run once per test run however many pytest-xdist workers need them."""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

import flash_nas.plugins
from flash_nas.train.torchvision_compat import import_torchvision_if_installed
from tests.core_proven import (  # noqa: F401  (CI's two passes share the proven tests: .ci/run)
    pytest_addoption,
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_fixture_setup,
    pytest_make_collect_report,
    pytest_runtest_makereport,
    pytest_runtest_protocol,
)

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


def _shared_base(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every xdist worker of this run shares (this session's own without
    xdist): the pattern pytest-xdist documents."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _fill(base: Path, name: str, make: Callable[[Path], Any], asked: float) -> None:
    """Under ``name``'s lock: compute and pickle ``make``'s value unless it is there already;
    log who computed it and who waited (where CI's time goes)."""
    folder, done = base / f"once-{name}", base / f"once-{name}.pickle"
    waited = time.perf_counter() - asked
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)  # what a failed first try left
        folder.mkdir()
        done.write_bytes(pickle.dumps(make(folder)))
        what = f"computed in {time.perf_counter() - asked - waited:.0f} s"
    else:
        what = f"reused after waiting {waited:.0f} s"
    with open(base / f"once-{name}.log", "a") as log:
        log.write(f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}: {what}\n")


def run_once(
    factory: pytest.TempPathFactory,
    name: str,
    make: Callable[[Path], T],
    meanwhile: Sequence[tuple[str, Callable[[Path], Any]]] = (),
) -> tuple[T, Path]:
    """``make(folder)``'s value and its folder, computed by the first worker that asks and
    shared with the others (pytest-xdist gives each worker its own session, so a session
    fixture alone runs once per worker): a file lock and a pickle in the folder all workers
    share. A worker that finds ``name`` being computed by another first computes any set-up of
    ``meanwhile`` that nobody has started, instead of only waiting."""
    base = _shared_base(factory)
    asked = time.perf_counter()
    with open(base / f"once-{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another worker is computing it: do something useful first
            for other, other_make in meanwhile:
                with open(base / f"once-{other}.lock", "w") as other_lock:
                    try:
                        fcntl.flock(other_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except BlockingIOError:
                        continue
                    try:
                        _fill(base, other, other_make, time.perf_counter())
                    finally:
                        fcntl.flock(other_lock, fcntl.LOCK_UN)
            fcntl.flock(lock, fcntl.LOCK_EX)  # then wait for the first to finish
        try:
            _fill(base, name, make, asked)
            return pickle.loads((base / f"once-{name}.pickle").read_bytes()), base / f"once-{name}"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """:func:`run_once` bound to this run's temporary folders."""

    def call(
        name: str,
        make: Callable[[Path], T],
        meanwhile: Sequence[tuple[str, Callable[[Path], Any]]] = (),
    ) -> tuple[T, Path]:
        return run_once(tmp_path_factory, name, make, meanwhile)

    return call


@pytest.fixture(scope="session")
def quick_seeded(once: Callable[..., Any]) -> Any:
    """The quick suite's parts that take ``--first-seed`` (tests/bench_runs.py), run once."""
    from tests.bench_runs import quick_run

    return quick_run(once, "seeded")


@pytest.fixture(scope="session")
def quick_rest(once: Callable[..., Any]) -> Any:
    """The quick suite's other parts but those run apart, with a user table, run once."""
    from tests.bench_runs import quick_run

    return quick_run(once, "rest")


@pytest.fixture(scope="session")
def quick_apart(once: Callable[..., Any]) -> Any:
    """The quick suite's parts that run apart from the user table (tests/bench_runs.py)."""
    from tests.bench_runs import quick_run

    return quick_run(once, "apart")


@pytest.fixture
def few_rounds(monkeypatch) -> Iterator[None]:
    """The benchmarks' gradient-boosted trees with 60 rounds, on one thread: tests fit a few
    hundred cells, not 15,625, and two test workers share the two cores (OpenMP's threads,
    spinning, slowed each fit tenfold). Skips without scikit-learn."""
    pytest.importorskip("sklearn")
    from threadpoolctl import threadpool_limits

    from benchmarks import constrained_separability

    monkeypatch.setattr(constrained_separability, "TREE_ROUNDS", 60)
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture
def exhaust_after(monkeypatch) -> Callable[[int], None]:
    """``exhaust_after(n)``: from then on, the search engine's ``ask`` raises
    ``SearchExhaustedError`` once ``n`` architectures were tried (the engine has nothing left
    to propose)."""
    from flash_nas.errors import SearchExhaustedError
    from flash_nas.search.engine import SearchEngine

    shipped_ask = SearchEngine.ask

    def exhaust(n: int) -> None:
        def ask(self, count=1):
            if len(self.trials) >= n:
                raise SearchExhaustedError("nothing left")
            return shipped_ask(self, count)

        monkeypatch.setattr(SearchEngine, "ask", ask)

    return exhaust
