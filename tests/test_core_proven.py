"""CI's core-only pass writes down the tests it proved, and the pass with every extra leaves
exactly those out (tests/core_proven.py, .ci/run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

#: A stand-in for an extra (its module is installed only where a test puts it) and an inner
#: test file.
TESTS = """
import importlib.util
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def probes():
    return importlib.util.find_spec("flash_nas_pretend_extra")


@pytest.fixture
def plain_fixture():
    return 1


def test_plain(plain_fixture):
    assert plain_fixture == 1


def test_probes_a_module_no_environment_has():
    with pytest.raises(ImportError):
        import flash_nas_absent_everywhere  # noqa: F401


def test_looks_for_an_extra():
    importlib.util.find_spec("flash_nas_pretend_extra")


def test_imports_an_extra_submodule():
    with pytest.raises(ImportError):  # no submodule, whether the extra is there or not
        import flash_nas_pretend_extra.sub  # noqa: F401


def test_its_fixture_looked_for_an_extra(probes):
    pass


def test_a_later_user_of_that_fixture(probes):
    pass


def test_starts_a_process():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_fails():
    assert False


def test_skips():
    pytest.skip("needs something")
"""


def _inner(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n"
        "from tests.core_proven import *  # noqa: F403\n"
    )
    pytester.makepyfile(test_inner=TESTS)


def _write_pass(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *args, "--core-proven-write", str(pytester.path / "proven.txt")
    )  # fmt: skip


def _install_the_extra(pytester: pytest.Pytester) -> None:
    """What installing the extras does, for the inner tests: the module becomes findable (the
    inner conftest's folder is on their sys.path)."""
    (pytester.path / "flash_nas_pretend_extra").mkdir()
    (pytester.path / "flash_nas_pretend_extra" / "__init__.py").write_text("")


def test_the_core_pass_writes_what_each_passing_test_missed(pytester: pytest.Pytester):
    _inner(pytester)
    _write_pass(pytester).assert_outcomes(passed=7, failed=1, skipped=1)
    written = [json.loads(line) for line in (pytester.path / "proven.txt").read_text().splitlines()]
    extra = ["flash_nas_pretend_extra"]
    # no process, no failure, no skip; a fixture's misses count for every test that uses it
    assert sorted(written) == [
        ["test_inner.py::test_a_later_user_of_that_fixture", extra],
        ["test_inner.py::test_imports_an_extra_submodule", extra],
        ["test_inner.py::test_its_fixture_looked_for_an_extra", extra],
        ["test_inner.py::test_looks_for_an_extra", extra],
        ["test_inner.py::test_plain", []],
        ["test_inner.py::test_probes_a_module_no_environment_has", ["flash_nas_absent_everywhere"]],
    ]


def test_the_second_pass_reruns_what_missed_a_module_it_has(pytester: pytest.Pytester):
    _inner(pytester)
    _write_pass(pytester)
    _install_the_extra(pytester)
    again = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-v", "--core-proven-skip", str(pytester.path / "proven.txt")
    )
    # only the two that never missed the extra are left out; the four that did run again
    again.assert_outcomes(passed=5, failed=1, skipped=1, deselected=2)
    again.stdout.fnmatch_lines(["*test_looks_for_an_extra PASSED*"])
    again.stdout.no_fnmatch_line("*test_plain*")


def test_the_second_pass_leaves_out_misses_it_shares(pytester: pytest.Pytester):
    # without the extra in the second environment either, every written test is proven there
    _inner(pytester)
    _write_pass(pytester)
    again = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--core-proven-skip", str(pytester.path / "proven.txt")
    )
    again.assert_outcomes(passed=1, failed=1, skipped=1, deselected=6)


def test_a_module_that_looks_for_an_extra_when_collected_is_rerun_where_it_is_installed(
    pytester: pytest.Pytester,
):
    _inner(pytester)
    pytester.makepyfile(
        test_collected="import importlib.util\n"
        "EXTRA = importlib.util.find_spec('flash_nas_pretend_extra')\n"
        "def test_nothing_else():\n    pass\n"
    )
    _write_pass(pytester, "test_collected.py").assert_outcomes(passed=1)
    record = pytester.path / "proven.txt"
    assert json.loads(record.read_text()) == [
        "test_collected.py::test_nothing_else", ["flash_nas_pretend_extra"]
    ]
    _install_the_extra(pytester)
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "test_collected.py", "--core-proven-skip", str(record)
    ).assert_outcomes(passed=1)
