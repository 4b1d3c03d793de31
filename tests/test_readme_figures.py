"""Every benchmark figure the README quotes is marked with the results file it comes from, and
equals that file's number as printed (same decimals): a figure that went stale fails here.

Two markers, HTML comments that a reader of the rendered README does not see:

* ``<!-- figure PART KEY -->`` right before a figure in prose: the next numbers after it are
  ``results/PART.json``'s ``results.KEY`` (dots walk nested names, a number picks one item of
  a list; a list of n numbers is read as the next n numbers, e.g. ``94.20 ± 0.24`` for
  ``[mean, std]``).
* ``<!-- figures PART rows=R1,R2 columns=C1,C2 -->`` on the line before a Markdown table: the
  cell in row ``Ri`` and the i-th column after the first holds ``results.Ri.Cj`` (``-``: a
  column of words, not checked); a key whose value is null is an empty cell.

The results files are written by ``python -m benchmarks --suite PART`` (``PART.json`` beside
``report.md``) and committed under ``results/``. A benchmark table of the README that no results
file backs yet (its part has not been rerun since the suite kept results) carries
``<!-- unbacked PART -->`` instead, and the README says so in words, naming those parts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULTS = ROOT / "results"

FIGURE = re.compile(r"<!-- figure (\w+) ([\w.]+) -->")
TABLE = re.compile(r"<!-- figures (\w+) rows=([\w.,]+) columns=([\w,-]+) -->\n((?:\|.*\|\n)+)")
#: A printed number: sign (ASCII or Unicode minus), digits with thousands commas, decimals.
NUMBER = re.compile(r"([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Printed:
    """One number as a document prints it."""

    value: float
    decimals: int

    @classmethod
    def parse(cls, match: re.Match[str]) -> Printed:
        sign, whole, fraction = match.groups()
        text = whole.replace(",", "") + (f".{fraction}" if fraction else "")
        value = float(text) * (-1.0 if sign in ("-", "−") else 1.0)
        return cls(value, len(fraction or ""))

    def shows(self, value: float) -> bool:
        """Whether ``value`` rounded to the printed decimals is the printed number."""
        return float(f"{value:.{self.decimals}f}") == self.value


@dataclass(frozen=True)
class Figure:
    """A figure in a document: where, which results file and key, and the numbers printed."""

    document: str
    line: int
    part: str
    key: str
    printed: tuple[Printed, ...]
    #: A table cell holds its figure alone; in prose, the figure is the first numbers after the
    #: marker, as many as the file's value has.
    whole: bool

    def __str__(self) -> str:
        return f"{self.document}:{self.line} ({self.part} {self.key})"


def numbers(text: str) -> list[Printed]:
    return [Printed.parse(match) for match in NUMBER.finditer(text)]


def load(part: str) -> dict[str, Any]:
    path = RESULTS / f"{part}.json"
    assert path.is_file(), f"{path.relative_to(ROOT)} is cited but missing: run the part"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def lookup(part: str, key: str) -> Any:
    value: Any = load(part)["results"]
    for name in key.split("."):
        if isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]  # one number of a list: ``rho.0`` of ``[rho, tau]``
            continue
        assert isinstance(value, dict) and name in value, (
            f"results/{part}.json has no results.{key} (stops at {name!r})"
        )
        value = value[name]
    return value


def figures(document: Path) -> Iterator[Figure]:
    """Every marked figure of ``document``, with the numbers printed for it."""
    text = document.read_text(encoding="utf-8")
    name = document.relative_to(ROOT).as_posix()
    for match in FIGURE.finditer(text):
        part, key = match.groups()
        after = text[match.end() :]
        cut = after.find("<!--")  # a figure's numbers end at the next marker
        printed = tuple(numbers(after if cut < 0 else after[:cut]))
        yield Figure(name, text.count("\n", 0, match.start()) + 1, part, key, printed, False)
    for match in TABLE.finditer(text):
        part, rows, columns, body = match.groups()
        line = text.count("\n", 0, match.start()) + 2
        lines = body.rstrip("\n").split("\n")
        header, cells = lines[0], [row.strip("|").split("|") for row in lines[2:]]
        row_keys, column_keys = rows.split(","), columns.split(",")
        assert len(cells) == len(row_keys), f"{name}:{line}: rows= names {len(row_keys)} rows"
        assert header.count("|") - 2 == len(column_keys), (
            f"{name}:{line}: columns= names {len(column_keys)} columns after the first"
        )
        for number, (row, cell_texts) in enumerate(zip(row_keys, cells)):
            for column, cell in zip(column_keys, cell_texts[1:]):
                if column != "-":
                    key = f"{row}.{column}"
                    printed = tuple(numbers(cell.strip()))
                    yield Figure(name, line + 2 + number, part, key, printed, True)


ALL = [figure for document in DOCUMENTS for figure in figures(document)]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BENCHMARKS = README[README.index("## How well and how fast") :]
UNBACKED = re.compile(r"<!-- unbacked (\w+) -->")


def tables(text: str) -> Iterator[tuple[str, str]]:
    """Each Markdown table of ``text`` with the line before it."""
    for match in re.finditer(r"^(.*)\n((?:\|.*\|\n)+)", text, flags=re.MULTILINE):
        if not match.group(1).startswith("|"):
            yield match.group(1), match.group(2)


def test_the_readme_marks_its_figures() -> None:
    parts = {figure.part for figure in ALL if figure.document == "README.md"}
    assert {"search", "ranking"} <= parts


def test_every_benchmark_table_names_its_results_file_or_says_it_has_none() -> None:
    for before, body in tables(BENCHMARKS):
        rows = body.split("\n")[2:]
        decimals = any(re.search(r"\d\.\d", "|".join(r.split("|")[2:])) for r in rows)
        if decimals:
            assert TABLE.match(before + "\n" + body) or UNBACKED.search(before), (
                f"a README table of benchmark figures has no marker: {body.splitlines()[0]}"
            )


def test_the_readme_says_which_parts_figures_are_not_backed_yet() -> None:
    unbacked = set(UNBACKED.findall(README))
    said = re.search(r"not yet backed by a results file: ([^.]*)\.", " ".join(README.split()))
    if not unbacked:
        assert said is None
        return
    assert said, "the README marks tables as unbacked but does not say so in words"
    assert set(re.findall(r"`(\w+)`", said.group(1))) == unbacked


@pytest.mark.parametrize("figure", ALL, ids=str)
def test_a_quoted_figure_equals_its_results_file(figure: Figure) -> None:
    value = lookup(figure.part, figure.key)
    expected = [] if value is None else value if isinstance(value, list) else [value]
    shown = figure.printed if figure.whole else figure.printed[: len(expected)]
    assert len(shown) == len(expected), (
        f"{figure}: prints {len(shown)} numbers, the file holds {expected}"
    )
    for printed, number in zip(shown, expected):
        assert printed.shows(number), (
            f"{figure}: prints {printed.value:.{printed.decimals}f}, results/{figure.part}.json "
            f"holds {number} ({load(figure.part)['command']}, {load(figure.part)['mode']} "
            "mode): rerun the part and update the figure"
        )
