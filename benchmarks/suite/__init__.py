"""The benchmark suite: every benchmark of flash-nas, one runner, one report.

Run from a clone: ``python -m benchmarks --suite all --seeds 20 --output results/``
(``--quick`` for a smoke run; ``--suite`` takes a comma-separated list of parts). Parts, one
module each:

1. :mod:`.ranking` -- training-free scores against accuracy on all of NAS-Bench-201;
2. :mod:`.scoring` -- scoring all of NAS-Bench-201: batched against one graph at a time, memory,
   every metric's ranking;
3. :mod:`.predictor` -- the few-sample accuracy predictor on held-out cells;
4. :mod:`.search` -- FLASH's two methods against random search, regularized and differential
   evolution and NNI's tuners at equal label budgets on NAS-Bench-201; :mod:`.search_spaces`
   -- the same on NAS-Bench-101 and TransNAS-Bench-101;
5. :mod:`.search_flash` -- hierarchical SHGO on FLASH's own space under the IMC model against an
   exhaustive grid and the baselines;
6. :mod:`.nni_tuners` -- the FLASH tuner against NNI's tuners, driven through NNI's Tuner API;
7. :mod:`.speed` -- scoring up to 10^6 architectures against NASWOT, SHGO against space size;
8. :mod:`.engine` -- how fast the search engine answers, beside the command line's start-up;
9. :mod:`.hardware` -- hardware model fidelity per device after a 25-sample calibration;
10. :mod:`.imc_zigzag` -- the fast ``imc`` model against the ZigZag simulator (not in ``all``:
    a cold simulator cache takes seconds per network; name it);
11. :mod:`.pi3` -- the ``pi3b`` model against a real Raspberry Pi 3 (needs the
    ``[torchvision]`` extra; without it the report says the part was not run and why);
12. :mod:`.scale` -- ``flash-nas score`` end to end on 10^4..10^6 samples: time, peak memory;
13. :mod:`.integrations` -- the FLASH sampler and searcher against Optuna's TPE and random
    samplers and Ray Tune's default and Optuna-backed search;
14. :mod:`.constrained` -- search under a latency limit on the six HW-NAS-Bench devices, judged
    by the true latency, against Optuna's TPE and NSGA-II with constraints (not in ``all``: the
    full run takes hours on two cores; name it).

Each part's ``run(*, output, seeds, quick, first_seed, tables, **its options)`` returns a
:class:`~.report.Section`; :mod:`.report` writes ``report.md``, the CSV behind every table and
the PNG figures into the output folder. A part's own options (:class:`~.options.Option`) are
declared in its :class:`Part` and reach only that part.
"""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from benchmarks.suite import (
    constrained,
    engine,
    hardware,
    imc_zigzag,
    integrations,
    nni_tuners,
    pi3,
    predictor,
    ranking,
    scale,
    scoring,
    search,
    search_flash,
    search_spaces,
    speed,
)
from benchmarks.suite.options import Option
from benchmarks.suite.report import Section, write_report
from flash_nas import require
from flash_nas.errors import FlashNasError, UnknownNameError

__all__ = ["PARTS", "Part", "SuiteResult", "check_options", "parse_parts", "run_suite"]


@dataclass(frozen=True)
class Part:
    """One benchmark: its ``run``, its own options, its seeds (quick, full) unless ``--seeds``
    says otherwise, whether ``--suite all`` runs it, and whether it starts its seeds at
    ``--first-seed`` (the others draw seeds 0..N-1, or none)."""

    run: Callable[..., Section]
    options: tuple[Option, ...] = ()
    seeds: tuple[int, int] = (3, 10)
    in_all: bool = True

    @property
    def first_seed(self) -> bool:
        """Whether the part starts its seeds at ``--first-seed``: its ``run`` takes it."""
        return "first_seed" in inspect.signature(self.run).parameters

    def default_seeds(self, quick: bool) -> int:
        return self.seeds[0] if quick else self.seeds[1]


PARTS: dict[str, Part] = {
    "ranking": Part(ranking.run),
    "scoring": Part(scoring.run),
    "predictor": Part(predictor.run),
    "search": Part(search.run),
    "search_spaces": Part(search_spaces.run),
    "search_flash": Part(search_flash.run),
    "nni_tuners": Part(nni_tuners.run, nni_tuners.OPTIONS, seeds=(2, 20)),
    "speed": Part(speed.run),
    "engine": Part(engine.run),
    "hardware": Part(hardware.run),
    "imc_zigzag": Part(imc_zigzag.run, imc_zigzag.OPTIONS, seeds=(2, 5), in_all=False),
    "pi3": Part(pi3.run, pi3.OPTIONS),
    "scale": Part(scale.run),
    "integrations": Part(integrations.run),
    "constrained": Part(constrained.run, constrained.OPTIONS, seeds=(2, 20), in_all=False),
}


def parse_parts(text: str) -> list[str]:
    """``all`` (every part that ``all`` runs) or comma-separated part names, or both, in the
    suite's order; unknown names raise."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PARTS and name != "all"]
    if unknown or not names:
        raise UnknownNameError(
            f"Unknown suite part(s) {', '.join(map(repr, unknown)) or '(none given)'}; expected "
            f"all or a comma-separated list of {', '.join(PARTS)}."
        )
    return [
        name for name, part in PARTS.items() if name in names or ("all" in names and part.in_all)
    ]


def check_options(parts: Sequence[str], options: Mapping[str, Any]) -> None:
    """Raise unless every option in ``options`` (by ``dest``) belongs to a part in ``parts``."""
    owners = {
        option.dest: (name, option) for name, part in PARTS.items() for option in part.options
    }
    for dest in options:
        if dest not in owners:
            raise UnknownNameError(
                f"No suite part has an option {dest!r}; expected one of {', '.join(owners)}."
            )
        name, option = owners[dest]
        if name not in parts:
            raise FlashNasError(
                f"{option.flag} is an option of the {name} part; add {name} to --suite."
            )


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
    options: Mapping[str, Any] | None = None,
    command: str = "python -m benchmarks",
    log: TextIO = sys.stderr,
    progress: bool = False,
) -> SuiteResult:
    """Run ``parts`` and write the report into ``output`` (created if needed). ``seeds`` None
    gives each part its own default; ``options`` holds part options by ``dest``, each handed to
    the part that declares it (one for a part not in ``parts`` is an error, not ignored);
    ``progress`` shows a bar over the parts on standard error."""
    if seeds is not None and seeds < 1:
        raise FlashNasError(f"The suite needs at least 1 seed; got {seeds}.")
    if tables and "ranking" not in parts:
        raise FlashNasError("--table adds targets to the ranking part; add ranking to --suite.")
    options = dict(options or {})
    check_options(parts, options)
    ignoring = [name for name in parts if not PARTS[name].first_seed]
    if first_seed and ignoring:
        taking = ", ".join(name for name, part in PARTS.items() if part.first_seed)
        raise FlashNasError(
            f"--first-seed {first_seed} would be ignored by {', '.join(ignoring)} (seeds from 0, "
            f"or none); it is taken by {taking}: run those parts alone with it."
        )
    require("matplotlib", "The benchmark suite's plots")
    if "speed" in parts:
        require("torch", "The speed part's NASWOT baseline")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    sections = []
    counts: dict[str, int] = {}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(parts), desc="suite", unit="part", file=sys.stderr)
    for number, name in enumerate(parts, start=1):
        part = PARTS[name]
        counts[name] = part.default_seeds(quick) if seeds is None else seeds
        own = {o.dest: options[o.dest] for o in part.options if o.dest in options}
        print(f"[{number}/{len(parts)}] {name} ...", file=log, flush=True)
        started, load = time.perf_counter(), os.getloadavg()[0]
        section = part.run(
            output=output,
            seeds=counts[name],
            quick=quick,
            tables=tables,
            first_seed=first_seed,
            **own,
        )
        section.seconds = time.perf_counter() - started
        section.load = (load, os.getloadavg()[0])
        print(f"[{number}/{len(parts)}] {name}: {section.seconds:.1f} s", file=log, flush=True)
        sections.append(section)
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    report = write_report(output, sections, command=command, seeds=counts, quick=quick)
    return SuiteResult(report, sections)
