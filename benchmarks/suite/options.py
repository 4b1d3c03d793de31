"""What a suite part may declare beside its ``run``: its own command-line options and its
default number of seeds. The one runner (``python -m benchmarks``) adds every part's options to
its parser and hands each part only its own."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


@dataclass(frozen=True)
class Option:
    """One option of one part: ``flag`` on the runner's command line, passed to the part's
    ``run`` as the keyword ``dest``; ``default`` when the flag is not given."""

    flag: str
    dest: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    metavar: str | None = None

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        parser.add_argument(
            self.flag,
            dest=self.dest,
            type=self.type,
            default=self.default,
            metavar=self.metavar,
            help=self.help,
        )
