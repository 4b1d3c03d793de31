"""The benchmark suite: one command that measures flash-nas against its peers.

Run from a clone: ``python -m benchmarks --suite all --seeds 20 --output results/`` or
``flash-nas bench ...`` (``--quick`` for a run of about three minutes on two cores). Parts, one
module each:

1. :mod:`.ranking` -- training-free scores against accuracy on all of NAS-Bench-201;
2. :mod:`.predictor` -- the few-sample accuracy predictor on held-out cells;
3. :mod:`.search` -- FLASH's two methods against random search, regularized and differential
   evolution and NNI's tuners at equal label budgets on NAS-Bench-201; :mod:`.search_spaces`
   -- the same on NAS-Bench-101 and TransNAS-Bench-101;
4. :mod:`.speed` -- scoring up to 10^6 architectures against NASWOT, SHGO against space size;
5. :mod:`.hardware` -- hardware model fidelity per device;
6. :mod:`.pi3` -- the ``pi3b`` model against a real Raspberry Pi 3 (needs the
   ``[torchvision]`` extra; without it the report says the part was not run and why);
7. :mod:`.engine` -- how fast the search engine answers, beside the command line's start-up;
8. :mod:`.scale` -- ``flash-nas score`` end to end on 10^4..10^6 samples: time, peak memory;
9. :mod:`.integrations` -- the FLASH sampler and searcher against Optuna's TPE and random
   samplers and Ray Tune's default and Optuna-backed search.

Each part returns a :class:`~.report.Section`; :mod:`.report` writes ``report.md``, the CSV
behind every table and the PNG figures into the output folder.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from benchmarks.suite import (
    engine,
    hardware,
    integrations,
    pi3,
    predictor,
    ranking,
    scale,
    search,
    search_spaces,
    speed,
)
from benchmarks.suite.report import Section, write_report
from flash_nas._imports import require
from flash_nas.errors import FlashNasError, UnknownNameError

__all__ = ["PARTS", "SuiteResult", "default_seeds", "parse_parts", "run_suite"]

PARTS: dict[str, Callable[..., Section]] = {
    "ranking": ranking.run,
    "predictor": predictor.run,
    "search": search.run,
    "search_spaces": search_spaces.run,
    "speed": speed.run,
    "engine": engine.run,
    "hardware": hardware.run,
    "pi3": pi3.run,
    "scale": scale.run,
    "integrations": integrations.run,
}


def default_seeds(quick: bool) -> int:
    return 3 if quick else 10


def parse_parts(text: str) -> list[str]:
    """``all`` or comma-separated part names, in the suite's order; unknown names raise."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS and name != "all"]
    if unknown or not names:
        raise UnknownNameError(
            f"Unknown suite part(s) {', '.join(map(repr, unknown)) or '(none given)'}; expected "
            f"all or a comma-separated list of {', '.join(PARTS)}."
        )
    return list(PARTS) if "all" in names else [name for name in PARTS if name in names]


@dataclass
class SuiteResult:
    report: Path
    sections: list[Section]

    def summary(self) -> str:
        lines = [line for section in self.sections for line in section.summary]
        seconds = sum(section.seconds for section in self.sections)
        return "\n".join([*lines, f"Report: {self.report} ({seconds:.0f} s)."])


def run_suite(
    parts: Sequence[str],
    *,
    output: Path,
    seeds: int | None = None,
    first_seed: int = 0,
    quick: bool = False,
    tables: Sequence[str | Path] = (),
    command: str = "python -m benchmarks",
    log: TextIO = sys.stderr,
    progress: bool = False,
) -> SuiteResult:
    """Run ``parts`` and write the report into ``output`` (created if needed); ``progress``
    shows a bar over the parts on standard error."""
    seeds = default_seeds(quick) if seeds is None else seeds
    if seeds < 1:
        raise FlashNasError(f"The suite needs at least 1 seed; got {seeds}.")
    if tables and "ranking" not in parts:
        raise FlashNasError("--table adds targets to the ranking part; add ranking to --suite.")
    require("matplotlib", "The benchmark suite's plots")
    if "speed" in parts:
        require("torch", "The speed part's NASWOT baseline")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    sections = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(parts), desc="suite", unit="part", file=sys.stderr)
    for number, name in enumerate(parts, start=1):
        print(f"[{number}/{len(parts)}] {name} ...", file=log, flush=True)
        started = time.perf_counter()
        section = PARTS[name](
            output=output, seeds=seeds, quick=quick, tables=tables, first_seed=first_seed
        )
        section.seconds = time.perf_counter() - started
        print(f"[{number}/{len(parts)}] {name}: {section.seconds:.1f} s", file=log, flush=True)
        sections.append(section)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    report = write_report(output, sections, command=command, seeds=seeds, quick=quick)
    return SuiteResult(report, sections)
