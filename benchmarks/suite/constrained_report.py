"""The constrained part's figures by name (``constrained.json``), its tables and its plot, all
computed from its CSVs (:mod:`.constrained`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from benchmarks.suite.report import Csv, caption, figure, table

if TYPE_CHECKING:
    from benchmarks.suite.constrained import Settings

#: The row every paired difference is taken against.
AGAINST = "tpe"
#: The row every method's accuracy is measured from: the engine given the device's true table.
CEILING = "ceiling"
FRONT_NAMES = {
    "engine": "engine (default objective)",
    "nsga2": "NSGA-II",
    "tpe": "multi-objective TPE",
    "random": "random",
}


def paired(ours: Mapping[Any, float], theirs: Mapping[Any, float]) -> list[float] | None:
    """``ours - theirs`` over the keys both have (seeds, or any sortable keys that pair
    runs): ``[mean, low, high]`` of its 95 % t-interval, ``[mean]`` from one pair, None from
    none."""
    common = sorted(set(ours) & set(theirs))
    if not common:
        return None
    difference = np.array([ours[s] - theirs[s] for s in common])
    mean = float(difference.mean())
    if len(common) < 2:
        return [mean]
    half = stats.t.ppf(0.975, len(common) - 1) * difference.std(ddof=1) / np.sqrt(len(common))
    return [mean, float(mean - half), float(mean + half)]


def holding_tests(runs: Csv, **where: Any) -> dict[int, float]:
    """``c10_test`` by seed of the runs whose recommendation holds the true limit."""
    return {
        int(r["seed"]): float(r["test_accuracy"]) for r in runs.records(**where) if r["feasible"]
    }


def results(
    runs: Csv, front: Csv, references: Csv, methods: Mapping[str, str], settings: Settings
) -> dict[str, Any]:
    """The part's figures by name: per device and limit, each row's runs, how many break the
    true limit (``over_limit``; ``none``: of those, runs with nothing to recommend), the mean
    and std of ``c10_test`` over the runs that hold, the paired difference to TPE over the
    seeds where both hold, and how many trained networks break the true limit per run
    (``trained_over_limit``, mean); per device, each multi-objective method's hypervolume."""
    devices: dict[str, Any] = {}
    for device in dict.fromkeys(runs.column("device")):
        limits: dict[str, Any] = {}
        for limit in dict.fromkeys(runs.column("limit")):
            (reference,) = references.records(device=device, limit=limit)
            against = holding_tests(runs, device=device, limit=limit, method=AGAINST)
            rows: dict[str, Any] = {}
            for method in methods:
                records = runs.records(device=device, limit=limit, method=method)
                held = holding_tests(runs, device=device, limit=limit, method=method)
                values = np.array(list(held.values()))
                rows[method] = {
                    "runs": len(records),
                    "over_limit": len(records) - len(held),
                    "none": sum(r["arch"] == "none" for r in records),
                    "test": [float(values.mean()), float(values.std())] if len(held) else None,
                    "paired_tpe": None if method == AGAINST else paired(held, against),
                    "paired_seeds": len(set(held) & set(against)),
                    "trained_over_limit": float(
                        np.mean([int(r["trained_over_limit"]) for r in records])
                    )
                    if records
                    else None,
                }
            limits[limit] = {
                "limit_ms": reference["limit_ms"],
                "reference_valid": reference["best_valid_accuracy"],
                "reference_test": reference["best_test_accuracy"],
                "methods": rows,
            }
        volumes = {
            method: front.select("hypervolume", device=device, method=method)
            for method in dict.fromkeys(front.column("method"))
        }
        devices[device] = {
            "limits": limits,
            "hypervolume": {m: [float(v.mean()), float(v.std())] for m, v in volumes.items()},
        }
    return {
        "trainings": settings.trainings,
        "measurements": settings.measurements,
        "calibration": settings.calibration,
        "front_trials": settings.front_trials,
        "devices": devices,
        "overall": overall(devices, methods),
    }


def overall(devices: Mapping[str, Any], methods: Mapping[str, str]) -> dict[str, Any]:
    """Each method over every device and limit: its mean ``c10_test`` below the ceiling's
    (``gap_to_ceiling``: mean, smallest and largest over the rows; rows where it or the ceiling
    has no run that holds are left out), its mean paired difference to TPE, and how many of
    a run's trained networks break the true limit, on average."""
    rows = [limit["methods"] for data in devices.values() for limit in data["limits"].values()]
    found: dict[str, Any] = {}
    for method in methods:
        gaps = [
            row[CEILING]["test"][0] - row[method]["test"][0]
            for row in rows
            if CEILING in row and row[CEILING]["test"] and row[method]["test"]
        ]
        leads = [row[method]["paired_tpe"][0] for row in rows if row[method]["paired_tpe"]]
        over = [
            row[method]["trained_over_limit"]
            for row in rows
            if row[method]["trained_over_limit"] is not None
        ]
        found[method] = {
            "gap_to_ceiling": [float(np.mean(gaps)), float(min(gaps)), float(max(gaps))]
            if gaps and method != CEILING
            else None,
            "minus_tpe": float(np.mean(leads)) if leads else None,
            "trained_over_limit": float(np.mean(over)) if over else None,
        }
    return found


def _spread(pair: list[float] | None, digits: int = 2) -> str:
    return "–" if pair is None else f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def _interval(numbers: list[float] | None) -> str:
    if numbers is None:
        return "–"
    if len(numbers) == 1:
        return f"{numbers[0]:+.2f}"
    mean, low, high = numbers
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def markdown(found: Mapping[str, Any], settings: Settings, seeds: range) -> list[str]:
    methods = settings.methods()
    seeds_text = f"{len(seeds)} (seeds {seeds.start}-{seeds.stop - 1})"
    blocks = [
        f"NAS-Bench-201 (CIFAR-10) on the HW-NAS-Bench devices; the limit is the 10 % or 25 % "
        f"quantile of the device's latencies over every cell it measured (the Edge TPU failed "
        f"on some cells: those are left out of its quantiles, and count as breaking any limit). "
        f"Every row trains {settings.trainings} networks (label `c10_valid`; each trained "
        f"network's latency is measured, a look-up in HW-NAS-Bench); FLASH-BO, M = "
        f"{settings.measurements} also measures {settings.measurements} untrained ones; FLASH "
        f"(paper) measures {settings.calibration} random cells to calibrate the Pi 3B model. "
        "The engine's prior is `pi3b` as `--hardware pi3b` builds it. A recommendation is "
        "judged by its architecture's TRUE latency and `c10_test`. *breaks*: runs whose "
        "recommendation breaks the true limit, of all runs; *none*: of those, runs with nothing "
        "to recommend (no trained network measured within the limit; for the engine, nothing "
        "it believes meets it: `constrained_runs.csv`'s note says why), which count as breaking "
        "it. *c10_test*: mean ± std (population) over the runs that hold "
        "it. *− TPE*: the row's `c10_test` minus TPE's, paired by seed over the seeds where "
        "both hold the limit (their number in brackets after the interval), 95 % t-interval. "
        f"*trained over*: how many of a run's {settings.trainings} trained networks break the "
        "true limit, mean over its runs (trainings spent on networks that cannot be deployed; "
        "for the methods that learn from measurements they are also how the limit is learnt). "
        "*best cell*: the cell with the best `c10_valid` under the limit. The plot: per "
        "device, each row's mean `c10_test` over the runs that hold the limit, against the "
        "limit; a hollow marker where some runs broke it.",
    ]
    for device, data in found["devices"].items():
        limits = data["limits"]
        rows = []
        for key, name in methods.items():
            cells = [name]
            for limit in limits.values():
                row = limit["methods"][key]
                none = f" ({row['none']} none)" if row["none"] else ""
                cells += [
                    f"{row['over_limit']}/{row['runs']}{none}",
                    _spread(row["test"]),
                    "–"
                    if key == AGAINST
                    else f"{_interval(row['paired_tpe'])} ({row['paired_seeds']})",
                    "–"
                    if row["trained_over_limit"] is None
                    else f"{row['trained_over_limit']:.1f}",
                ]
            rows.append(cells)
        rows.append(
            [
                "best cell",
                *(
                    c
                    for limit in limits.values()
                    for c in ("–", f"{limit['reference_test']:.2f}", "–", "–")
                ),
            ]
        )
        headers = ["method"]
        for name, limit in limits.items():
            headers += [
                f"{name} ({limit['limit_ms']:.3g} ms): breaks",
                "c10_test (%)",
                "− TPE",
                "trained over",
            ]
        blocks += [
            caption(
                rows=f"methods on {device}",
                target="the true latency and `c10_test` of the recommended architecture",
                split=f"all 15,625 cells; {settings.trainings} trainings per run",
                seeds=f"{seeds_text}, mean ± std over the runs that hold the limit",
            ),
            table(headers, rows),
        ]
    fronts = list(FRONT_NAMES)
    blocks += [
        f"**Accuracy against latency**: each method trains {settings.front_trials} networks "
        "(the engine with its default objective for `pi3b`, every trained network's latency "
        "told as a measured cost; Optuna's NSGA-II and TPE with two objectives, `c10_valid` up "
        "and measured latency down; random cells). Hypervolume of the trained networks' "
        "(`c10_valid`, true latency) points, normalised: reference point = (lowest `c10_valid`, "
        "highest latency) of the whole space, divided by the area of the box the space spans "
        "(1 would be one network as accurate as the best cell and as fast as the fastest).",
        caption(
            rows="devices",
            target="normalised hypervolume of the trained networks' (accuracy, latency) points",
            split=f"all 15,625 cells; {settings.front_trials} trainings per run",
            seeds=f"{seeds_text}, mean ± std",
        ),
        table(
            ["device", *(FRONT_NAMES[m] for m in fronts)],
            [
                [device, *(_spread(data["hypervolume"].get(m), 4) for m in fronts)]
                for device, data in found["devices"].items()
            ],
        ),
    ]
    return blocks


def plot(found: Mapping[str, Any], settings: Settings, path: Path) -> None:
    """Per device: each row's mean ``c10_test`` (runs that hold) against the limit, and the
    best cell under it; a hollow marker where some runs broke the limit."""
    devices = found["devices"]
    width = 3.4 if len(devices) > 2 else 6.0  # the legend beside the last panel needs room
    with figure(path, ncols=len(devices), width=width) as (_fig, axes):
        for axis, (device, data) in zip(axes, devices.items()):
            limits = list(data["limits"].values())
            x = [limit["limit_ms"] for limit in limits]
            for key, name in settings.methods().items():
                rows = [limit["methods"][key] for limit in limits]
                means = [np.nan if row["test"] is None else row["test"][0] for row in rows]
                broke = [row["over_limit"] > 0 for row in rows]
                (line,) = axis.plot(x, means, lw=2.0 if key == "bo_m0" else 1.0, label=name)
                for xi, yi, hollow in zip(x, means, broke):
                    axis.plot(
                        xi,
                        yi,
                        "o",
                        color=line.get_color(),
                        mfc="none" if hollow else line.get_color(),
                    )
            axis.plot(x, [limit["reference_test"] for limit in limits], "k:", label="best cell")
            axis.set_title(device)
            axis.set_xlabel("latency limit (ms)")
            axis.grid(alpha=0.3)
        axes[0].set_ylabel("c10_test of the recommendation (%)")
        axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
