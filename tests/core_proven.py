"""CI's two test passes without running the same test twice for nothing (``.ci/run``).

The core-only pass proves that flash-nas works without its extras, the pass with every extra
that it works with them. A test that, in the core-only pass, passed without starting a process
and whose only failed module lookups (a failed import, a ``find_spec`` that found nothing: in
the test, in any fixture it uses, or while its file was collected) are of modules that the
environment with every extra lacks too, ran code that never saw an extra be missing: installing
the extras cannot change what it runs, so the second pass would repeat it exactly (``.ci/run``
checks that both environments hold the same versions of every package the core-only one has).
The core-only pass writes down every test that passed without starting a process, with the
top-level names it looked for and missed; the pass with every extra leaves out those whose
missed names it cannot find either. Every test that found an extra missing, skipped, failed or
ran a process runs in both.

Deciding in the second pass, in the environment with every extra, is what lets ``.ci/run``
install that environment while the core-only pass runs: the first pass needs no list of what
the extras install.

``--core-proven-write FILE`` (the core-only pass) appends one JSON line a test, ``[id, [missed
names]]`` (pytest-xdist workers append side by side); ``--core-proven-skip FILE`` (the pass with
every extra) deselects those ("N deselected" in pytest's summary).

How a missed module is seen: a finder at the end of ``sys.meta_path`` is asked only for a module
that no other finder found, by an import or by ``importlib.util.find_spec``; it notes the name
when it is a top-level one (a missing submodule lies inside a package the core environment has,
at the same version in both). How a process is seen: ``subprocess``, ``os.fork``,
``os.posix_spawn`` and ``os.system`` count the start (a child's own imports are out of sight, so
the test is never written down).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

#: Fixtures whose value may come from another process (conftest's run_once): never proven here.
SHARED_ACROSS_PROCESSES = frozenset({"once"})
#: Stands among a scope's missed names for a process it started (never a module's name).
PROCESS = "<process>"


class Watch:
    """Notes the top-level modules nobody found and the processes started, in order."""

    def __init__(self) -> None:
        #: what was missed, oldest first (a scope reads what it added); PROCESS for a process
        self.events: list[str] = []
        #: what each fixture's set-up, and each file's collection, added
        self.fixture_events: dict[str, set[str]] = {}
        self.file_events: dict[str, set[str]] = {}

    # the finder protocol: asked last, finds nothing, notes a top-level miss
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if "." not in name:
            self.events.append(name)
        return None

    def counting(self, start: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.events.append(PROCESS)
            return start(*args, **kwargs)

        return counted

    def since(self, mark: int) -> set[str]:
        return set(self.events[mark:])

    def install(self) -> None:
        sys.meta_path.append(self)  # type: ignore[arg-type]
        execute = subprocess.Popen._execute_child  # type: ignore[attr-defined]
        subprocess.Popen._execute_child = self.counting(execute)  # type: ignore[attr-defined]
        for name in ("fork", "posix_spawn", "posix_spawnp", "system"):
            if hasattr(os, name):
                setattr(os, name, self.counting(getattr(os, name)))


WATCH = Watch()
#: each test's set-up, call and teardown reports
REPORTS = pytest.StashKey[list[pytest.TestReport]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("core-proven", "CI: tests the core-only pass proved (.ci/run)")
    group.addoption("--core-proven-write", metavar="FILE", help="append the proven tests' ids")
    group.addoption("--core-proven-skip", metavar="FILE", help="deselect the tests FILE names")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--core-proven-write"):
        WATCH.install()


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    # a module is imported when its collector collects (pytest imports test files lazily)
    mark = len(WATCH.events)
    yield
    path = getattr(collector, "path", None)
    if len(WATCH.events) != mark and path is not None:
        WATCH.file_events.setdefault(str(path), set()).update(WATCH.since(mark))


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Iterator[None]:
    mark = len(WATCH.events)
    yield
    if len(WATCH.events) != mark:
        WATCH.fixture_events.setdefault(fixturedef.argname, set()).update(WATCH.since(mark))


def missed(item: pytest.Item, reports: list[pytest.TestReport], events: set[str]) -> set[str] | None:
    """The top-level modules ``item`` looked for and missed, or None where it cannot be proven
    (it did not pass, or it or a fixture of it started a process or shared another's result)."""
    names = set(getattr(item, "fixturenames", ()))
    if len(reports) != 3 or not all(report.passed for report in reports):
        return None
    if names & SHARED_ACROSS_PROCESSES:
        return None
    seen = set(events) | WATCH.file_events.get(str(item.path), set())
    for name in names & WATCH.fixture_events.keys():
        seen |= WATCH.fixture_events[name]
    return None if PROCESS in seen else seen


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    record = item.config.getoption("--core-proven-write")
    mark = len(WATCH.events)
    reports: list[pytest.TestReport] = []
    item.stash[REPORTS] = reports
    yield
    names = missed(item, reports, WATCH.since(mark)) if record else None
    if record and names is not None:
        with open(record, "a", encoding="utf-8") as handle:
            # one write: appends do not interleave
            handle.write(json.dumps([item.nodeid, sorted(names)]) + "\n")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if REPORTS in item.stash:
        item.stash[REPORTS].append(outcome.get_result())


@cache
def installed(name: str) -> bool:
    """Whether this environment has top-level module ``name`` (no import: only its finders)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = config.getoption("--core-proven-skip")
    if not skip:
        return
    lines = Path(skip).read_text(encoding="utf-8").splitlines()
    written = (json.loads(line) for line in lines if line.strip())
    # proven for this environment too: nothing it missed there is found here
    done = {test for test, names in written if not any(map(installed, names))}
    kept = [item for item in items if item.nodeid not in done]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in done])
        items[:] = kept
