"""FLASH on NAS-Bench-201 with the standard protocol: search on validation, report test.

Run: ``python -m benchmarks.search_nb201`` (``--quick`` for 3 seeds).

Per seed: 25 architectures are chosen (stratified over NN-Degree, as FLASH does) and labelled
with their CIFAR-10 *validation* accuracy (``c10_valid``: cifar10-valid split, x-valid, 200
epochs); the predictor is fitted on them; hierarchical SHGO maximises predicted accuracy
(objective ``acc``); the chosen architecture's CIFAR-10 *test* accuracy (``c10_test``) is
reported, with the predictor's Spearman rho and Kendall tau on every architecture not labelled.

Rows compare predictor features (NN-Degree alone, FLASH's; NN-Degree with params and FLOPs allowed
to join) and sampling strategies. References: the best cell in the space reaches 94.37 %;
regularized evolution with hundreds of trained architectures 93.92 % (NAS-Bench-201 paper).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

import flash_nas
from benchmarks._common import machine, standard_main
from flash_nas.objective import parse_objective
from flash_nas.pipeline import choose_labels, fit_predictor, run_search
from flash_nas_adapters.nasbench201 import load_shipped_table

SETTINGS = (
    ("nn_degree", "stratified"),
    ("nn_degree", "random"),
    ("nn_degree,params,flops", "stratified"),
)


@dataclass
class Setting:
    features: str
    strategy: str
    test_accuracy: list[float] = field(default_factory=list)
    spearman: list[float] = field(default_factory=list)
    kendall: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


@dataclass
class Report:
    machine: str
    seeds: int
    settings: list[Setting] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [
            "## FLASH on NAS-Bench-201: 25 validation labels, objective `acc`",
            "",
            f"Machine: {self.machine}. Mean ± std over {self.seeds} seeds; rho and tau of the "
            "predictor against CIFAR-10 test accuracy on the 15,600 unlabelled cells; search "
            "time is hierarchical SHGO with its repair (median), after the whole space was scored "
            "once in a batch.",
            "",
            "| features | labels chosen | test accuracy of the pick (%) | best / worst | "
            "Spearman ρ | Kendall τ | search time (ms) |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in self.settings:
            acc = np.array(s.test_accuracy)
            lines.append(
                f"| {s.features} | {s.strategy} | {acc.mean():.2f} ± {acc.std():.2f} | "
                f"{acc.max():.2f} / {acc.min():.2f} | {np.mean(s.spearman):.3f} ± "
                f"{np.std(s.spearman):.3f} | {np.mean(s.kendall):.3f} ± {np.std(s.kendall):.3f} | "
                f"{np.median(s.seconds) * 1e3:.1f} |"
            )
        return "\n".join(lines) + "\n"


def run(*, quick: bool = False, seeds: int | None = None) -> Report:
    adapter = flash_nas.get_adapter("nasbench201")
    table = load_shipped_table()
    test = table.column("c10_test")
    rows = {text: row for row, text in enumerate(table.archs)}
    whole = adapter.enumerate()
    report = Report(
        machine(),
        seeds or (3 if quick else 20),
    )
    objective = parse_objective("acc")
    for features, strategy in SETTINGS:
        names = features.split(",")
        setting = Setting(features, strategy)
        everything = flash_nas.score_batch(whole, names)
        X = np.column_stack([everything[name] for name in names])
        for seed in range(report.seeds):
            labels = choose_labels(
                adapter, table, "c10_valid", n_labels=25, strategy=strategy, seed=seed
            )
            predictor = fit_predictor(adapter, labels, names)
            result, _ = run_search(adapter, predictor, names, objective, None)
            setting.seconds.append(result.seconds)
            setting.test_accuracy.append(float(test[rows[adapter.format(result.best.arch)]]))
            unlabelled = np.ones(len(test), dtype=bool)
            unlabelled[[rows[adapter.format(arch)] for arch in labels.archs]] = False
            predicted = predictor.predict(X[unlabelled])
            setting.spearman.append(float(stats.spearmanr(predicted, test[unlabelled]).statistic))
            setting.kendall.append(float(stats.kendalltau(predicted, test[unlabelled]).statistic))
        report.settings.append(setting)
    return report


def main() -> None:
    standard_main(__doc__, run)


if __name__ == "__main__":
    main()
