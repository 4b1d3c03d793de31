"""``flash-nas hw``, ``measure`` and ``calibrate``: hardware cost, measured and modelled."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from flash_nas import plugins
from flash_nas.cli._args import UsageError, input_file, progress_wanted
from flash_nas.cli._common import (
    PROGRESS_ROWS,
    add_options_argument,
    add_output_argument,
    add_space_arguments,
    check_indices,
    check_unique,
    make_adapter,
    parse_all,
    select_archs,
    write_output,
)
from flash_nas.cli.commands import summary
from flash_nas.cost.linear import LinearCostModel
from flash_nas.errors import ArchFormatError, FlashNasError, ParameterError
from flash_nas.graph.batch import GraphBatch
from flash_nas.io.tables import Table, read_table
from flash_nas.plugins.adapter import Adapter
from flash_nas.plugins.hardware import HardwareModel
from flash_nas.plugins.quantities import LATENCY_MS


def add_to(commands: argparse._SubParsersAction) -> None:
    hw = commands.add_parser(
        "hw",
        help=summary("hw"),
        description="Estimate every quantity a hardware model reports (latency, energy, area "
        "where the model has one, or any other it declares) for a whole space, a sample or a "
        "list, with any registered hardware model.",
    )
    add_space_arguments(hw)
    _add_hardware_arguments(hw)
    add_output_argument(hw)
    hw.set_defaults(run=run_hw)

    measure = commands.add_parser(
        "measure",
        help=summary("measure"),
        description="Build each architecture's torch model and time its inference here (the "
        "`host` hardware model; `--device cuda` for a GPU): warm-up runs, then the median of "
        "repeated runs. Change the settings with -H threads=1 -H batch_size=1 -H repeats=10.",
    )
    add_space_arguments(measure)
    measure.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    add_options_argument(
        measure, "hardware", "timing setting (threads, batch_size, warmup, repeats)"
    )
    add_output_argument(measure)
    measure.set_defaults(run=run_measure)

    fit = commands.add_parser(
        "calibrate",
        help=summary("calibrate"),
        description="Fit an analytical model's costs per event on --fit-samples rows of a "
        "measurements CSV (arch, then one column per measured quantity), predict every other "
        "row, print Spearman rho, Kendall tau, MAPE and the share within +-10%% on those "
        "held-out rows, and write a profile (JSON) that `--profile` loads. Rows the fit finds "
        "to be outliers (more than 2x off and far outside the others' spread) are set aside "
        "and named; a fit that predicts worse than the model's own costs is an error.",
    )
    fit.add_argument("--hardware", required=True, help="analytical model to fit (pi3b, imc...)")
    fit.add_argument("--measurements", type=input_file, required=True, metavar="CSV")
    fit.add_argument(
        "--target",
        required=True,
        help="quantities to fit, comma-separated; QUANTITY=COLUMN reads another column name "
        f"(e.g. {LATENCY_MS}=raspi4_latency)",
    )
    fit.add_argument(
        "--fit-samples",
        type=_fit_samples,
        default=25,
        metavar="N|all",
        help="rows to fit on, the rest judge the fit (default 25); 'all' fits on every row and "
        "judges it by leave-one-out",
    )
    fit.add_argument(
        "--accept-worse-fit",
        action="store_true",
        help="write the profile even when it predicts the judged rows worse than the model's "
        "own costs (an error otherwise)",
    )
    fit.add_argument("--seed", type=int, default=0, help="which rows are fitted (default 0)")
    fit.add_argument(
        "--space", help="search space of the archs (default: the one that parses them)"
    )
    add_options_argument(fit, "space")
    add_options_argument(fit, "hardware", "model structure parameter (e.g. -H crossbar_rows=256)")
    add_output_argument(fit, default=None)
    fit.set_defaults(run=run_calibrate)


def _add_hardware_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hardware",
        required=True,
        help="hardware model, e.g. pi3b, imc, zigzag:aimc, hwnasbench:raspi4",
    )
    add_options_argument(parser, "hardware", "hardware model parameter (repeatable)")
    parser.add_argument("--profile", type=input_file, help="calibrated profile (JSON) to load")


def make_hardware(name: str, options: list[tuple[str, Any]], profile: Path | None) -> HardwareModel:
    settings = dict(options)
    if profile is not None:
        settings["profile"] = profile
    try:
        return plugins.get_hardware(name, **settings)
    except ParameterError as exc:
        raise UsageError(f"--hardware {name}: {exc}") from exc


#: Architectures per chunk when a batched model runs behind a progress bar.
_ESTIMATE_CHUNK = 20_000
#: "Set aside" notes `calibrate` prints per quantity; the profile keeps every one.
SET_ASIDE_SHOWN = 10


def estimate_all(
    model: HardwareModel, batch: GraphBatch, *, progress: bool | None = None
) -> dict[str, np.ndarray]:
    """Every quantity for every architecture: the model's batched form, or one by one with a
    progress bar (``progress``: default when a person watches standard error)."""
    show = progress_wanted() if progress is None else progress
    if type(model).estimate_batch is not HardwareModel.estimate_batch:
        if not show or len(batch) < PROGRESS_ROWS or batch.slice(0, 1) is None:
            return _finite(model, batch, model.estimate_batch(batch))
        # a batched model on a large batch: in chunks (every model's costs are per row, so the
        # numbers are the same), for a progress bar
        from tqdm.auto import tqdm

        columns = {name: np.empty(len(batch)) for name in model.quantities}
        with tqdm(total=len(batch), desc="estimating", unit="arch", file=sys.stderr) as bar:
            for start in range(0, len(batch), _ESTIMATE_CHUNK):
                stop = min(start + _ESTIMATE_CHUNK, len(batch))
                part = batch.slice(start, stop)
                assert part is not None
                for name, values in model.estimate_batch(part).items():
                    columns[name][start:stop] = values
                bar.update(stop - start)
        return _finite(model, batch, columns)
    columns = {name: np.empty(len(batch)) for name in model.quantities}
    for position, graph in enumerate(batch.iter_graphs(progress=show)):
        for name, value in model.estimate(graph).items():
            columns[name][position] = value
    return _finite(model, batch, columns)


def _finite(
    model: HardwareModel, batch: GraphBatch, columns: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """``columns`` when every value is a finite number: an inf or a NaN is no cost (a cost or
    an option so large that the sum overflows), and is never written as one."""
    for name, values in columns.items():
        bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=float)))
        if len(bad):
            text = batch.slice(int(bad[0]), int(bad[0]) + 1)
            arch = f" for {next(iter(text.texts()))}" if text is not None else ""
            raise FlashNasError(
                f"{model!r} gave {name} = {values[bad[0]]}{arch} ({len(bad):,} architecture(s) "
                f"in all); expected finite numbers: check the costs (-H, --profile) and the "
                f"space's options for values too large."
            )
    return columns


def run_hw(args: argparse.Namespace) -> int:
    model = make_hardware(args.hardware, args.hardware_option, args.profile)
    profile = getattr(model, "profile", None)
    if profile is not None and args.profile is not None:
        from flash_nas.cost.profile import profile_status

        # say which columns the profile did not fit, before writing them
        for line in profile_status(profile):
            print(f"{args.profile}: {line}", file=sys.stderr)
    adapter = make_adapter(args.space, args.space_option)
    batch = select_archs(adapter, args)
    write_output(
        Table(tuple(batch.texts()), estimate_all(model, batch), batch.indices()), args.output
    )
    return 0


def run_measure(args: argparse.Namespace) -> int:
    name = "host" if args.device == "cpu" else "cuda"
    model = make_hardware(name, args.hardware_option, None)
    adapter = make_adapter(args.space, args.space_option)
    batch = select_archs(adapter, args)
    print(f"Timing {len(batch):,} architectures with {model!r}.", file=sys.stderr)
    try:
        columns = estimate_all(model, batch)
    except MemoryError:
        raise FlashNasError(_OUT_OF_MEMORY) from None
    except RuntimeError as exc:
        # torch reports a failed allocation (CPU or CUDA) as a RuntimeError
        text = str(exc).lower()
        if "out of memory" in text or "allocate" in text:
            raise FlashNasError(_OUT_OF_MEMORY) from None
        raise
    write_output(Table(tuple(batch.texts()), columns, batch.indices()), args.output)
    return 0


_OUT_OF_MEMORY = (
    "measure: the network did not fit in memory while timing it; expected a model that fits "
    "this machine: use a smaller input (-O input_size=...) or batch (-H batch_size=...)."
)


def _targets(text: str) -> dict[str, str]:
    """``latency_ms,energy_mj=col`` -> {quantity: column}."""
    targets = {}
    for part in text.split(","):
        quantity, _, column = part.strip().partition("=")
        if not quantity:
            raise UsageError(f"--target: expected QUANTITY[=COLUMN],...; got {text!r}.")
        if quantity in targets:
            raise UsageError(f"--target names {quantity!r} twice.")
        targets[quantity] = column.strip() or quantity
    return targets


def infer_adapter(texts: list[str], options: list[tuple[str, Any]]) -> tuple[str, Adapter]:
    """The one registered space whose parser accepts the first architecture. A space whose
    texts name code to import (``torch``) is never guessed: a CSV must not choose code to run."""
    accepting = []
    for registration in plugins.registrations():
        name = registration.name
        if registration.kind != "adapter" or getattr(registration.factory, "names_code", False):
            continue
        try:
            adapter = plugins.get_adapter(name, **dict(options))
            adapter.parse(texts[0])
        except (FlashNasError, ValueError, TypeError):
            continue
        accepting.append((name, adapter))
    if len(accepting) != 1:
        found = ", ".join(name for name, _ in accepting) or "none"
        raise UsageError(
            f"Cannot tell the search space from the architecture {texts[0]!r} (spaces that "
            f"accept it: {found}); pass --space."
        )
    return accepting[0]


def _fit_samples(text: str) -> int | str:
    if text == "all":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number of rows or 'all', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1 row, got {value}")
    return value


def run_calibrate(args: argparse.Namespace) -> int:
    # scipy loads here, not when the command line starts
    from flash_nas.cost.calibration import calibrate
    from flash_nas.cost.profile import profile_summary

    targets = _targets(args.target)
    model = make_hardware(args.hardware, args.hardware_option, None)
    if not isinstance(model, LinearCostModel):
        raise UsageError(
            f"--hardware {args.hardware} is not an analytical model and has nothing to fit; "
            f"calibrate one of the analytical models (e.g. pi3b, imc)."
        )
    unknown = [q for q in targets if q not in model.quantities]
    if unknown:
        raise UsageError(
            f"--target {', '.join(unknown)}: {args.hardware} models {', '.join(model.quantities)}."
        )
    table = read_table(args.measurements, required=list(targets.values()))
    texts = list(table.archs)
    if args.space:
        adapter = make_adapter(args.space, args.space_option)
    else:
        args.space, adapter = infer_adapter(texts, args.space_option)
    where = [f"{args.measurements}, row {row}" for row in range(2, len(texts) + 2)]
    try:
        archs = parse_all(adapter, texts, where)
    except ArchFormatError as exc:
        raise ArchFormatError(f"{exc} (is it an architecture of --space {args.space}?)") from exc
    check_unique(archs, where)
    if table.indices is not None:
        check_indices(adapter, archs, table.indices, where)
    batch = adapter.batch(archs)
    measured = {quantity: table.column(column) for quantity, column in targets.items()}
    if args.fit_samples != "all" and args.fit_samples >= len(batch):
        raise UsageError(
            f"--fit-samples {args.fit_samples} leaves no row to check the fit on: the file has "
            f"{len(batch)} rows. Fit on fewer, or measure more."
        )

    profile = calibrate(
        model,
        batch,
        measured,
        fit_samples=args.fit_samples,
        seed=args.seed,
        source=str(args.measurements),
        accept_worse=args.accept_worse_fit,
    )
    profile.save(args.output)
    if args.fit_samples == "all":
        print(f"Fitted {args.hardware} on all {len(batch)} rows (quality by leave-one-out).")
    else:
        print(
            f"Fitted {args.hardware} on {args.fit_samples} of {len(batch)} rows "
            f"(seed {args.seed})."
        )
    for line in profile_summary(profile, most_set_aside=SET_ASIDE_SHOWN):
        print(line)
    print(f"Wrote the profile to {args.output}; use it with --profile {args.output}.")
    return 0
