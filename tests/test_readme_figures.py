"""Every benchmark figure the README quotes is marked with the results file it comes from, and
equals that file's number as printed (same decimals): a figure that went stale fails here. The
markers and the rules are :mod:`benchmarks.figures`'s; its ``update`` rewrites stale figures.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.figures import TABLE, UNBACKED, figures, main, problems, update

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RESULTS = ROOT / "results"


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


def test_update_rewrites_stale_figures_as_they_were_printed(tmp_path: Path) -> None:
    stale = json.loads(json.dumps(RESULT))
    stale["best_cell"] = 94.4051
    stale["methods"]["bo"]["test"] = [94.1234, 0.2049]
    stale["methods"]["flash"]["paired"] = [-0.0849, -0.3, 1234.5]
    text = DOCUMENT.replace("+0.72]", "+1,000.7]")  # thousands commas stay
    updated, left = update({"README.md": text}, write(tmp_path, stale))
    assert left == []
    new = updated["README.md"]
    assert "**94.12 ± 0.20** %" in new  # bold and the unit untouched
    assert "the best cell <!-- figure search best_cell -->94.41 %" in new
    # the row of the table: decimals kept, '+' kept where positive, a minus where negative
    assert "| FLASH | 93.69 ± 0.19 | -0.08 [-0.30, +1,234.5] |" in new
    assert problems({"README.md": new}, tmp_path) == []
    # and back: a number printed with a minus is a signed difference, positive with a '+'
    again, _ = update({"README.md": new}, write(tmp_path, RESULT))
    assert "| FLASH | 93.69 ± 0.19 | +0.51 [+0.30, +0.7] |" in again["README.md"]  # 1 decimal
    # nothing else of the document changed: only the figures' characters differ
    assert re.sub(r"[\d.,+\-−]", "", new) == re.sub(r"[\d.,+\-−]", "", text)


def test_update_leaves_a_cell_with_another_count_of_numbers_to_a_person(tmp_path: Path) -> None:
    extra = DOCUMENT.replace("| FLASH-BO | 94.20 ± 0.24 | |", "| FLASH-BO | 94.20 ± 0.24 | 1.0 |")
    updated, left = update({"README.md": extra}, write(tmp_path, RESULT))
    assert updated["README.md"] == extra
    assert left == [
        "README.md:7 (search methods.bo.paired): prints 1 numbers, search.json holds [] "
        "(python -m benchmarks --suite search, full mode): rewrite it by hand"
    ]


def test_the_command_lists_stale_figures_and_updates_them(tmp_path: Path, capsys) -> None:
    document = tmp_path / "README.md"
    document.write_text(DOCUMENT)
    results = write(tmp_path, {**RESULT, "best_cell": 95.0})
    assert main([str(document), "--results", str(results)]) == 1
    assert "(search best_cell): prints 94.37" in capsys.readouterr().out
    assert main([str(document), "--results", str(results), "--update"]) == 0
    assert "94.37" not in document.read_text() and "95.00 %" in document.read_text()


def test_a_table_marker_that_miscounts_its_rows_or_columns_says_where() -> None:
    marked = "<!-- figures search rows=methods.bo columns=test,paired -->\n"
    two_rows = "| m | t | p |\n|---|---|---|\n| a | 1.0 | 2.0 |\n| b | 1.0 | 2.0 |\n"
    with pytest.raises(ValueError, match=r"^README\.md:2: rows= names 1 rows$"):
        list(figures(marked + two_rows, "README.md"))
    one_column = "| m | t |\n|---|---|\n| a | 1.0 |\n"
    with pytest.raises(
        ValueError, match=r"^README\.md:2: columns= names 2 columns, the table has 1 after"
    ):
        list(figures(marked + one_column, "README.md"))
