"""A table handled as users of data frames handle one: by column name, and a short repr."""

from __future__ import annotations

import numpy as np
import pytest

from flash_nas import Table
from flash_nas.errors import UnknownNameError


def _table() -> Table:
    return Table(("a", "b", "c"), {"c10_valid": np.array([91.5, 88.0, 70.0])}, source="t.csv")


def test_a_column_by_its_name():
    table = _table()
    np.testing.assert_array_equal(table["c10_valid"], [91.5, 88.0, 70.0])
    assert "c10_valid" in table and "top1" not in table
    assert list(table) == ["c10_valid"] and list(table.columns) == ["c10_valid"]
    assert len(table) == 3
    # An architecture's text still answers ``in``, as before.
    assert "b" in table and "z" not in table


def test_an_unknown_column_is_a_key_error_listing_the_columns():
    with pytest.raises(KeyError, match=r"t.csv: no column 'top1'; the table has: c10_valid"):
        _table()["top1"]
    with pytest.raises(UnknownNameError):
        _table()["top1"]


def test_the_repr_names_the_table_without_listing_its_rows():
    from flash_nas_adapters.nasbench201.space import load_accuracy_table

    table = load_accuracy_table()
    text = repr(table)
    assert len(text) < 300 and text == str(table)
    assert text.startswith("<Table: 15,625 rows, columns [") and "'c10_valid'" in text
    assert "|" not in text  # no architecture listed
    assert table["c10_valid"].shape == (15625,)
