"""Part 9: how well the analytical hardware models predict real devices after a 25-sample
calibration (``python -m benchmarks --suite hardware``; ``--quick`` for a smoke run).

1. **HW-NAS-Bench devices**: the Pi-3B model's form (MACs per op kind, bytes, element-wise work,
   per-layer overhead, over the edges a device executes) is refit on 25 randomly chosen
   NAS-Bench-201 cells of each published latency column and predicts the other 15,600, over 10
   seeds: Spearman rho, MAPE and the share within +-10 %, beside FLOPs alone (latency = c x
   FLOPs, c fitted on the same 25 rows) and, on all cells, beside the same form counting the
   metrics' live edges instead (what it did before issue 10). A last row per device is a
   *ceiling*: a free cost for every (edge, op) of the cell, when executed, plus a constant,
   fitted on every row (in-sample), which no additive per-edge form calibrated on 25 rows beats.
2. **HW-NAS-Bench's FBNet space**: the same 25-sample calibration on FBNet architectures
   (MobileNet-type blocks, CIFAR-100) for the Raspberry Pi 4, Pixel 3, Eyeriss and FPGA columns.
3. **This machine**: real torch inference (``host``) of 100 FLASH-space and 100 NAS-Bench-201
   architectures, then the same 25-sample calibration over 10 seeds; and NAS-Bench-201 cells
   with convs behind ``none`` edges timed as torch modules of their executed edges and of their
   live edges, against the ratio the Pi-3B model's executed and live events predict.
4. **Speed**: evaluating an analytical model on all 15,625 cells, against the per-network time
   of measuring on the host (and of the ZigZag simulator where installed), in the same run.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

import flash_nas
from benchmarks._common import executing
from benchmarks.suite.report import Csv, Section, caption, mean_std, table
from flash_nas.cost.calibration import calibrate, fit_quality
from flash_nas.cost.linear import LinearCostModel
from flash_nas.cost.profile import Fit
from flash_nas.graph.batch import ChoiceBatch, GraphBatch
from flash_nas.graph.metrics import score_batch
from flash_nas_adapters.nasbench201.space import load_shipped_table
from flash_nas_hardware.pi3b import Pi3BModel

HW_NAS_BENCH = {
    "raspi4_latency": "hwnasbench:raspi4",
    "edgegpu_latency": "hwnasbench:edgegpu",
    "pixel3_latency": "hwnasbench:pixel3",
    "eyeriss_latency": "hwnasbench:eyeriss",
    "fpga_latency": "hwnasbench:fpga",
    "edgetpu_latency": "hwnasbench:edgetpu",
}


@dataclass
class Row:
    """One target, one model: quality over seeds on the held-out rows."""

    target: str
    model: str
    rows: int
    fits: list[Fit]

    def mean_std(self, name: str) -> tuple[float, float]:
        values = [getattr(fit, name) for fit in self.fits]
        return float(np.mean(values)), float(np.std(values))


@dataclass
class Fidelity:
    """Everything the part measured."""

    seeds: int
    fit_samples: int
    rows: list[Row] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: (cell, measured executed / live latency, predicted ratio): convs behind none edges
    none_edges: list[tuple[str, float, float]] = field(default_factory=list)


def flops_baseline(flops: np.ndarray, measured: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """latency = c x FLOPs with c minimising the relative error on the fit rows."""
    # least squares of (c * f - y) / y: c = sum(f/y) / sum((f/y)^2)
    inverse = flops[fit_rows] / measured[fit_rows]
    scale = float(inverse.sum() / (inverse**2).sum())
    return scale * flops


class LiveEdgesPi3B(Pi3BModel):
    """The Pi-3B form over the metrics' live edges: what cost models counted before issue 10."""

    def events_batch(self, batch: GraphBatch) -> np.ndarray:
        events = batch.edge_sums(self.edge_events, len(self.coefficients), executed=False)
        return events + np.asarray(self.network_events(None))


def additive_ceiling(batch: ChoiceBatch, measured: np.ndarray) -> Fit:
    """In-sample quality of a free non-negative cost per (choice column, op) when executed,
    plus a constant, fitted on every row by relative least squares: the most an additive
    per-edge form can reach on these measurements."""
    skeleton = batch.skeleton
    executed, pattern = skeleton.liveness(batch.choices, executed=True)
    first_slot = {}
    for slot in skeleton.slots:
        first_slot.setdefault(slot.column, slot.edge)
    runs = executed[pattern][:, [first_slot[c] for c in range(skeleton.n_columns)]]
    features = [np.ones(len(batch))]
    for column in range(skeleton.n_columns):
        for option in range(skeleton.n_options[column]):
            features.append(runs[:, column] & (batch.choices[:, column] == option))
    design = np.stack(features, axis=1).astype(float)
    costs, _ = optimize.nnls(design / measured[:, None], np.ones(len(measured)))
    return fit_quality(design @ costs, measured)


def calibration_rows(
    target: str,
    model: LinearCostModel,
    batch: GraphBatch,
    measured: np.ndarray,
    *,
    seeds: int,
    fit_samples: int,
    before: bool = False,
) -> list[Row]:
    """The model's and the FLOPs baseline's held-out quality over seeds; with ``before``, also
    the model's form over live edges, and the in-sample ceiling of an additive form."""
    flops = score_batch(batch, ["flops"])["flops"]
    ours, baseline, live = [], [], []
    # A benchmark reports the quality a fit gets, also when it is worse than the defaults
    # (host timings on a busy machine can be): calibrate's quality gate would stop the run.
    for seed in range(seeds):
        profile = calibrate(
            model,
            batch,
            {"latency_ms": measured},
            fit_samples=fit_samples,
            seed=seed,
            accept_worse=True,
        )
        ours.append(profile.fit["latency_ms"])
        if before:
            live.append(
                calibrate(
                    LiveEdgesPi3B(),
                    batch,
                    {"latency_ms": measured},
                    fit_samples=fit_samples,
                    seed=seed,
                    accept_worse=True,
                ).fit["latency_ms"]
            )
        order = np.random.default_rng(seed).permutation(len(batch))  # calibrate's own split
        fit_rows, held_out = order[:fit_samples], order[fit_samples:]
        predicted = flops_baseline(flops, measured, fit_rows)
        baseline.append(fit_quality(predicted[held_out], measured[held_out]))
    held = len(batch) - fit_samples
    rows = [
        Row(target, f"{type(model).__name__} form", held, ours),
        Row(target, "FLOPs alone", held, baseline),
    ]
    if before:
        rows.append(Row(target, f"{type(model).__name__} form, live edges (before)", held, live))
        if isinstance(batch, ChoiceBatch):
            ceiling = additive_ceiling(batch, measured)
            rows.append(
                Row(
                    target,
                    "ceiling: per-edge costs fitted in-sample",
                    len(batch),
                    [ceiling] * seeds,
                )
            )
    return rows


def hw_nas_bench(report: Fidelity, *, quick: bool) -> None:
    """On every cell with a measurement, and on NAS-Bench-Suite-Zero's 9,445 (every op on an
    input-output path, so the network measured is the network modelled: for cells with dead
    parts the devices' converters may prune more than the cell, e.g. 0.01 ms on a Raspberry Pi).
    HW-NAS-Bench marks failed measurements with -1 (NaN here): they are left out, and counted."""
    nb201 = flash_nas.get_adapter("nasbench201")
    whole = nb201.enumerate()
    texts = np.array(whole.texts())
    subset = load_shipped_table().column("in_nbsuitezero_set").astype(bool)
    targets = list(HW_NAS_BENCH)[:2] if quick else list(HW_NAS_BENCH)
    for target in targets:
        measured = flash_nas.get_hardware(HW_NAS_BENCH[target]).estimate_batch(whole)["latency_ms"]
        present = np.isfinite(measured)
        for name, rows in (("all", present), ("9,445", present & subset)):
            failed = int((~present).sum() if name == "all" else (~present & subset).sum())
            label = f"{target} ({name}" + (f"; {failed} failed, excluded)" if failed else ")")
            batch = nb201.batch([nb201.parse(text) for text in texts[rows]])
            report.rows += calibration_rows(
                label,
                flash_nas.get_hardware("pi3b"),
                batch,
                measured[rows],
                seeds=report.seeds,
                fit_samples=report.fit_samples,
                before=name == "all",
            )


def hw_nas_bench_fbnet(report: Fidelity, *, quick: bool) -> None:
    """HW-NAS-Bench's FBNet space (CIFAR-100): HELP's 5,000 sampled architectures, the latency
    columns of the four devices shipped with ``hwnasbench-fbnet`` (1,000 architectures and two
    devices in the quick mode)."""
    from flash_nas_hardware.hwnasbench_fbnet import DEVICES, load_fbnet_latencies

    fbnet = flash_nas.get_adapter("fbnet")
    table = load_fbnet_latencies()
    count = 1000 if quick else len(table)
    batch = fbnet.batch([fbnet.parse(text) for text in table.archs[:count]])
    for device in DEVICES[:2] if quick else DEVICES:
        report.rows += calibration_rows(
            f"FBNet {device}_latency ({count:,} archs)",
            flash_nas.get_hardware("pi3b"),
            batch,
            table.column(f"{device}_latency_ms")[:count],
            seeds=report.seeds,
            fit_samples=report.fit_samples,
        )


def host_measurements(report: Fidelity, *, quick: bool) -> tuple[GraphBatch, np.ndarray]:
    """Host latency of sampled networks, calibrated as above; returns NAS-Bench-201's. Networks
    that execute nothing (cut off: a constant) are left out, the rest topped up to ``count``."""
    count = 30 if quick else 100
    host = flash_nas.get_hardware("host", repeats=3 if quick else 10)
    for name in ("flash", "nasbench201"):
        sample = executing(flash_nas.get_adapter(name).sample(2 * count, seed=0))
        batch = flash_nas.ListBatch(
            [sample.graph(position) for position in range(count)],
            to_graph=lambda graph: graph,
            to_text=lambda graph: graph.name,
        )
        started = time.perf_counter()
        measured = np.array(
            [host.estimate(g)["latency_ms"] for g in batch.iter_graphs(progress=True)]
        )
        report.timings[f"host: measuring one {name} network (s)"] = (
            time.perf_counter() - started
        ) / count
        report.rows += calibration_rows(
            f"host latency, {name} ({count} nets)",
            flash_nas.get_hardware("pi3b"),
            batch,
            measured,
            seeds=report.seeds,
            fit_samples=report.fit_samples,
        )
    return batch, measured


#: Cells with convs behind none edges: executed and live edges differ.
NONE_EDGE_CELLS = (
    "|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|none~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_3x3~1|none~2|",
    "|avg_pool_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|nor_conv_3x3~2|",
)


def none_edges_on_host(
    report: Fidelity, calibration: tuple[GraphBatch, np.ndarray], *, quick: bool
) -> None:
    """Do torch modules of the executed edges cost what the executed events say, against the
    modules of the live edges? Measured ratio beside the ratio the Pi-3B form predicts once
    calibrated on the host's own NAS-Bench-201 latencies (25 rows, seed 0)."""
    nb201 = flash_nas.get_adapter("nasbench201")
    batch, measured = calibration
    profile = calibrate(Pi3BModel(), batch, {"latency_ms": measured}, fit_samples=25, seed=0)
    repeats = 3 if quick else 15
    executed_host = flash_nas.get_hardware("host", repeats=repeats)
    live_host = flash_nas.get_hardware("host", repeats=repeats, executed=False)
    model, live_model = Pi3BModel(profile=profile), LiveEdgesPi3B()
    live_model.set_costs(profile.costs)
    for text in NONE_EDGE_CELLS[: 2 if quick else None]:
        graph = nb201.to_graph(nb201.parse(text))
        measured = (
            executed_host.estimate(graph)["latency_ms"] / live_host.estimate(graph)["latency_ms"]
        )
        batch = nb201.batch([nb201.parse(text)])
        predicted = (
            model.from_events(model.events_batch(batch))["latency_ms"][0]
            / live_model.from_events(live_model.events_batch(batch))["latency_ms"][0]
        )
        report.none_edges.append((text, float(measured), float(predicted)))


def model_speed(report: Fidelity) -> None:
    whole = flash_nas.get_adapter("nasbench201").enumerate()
    for name in ("pi3b", "imc"):
        if name not in flash_nas.hardware_names():
            continue
        model = flash_nas.get_hardware(name)
        model.estimate_batch(whole)  # warm the per-pattern tables, as a long-lived process would
        times = []
        for _ in range(5):
            started = time.perf_counter()
            model.estimate_batch(whole)
            times.append(time.perf_counter() - started)
        report.timings[f"{name}: all 15,625 NB201 cells (s, median of 5)"] = statistics.median(
            times
        )


def measure(*, quick: bool, seeds: int) -> Fidelity:
    report = Fidelity(seeds, 25)
    model_speed(report)
    hw_nas_bench(report, quick=quick)
    hw_nas_bench_fbnet(report, quick=quick)
    nb201_on_host = host_measurements(report, quick=quick)
    none_edges_on_host(report, nb201_on_host, quick=quick)
    return report


def fidelity_csv(report: Fidelity) -> Csv:
    """Every fit of ``report``: one row per device, model and seed."""
    fits = Csv(
        "hardware_fidelity",
        ("device", "model", "n_rows", "seed", "spearman", "kendall", "mape", "within_10pct"),
    )
    for row in report.rows:
        for seed, fit in enumerate(row.fits):
            fits.add(
                row.target,
                row.model,
                row.rows,
                seed,
                fit.spearman,
                fit.kendall,
                fit.mape,
                fit.within_10pct,
            )
    return fits


def run(*, seeds: int, quick: bool = False, **_: object) -> Section:
    report = measure(quick=quick, seeds=seeds)
    fits = fidelity_csv(report)
    timings = Csv("hardware_timing", ("what", "seconds"))
    for what, seconds in report.timings.items():
        timings.add(what, seconds)
    none_edges = Csv("hardware_none_edges", ("cell", "measured_ratio", "predicted_ratio"))
    for cell, measured, predicted in report.none_edges:
        none_edges.add(cell, measured, predicted)
    section = Section("hardware", "Hardware model fidelity", csvs=[fits, timings, none_edges])
    section.blocks = [
        "Each model calibrated on "
        f"{report.fit_samples} random architectures per seed (`flash_nas.cost.calibration`) and "
        "judged on every other architecture of its device's set; 'FLOPs alone' is latency = c x "
        "FLOPs with c fitted on the same rows. HW-NAS-Bench failures (-1) are excluded and "
        "counted in the device name.",
        caption(
            rows="devices (HW-NAS-Bench latency columns on NAS-Bench-201 and on the FBNet "
            "space; this machine's torch latency on sampled networks) x model",
            target="measured latency (ms)",
            split=f"{report.fit_samples} random architectures to calibrate, all others to judge",
            seeds=f"{report.seeds} calibration splits, mean ± std",
        ),
        table(
            ["device", "model", "held-out rows", "Spearman ρ", "Kendall τ", "MAPE", "within ±10 %"],
            [
                [
                    row.target,
                    row.model,
                    f"{row.rows:,}",
                    mean_std([f.spearman for f in row.fits]),
                    mean_std([f.kendall for f in row.fits]),
                    mean_std([f.mape for f in row.fits], 1, 100) + " %",
                    mean_std([f.within_10pct for f in row.fits], 1, 100) + " %",
                ]
                for row in report.rows
            ],
        ),
        caption(
            rows="NAS-Bench-201 cells with convs behind `none` edges",
            target="host latency of the torch module of the executed edges over that of the "
            "live edges; beside it the Pi-3B form's ratio, calibrated on the host",
            split="25 host-measured NAS-Bench-201 networks calibrate the form (seed 0)",
            seeds="one measurement (median of repeats) per cell",
        ),
        table(
            ["cell", "measured executed / live", "Pi-3B form calibrated on the host"],
            [[f"`{c}`", f"{m:.2f}", f"{p:.2f}"] for c, m, p in report.none_edges],
        ),
        caption(
            rows="timings the calibration benchmark takes",
            target="wall time (s)",
            split="none",
            seeds="as each line says (median of 5, or a mean per network)",
        ),
        table(["what", "seconds"], [[what, f"{s:.4g}"] for what, s in report.timings.items()]),
    ]
    section.results = named_figures(report)
    by_device: dict[str, list[Row]] = {}
    for row in report.rows:
        by_device.setdefault(row.target, []).append(row)
    for device, rows in by_device.items():
        if "(all" not in device:  # the 9,445 set says the same more cleanly
            section.summary.append(
                f"hardware, {device}: "
                + "; ".join(
                    f"{row.model} rho {mean_std([f.spearman for f in row.fits])}, MAPE "
                    f"{np.mean([f.mape for f in row.fits]):.1%}"
                    for row in rows
                )
            )
    return section


def device_key(target: str) -> str:
    """A row's target as a results name: ``raspi4_all``, ``raspi4_9445``, ``fbnet_pixel3``,
    ``host_flash``."""
    if target.startswith("FBNet "):
        return "fbnet_" + target.removeprefix("FBNet ").split("_latency")[0]
    if target.startswith("host latency, "):
        return "host_" + target.removeprefix("host latency, ").split(" ")[0]
    return target.split("_latency")[0] + ("_all" if "(all" in target else "_9445")


def _model_key(model: str) -> str:
    if model == "FLOPs alone":
        return "flops"
    if "live edges" in model:
        return "live"
    return "ceiling" if model.startswith("ceiling") else "form"


def named_figures(report: Fidelity) -> dict[str, object]:
    """The part's figures by name (``hardware.json``): per device (:func:`device_key`), the
    calibrated form's rho ``[mean, std]``, MAPE and share within +-10 % (means, in %), FLOPs
    alone's mean rho, the live-edge form's rho ``[mean, std]`` and the ceiling's ``[rho, share
    within +-10 % (%)]``, where measured; the timings and the none-edge ratios."""
    devices: dict[str, dict[str, object]] = {}
    for row in report.rows:
        figures = devices.setdefault(device_key(row.target), {"rows": row.rows})
        rho = list(row.mean_std("spearman"))
        kind = _model_key(row.model)
        if kind == "form":
            figures["rho"] = rho
            figures["mape"] = row.mean_std("mape")[0] * 100
            figures["within"] = row.mean_std("within_10pct")[0] * 100
        elif kind == "flops":
            figures["flops_rho"] = rho[0]
        elif kind == "live":
            figures["live_rho"] = rho
        else:
            figures["ceiling"] = [rho[0], row.mean_std("within_10pct")[0] * 100]
    return {
        "fit_samples": report.fit_samples,
        "devices": devices,
        "timings_s": dict(report.timings),
        "none_edges": [
            {"cell": cell, "measured": measured, "predicted": predicted}
            for cell, measured, predicted in report.none_edges
        ],
    }
