"""Every benchmark figure the README quotes is marked with the results file it comes from, and
equals that file's number as printed (same decimals): a figure that went stale fails here.

Two markers, HTML comments that a reader of the rendered README does not see:

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
markers wait for the file), and the README names the part in words ("not yet backed by a results
file: ..."): nothing is checked against a file that does not exist, and nothing pretends to be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULTS = ROOT / "results"

FIGURE = re.compile(r"<!-- figure (\w+) ([\w.]+) -->")
TABLE = re.compile(r"<!-- figures (\w+) rows=([\w.,]+) columns=([\w.,-]+) -->\n((?:\|.*\|\n)+)")
UNBACKED = re.compile(r"<!-- unbacked (\w+) -->")
SAID = re.compile(r"not yet backed by a results file: ([^.]*)\.")
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
        return cls(float(text) * (-1.0 if sign in ("-", "−") else 1.0), len(fraction or ""))

    def shows(self, value: float) -> bool:
        """Whether ``value`` rounded to the printed decimals is the printed number."""
        return float(f"{value:.{self.decimals}f}") == self.value


@dataclass(frozen=True)
class Figure:
    """A marked figure: where, which results file and key, and the numbers printed there (a
    table cell's all, the first ones after a prose marker)."""

    where: str
    part: str
    key: str
    printed: tuple[Printed, ...]
    whole: bool


def numbers(text: str) -> tuple[Printed, ...]:
    return tuple(Printed.parse(match) for match in NUMBER.finditer(text))


def figures(text: str, name: str) -> Iterator[Figure]:
    """Every marked figure of a document's ``text``."""
    for match in FIGURE.finditer(text):
        part, key = match.groups()
        after = text[match.end() :]
        cut = after.find("<!--")  # a figure's numbers end at the next marker
        line = text.count("\n", 0, match.start()) + 1
        yield Figure(f"{name}:{line}", part, key, numbers(after[:cut] if cut >= 0 else after), False)
    for match in TABLE.finditer(text):
        part, rows, columns, body = match.groups()
        line = text.count("\n", 0, match.start()) + 2
        lines = body.rstrip("\n").split("\n")
        row_keys, column_keys = rows.split(","), columns.split(",")
        assert len(lines) - 2 == len(row_keys), f"{name}:{line}: rows= names {len(row_keys)} rows"
        assert lines[0].count("|") - 2 == len(column_keys), (
            f"{name}:{line}: columns= names {len(column_keys)} columns after the first"
        )
        for number, (row, text_row) in enumerate(zip(row_keys, lines[2:])):
            cells = text_row.strip().strip("|").split("|")[1:]
            for column, cell in zip(column_keys, cells):
                if column != "-":
                    where = f"{name}:{line + 2 + number}"
                    yield Figure(where, part, f"{row}.{column}", numbers(cell), True)


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


def problems(documents: dict[str, str], results: Path) -> list[str]:
    """What is wrong with the marked figures of ``documents`` (name to text) against the
    results files in ``results``: stale figures, missing keys, files cited but missing."""
    found = []
    unbacked = set().union(*(unbacked_said(text) for text in documents.values()))
    for name, text in documents.items():
        for part in set(UNBACKED.findall(text)) - unbacked:
            found.append(f"{name}: <!-- unbacked {part} --> but the text never says so")
        for figure in figures(text, name):
            path = results / f"{figure.part}.json"
            if not path.is_file():
                if figure.part not in unbacked:
                    found.append(f"{figure.where}: cites {path.name}, which is missing")
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            try:
                value = lookup(data["results"], figure.key)
            except KeyError as missing:
                found.append(f"{figure.where}: {path.name} has no {missing.args[0]}")
                continue
            expected = [] if value is None else value if isinstance(value, list) else [value]
            shown = figure.printed if figure.whole else figure.printed[: len(expected)]
            if len(shown) != len(expected) or not all(
                printed.shows(number) for printed, number in zip(shown, expected)
            ):
                printed_text = ", ".join(f"{p.value:.{p.decimals}f}" for p in shown)
                found.append(
                    f"{figure.where} ({figure.part} {figure.key}): prints {printed_text or '-'}, "
                    f"{path.name} holds {expected} ({data['command']}, {data['mode']} mode)"
                )
    for part in unbacked:
        if (results / f"{part}.json").is_file():
            found.append(f"results/{part}.json exists: take {part} off the 'not yet backed' list")
    return found


def tables(text: str) -> Iterator[tuple[str, str]]:
    """Each Markdown table of ``text`` with the line before it."""
    for match in re.finditer(r"^(.*)\n((?:\|.*\|\n)+)", text, flags=re.MULTILINE):
        if not match.group(1).startswith("|"):
            yield match.group(1), match.group(2)


def test_every_quoted_figure_equals_its_results_file() -> None:
    documents = {path.relative_to(ROOT).as_posix(): path.read_text() for path in DOCUMENTS}
    assert problems(documents, RESULTS) == []


def test_every_benchmark_table_of_the_readme_is_marked() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for before, body in tables(readme[readme.index("## How well and how fast") :]):
        rows = body.split("\n")[2:]
        if any(re.search(r"\d\.\d", "|".join(row.split("|")[2:])) for row in rows):
            assert TABLE.match(before + "\n" + body) or UNBACKED.search(before), (
                f"a README table of benchmark figures has no marker: {body.splitlines()[0]}"
            )


DOCUMENT = """Search: FLASH-BO reaches <!-- figure search methods.bo.test -->**94.20 ± 0.24** %
(CIFAR-10), the best cell <!-- figure search best_cell -->94.37 %.

<!-- figures search rows=methods.bo,methods.flash columns=test,paired -->
| method | test (%) | lead |
|---|---|---|
| FLASH-BO | 94.20 ± 0.24 | |
| FLASH | 93.69 ± 0.19 | +0.51 [+0.30, +0.72] |
"""
RESULT = {
    "best_cell": 94.37333,
    "methods": {
        "bo": {"test": [94.2049, 0.2351], "paired": None},
        "flash": {"test": [93.6871, 0.1949], "paired": [0.5149, 0.2961, 0.7212]},
    },
}


def write(folder: Path, results: dict[str, Any]) -> Path:
    data = {"part": "search", "command": "python -m benchmarks --suite search", "mode": "full"}
    (folder / "search.json").write_text(json.dumps({**data, "results": results}))
    return folder


def test_figures_that_match_as_printed_pass(tmp_path: Path) -> None:
    assert problems({"README.md": DOCUMENT}, write(tmp_path, RESULT)) == []
    assert len(list(figures(DOCUMENT, "README.md"))) == 6


def test_a_stale_figure_fails_naming_where_and_what_the_file_holds(tmp_path: Path) -> None:
    stale = json.loads(json.dumps(RESULT))
    stale["methods"]["flash"]["test"] = [93.58, 0.35]  # the README's old FLASH figure
    found = problems({"README.md": DOCUMENT}, write(tmp_path, stale))
    assert found == [
        "README.md:8 (search methods.flash.test): prints 93.69, 0.19, search.json holds "
        "[93.58, 0.35] (python -m benchmarks --suite search, full mode)"
    ]
    stale = {**RESULT, "best_cell": 94.38}
    (found,) = problems({"README.md": DOCUMENT}, write(tmp_path, stale))
    assert found.startswith("README.md:2 (search best_cell): prints 94.37, search.json holds")


def test_a_cell_must_hold_exactly_its_figure(tmp_path: Path) -> None:
    extra = DOCUMENT.replace("| FLASH-BO | 94.20 ± 0.24 | |", "| FLASH-BO | 94.20 ± 0.24 | 1.0 |")
    (found,) = problems({"README.md": extra}, write(tmp_path, RESULT))
    assert "(search methods.bo.paired): prints 1.0, search.json holds []" in found


def test_a_missing_file_or_key_fails_unless_the_part_is_said_to_be_unbacked(tmp_path: Path):
    found = problems({"README.md": DOCUMENT}, tmp_path)
    assert found and all("cites search.json, which is missing" in line for line in found)
    said = DOCUMENT + "\nThese are not yet backed by a results file: `search`.\n"
    assert problems({"README.md": said}, tmp_path) == []
    (problem,) = problems({"README.md": said}, write(tmp_path, RESULT))
    assert problem == "results/search.json exists: take search off the 'not yet backed' list"
    renamed = {**RESULT, "methods": {"flash_bo": RESULT["methods"]["bo"]}}
    found = problems({"README.md": DOCUMENT}, write(tmp_path, renamed))
    assert "README.md:1: search.json has no results.methods.bo.test (stops at 'bo')" in found


def test_an_unbacked_marker_needs_the_words() -> None:
    marked = "<!-- unbacked hardware -->\n| a | b |\n|---|---|\n| x | 0.5 |\n"
    assert problems({"README.md": marked}, Path("nowhere")) == [
        "README.md: <!-- unbacked hardware --> but the text never says so"
    ]


def test_a_column_key_may_be_dotted_for_a_table_of_nested_names(tmp_path: Path) -> None:
    # rows and columns both nested: one row per results group, one column per method's figure
    nested = (
        "<!-- figures search rows=methods columns=bo.test,flash.paired -->\n"
        "| where | FLASH-BO | FLASH lead |\n|---|---|---|\n"
        "| all | 94.20 ± 0.24 | +0.51 [+0.30, +0.72] |\n"
    )
    assert problems({"README.md": nested}, write(tmp_path, RESULT)) == []
    (found,) = problems(
        {"README.md": nested.replace("+0.30", "+0.31")}, write(tmp_path, RESULT)
    )
    assert found.startswith("README.md:4 (search methods.flash.paired): prints 0.51, 0.31, 0.72")
