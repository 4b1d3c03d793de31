"""``flash-nas search --costs-from TABLE:COLUMN[,COLUMN]``: each proposal's measured costs,
looked up in a table beside its label (the stand-in for measuring it on the device), and the
latency-only measurements of ``--measure-budget``.

TABLE is resolved as ``--labels-from`` resolves it (a CSV path, or a table the space ships by
name); each COLUMN names a quantity of the hardware model (``latency_ms``), or
``QUANTITY=COLUMN`` maps a column of another name onto one (``latency_ms=raspi4_latency``).
A cell may read ``does not run`` (the network did not run on the device: a compiler that could
not map it, a runtime that failed), which the engine records as a cost of ``inf``: it meets no
limit and teaches the engine which networks run. What was typed wrong (a quantity the model
does not report, a column the table lacks) is a usage error; a value that is not a cost
(missing, NaN, zero or negative) is an error of the data, said before the engine records
anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flash_nas.cli._args import UsageError
from flash_nas.errors import CostError
from flash_nas.io.tables import Table, read_table
from flash_nas.plugins.adapter import Adapter
from flash_nas.search.engine.told import DOES_NOT_RUN

if TYPE_CHECKING:
    from flash_nas.search.engine import SearchEngine

__all__ = ["CostTable", "load_cost_table", "resolve_table"]


def resolve_table(adapter: Adapter, name: str, option: str) -> Table:
    """TABLE of ``TABLE:COLUMN``: a table the space ships, by name, or a CSV file of measured
    costs, whose cells may read ``does not run`` (its columns are checked by the caller: a
    column typed on the command line is a usage error)."""
    shipped = adapter.tables()
    if name in shipped:
        return shipped[name]()
    if Path(name).is_file():
        return read_table(name, words={DOES_NOT_RUN: math.inf})
    known = ", ".join(shipped) or "none"
    raise UsageError(
        f"{option}: {name!r} is neither a file nor a table this space ships (shipped: {known})."
    )


@dataclass(frozen=True)
class CostTable:
    """The table ``--costs-from`` names and which of its columns holds each quantity."""

    table: Table
    #: quantity -> column, in the order typed.
    columns: dict[str, str]
    #: What was typed, for messages.
    spec: str

    @property
    def quantities(self) -> list[str]:
        return list(self.columns)

    def check_quantities(self, engine: SearchEngine) -> None:
        """Every quantity typed must be one the engine's hardware model reports."""
        if engine.hardware is None:
            raise UsageError(
                f"--costs-from {self.spec}: measured costs need a hardware model whose "
                f"quantities they are; add --hardware NAME (e.g. pi3b)."
            )
        reported = list(engine.hardware.quantities)
        for quantity in self.columns:
            if quantity not in reported:
                raise UsageError(
                    f"--costs-from {self.spec}: {quantity!r} is not a quantity the "
                    f"{engine.hardware_name} model reports ({', '.join(reported)}); name one of "
                    f"those, or map a column onto one as QUANTITY=COLUMN."
                )

    def costs(self, texts: Sequence[str], why: str) -> dict[str, list[float | None]]:
        """quantity -> the measured cost of each architecture of ``texts`` (``why``: what they
        are, for the message), each checked to be a positive cost (``inf``: it does not run)."""
        table = self.table
        where = table.source or self.spec.rpartition(":")[0]
        found: dict[str, list[float | None]] = {}
        for quantity, column in self.columns.items():
            values = table.column(column)
            found[quantity] = []
            for text in texts:
                if text not in table:
                    raise CostError(
                        f"--costs-from {where} has no row for {text} ({why}); a table stands in "
                        f"for measuring only where it holds every architecture the search may "
                        f"propose: add its measurement to the table and rerun (with --state, "
                        f"the run resumes)."
                    )
                value = float(values[table.row_of(text)])
                if math.isnan(value) or value <= 0:
                    what = "no value" if math.isnan(value) else f"{value:g}"
                    raise CostError(
                        f"--costs-from {where}, column {column!r}: {text} ({why}) has {what} for "
                        f"{quantity}; expected a measured cost > 0. Fill in its measurement "
                        f"(or leave that architecture out of the search's reach) and rerun."
                    )
                found[quantity].append(value)
        return found


def load_cost_table(adapter: Adapter, spec: str) -> CostTable:
    """``TABLE:COLUMN[,COLUMN]`` (each COLUMN a quantity, or ``QUANTITY=COLUMN``) -> the table
    and the column of each quantity; the columns are checked here, the quantities against the
    engine's model by :meth:`CostTable.check_quantities`."""
    name, sep, listed = spec.rpartition(":")
    items = [item.strip() for item in listed.split(",")]
    if not sep or not name or not all(items):
        raise UsageError(
            f"--costs-from expects TABLE:COLUMN[,COLUMN] (a COLUMN may be QUANTITY=COLUMN), got "
            f"{spec!r}."
        )
    columns: dict[str, str] = {}
    for item in items:
        quantity, equals, column = item.partition("=")
        quantity, column = quantity.strip(), (column.strip() if equals else quantity.strip())
        if not quantity or not column:
            raise UsageError(
                f"--costs-from {spec}: {item!r} is not COLUMN or QUANTITY=COLUMN."
            )
        if quantity in columns:
            raise UsageError(f"--costs-from {spec}: {quantity!r} is given twice; give it once.")
        columns[quantity] = column
    table = resolve_table(adapter, name, "--costs-from")
    missing = [column for column in columns.values() if column not in table.columns]
    if missing:  # names typed on the command line: a usage error
        raise UsageError(
            f"--costs-from {spec}: the table has no column {missing[0]!r}; its columns: "
            f"{', '.join(table.columns) or 'none'}."
        )
    return CostTable(table, columns, spec)
