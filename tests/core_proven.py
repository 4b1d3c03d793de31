"""CI's two test passes without running the same test twice for nothing (``.ci/run``).

The core-only pass proves that flash-nas works without its extras, the pass with every extra
that it works with them. A test that, in the core-only pass, passed without ever looking for a
module that is not installed (no failed import, no ``find_spec`` that found nothing: in the test,
in any fixture it uses, or while its file was collected) and without starting a process, ran
code that never asked whether an extra is there: installing the extras cannot change what it
runs, so the second pass would repeat it exactly (``.ci/run`` checks that both environments hold
the same versions of every package the core-only one has). Such tests are written down in the
core-only pass and left out of the other; every test that touched an extra, skipped, failed or
ran a process runs in both.

``--core-proven-write FILE`` (the core-only pass, with ``--core-proven-extras``) appends the ids of those tests to FILE, one JSON
string a line (pytest-xdist workers append side by side); ``--core-proven-skip FILE`` (the pass
with every extra) deselects them ("N deselected" in pytest's summary).

How a missed module is seen: a finder at the end of ``sys.meta_path`` is asked only for a module
that no other finder found, by an import or by ``importlib.util.find_spec``; it counts the miss
when the module's top-level name is one of those that only the environment with every extra
holds (``--core-proven-extras FILE``, one name a line: ``.ci/run`` lists them; scipy, say, probes
for modules that neither environment has, and such misses change nothing) and finds nothing. How a process is seen: ``subprocess``, ``os.fork``, ``os.posix_spawn``
and ``os.system`` count the start (a child's own imports are out of sight, so the test is never
written down).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

#: Fixtures whose value may come from another process (conftest's run_once): never proven here.
SHARED_ACROSS_PROCESSES = frozenset({"once"})


class Watch:
    """Counts the modules nobody found and the processes started, since this process began."""

    def __init__(self) -> None:
        self.events = 0
        #: top-level module names only the environment with every extra holds
        self.extras: frozenset[str] = frozenset()
        #: names of fixtures whose set-up saw an event, and files whose collection did
        self.tainted_fixtures: set[str] = set()
        self.tainted_files: set[str] = set()

    # the finder protocol: asked last, finds nothing, counts a miss that an extra would find
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] in self.extras:
            self.events += 1
        return None

    def counting(self, start: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.events += 1
            return start(*args, **kwargs)

        return counted

    def install(self, extras: frozenset[str]) -> None:
        self.extras = extras
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
    group.addoption("--core-proven-extras", metavar="FILE", help="modules only extras install")
    group.addoption("--core-proven-skip", metavar="FILE", help="deselect the tests FILE names")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--core-proven-write"):
        extras = config.getoption("--core-proven-extras")
        if not extras:
            raise pytest.UsageError("--core-proven-write needs --core-proven-extras FILE")
        names = Path(extras).read_text(encoding="utf-8").split()
        WATCH.install(frozenset(names))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    # a module is imported when its collector collects (pytest imports test files lazily)
    before = WATCH.events
    yield
    path = getattr(collector, "path", None)
    if WATCH.events != before and path is not None:
        WATCH.tainted_files.add(str(path))


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any]) -> Iterator[None]:
    before = WATCH.events
    yield
    if WATCH.events != before:
        WATCH.tainted_fixtures.add(fixturedef.argname)


def proven(item: pytest.Item, reports: list[pytest.TestReport], events: int) -> bool:
    """Whether ``item`` passed touching nothing that an extra could change."""
    names = set(getattr(item, "fixturenames", ()))
    return (
        events == 0
        and len(reports) == 3
        and all(report.passed for report in reports)
        and not names & (WATCH.tainted_fixtures | SHARED_ACROSS_PROCESSES)
        and str(item.path) not in WATCH.tainted_files
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    record = item.config.getoption("--core-proven-write")
    before = WATCH.events
    reports: list[pytest.TestReport] = []
    item.stash[REPORTS] = reports
    yield
    if record and proven(item, reports, WATCH.events - before):
        with open(record, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(item.nodeid) + "\n")  # one write: appends do not interleave


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    if REPORTS in item.stash:
        item.stash[REPORTS].append(outcome.get_result())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = config.getoption("--core-proven-skip")
    if not skip:
        return
    lines = Path(skip).read_text(encoding="utf-8").splitlines()
    done = {json.loads(line) for line in lines if line.strip()}
    kept = [item for item in items if item.nodeid not in done]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.nodeid in done])
        items[:] = kept
