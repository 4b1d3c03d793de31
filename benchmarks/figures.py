"""The README's benchmark figures, read from and rewritten by the results files behind them.

Two markers, HTML comments that a reader of the rendered document does not see:

* ``<!-- figure PART KEY -->`` right before a figure in prose: the next numbers after it are
  ``results/PART.json``'s ``results.KEY`` (dots walk nested names, a number picks one item of
  a list; a list of n numbers is read as the next n numbers, e.g. ``94.20 ± 0.24`` for
  ``[mean, std]``).
* ``<!-- figures PART rows=R1,R2 columns=C1,C2 -->`` on the line before a Markdown table: the
  cell in row ``Ri`` and the i-th column after the first holds ``results.Ri.Cj`` (``-``: a
  column of words, not checked; a column key may itself be dotted, ``bo_m0.test``, for a table
  whose rows and columns are both nested names); a key whose value is null is an empty cell.

The results files are written by ``python -m benchmarks --suite PART`` (``PART.json`` beside
``report.md``) and committed under ``results/``. Where a part has not been rerun since the suite
kept results, its figures and tables carry ``<!-- unbacked PART -->`` (or their ``figures``
markers wait for the file), and the document names the part in words ("not yet backed by a
results file: ..."): nothing is checked against a file that does not exist.

``python -m benchmarks.figures`` lists every stale figure; ``--update`` rewrites each one to its
file's value at the decimals it was printed with, so that a rerun part's figures regenerate
instead of being retyped. Words around a figure ("ahead of", a bold break count) are not
rewritten: read the diff.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Figure", "Printed", "figures", "lookup", "problems", "update"]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"

FIGURE = re.compile(r"<!-- figure (\w+) ([\w.]+) -->")
TABLE = re.compile(r"<!-- figures (\w+) rows=([\w.,]+) columns=([\w.,-]+) -->\n((?:\|.*\|\n)+)")
UNBACKED = re.compile(r"<!-- unbacked (\w+) -->")
SAID = re.compile(r"not yet backed by a results file: ([^.]*)\.")
#: A printed number: sign (ASCII or Unicode minus), digits with thousands commas, decimals.
NUMBER = re.compile(r"([+\-−]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Printed:
    """One number as a document prints it, and where (offsets into the document)."""

    value: float
    decimals: int
    start: int = 0
    end: int = 0
    sign: str = ""
    commas: bool = False

    @classmethod
    def parse(cls, match: re.Match[str], offset: int = 0) -> Printed:
        sign, whole, fraction = match.groups()
        text = whole.replace(",", "") + (f".{fraction}" if fraction else "")
        value = float(text) * (-1.0 if sign in ("-", "−") else 1.0)
        return cls(
            value,
            len(fraction or ""),
            offset + match.start(),
            offset + match.end(),
            sign,
            "," in whole,
        )

    def shows(self, value: float) -> bool:
        """Whether ``value`` rounded to the printed decimals is the printed number."""
        return float(f"{value:.{self.decimals}f}") == self.value

    def printing(self, value: float) -> str:
        """``value`` printed as this number was: its decimals, thousands commas and sign
        style (a number printed with a sign is a signed difference: a positive value gets
        ``+``; a Unicode minus stays one)."""
        digits = f"{abs(value):{',' if self.commas else ''}.{self.decimals}f}"
        if float(f"{value:.{self.decimals}f}") < 0:
            return ("−" if self.sign == "−" else "-") + digits
        return ("+" if self.sign else "") + digits


@dataclass(frozen=True)
class Figure:
    """A marked figure: where, which results file and key, and the numbers printed there (a
    table cell's all, the first ones after a prose marker)."""

    where: str
    part: str
    key: str
    printed: tuple[Printed, ...]
    whole: bool


def numbers(text: str, offset: int = 0) -> tuple[Printed, ...]:
    return tuple(Printed.parse(match, offset) for match in NUMBER.finditer(text))


def figures(text: str, name: str) -> Iterator[Figure]:
    """Every marked figure of a document's ``text``."""
    for match in FIGURE.finditer(text):
        part, key = match.groups()
        after = text[match.end() :]
        cut = after.find("<!--")  # a figure's numbers end at the next marker
        line = text.count("\n", 0, match.start()) + 1
        printed = numbers(after[:cut] if cut >= 0 else after, match.end())
        yield Figure(f"{name}:{line}", part, key, printed, False)
    for match in TABLE.finditer(text):
        part, rows, columns, body = match.groups()
        line = text.count("\n", 0, match.start()) + 2
        lines = body.rstrip("\n").split("\n")
        row_keys, column_keys = rows.split(","), columns.split(",")
        if len(lines) - 2 != len(row_keys):
            raise ValueError(f"{name}:{line}: rows= names {len(row_keys)} rows")
        if lines[0].count("|") - 2 != len(column_keys):
            raise ValueError(
                f"{name}:{line}: columns= names {len(column_keys)} columns, the table has "
                f"{lines[0].count('|') - 2} after the first"
            )
        start = match.start(4) + len(lines[0]) + len(lines[1]) + 2
        for number, (row, text_row) in enumerate(zip(row_keys, lines[2:])):
            # each cell after the first lies between two bars of the row
            bars = [i for i, char in enumerate(text_row) if char == "|"]
            for column, (left, right) in zip(column_keys, itertools.pairwise(bars[1:])):
                if column != "-":
                    where = f"{name}:{line + 2 + number}"
                    cell = numbers(text_row[left + 1 : right], start + left + 1)
                    yield Figure(where, part, f"{row}.{column}", cell, True)
            start += len(text_row) + 1


def lookup(results: dict[str, Any], key: str) -> Any:
    """``results``' value at a dotted ``key``; a KeyError names where the path stops."""
    value: Any = results
    for name in key.split("."):
        if isinstance(value, list) and name.isdigit() and int(name) < len(value):
            value = value[int(name)]  # one number of a list: ``rho.0`` of ``[rho, tau]``
        elif isinstance(value, dict) and name in value:
            value = value[name]
        else:
            raise KeyError(f"results.{key} (stops at {name!r})")
    return value


def unbacked_said(text: str) -> set[str]:
    """The parts a document says in words have no results file yet."""
    said = SAID.search(" ".join(text.split()))
    return set(re.findall(r"`(\w+)`", said.group(1))) if said else set()


@dataclass(frozen=True)
class _Check:
    figure: Figure
    shown: tuple[Printed, ...]
    expected: list[float]
    source: str  # the results file's command and mode


def _checks(
    documents: dict[str, str], results: Path, found: list[str]
) -> Iterator[tuple[str, _Check]]:
    """Each figure with a results file, beside what the file holds; problems that no value
    can fix (a file or key missing, an unbacked marker without words) go to ``found``."""
    unbacked = set().union(*(unbacked_said(text) for text in documents.values()))
    loaded: dict[str, dict[str, Any]] = {}
    for name, text in documents.items():
        for part in set(UNBACKED.findall(text)) - unbacked:
            found.append(f"{name}: <!-- unbacked {part} --> but the text never says so")
        for figure in figures(text, name):
            path = results / f"{figure.part}.json"
            if not path.is_file():
                if figure.part not in unbacked:
                    found.append(f"{figure.where}: cites {path.name}, which is missing")
                continue
            if figure.part not in loaded:
                loaded[figure.part] = json.loads(path.read_text(encoding="utf-8"))
            data = loaded[figure.part]
            try:
                value = lookup(data["results"], figure.key)
            except KeyError as missing:
                found.append(f"{figure.where}: {path.name} has no {missing.args[0]}")
                continue
            expected = [] if value is None else value if isinstance(value, list) else [value]
            shown = figure.printed if figure.whole else figure.printed[: len(expected)]
            source = f"{path.name} holds {expected} ({data['command']}, {data['mode']} mode)"
            yield name, _Check(figure, shown, expected, source)
    for part in sorted(unbacked):
        if (results / f"{part}.json").is_file():
            found.append(f"results/{part}.json exists: take {part} off the 'not yet backed' list")


def problems(documents: dict[str, str], results: Path = RESULTS) -> list[str]:
    """What is wrong with the marked figures of ``documents`` (name to text) against the
    results files in ``results``: stale figures, missing keys, files cited but missing."""
    found: list[str] = []
    for _, check in list(_checks(documents, results, found)):
        shown, expected = check.shown, check.expected
        if len(shown) != len(expected) or not all(
            printed.shows(number) for printed, number in zip(shown, expected)
        ):
            printed_text = ", ".join(f"{p.value:.{p.decimals}f}" for p in shown)
            found.append(
                f"{check.figure.where} ({check.figure.part} {check.figure.key}): prints "
                f"{printed_text or '-'}, {check.source}"
            )
    return found


def update(documents: dict[str, str], results: Path = RESULTS) -> tuple[dict[str, str], list[str]]:
    """``documents`` with every stale figure rewritten to its results file's value, and what
    could not be rewritten (a cell printing another count of numbers than its value holds, a
    missing file or key)."""
    found: list[str] = []
    edits: dict[str, list[tuple[Printed, str]]] = {name: [] for name in documents}
    for name, check in list(_checks(documents, results, found)):
        if len(check.shown) != len(check.expected):
            found.append(
                f"{check.figure.where} ({check.figure.part} {check.figure.key}): prints "
                f"{len(check.shown)} numbers, {check.source}: rewrite it by hand"
            )
            continue
        for printed, number in zip(check.shown, check.expected):
            if not printed.shows(number):
                edits[name].append((printed, printed.printing(number)))
    updated = {}
    for name, text in documents.items():
        for printed, replacement in sorted(edits[name], key=lambda edit: -edit[0].start):
            text = text[: printed.start] + replacement + text[printed.end :]
        updated[name] = text
    return updated, found


def documents_of(paths: Sequence[Path]) -> dict[str, str]:
    return {str(path): path.read_text(encoding="utf-8") for path in paths}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.figures",
        description="Check the benchmark figures that documents quote against the results files "
        "behind them; with --update, rewrite the stale ones.",
    )
    parser.add_argument(
        "documents",
        nargs="*",
        type=Path,
        help="Markdown files (default: README.md and docs/*.md)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="default: results/")
    parser.add_argument("--update", action="store_true", help="rewrite stale figures in place")
    args = parser.parse_args(argv)
    paths = args.documents or [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    documents = documents_of(paths)
    if args.update:
        updated, _ = update(documents, args.results)  # what it cannot rewrite stays a problem
        for name, text in updated.items():
            if text != documents[name]:
                Path(name).write_text(text, encoding="utf-8")
                print(f"rewrote {name}")
        documents = updated
    left = problems(documents, args.results)
    for line in left:
        print(line)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
