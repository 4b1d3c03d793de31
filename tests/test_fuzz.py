"""Property-based fuzz of what users feed the command line: architecture text and CSV tables.

Whatever the input, a command either succeeds or ends with exit status 1 or 2 and one
``flash-nas: error:`` line, never a traceback, and a failed run leaves the output file as it was.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the fuzz tests need the [test] extra")
from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
    strategies as st,
)

from flash_nas.cli import main  # noqa: E402
from flash_nas.errors import TableError  # noqa: E402
from flash_nas.io.tables import read_table  # noqa: E402

OLD = b"arch,nn_degree\nkeep me,1\n"
NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
FLASH = "dense:w=32,48,64;d=4,6,2;t=10,0,0"
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_cli(argv: list[str], output: Path) -> tuple[int, str]:
    """Exit status and standard error of ``flash-nas argv --output output`` (in-process)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main([*argv, "--quiet", "--output", str(output)])
        except SystemExit as exit_info:
            status = exit_info.code
    return status, err.getvalue()


def check_outcome(status: int, err: str, output: Path) -> None:
    assert "Traceback" not in err
    if status == 0:
        return
    assert status in (1, 2), (status, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flash-nas: error: "), err
    assert len(lines[0]) < 2_000  # long input is quoted cut short
    assert output.read_bytes() == OLD


def mutations(seed: str) -> st.SearchStrategy[str]:
    """Text near a valid architecture: characters replaced, dropped or inserted."""
    alphabet = [*sorted(set(seed)), "\t", " ", "\u00e9", "\x00", "\ufeff", "#", '"', "\r"]

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = list(seed)
        for _ in range(draw(st.integers(0, 6))):
            position = draw(st.integers(0, len(text)))
            action = draw(st.sampled_from(["replace", "drop", "insert"]))
            char = draw(st.sampled_from(alphabet))
            if action == "insert" or position == len(text):
                text.insert(position, char)
            elif action == "drop":
                del text[position]
            else:
                text[position] = char
        return "".join(text)

    return mutate()


def arch_lines(seed: str) -> st.SearchStrategy[list[str]]:
    return st.lists(st.one_of(mutations(seed), st.text(max_size=60)), min_size=1, max_size=5)


@pytest.mark.parametrize(("space", "seed"), [("nasbench201", NB201), ("flash", FLASH)])
def test_fuzzed_architecture_files(space, seed):
    @FUZZ
    @given(lines=arch_lines(seed), as_csv=st.booleans())
    def check(lines: list[str], as_csv: bool) -> None:
        with tempfile.TemporaryDirectory() as folder:
            output = Path(folder) / "out.csv"
            output.write_bytes(OLD)
            if as_csv:
                archs = Path(folder) / "archs.csv"
                with archs.open("w", newline="", encoding="utf-8") as handle:
                    csv.writer(handle).writerows([["arch"], *([line] for line in lines)])
            else:
                archs = Path(folder) / "archs.txt"
                archs.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
            status, err = run_cli(
                ["score", "--space", space, "--metrics", "nn_degree,params", "--archs", str(archs)],
                output,
            )
            check_outcome(status, err, output)

    check()


CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "nan", "-inf", "1e999", "0x10", "1,5", '"', NB201, FLASH]),
    st.text(max_size=20),
)


@st.composite
def tables(draw: st.DrawFn) -> str:
    names = ["arch", "index", "latency_ms", "acc", "", "arch "]
    header = draw(st.lists(st.sampled_from(names) | st.text(max_size=8), min_size=1, max_size=5))
    width = len(header)
    rows = draw(
        st.lists(st.lists(CELLS, min_size=max(width - 1, 0), max_size=width + 1), max_size=6)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if draw(st.booleans()) else "") + out.getvalue()


@FUZZ
@given(text=tables())
def test_fuzzed_tables_are_read_or_refused_with_a_table_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            table = read_table(path)
        except TableError as exc:
            assert str(path) in str(exc)
            return
        assert len(table) >= 1 and len(set(table.archs)) == len(table)
        for values in table.columns.values():
            assert len(values) == len(table) and all(map(float.__eq__, values, values))


@FUZZ
@given(text=tables())
def test_fuzzed_tables_given_to_commands(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.csv"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        output = Path(folder) / "out.csv"
        output.write_bytes(OLD)
        for argv in (
            [
                "calibrate",
                "--hardware",
                "pi3b",
                "--measurements",
                str(path),
                "--target",
                "latency_ms",
                "--fit-samples",
                "1",
            ],
            ["score", "--space", "nasbench201", "--archs", str(path), "--metrics", "params"],
        ):
            status, err = run_cli(argv, output)
            check_outcome(status, err, output)
            output.write_bytes(OLD)
