"""Reading per-architecture tables: strict, with errors that name the row."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pytest

from flash_nas import Table, TableError, read_table, write_table


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_arch_index_and_numbers(tmp_path):
    table = read_table(write(tmp_path, "arch,index,acc\na,3,91.5\nb,7,88\n"))
    assert table.archs == ("a", "b")
    assert list(table.indices) == [3, 7]
    np.testing.assert_array_equal(table.column("acc"), [91.5, 88.0])
    np.testing.assert_array_equal(table.lookup(["b", "a"], "acc"), [88.0, 91.5])


def test_reads_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("arch,acc\na,1\n")
    assert read_table(path).column("acc")[0] == 1.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("arch,acc\na,\n", "line 2: column 'acc' is not a number"),
        ("arch,acc\na,high\n", "line 2: column 'acc' is not a number"),
        ("arch,acc\na,nan\n", "line 2: column 'acc' is not a number; expected a finite"),
        ("arch,acc\na,1\na,2\n", "'a' is listed twice \\(rows 1 and 2\\)"),
        ("name,acc\na,1\n", "missing column\\(s\\) 'arch'"),
        ("arch,acc\na,1,2\n", "line 2: 3 cells for 2 columns"),
        ("arch,acc\n", "has a header but no rows"),
        ("", "the file is empty"),
        ("arch,index,acc\na,x,1\n", "column 'index' is not an integer"),
    ],
)
def test_bad_tables_are_rejected_with_the_row(tmp_path, text, message):
    with pytest.raises(TableError, match=message):
        read_table(write(tmp_path, text))


def test_required_and_unknown_columns(tmp_path):
    path = write(tmp_path, "arch,acc\na,1\n")
    with pytest.raises(TableError, match="missing column\\(s\\) 'latency'"):
        read_table(path, required=["latency"])
    table = read_table(path)
    with pytest.raises(TableError, match="no column 'lat'; the table has: acc"):
        table.column("lat")
    with pytest.raises(TableError, match="1 architecture\\(s\\) are not in the table"):
        table.lookup(["a", "zz"], "acc")


def test_missing_file(tmp_path):
    with pytest.raises(TableError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_write_round_trips(tmp_path):
    table = Table(
        ("x|y", "z,w"),
        {"n": np.array([3.0, 2.5]), "big": np.array([1e20, 7.0])},
        indices=np.array([0, 1]),
    )
    buffer = io.StringIO()
    write_table(table, buffer)
    assert buffer.getvalue().splitlines()[:2] == ["arch,index,n,big", "x|y,0,3,1e+20"]
    path = write(tmp_path, buffer.getvalue())
    again = read_table(path)
    assert again.archs == table.archs
    np.testing.assert_array_equal(again.column("big"), table.column("big"))
