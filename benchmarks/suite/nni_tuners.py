"""Part 6: the FLASH tuner against NNI's TPE, Evolution and Random tuners on the NAS-Bench-201
example (``python -m benchmarks --suite nni_tuners``; 20 seeds, 2 with ``--quick``;
``--nni-trials N`` for another trial budget than 30).

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

import importlib.util
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.suite.options import Option, positive_int
from benchmarks.suite.report import Csv, Section, caption, figure, table
from flash_nas_adapters.nasbench201.encoding import ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "nni" / "nasbench201"
#: The goal: FLASH ahead of every NNI tuner at every budget from this many trials on.
FROM_TRIAL = 20
TRIALS = 30
#: --quick: 10 initial samples and 2 of the FLASH tuner's model, as the search part's quick mode.
QUICK_TRIALS = 12
OPTIONS = (
    Option(
        "--nni-trials",
        "trials",
        f"trial budget of every tuner (default {TRIALS}, {QUICK_TRIALS} with --quick)",
        type=positive_int,
        metavar="N",
    ),
)


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
class Comparison:
    """Every tuner's runs, one per seed."""

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
        best_nni = np.max([c for name, c in curves.items() if not name.startswith("FLASH")], axis=0)
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


def compare(seeds: int, trials: int = TRIALS) -> Comparison:
    """Every tuner of :data:`TUNERS` on seeds ``0..seeds-1``, ``trials`` trials each."""
    import nni  # noqa: F401  (its import sets the "nni" logger to INFO on standard output)

    # Every proposal and result is logged at INFO; the report is what matters here.
    logging.getLogger("nni").setLevel(logging.WARNING)
    space = json.loads((EXAMPLE / "search_space.json").read_text())
    lookup = _lookup()
    comparison = Comparison(seeds, trials)
    for name, make in TUNERS.items():
        comparison.runs[name] = []
        for seed in range(seeds):
            tuner = make(seed)
            reseed = (lambda t, s=seed: _reseed_evolution(t, s)) if name == "Evolution" else None
            comparison.runs[name].append(drive(tuner, space, trials, lookup, reseed))
    return comparison


def run(
    *, output: Path, seeds: int, quick: bool = False, trials: int | None = None, **_: object
) -> Section:
    trials = trials or (QUICK_TRIALS if quick else TRIALS)
    section = Section("nni_tuners", "The FLASH tuner against NNI's tuners")
    if importlib.util.find_spec("nni") is None:
        section.blocks = ["Not run: NNI is not installed (pip install 'flash-nas[nni]')."]
        section.summary = ["nni_tuners: not run (NNI is not installed)"]
        return section
    comparison = compare(seeds, trials)
    curves = Csv(
        "nni_tuners",
        ("tuner", "seed", "trial", "valid_accuracy", "test_accuracy", "seconds"),
    )
    for name, runs in comparison.runs.items():
        for seed, one in enumerate(runs):
            for trial, values in enumerate(zip(one.valid, one.test, one.seconds), start=1):
                curves.add(name, seed, trial, *values)
    section.csvs = [curves]
    section.blocks = _markdown(comparison)
    plot(comparison, output / "nni_tuners.png")
    section.figures.append("nni_tuners.png")
    for name, (gap, trial) in comparison.lead("best_test").items():
        section.summary.append(
            f"nni_tuners, {name}: smallest lead over the best NNI tuner from "
            f"{min(FROM_TRIAL, trials)} trials "
            f"on {gap:+.2f} points of best test accuracy (at {trial} trials, {seeds} seeds)"
        )
    section.results = results(comparison)
    return section


#: Each tuner's name in the part's results file (``nni_tuners.json``).
TUNER_KEYS = {
    "FLASH": "flash",
    "FLASH, method flash": "flash_method_flash",
    "TPE": "tpe",
    "Evolution": "evolution",
    "Random": "random",
}
#: The trial counts of the report's paired table (those within the budget).
BUDGETS = (20, 25, 30)


def results(comparison: Comparison) -> dict[str, object]:
    """The part's headline numbers by name (``nni_tuners.json``), as the report prints them.

    At each checkpoint (:data:`BUDGETS` within the budget, and the budget itself; ``t20``...),
    per tuner (:data:`TUNER_KEYS`): the test accuracy of the best trial by validation
    (``incumbent``) and the best test accuracy so far (``best``), [mean, std]; for NNI's tuners
    FLASH minus the tuner on the best test so far, paired by seed (``paired``: [mean, low,
    high]) and its smallest mean from ``from_trial`` on (``smallest_lead``); for the FLASH
    settings their smallest lead over the best NNI tuner (``lead``, points, and where:
    ``lead_at``, on ``best`` and ``incumbent``). Also each tuner's time per proposal (mean and
    slowest in ms; the mean in s)."""
    trials = comparison.trials
    checkpoints = [t for t in BUDGETS if t <= trials]
    checkpoints += [] if trials in checkpoints else [trials]
    start = min(FROM_TRIAL, trials) - 1
    kinds = {"incumbent": "incumbent_test", "best": "best_test"}
    curves = {kind: comparison.curves(which) for kind, which in kinds.items()}
    leads = {kind: comparison.lead(which) for kind, which in kinds.items()}
    tuners: dict[str, object] = {}
    for name, runs in comparison.runs.items():
        seconds = np.concatenate([one.seconds for one in runs])
        found: dict[str, object] = {}
        for kind in kinds:
            curve = curves[kind][name]
            found[kind] = {
                f"t{t}": [float(curve[:, t - 1].mean()), float(curve[:, t - 1].std())]
                for t in checkpoints
            }
        if name.startswith("FLASH"):
            found["paired"] = found["smallest_lead"] = None
            found["lead"] = {kind: leads[kind][name][0] for kind in kinds}
            found["lead_at"] = {kind: leads[kind][name][1] for kind in kinds}
        else:
            mean, half = comparison.paired(name)
            found["paired"] = {
                f"t{t}": [
                    float(mean[t - 1]),
                    float(mean[t - 1] - half[t - 1]),
                    float(mean[t - 1] + half[t - 1]),
                ]
                for t in checkpoints
            }
            found["smallest_lead"] = float(mean[start:].min())
            found["lead"] = found["lead_at"] = None
        found["proposal_ms"] = float(seconds.mean()) * 1e3
        found["proposal_slowest_ms"] = float(seconds.max()) * 1e3
        found["proposal_seconds"] = float(seconds.mean())
        tuners[TUNER_KEYS[name]] = found
    return {
        "seeds": comparison.seeds,
        "trials": trials,
        "checkpoints": checkpoints,
        "from_trial": start + 1,
        "tuners": tuners,
    }


def _markdown(comparison: Comparison) -> list[str]:
    names = list(comparison.runs)
    seeds, trials = comparison.seeds, comparison.trials
    blocks = [
        "Every tuner gets the example's search space and the same trial budget, over the same "
        "seeds, driven in-process through NNI's Tuner API as NNI's dispatcher drives it, one "
        "trial at a time. The trial reports CIFAR-10 validation accuracy; test accuracy judges "
        "the search. Best possible: 94.37 % test; the top 1 % of the 15,625 cells starts at "
        "93.77 %."
    ]
    for which, title in (
        ("incumbent_test", "test accuracy (%) of the best trial by validation accuracy"),
        ("best_test", "best test accuracy (%) among the trials so far"),
    ):
        curves = comparison.curves(which)
        blocks.append(
            caption(
                rows="trials so far x tuner",
                target=title,
                split="`c10_valid` reported by the trial, `c10_test` judges",
                seeds=f"{seeds}, mean ± std",
            )
        )
        blocks.append(
            table(
                ["trials", *names],
                [
                    [
                        str(trial + 1),
                        *(
                            f"{curves[n][:, trial].mean():.2f} ± {curves[n][:, trial].std():.2f}"
                            for n in names
                        ),
                    ]
                    for trial in range(trials)
                ],
            )
        )
        verdict = "; ".join(
            f"{name} {gap:+.2f} (at {trial} trials)"
            for name, (gap, trial) in comparison.lead(which).items()
        )
        blocks.append(
            f"Smallest lead of the mean over the best of TPE, Evolution and Random at any "
            f"budget from {min(FROM_TRIAL, trials)} trials on, in points (negative: behind): "
            f"{verdict}."
        )
    others = [name for name in names if not name.startswith("FLASH")]
    budgets = [t for t in BUDGETS if t <= trials]
    start = min(FROM_TRIAL, trials) - 1

    def paired_row(other: str) -> list[str]:
        mean, half = comparison.paired(other)
        cells = [
            f"{m:+.2f} [{m - h:+.2f}, {m + h:+.2f}]"
            for m, h in ((mean[t - 1], half[t - 1]) for t in budgets)
        ]
        return [other, *cells, f"{mean[start:].min():+.2f}"]

    blocks += [
        caption(
            rows="NNI tuners",
            target="FLASH (default) minus the tuner, best test accuracy so far (points), paired "
            "by seed: mean and 95 % t-interval",
            split="as above",
            seeds=f"{seeds}",
        ),
        table(
            [
                "tuner",
                *(f"{t} trials" for t in budgets),
                f"smallest mean lead from {start + 1} on",
            ],
            [paired_row(other) for other in others],
        ),
        caption(
            rows="tuners",
            target="wall time of one proposal (`generate_multiple_parameters`)",
            split="none",
            seeds=f"every proposal of {seeds} seeds",
        ),
        table(
            ["tuner", "mean (ms)", "slowest (ms)"],
            [
                [name, f"{seconds.mean():.1f}", f"{seconds.max():.1f}"]
                for name, runs in comparison.runs.items()
                for seconds in [np.concatenate([one.seconds for one in runs]) * 1e3]
            ],
        ),
    ]
    return blocks


def plot(comparison: Comparison, path: Path) -> None:
    """Best-so-far test accuracy against trials, mean ± std over seeds, one line per tuner."""
    x = np.arange(1, comparison.trials + 1)
    with figure(path, ncols=2, width=5.5) as (fig, panels):
        for axes, which, title in zip(
            panels,
            ("incumbent_test", "best_test"),
            ("best trial by validation accuracy", "best test accuracy among trials"),
        ):
            for name, curve in comparison.curves(which).items():
                mean, std = curve.mean(axis=0), curve.std(axis=0)
                (line,) = axes.plot(x, mean, label=name, lw=2 if name == "FLASH" else 1.2)
                axes.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.12)
            axes.axhline(93.77, color="grey", ls=":", lw=1, label="top 1 % of NAS-Bench-201")
            axes.axvline(FROM_TRIAL, color="grey", ls="--", lw=0.8)
            axes.set_title(title)
            axes.set_xlabel("trials")
            axes.set_ylim(91.0, 94.5)
            axes.grid(alpha=0.3)
        panels[0].set_ylabel("CIFAR-10 test accuracy (%)")
        panels[1].legend(loc="lower right", fontsize=8)
        fig.suptitle(f"NAS-Bench-201, mean ± std over {comparison.seeds} seeds")
