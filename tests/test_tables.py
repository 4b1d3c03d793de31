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



#: Cells that float() reads but no table means, each with only plain decimal characters around
#: it elsewhere in the column: a column is read whole only when every cell is a plain decimal.
NOT_PLAIN = ["5_0", "\u0665\u0660", "infinity", "1e999", "-inf", "0x10", "1e", ".", "+", "1 2"]


@pytest.mark.parametrize("cell", NOT_PLAIN)
def test_a_wrong_cell_deep_in_a_long_table_is_named_by_its_line(tmp_path, cell):
    rows = [f"a{row},{row},{row}.5,{row}e-3" for row in range(2000)]
    rows[1500] = f"a1500,1500,{cell},1.5e-3"
    with pytest.raises(TableError, match=r"line 1502: column 'acc' is not a number"):
        read_table(write(tmp_path, "arch,index,acc,lat\n" + "\n".join(rows) + "\n"))


def test_the_first_wrong_line_is_named_whichever_column_it_is_in(tmp_path):
    # a column at a time must not change which error a table gets: the file's first
    text = "arch,acc,lat\na,1,2\nb,1,x\nc,y,2\nd,1,2,3\n"
    with pytest.raises(TableError, match=r"line 3: column 'lat'"):
        read_table(write(tmp_path, text))


def test_every_plain_decimal_spelling_reads_as_a_cell_at_a_time_would(tmp_path):
    cells = [" 1.5 ", "+.5", "5.", "-0", "1E3", "2e-3", "\t7\t", "0012", "-.25e+2", "3"]
    text = "arch,acc\n" + "".join(f"a{i},{cell}\n" for i, cell in enumerate(cells))
    whole = read_table(write(tmp_path, text)).column("acc")
    np.testing.assert_array_equal(whole, [float(cell) for cell in cells])
    # the same cells beside a word take the cell-by-cell path; they read alike there
    worded = read_table(write(tmp_path, text + "z,does not run\n"), words={"does not run": np.inf})
    np.testing.assert_array_equal(worded.column("acc"), [*whole, np.inf])

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
