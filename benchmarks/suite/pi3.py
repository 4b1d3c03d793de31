"""Part 11: the ``pi3b`` model against a real Raspberry Pi 3: whole networks (ncnn) and single
convs (TVM). Needs the ``[torchvision]`` extra; without it the report says the part was not run.

Run: ``python -m benchmarks --suite pi3`` (``--quick`` for a smoke run; ``--write-profile PATH``
also writes the profile fitted on every network, the one shipped as
``hardware/data/pi3b_ncnn_rpi3bplus_4t.json``).

1. **Whole networks**: ncnn's ``benchncnn`` latencies on a Raspberry Pi 3 Model B+ (BCM2837B0,
   4x Cortex-A53 at 1.4 GHz, fp32, 1 and 4 threads; ``benchmarks/data/pi3_ncnn_rpi3bplus.csv.gz``)
   for the 11 classifiers torchvision defines (:data:`NETWORKS`), each built by the ``torch``
   adapter at ncnn's input size. The ``pi3b`` model priced with the board's specifications only
   (uncalibrated), then calibrated leave-one-network-out two ways, fitted on 10 networks to
   predict the 11th: every latency cost refit (:func:`flash_nas.cost.calibration.calibrate`), and
   one speed factor on the specification costs (:func:`speed_factor`); the shipped default
   profile is the second, fitted on all 11 at 4 threads. Beside it, MACs alone: their
   own ranking, and latency = c x MACs with c the median ms per MAC of the other networks.
2. **Single convolutions**: TVM AutoTVM's best-schedule timings of 220 conv2d workloads on the Pi
   3B's BCM2837 (``benchmarks/data/pi3_tophub_bcm2837_conv2d.csv.gz``). Each conv with a square
   kernel and symmetric padding is a one-edge graph priced by ``pi3b``: uncalibrated and with the
   profile calibrated on the ncnn networks (both without the per-inference cost: TVM times the
   kernel alone), and refit on 25 random layers (10 seeds, judged on the others; the refit
   per-call cost then acts as a fitted per-layer constant).

The torchvision definitions are the standard architectures ncnn's model files implement, not
the same files: e.g. ncnn's googlenet is BVLC's (5x5 convs, where torchvision's has 3x3), its
alexnet Caffe's (grouped convs). ``mobilenet_v3`` is taken as torchvision's large variant.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np

import flash_nas
from benchmarks.suite.options import Option
from benchmarks.suite.report import Csv, Section, caption, table
from flash_nas import ArchGraph, Edge, Layer, ListBatch, Op, Tensor
from flash_nas.cost.calibration import calibrate, fit_quality
from flash_nas.cost.profile import Profile
from flash_nas.errors import MissingDependencyError
from flash_nas.train.torchvision_compat import import_torchvision
from flash_nas_adapters.torch.space import TorchAdapter
from flash_nas_hardware.pi3b import LOAD_POWER_W, Pi3BModel

DATA = Path(__file__).resolve().parents[1] / "data"
NCNN_FILE = DATA / "pi3_ncnn_rpi3bplus.csv.gz"
TOPHUB_FILE = DATA / "pi3_tophub_bcm2837_conv2d.csv.gz"
#: ncnn's benchmark model -> the torchvision builder of the same architecture.
NETWORKS = {
    "squeezenet": "squeezenet1_1",
    "mobilenet_v2": "mobilenet_v2",
    "mobilenet_v3": "mobilenet_v3_large",
    "shufflenet_v2": "shufflenet_v2_x1_0",
    "mnasnet": "mnasnet1_0",
    "efficientnet_b0": "efficientnet_b0",
    "regnety_400m": "regnet_y_400mf",
    "googlenet": "googlenet",
    "resnet18": "resnet18",
    "alexnet": "alexnet",
    "resnet50": "resnet50",
}
DEVICE = "Raspberry Pi 3 Model B+ (BCM2837B0, 4x Cortex-A53 1.4 GHz)"
ENGINE = "ncnn benchncnn, fp32, batch 1 (Tencent/ncnn benchmark/README.md @ 3a74ae4d)"
THREADS = (4, 1)
TOLERANCE = 0.20
OPTIONS = (
    Option(
        "--write-profile",
        "write_profile",
        "also write the profile fitted on all 11 networks at 4 threads here (JSON; the shipped "
        "default is hardware/data/pi3b_ncnn_rpi3bplus_4t.json)",
        type=Path,
        metavar="PATH",
    ),
)


@dataclass
class Summary:
    """One way of predicting the networks' latency at one thread count."""

    method: str
    threads: int
    spearman: float
    mape: float
    within_20pct: float


@dataclass
class Measured:
    """Everything the part measured."""

    seeds: int
    networks: list[dict[str, object]] = field(default_factory=list)
    summaries: list[Summary] = field(default_factory=list)
    layers: list[Summary] = field(default_factory=list)
    layer_count: tuple[int, int] = (0, 0)
    profile: Profile | None = None


def _quality(method: str, threads: int, predicted: np.ndarray, measured: np.ndarray) -> Summary:
    fit = fit_quality(predicted, measured)
    within = float((np.abs(predicted - measured) / measured <= TOLERANCE).mean())
    return Summary(method, threads, fit.spearman, fit.mape, within)


def read_ncnn() -> dict[tuple[str, int], tuple[float, int]]:
    """``(model, threads) -> (mean latency ms, input size)`` for every row of the ncnn table."""
    with gzip.open(NCNN_FILE, "rt", newline="") as handle:
        return {
            (row["model"], int(row["threads"])): (float(row["avg_ms"]), int(row["input_w"]))
            for row in csv.DictReader(handle)
        }


def build_networks(names: list[str]) -> list[ArchGraph]:
    """The torchvision networks of ncnn's ``names`` at ncnn's input sizes (``torch`` adapter)."""
    measured = read_ncnn()
    graphs = []
    for name in names:
        with flash_nas.allow_code_imports("torch"):  # torchvision's builders, named here
            adapter = TorchAdapter(input_size=measured[(name, 4)][1])
        graphs.append(adapter.to_graph(f"torchvision.models:{NETWORKS[name]}"))
    return graphs


def _batch(graphs: list[ArchGraph]) -> ListBatch:
    return ListBatch(graphs, lambda graph: graph, lambda graph: graph.name)


def leave_one_out(model: Pi3BModel, batch: ListBatch, measured: np.ndarray) -> np.ndarray:
    """Latency of each network from the pi3b model refit on all the other networks: every
    latency cost refit (:func:`flash_nas.cost.calibration.calibrate`)."""
    predicted = np.zeros(len(measured))
    events = model.events_batch(batch)
    for held in range(len(measured)):
        rows = [i for i in range(len(measured)) if i != held]
        profile = calibrate(
            model, batch, {"latency_ms": measured}, fit_samples=len(rows), fit_rows=rows
        )
        predicted[held] = events[held] @ _latency_costs(model, profile)
    return predicted


def _latency_costs(model: Pi3BModel, profile: Profile) -> np.ndarray:
    return np.array(
        [profile.costs[c.name] if c.quantity == "latency_ms" else 0.0 for c in model.coefficients]
    )


def speed_factor(predicted: np.ndarray, measured: np.ndarray) -> float:
    """The one factor ``s`` minimising the squared relative error of ``s x predicted`` (the
    criterion :func:`~flash_nas.cost.calibration.calibrate` uses), closed form."""
    ratio = predicted / measured
    return float(ratio.sum() / (ratio**2).sum())


def scaled_leave_one_out(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Each network's specification-only latency times the factor fitted on the others."""
    keep = ~np.eye(len(measured), dtype=bool)
    return np.array(
        [
            predicted[i] * speed_factor(predicted[keep[i]], measured[keep[i]])
            for i in range(len(measured))
        ]
    )


def whole_networks(report: Measured, quick: bool) -> None:
    names = list(NETWORKS)
    graphs = build_networks(names)
    batch = _batch(graphs)
    table = read_ncnn()
    specs = Pi3BModel(profile=None)
    uncalibrated = specs.estimate_batch(batch)["latency_ms"]
    macs = np.array([flash_nas.score(graph, ["macs"])["macs"] for graph in graphs])
    predictions = {}
    for threads in THREADS:
        measured = np.array([table[(name, threads)][0] for name in names])
        held_out = leave_one_out(specs, batch, measured)
        scaled = scaled_leave_one_out(uncalibrated, measured)
        by_macs = np.array(
            [
                macs[i] * np.median(np.delete(measured / macs, i))  # c from the other networks
                for i in range(len(names))
            ]
        )
        by_macs_quality = _quality("MACs alone", threads, by_macs, measured)
        # The ranking is MACs' own; a c per held-out network would reorder them.
        by_macs_quality.spearman = fit_quality(macs, measured).spearman
        report.summaries += [
            by_macs_quality,
            _quality("pi3b, board specifications only", threads, uncalibrated, measured),
            _quality("pi3b, every cost refit, leave-one-network-out", threads, held_out, measured),
            _quality("pi3b, one speed factor, leave-one-network-out", threads, scaled, measured),
        ]
        predictions[threads] = scaled
    for i, name in enumerate(names):
        report.networks.append(
            {
                "network": name,
                "torchvision": NETWORKS[name],
                "input": table[(name, 4)][1],
                "macs": int(macs[i]),
                "measured_4": table[(name, 4)][0],
                "uncalibrated": uncalibrated[i],
                "calibrated_4": predictions[4][i],
                "measured_1": table[(name, 1)][0],
                "calibrated_1": predictions[1][i],
            }
        )
    measured_4 = np.array([table[(name, 4)][0] for name in names])
    report.profile = shipped_profile(specs, speed_factor(uncalibrated, measured_4))
    report.profile.fit["latency_ms"] = fit_quality(predictions[4], measured_4)


def shipped_profile(model: Pi3BModel, factor: float) -> Profile:
    """The specification costs, every one (latency and energy) times ``factor``: the board's
    model with its measured speed, so energy = power x latency still holds."""
    costs = {c.name: c.default * factor for c in model.coefficients}
    return Profile(
        model=type(model).__name__,
        costs=costs,
        fit_rows=len(NETWORKS),
        source=f"{DEVICE}; {ENGINE}; 4 threads; {len(NETWORKS)} torchvision classifiers "
        "(python -m benchmarks --suite pi3 --write-profile PATH)",
        notes=[
            f"device: {DEVICE}",
            f"engine: {ENGINE}",
            "threads: 4",
            "networks: " + ", ".join(f"{k} ({v})" for k, v in NETWORKS.items()),
            f"every cost is the board-specification default x {factor:.4f}, the one factor "
            "that fits the 11 measured latencies best (relative least squares); the structure "
            "of the model (which work costs what, relative to the rest) is unchanged",
            "energy_mj is not measured: its costs are scaled with latency's, so energy = "
            f"{LOAD_POWER_W} W x latency still holds",
            "fit: quality of leave-one-network-out predictions (each network's factor from "
            "the other 10)",
        ],
    )


def read_tophub() -> list[dict[str, str]]:
    with gzip.open(TOPHUB_FILE, "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def conv_graph(row: dict[str, str]) -> ArchGraph | None:
    """One TVM workload as a one-edge graph; None for shapes ArchGraph has no layer for."""
    kernel = {int(row["kernel_h"]), int(row["kernel_w"])}
    stride = {int(row["stride_h"]), int(row["stride_w"])}
    pads = {int(row[f"pad_{side}"]) for side in ("top", "left", "bottom", "right")}
    dilation = {int(row["dilation_h"]), int(row["dilation_w"])}
    if len(kernel) > 1 or len(stride) > 1 or len(pads) > 1 or dilation != {1}:
        return None
    c_in, c_out, size = int(row["c_in"]), int(row["c_out"]), int(row["h"])
    layer = Layer("conv", c_in, c_out, kernel.pop(), stride.pop(), pads.pop(), int(row["groups"]))
    out_h, out_w = layer.output_size(size, int(row["w"]))
    return ArchGraph(
        (Tensor("in", c_in, size, int(row["w"])), Tensor("out", c_out, out_h, out_w)),
        (Edge("in", "out", Op(row["template"], (layer,))),),
        "in",
        "out",
        name=f"{row['template']} {c_in}x{size}x{row['w']} -> {c_out} k{layer.kernel} "
        f"s{layer.stride} p{layer.padding} g{layer.groups}",
    )


def single_convs(report: Measured, quick: bool) -> None:
    rows = read_tophub()
    pairs = [(graph, float(row["time_ms_mean"])) for row in rows if (graph := conv_graph(row))]
    report.layer_count = (len(pairs), len(rows))
    batch = _batch([graph for graph, _ in pairs])
    measured = np.array([ms for _, ms in pairs])

    def layer_latency(model: Pi3BModel) -> np.ndarray:
        return model.estimate_batch(batch)["latency_ms"] - model.cost("ms_per_inference")

    macs = np.array([flash_nas.score(graph, ["macs"])["macs"] for graph in batch.archs])
    c = np.median(measured / macs)
    report.layers.append(_quality("MACs alone (c = median over layers)", 0, c * macs, measured))
    report.layers.append(
        _quality("pi3b, board specifications only", 0, layer_latency(Pi3BModel(None)), measured)
    )
    if report.profile is not None:
        shipped = Pi3BModel(profile=report.profile)
        report.layers.append(
            _quality("pi3b, calibrated on the ncnn networks", 0, layer_latency(shipped), measured)
        )
    fits: list[Summary] = []
    for seed in range(report.seeds):
        profile = calibrate(
            Pi3BModel(None), batch, {"latency_ms": measured}, fit_samples=25, seed=seed
        )
        order = np.random.default_rng(seed).permutation(len(measured))[25:]
        # Fitted to these timings, the per-call cost is a per-layer constant: it stays in.
        predicted = Pi3BModel(profile=profile).estimate_batch(batch)["latency_ms"]
        fits.append(_quality("", report.seeds, predicted[order], measured[order]))
    report.layers.append(
        Summary(
            "pi3b refit on 25 random layers, the others held out (mean over seeds)",
            report.seeds,
            float(np.mean([f.spearman for f in fits])),
            float(np.mean([f.mape for f in fits])),
            float(np.mean([f.within_20pct for f in fits])),
        )
    )


def measure(*, quick: bool, seeds: int) -> Measured:
    report = Measured(seeds)
    whole_networks(report, quick)
    single_convs(report, quick)
    return report


#: The part's ways of predicting latency by the name its results give them.
METHOD_KEYS = {
    "MACs alone": "macs",
    "pi3b, board specifications only": "specs",
    "pi3b, one speed factor, leave-one-network-out": "factor",
    "pi3b, every cost refit, leave-one-network-out": "refit",
    "MACs alone (c = median over layers)": "macs",
    "pi3b, calibrated on the ncnn networks": "default",
}


def _figures(summary: Summary) -> dict[str, float]:
    return {
        "rho": summary.spearman,
        "mape": summary.mape * 100,
        "within": summary.within_20pct * 100,
    }


def named_figures(report: Measured) -> dict[str, object]:
    """The part's figures by name (``pi3.json``): per thread count (``threads_4``,
    ``threads_1``) and for the single convs (``convs``), each way of predicting's rho, MAPE and
    share within +-20 % (both in %) under :data:`METHOD_KEYS` (the convs' refit row:
    ``refit``); per network (by torchvision name) its GMACs, measured 4-thread latency, the
    specification model's and the held-out calibrated one's (ms); the shipped profile's speed
    factor and the range of specification / measured over the networks."""
    by_threads: dict[str, dict[str, dict[str, float]]] = {}
    for summary in report.summaries:
        by_threads.setdefault(f"threads_{summary.threads}", {})[METHOD_KEYS[summary.method]] = (
            _figures(summary)
        )
    convs: dict[str, object] = {
        METHOD_KEYS.get(s.method, "refit"): _figures(s) for s in report.layers
    }
    convs.update(priced=report.layer_count[0], total=report.layer_count[1])
    networks = {}
    for row in report.networks:
        number = {
            k: float(cast(float, v)) for k, v in row.items() if k not in ("network", "torchvision")
        }
        networks[str(row["torchvision"])] = {
            "gmacs": number["macs"] / 1e9,
            **{k: number[k] for k in ("measured_4", "uncalibrated", "calibrated_4")},
        }
    slower = [n["uncalibrated"] / n["measured_4"] for n in networks.values()]
    factor = None
    if report.profile is not None:  # every cost is the specification's times one factor
        name = Pi3BModel.coefficients[0].name
        factor = report.profile.costs[name] / Pi3BModel.coefficients[0].default
    return {
        **by_threads,
        "convs": convs,
        "networks": networks,
        "specs_over_measured": [min(slower), max(slower)] if slower else None,
        "factor": factor,
    }


def run(
    *, seeds: int, quick: bool = False, write_profile: Path | None = None, **_: object
) -> Section:
    try:
        import_torchvision()
    except MissingDependencyError as exc:  # its own extra, not in [all]: say so, run the rest
        section = Section("pi3", "The Raspberry Pi 3, measured")
        section.blocks = [f"Not run: {exc}"]
        section.summary = ["pi3: not run (torchvision is not installed)"]
        return section
    report = measure(quick=quick, seeds=seeds)
    networks = Csv(
        "pi3_networks",
        ("network", "torchvision", "threads", "measured_ms", "uncalibrated_ms", "calibrated_ms"),
    )
    for row in report.networks:
        for threads in THREADS:
            networks.add(
                row["network"],
                row["torchvision"],
                threads,
                row[f"measured_{threads}"],
                row["uncalibrated"],
                row[f"calibrated_{threads}"],
            )
    sizes = Csv("pi3_network_size", ("network", "torchvision", "input_size", "macs"))
    for row in report.networks:
        sizes.add(row["network"], row["torchvision"], row["input"], row["macs"])
    quality = Csv("pi3_quality", ("what", "method", "threads", "spearman", "mape", "within_20pct"))
    for what, rows in (("networks", report.summaries), ("single convs", report.layers)):
        for summary in rows:
            quality.add(
                what,
                summary.method,
                summary.threads,
                summary.spearman,
                summary.mape,
                summary.within_20pct,
            )
    section = Section("pi3", "The Raspberry Pi 3, measured", csvs=[networks, sizes, quality])

    def summary_rows(rows: list[Summary]) -> list[list[str]]:
        return [
            [
                s.method,
                str(s.threads),
                f"{s.spearman:.3f}",
                f"{s.mape:.1%}",
                f"{s.within_20pct:.0%}",
            ]
            for s in rows
        ]

    priced, total = report.layer_count
    section.blocks = [
        f"Device: {DEVICE}; engine: {ENGINE}. Networks: torchvision's definitions through the "
        "`torch` adapter. 'Calibrated, held out': the specification model times one speed "
        "factor fitted on the other 10 networks.",
        caption(
            rows="the 11 classifiers (torchvision's definitions at ncnn's input sizes)",
            target="ncnn's measured latency (ms, mean of 4 runs) beside the pi3b model's",
            split="leave-one-network-out for the calibrated columns",
            seeds="none (deterministic)",
        ),
        table(
            [
                "network (torchvision)",
                "input",
                "GMACs",
                "measured 4 thr (ms)",
                "uncalibrated (ms)",
                "calibrated, held out (ms)",
                "measured 1 thr (ms)",
                "calibrated 1 thr, held out (ms)",
            ],
            [
                [
                    f"{row['network']} ({row['torchvision']})",
                    str(row["input"]),
                    f"{macs / 1e9:.2f}",
                    f"{row['measured_4']:.1f}",
                    f"{row['uncalibrated']:.1f}",
                    f"{row['calibrated_4']:.1f}",
                    f"{row['measured_1']:.1f}",
                    f"{row['calibrated_1']:.1f}",
                ]
                for row, (*_, macs) in zip(report.networks, sizes.rows)
            ],
        ),
        caption(
            rows="ways of predicting latency x thread count",
            target="ncnn's measured latency of 11 classifiers (ms, mean of 4 runs)",
            split="leave-one-network-out for the calibrated rows; none for the others",
            seeds="none (deterministic)",
        ),
        table(
            ["method", "threads", "Spearman ρ", "MAPE", "within ±20 %"],
            summary_rows(report.summaries),
        ),
        caption(
            rows=f"ways of predicting one conv's time ({priced} of {total} TVM workloads; the "
            "others have non-square kernels)",
            target="TVM AutoTVM's best-schedule time on the BCM2837 (ms)",
            split="the refit row: 25 random layers to fit, the others to judge",
            seeds=f"{report.seeds} for the refit row (mean), 0 = deterministic",
        ),
        table(
            ["method", "seeds", "Spearman ρ", "MAPE", "within ±20 %"], summary_rows(report.layers)
        ),
    ]
    for s in report.summaries:
        if "leave-one" in s.method or "specifications" in s.method:
            section.summary.append(
                f"pi3, {s.threads} threads, {s.method}: rho {s.spearman:.3f}, MAPE {s.mape:.1%}, "
                f"{s.within_20pct:.0%} within +-20 %"
            )
    section.results = named_figures(report)
    if write_profile is not None and report.profile is not None:
        report.profile.save(write_profile)
        section.summary.append(f"pi3: wrote the 4-thread profile to {write_profile}")
    return section
