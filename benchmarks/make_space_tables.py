"""Write the compact gzip'd tables of NAS-Bench-101, NAS-Bench-301, TransNAS-Bench-101 micro and
HW-NAS-Bench's FBNet space that flash-nas ships, from the reference data in ``../shared/data``.

Run from the repository root: ``python -m benchmarks.make_space_tables [DATA_DIR]``. Only the
columns the adapters and benchmarks need are kept; numbers are copied verbatim (``repr`` of the
parsed float). Sources and licences: ``adapters/data/README.md``, ``hardware/data/README.md`` and
``benchmarks/data/README.md``.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROXIES = (
    "epe_nas",
    "fisher",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "plain",
    "snip",
    "synflow",
)
TNB_TASKS = (
    "class_scene_valid_top1",
    "class_object_valid_top1",
    "jigsaw_valid_top1",
    "room_layout_valid_neg_loss",
    "segmentsemantic_valid_acc",
    "normal_valid_ssim",
    "autoencoder_valid_ssim",
)
DEVICES = ("raspi4", "pixel3", "eyeriss", "fpga")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    # mtime=0: the same data give the same bytes.
    with gzip.GzipFile(path, "wb", mtime=0) as raw, io.TextIOWrapper(raw, "utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    print(f"{path.relative_to(ROOT)}: {len(rows)} rows")


def _num(text: str) -> str:
    return repr(float(text))


def main(data: Path) -> None:
    nb101 = _read(data / "nasbench101_500" / "nb101_zc_500.csv")
    _write(
        ROOT / "adapters" / "data" / "nb101_cifar10_500.csv.gz",
        ["arch", "index", "val_accuracy"],
        [[f"{r['matrix']};{r['ops']}", r["idx"], _num(r["val_accuracy"])] for r in nb101],
    )
    _write(
        ROOT / "benchmarks" / "data" / "nb101_500_published.csv.gz",
        ["index", "iso_rep_idx", "params", "flops", *PROXIES],
        [
            [r["idx"], r["iso_rep_idx"], *(_num(r[c]) for c in ("params", "flops", *PROXIES))]
            for r in nb101
        ],
    )
    nb301 = _read(data / "nasbench301_500" / "nb301_zc_500.csv")
    _write(
        ROOT / "adapters" / "data" / "nb301_cifar10_500.csv.gz",
        ["arch", "index", "val_accuracy"],
        [[r["genotype"], r["idx"], _num(r["val_accuracy"])] for r in nb301],
    )
    _write(
        ROOT / "benchmarks" / "data" / "nb301_500_published.csv.gz",
        ["index", "params", "flops", *PROXIES],
        [[r["idx"], *(_num(r[c]) for c in ("params", "flops", *PROXIES))] for r in nb301],
    )
    tnb = _read(data / "transnas101_micro" / "tnb101_micro_zen.csv")
    _write(
        ROOT / "adapters" / "data" / "tnb101_micro.csv.gz",
        ["arch", "index", *TNB_TASKS],
        [[r["arch_str"], r["idx"], *(_num(r[c]) for c in TNB_TASKS)] for r in tnb],
    )
    zen = [f"zen_{task.split('_valid')[0]}" for task in TNB_TASKS]
    _write(
        ROOT / "benchmarks" / "data" / "tnb101_micro_zen.csv.gz",
        ["index", *zen],
        [[r["idx"], *(_num(r[c]) for c in zen)] for r in tnb],
    )
    fbnet = _read(data / "hw_nas_bench_fbnet" / "fbnet_cifar100_latency.csv")
    _write(
        ROOT / "hardware" / "data" / "hwnasbench_fbnet_cifar100.csv.gz",
        ["arch", "index", *(f"{d}_latency_ms" for d in DEVICES)],
        [
            [
                "-".join(r[f"b{j}"] for j in range(22)),
                r["arch_id"],
                *(_num(r[f"{d}_latency_ms"]) for d in DEVICES),
            ]
            for r in fbnet
        ],
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
