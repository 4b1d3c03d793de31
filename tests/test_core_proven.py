"""CI's core-only pass writes down the tests it proved, and the pass with every extra leaves
exactly those out (tests/core_proven.py, .ci/run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]

#: A stand-in for an extra (its module is installed nowhere) and an inner test file.
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
    assert importlib.util.find_spec("flash_nas_pretend_extra") is None


def test_imports_an_extra_submodule():
    with pytest.raises(ImportError):
        import flash_nas_pretend_extra.sub  # noqa: F401


def test_its_fixture_looked_for_an_extra(probes):
    assert probes is None


def test_a_later_user_of_that_fixture(probes):
    assert probes is None


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
    (pytester.path / "extras.txt").write_text("flash_nas_pretend_extra\nother_extra\n")


def test_the_core_pass_writes_only_what_no_extra_could_change(pytester: pytest.Pytester):
    _inner(pytester)
    record = pytester.path / "proven.txt"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--core-proven-write", str(record),
        "--core-proven-extras", str(pytester.path / "extras.txt"),
    )  # fmt: skip
    result.assert_outcomes(passed=7, failed=1, skipped=1)
    written = [json.loads(line) for line in record.read_text().splitlines()]
    assert written == [
        "test_inner.py::test_plain",
        "test_inner.py::test_probes_a_module_no_environment_has",
    ]

    again = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--core-proven-skip", str(record)
    )
    again.assert_outcomes(passed=5, failed=1, skipped=1, deselected=2)


def test_a_module_that_looks_for_an_extra_when_collected_is_never_proven(
    pytester: pytest.Pytester,
):
    _inner(pytester)
    pytester.makepyfile(
        test_collected="import importlib.util\n"
        "EXTRA = importlib.util.find_spec('other_extra')\n"
        "def test_nothing_else():\n    assert EXTRA is None\n"
    )
    record = pytester.path / "proven.txt"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "test_collected.py", "--core-proven-write", str(record),
        "--core-proven-extras", str(pytester.path / "extras.txt"),
    ).assert_outcomes(passed=1)  # fmt: skip
    assert not record.exists()


def test_writing_needs_the_list_of_extras(pytester: pytest.Pytester, tmp_path: Path):
    _inner(pytester)
    result = pytester.runpytest_subprocess("--core-proven-write", str(tmp_path / "p.txt"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--core-proven-write needs --core-proven-extras FILE*"])
