"""The plugin guide says what a plugin author needs, and says it right: the graph classes'
constructors as they are, the example's whole pyproject.toml, and the stop of a --budget search
against a label table that lacks the proposal (which the CLI message makes plain)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import flash_nas
from tests.cli_helpers import fail

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "plugins.md").read_text()


@pytest.mark.parametrize("name", ["Tensor", "Edge", "Op", "Layer", "Cell", "ArchGraph"])
def test_the_guide_gives_each_graph_class_its_real_constructor(name):
    (row,) = [line for line in GUIDE.splitlines() if line.startswith(f"| `{name}` |")]
    written = re.search(rf"`{name}\(([^`]*)\)`", row).group(1)
    parameters = inspect.signature(getattr(flash_nas, name)).parameters.values()
    real = ", ".join(
        p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
        for p in parameters
    ).replace("'", '"')
    assert written == real


def test_the_guide_shows_the_whole_example_pyproject_and_the_description():
    toml = (ROOT / "docs" / "examples" / "toy_plugin" / "pyproject.toml").read_text()
    assert f"```toml\n{toml}```" in GUIDE
    assert "`description` attribute" in GUIDE and "flash-nas plugins" in GUIDE
    assert "`ListBatch(archs, to_graph, format, index)`" in GUIDE
    assert "no hierarchical SHGO: `--method flash` fits its predictor" in GUIDE


def test_a_budget_against_a_small_table_stops_at_the_first_unlabelled_proposal(capsys, tmp_path):
    table = flash_nas.get_adapter("nasbench201").tables()["cifar10"]()
    labels = tmp_path / "few.csv"
    labels.write_text("arch,acc\n" + "".join(
        f'"{arch}",{table["c10_valid"][row]}\n' for row, arch in enumerate(table.archs[:12])
    ))
    code, err = fail(capsys, "search", "--space", "nasbench201", "--objective", "acc",
                     "--labels-from", f"{labels}:acc", "--budget", "5", "--output", "-")
    assert code == 1
    assert re.search(r"search stopped after 0 label\(s\): it proposed \|.*\|, which "
                     rf"--labels-from {re.escape(str(labels))} has no row for", err), err
    assert "the table's own rows" in err
    assert "search stopped after K label(s)" in GUIDE
