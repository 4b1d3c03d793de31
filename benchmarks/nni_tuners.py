"""The FLASH tuner against NNI's TPE, Evolution and Random tuners on the NAS-Bench-201 example.

Run: ``python -m benchmarks.nni_tuners`` (``--quick`` for 2 seeds; ``--seeds N``, ``--trials 30``,
``--output results/nni_tuners.md``, ``--plot results/nni_tuners.png``).

Every tuner gets the example's search space (``examples/nni/nasbench201/search_space.json``: six
``choice`` edges) and the same trial budget, over the same seeds, in one run. The tuners are
driven in-process through NNI's Tuner API exactly as NNI's dispatcher drives them --
``update_search_space``, then per trial ``generate_multiple_parameters`` (with the dispatcher's
``st_callback``), ``receive_trial_result`` and ``trial_end`` -- one trial at a time (concurrency
1); only the NNI manager's processes and the trial's process are left out. The trial is the
example's lookup (``trial.py``): the metric is CIFAR-10 validation accuracy (``c10_valid``), and
CIFAR-10 test accuracy (``c10_test``) judges the search.

Reported after every trial, mean ± std over seeds: the test accuracy of the best trial by its
reported (validation) accuracy, the standard protocol; and the best test accuracy among the
trials so far; the paired difference between the FLASH tuner (default method ``bo``) and each
NNI tuner, seed by seed, with its 95 % t-interval. Also the tuner's time per proposal. Settings:
the FLASH tuner with its defaults (method ``bo``: 10 initial samples spread over NN-Degree, then
Bayesian optimisation) and with ``method="flash"`` (FLASH as published: 25 stratified samples,
NN-Degree predictor, hierarchical SHGO); TPE and Random with NNI's defaults; Evolution with
``population_size=10`` (NNI's default of 32 would make 30 trials pure random sampling).
Evolution seeds a ``RandomState`` of its own from the OS, so the benchmark reseeds it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas_adapters.nasbench201 import load_shipped_table
from flash_nas_adapters.nb201_encoding import ops_from_nni, ops_to_string

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "nni" / "nasbench201"
#: The goal: FLASH ahead of every NNI tuner at every budget from this many trials on.
FROM_TRIAL = 20


def _flash(**class_args: Any) -> Callable[[int], Any]:
    def make(seed: int) -> Any:
        from flash_nas.integrations.nni import FlashTuner

        return FlashTuner(space="nasbench201", seed=seed, **class_args)

    return make


def _tpe(seed: int) -> Any:
    from nni.algorithms.hpo.tpe_tuner import TpeTuner

    return TpeTuner(optimize_mode="maximize", seed=seed)


def _random(seed: int) -> Any:
    from nni.algorithms.hpo.random_tuner import RandomTuner

    return RandomTuner(seed=seed)


def _evolution(seed: int) -> Any:
    from nni.algorithms.hpo.evolution_tuner import EvolutionTuner

    return EvolutionTuner(optimize_mode="maximize", population_size=10)


def _reseed_evolution(tuner: Any, seed: int) -> None:
    """EvolutionTuner draws its first population from an unseeded RandomState in
    update_search_space and mutates with the global ``random``: redraw both from ``seed``."""
    random.seed(seed)
    tuner.random_state = np.random.RandomState(seed)
    tuner.population = []
    for _ in range(tuner.population_size):
        tuner._random_generate_individual()


TUNERS: dict[str, Callable[[int], Any]] = {
    "FLASH": _flash(),
    "FLASH, method flash": _flash(method="flash"),
    "TPE": _tpe,
    "Evolution": _evolution,
    "Random": _random,
}


@dataclass
class Run:
    """One tuner on one seed: per trial, the validation and test accuracy, and the time the
    tuner took to propose it."""

    valid: list[float] = field(default_factory=list)
    test: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def incumbent_test(self) -> np.ndarray:
        """After each trial: test accuracy of the trial with the best validation accuracy."""
        best = np.maximum.accumulate(np.array(self.valid))
        chosen = [self.test[self.valid.index(b)] for b in best]
        return np.array(chosen)

    def best_test(self) -> np.ndarray:
        return np.maximum.accumulate(np.array(self.test))


@dataclass
class Report:
    machine: str
    seeds: int
    trials: int
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def curves(self, which: str) -> dict[str, np.ndarray]:
        """Per tuner, an array (seeds, trials) of ``incumbent_test`` or ``best_test``."""
        return {
            name: np.array([getattr(run, which)() for run in runs])
            for name, runs in self.runs.items()
        }

    def lead(self, which: str) -> dict[str, tuple[float, int]]:
        """Per FLASH setting: its smallest lead (mean, in points; negative when behind) over the
        best NNI tuner at every budget from 25 trials on, and the budget where it is smallest."""
        curves = {name: c.mean(axis=0) for name, c in self.curves(which).items()}
        best_nni = np.max(
            [c for name, c in curves.items() if not name.startswith("FLASH")], axis=0
        )
        start = min(FROM_TRIAL, self.trials) - 1
        leads = {}
        for name, curve in curves.items():
            if name.startswith("FLASH"):
                gap = curve[start:] - best_nni[start:]
                leads[name] = (float(gap.min()), start + 1 + int(np.argmin(gap)))
        return leads

    def paired(self, other: str, which: str = "best_test") -> tuple[np.ndarray, np.ndarray]:
        """Per trial count: mean of FLASH minus ``other``, seed by seed, and the half-width of
        its 95 % t-interval."""
        from scipy import stats

        curves = self.curves(which)
        difference = curves["FLASH"] - curves[other]
        n = len(difference)
        spread = difference.std(axis=0, ddof=1) if n > 1 else np.zeros(self.trials)
        half = stats.t.ppf(0.975, max(n - 1, 1)) * spread / np.sqrt(n)
        return difference.mean(axis=0), half

    def _paired(self) -> list[str]:
        others = [name for name in self.runs if not name.startswith("FLASH")]
        budgets = [t for t in (20, 25, 30) if t <= self.trials]
        lines = [
            "### FLASH (default) minus each NNI tuner, best test accuracy so far (points)",
            "",
            "Paired by seed; mean and 95 % t-interval.",
            "",
            "| tuner | " + " | ".join(f"{t} trials" for t in budgets) + " | smallest mean lead "
            f"from {FROM_TRIAL} on |",
            "|---" * (len(budgets) + 2) + "|",
        ]
        start = min(FROM_TRIAL, self.trials) - 1
        for other in others:
            mean, half = self.paired(other)
            cells = [f"{mean[t - 1]:+.2f} [{mean[t - 1] - half[t - 1]:+.2f}, "
                     f"{mean[t - 1] + half[t - 1]:+.2f}]" for t in budgets]
            lines.append(f"| {other} | " + " | ".join(cells) + f" | {mean[start:].min():+.2f} |")
        return [*lines, ""]

    def markdown(self) -> str:
        names = list(self.runs)
        lines = [
            f"## The FLASH tuner against NNI's tuners on NAS-Bench-201 ({self.trials} trials)",
            "",
            f"Machine: {self.machine}. Mean ± std over {self.seeds} seeds; every tuner driven "
            "in-process through NNI's Tuner API as NNI's dispatcher drives it, one trial at a "
            "time. The trial reports CIFAR-10 validation accuracy; test accuracy judges the "
            "search. Best possible: 94.37 % test; the top 1 % of the 15,625 cells starts at "
            "93.77 %.",
            "",
        ]
        for which, title in (
            ("incumbent_test", "Test accuracy (%) of the best trial by validation accuracy"),
            ("best_test", "Best test accuracy (%) among the trials so far"),
        ):
            curves = self.curves(which)
            lines += [f"### {title}", "", "| trials | " + " | ".join(names) + " |"]
            lines.append("|---" * (len(names) + 1) + "|")
            for trial in range(self.trials):
                cells = [
                    f"{curves[n][:, trial].mean():.2f} ± {curves[n][:, trial].std():.2f}"
                    for n in names
                ]
                lines.append(f"| {trial + 1} | " + " | ".join(cells) + " |")
            verdict = "; ".join(
                f"{name} {gap:+.2f} (at {trial} trials)"
                for name, (gap, trial) in self.lead(which).items()
            )
            lines += [
                "",
                f"Smallest lead of the mean over the best of TPE, Evolution and Random at any "
                f"budget from {FROM_TRIAL} trials on, in points (negative: behind): {verdict}.",
                "",
            ]
        lines += self._paired()
        lines += [
            "### Tuner time per proposal",
            "",
            "| tuner | mean (ms) | slowest (ms) |",
            "|---|---|---|",
        ]
        for name, runs in self.runs.items():
            seconds = np.concatenate([run.seconds for run in runs]) * 1e3
            lines.append(f"| {name} | {seconds.mean():.1f} | {seconds.max():.1f} |")
        return "\n".join(lines) + "\n"


def _lookup() -> Callable[[dict[str, str]], tuple[float, float]]:
    table = load_shipped_table()
    rows = {arch: row for row, arch in enumerate(table.archs)}
    valid, test = table.column("c10_valid"), table.column("c10_test")

    def lookup(params: dict[str, str]) -> tuple[float, float]:
        row = rows[ops_to_string(ops_from_nni(params))]
        return float(valid[row]), float(test[row])

    return lookup


def drive(
    tuner: Any,
    space: dict[str, Any],
    trials: int,
    lookup: Callable[[dict[str, str]], tuple[float, float]],
    after_space: Callable[[Any], None] | None = None,
) -> Run:
    """Run ``trials`` trials of ``tuner`` one at a time, as NNI's dispatcher would."""
    tuner.update_search_space(space)
    if after_space is not None:
        after_space(tuner)
    run = Run()
    for parameter_id in range(trials):
        started = time.perf_counter()
        proposed = tuner.generate_multiple_parameters(
            [parameter_id], st_callback=lambda *args: None
        )
        run.seconds.append(time.perf_counter() - started)
        if not proposed:
            break
        valid, test = lookup(proposed[0])
        tuner.receive_trial_result(parameter_id, proposed[0], {"default": valid, "c10_test": test})
        tuner.trial_end(parameter_id, True)
        run.valid.append(valid)
        run.test.append(test)
    return run


def run(*, quick: bool = False, seeds: int | None = None, trials: int = 30) -> Report:
    import nni  # noqa: F401  (its import sets the "nni" logger to INFO on standard output)

    # Every proposal and result is logged at INFO; the report is what matters here.
    logging.getLogger("nni").setLevel(logging.WARNING)
    space = json.loads((EXAMPLE / "search_space.json").read_text())
    lookup = _lookup()
    report = Report(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        seeds or (2 if quick else 20),
        trials,
    )
    for name, make in TUNERS.items():
        report.runs[name] = []
        for seed in range(report.seeds):
            tuner = make(seed)
            reseed = (lambda t, s=seed: _reseed_evolution(t, s)) if name == "Evolution" else None
            report.runs[name].append(drive(tuner, space, trials, lookup, reseed))
    return report


def plot(report: Report, path: Path) -> None:
    """Best-so-far test accuracy against trials, mean ± std over seeds, one line per tuner."""
    from flash_nas._imports import require

    matplotlib = require("matplotlib", "--plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, panels = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120, sharey=True)
    x = np.arange(1, report.trials + 1)
    for axes, which, title in zip(
        panels,
        ("incumbent_test", "best_test"),
        ("best trial by validation accuracy", "best test accuracy among trials"),
    ):
        for name, curve in report.curves(which).items():
            mean, std = curve.mean(axis=0), curve.std(axis=0)
            (line,) = axes.plot(x, mean, label=name, lw=2 if name == "FLASH" else 1.2)
            axes.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.12)
        axes.axhline(93.77, color="grey", ls=":", lw=1, label="top 1 % of NAS-Bench-201")
        axes.axvline(FROM_TRIAL, color="grey", ls="--", lw=0.8)
        axes.set_title(title)
        axes.set_xlabel("trials")
        axes.grid(alpha=0.3)
    panels[0].set_ylabel("CIFAR-10 test accuracy (%)")
    panels[0].set_ylim(91.0, 94.5)
    panels[1].legend(loc="lower right", fontsize=8)
    figure.suptitle(f"NAS-Bench-201, mean ± std over {report.seeds} seeds")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds")
    parser.add_argument("--seeds", type=int, help="seeds per tuner (default 20)")
    parser.add_argument("--trials", type=int, default=30, help="trial budget (default 30)")
    parser.add_argument("--output", type=Path, help="write the markdown report here")
    parser.add_argument("--plot", type=Path, help="write the best-so-far plot (PNG) here")
    args = parser.parse_args()
    report = run(quick=args.quick, seeds=args.seeds, trials=args.trials)
    text = report.markdown()
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    if args.plot:
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        plot(report, args.plot)


if __name__ == "__main__":
    main()
