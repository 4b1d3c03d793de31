"""Running the CLI in-process from tests: output, CSV rows, and one-line failures."""

from __future__ import annotations

import csv
import io

import pytest

from flash_nas.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def fail(capsys, *argv):
    """Run a command that must fail; check it fails with one readable line."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    err = capsys.readouterr().err
    assert err.startswith("flash-nas: error: ") and len(err.strip().splitlines()) == 1
    return exit_info.value.code, err
