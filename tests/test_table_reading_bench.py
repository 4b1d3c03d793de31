"""``python -m benchmarks.table_reading``: both ways of reading a table, timed in one run."""

from __future__ import annotations

import csv
from unittest import mock

import numpy as np
import pytest

from benchmarks import table_reading
from flash_nas.io import tables


def test_both_paths_are_timed_on_every_shipped_table_and_written(tmp_path, capsys):
    assert table_reading.main(["--repeats", "1", "--output", str(tmp_path)]) == 0
    rows = list(csv.DictReader((tmp_path / "table_reading.csv").open()))
    assert [row["table"] for row in rows] == list(table_reading.SHIPPED)
    for row in rows:
        assert int(row["rows"]) == 15625 and int(row["numeric_columns"]) >= 3
        fast, slow = float(row["column_at_a_time_ms"]), float(row["cell_at_a_time_ms"])
        assert fast > 0 and slow > 0
        assert float(row["ratio"]) == pytest.approx(slow / fast)
    assert capsys.readouterr().out.count("a column at a time") == 2


def test_the_cell_at_a_time_path_is_the_one_a_worded_table_takes(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arch,acc\na,1.5\nb,2\n")
    with mock.patch.object(tables, "_read_cells", wraps=tables._read_cells) as cells:
        table_reading._cell_at_a_time(path)
        assert cells.call_count == 1
        tables.read_table(path)  # plain: the column path, no cell-by-cell read
        assert cells.call_count == 1
    np.testing.assert_array_equal(table_reading._cell_at_a_time(path).column("acc"), [1.5, 2])


def test_paths_that_disagree_are_an_error_not_a_timing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("arch,acc\na,1.5\n")
    wrong = tables.Table(archs=("a",), columns={"acc": np.array([2.5])}, indices=None, source="x")
    with (
        mock.patch.object(table_reading, "_cell_at_a_time", lambda path: wrong),
        pytest.raises(AssertionError, match="read column 'acc' differently"),
    ):
        table_reading.time_table("t", path, 1)


def test_repeats_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exit_info:
        table_reading.main(["--repeats", "0"])
    assert exit_info.value.code == 2
    assert "expected a positive number of repeats, got '0'" in capsys.readouterr().err
