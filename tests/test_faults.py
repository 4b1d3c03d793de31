"""Bad input and faults: every case ends with one line naming what was expected, the right exit
status, no traceback, and every output file that existed before byte-identical afterwards."""

from __future__ import annotations

import csv
import io
import json
import pickle
import re
import stat
from pathlib import Path

import numpy as np
import pytest

from flash_nas.cli import main
from flash_nas.train.cifar import DatasetError, load_cifar

NB201_ARCH = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
    "skip_connect~2|"
)
OTHER_NB201_ARCH = NB201_ARCH.replace("avg_pool_3x3~1", "none~1")
OLD = b"arch,nn_degree\nkeep me,1\n"  # what every pre-existing output holds


def run_failing(capsys, argv, status):
    """Run ``argv``; it must exit with ``status`` and one ``flash-nas: error:`` line."""
    with pytest.raises(SystemExit) as exit_info:
        main([str(word) for word in argv])
    captured = capsys.readouterr()
    err = captured.err
    assert exit_info.value.code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("flash-nas: error: "), err
    return lines[0]


@pytest.fixture
def old_output(tmp_path: Path) -> Path:
    path = tmp_path / "out.csv"
    path.write_bytes(OLD)
    return path


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- bad outputs
@pytest.mark.parametrize(
    ("output", "status", "expected"),
    [
        ("{tmp}", 2, r"is a folder; expected a file path"),
        ("{tmp}/no/such/folder/x.csv", 2, r"folder .* does not exist; create it first"),
        ("", 2, r"--output is empty; expected a file path \(or - for standard output\)"),
        ("{tmp}/readonly.csv", 2, r"is read-only; make it writable or choose another path"),
    ],
)
def test_outputs_that_cannot_be_written_are_refused_before_the_work(
    capsys, tmp_path, old_output, output, status, expected
):
    readonly = write(tmp_path / "readonly.csv", OLD.decode())
    readonly.chmod(stat.S_IRUSR | stat.S_IRGRP)
    line = run_failing(
        capsys,
        ["score", "--space", "nasbench201", "--sample", "3", "--output", output.format(tmp=tmp_path)],
        status,
    )
    assert re.search(expected, line), line
    assert readonly.read_bytes() == OLD and old_output.read_bytes() == OLD


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
def test_a_full_device_is_one_line(capsys):
    line = run_failing(
        capsys, ["score", "--space", "nasbench201", "--sample", "3", "--output", "/dev/full"], 1
    )
    assert "Cannot write /dev/full (No space left on device)" in line


def test_an_output_equal_to_an_input_is_refused(capsys, tmp_path):
    archs = write(tmp_path / "archs.txt", f"{NB201_ARCH}\n")
    before = archs.read_bytes()
    for command in (["score"], ["hw", "--hardware", "pi3b"]):
        line = run_failing(
            capsys,
            [*command, "--space", "nasbench201", "--archs", archs, "--output", archs],
            2,
        )
        assert f"is also read by --archs {archs}; writing it would destroy what is being read" in line
        assert archs.read_bytes() == before
    measurements = write(tmp_path / "m.csv", f"arch,latency_ms\n{NB201_ARCH},1.5\n")
    before = measurements.read_bytes()
    line = run_failing(
        capsys,
        ["calibrate", "--hardware", "pi3b", "--measurements", measurements, "--target",
         "latency_ms", "--output", tmp_path / "." / "m.csv"],
        2,
    )
    assert f"also read by --measurements {measurements}" in line
    assert measurements.read_bytes() == before


def test_bench_names_the_runner_and_touches_no_output(capsys, old_output):
    line = run_failing(capsys, ["bench", "--suite", "speed", "--output", old_output], 2)
    assert "run it from a clone of the repository" in line and "python -m benchmarks" in line
    assert old_output.read_bytes() == OLD


# ------------------------------------------------------------------------------ bad inputs
def test_bad_architecture_lists(capsys, tmp_path, old_output):
    cases = [
        (b"\xff\xfe\x00binary\x00\x81", r"is not UTF-8 text \(byte 0xff at offset 0\); expected"),
        (f"{NB201_ARCH}\n# note\n{OTHER_NB201_ARCH}\n{NB201_ARCH}\n",
         r"archs.txt, line 4: the architecture of .*archs.txt, line 1 again; expected each"),
        ("x" * 200_000 + "\n", r"line 1: 200,000 characters; expected one architecture per line"),
        ("|" + "nor_conv_3x3~0|" * 5_000 + "\n", r"Malformed NAS-Bench-201 arch string"),
        ("# only a comment\n", r"lists no architecture"),
    ]
    for content, expected in cases:
        archs = write(tmp_path / "archs.txt", content)
        line = run_failing(
            capsys,
            ["score", "--space", "nasbench201", "--archs", archs, "--output", old_output],
            1,  # what the file holds is wrong, not the command line
        )
        assert re.search(expected, line), line
        assert len(line) < 600  # a long input is quoted cut short
        assert old_output.read_bytes() == OLD


def test_a_csv_index_that_does_not_match_its_arch_is_refused(capsys, tmp_path, old_output):
    listing = write(tmp_path / "a.csv", f"arch,index\n{NB201_ARCH},1\n{OTHER_NB201_ARCH},1\n")
    line = run_failing(
        capsys, ["score", "--space", "nasbench201", "--archs", listing, "--output", old_output], 1
    )
    assert "a.csv, row 3: index 1 does not match the architecture, whose index" in line
    assert old_output.read_bytes() == OLD


def test_a_byte_order_mark_is_tolerated(capsys, tmp_path):
    listing = write(tmp_path / "bom.csv", "\ufeffarch,index\n" + f"{NB201_ARCH},1\n")
    output = tmp_path / "scores.csv"
    assert main(["score", "--space", "nasbench201", "--archs", str(listing),
                 "--metrics", "params", "--output", str(output)]) == 0
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert rows == [{"arch": NB201_ARCH, "index": "1", "params": "802426"}]


@pytest.mark.parametrize(
    ("argv", "status", "expected"),
    [
        (["score", "--space", "flash", "-O", "input_size=100000000", "--sample", "3"], 2,
         r"'input_size' parameter of FlashSpaceAdapter must be an int in 1\.\.4096"),
        (["score", "--space", "flash", "-O", "widths=[16, 10000000]", "--sample", "3"], 2,
         r"'widths' parameter .* ints in 1\.\.8192"),
        (["score", "--space", "nasbench201", "-O", "input_size=100000000", "--sample", "3"], 2,
         r"'input_size' parameter of NasBench201Adapter must be an int in 4\.\.4096"),
        (["score", "--space", "flash", "--sample", str(10**12)], 2,
         r"--sample 1,000,000,000,000 is more than flash-nas takes at once \(10,000,000"),
        (["score", "--space", "nasbench201", "--sample", "20000"], 2,
         r"more architectures than the nasbench201 space has \(15,625\); ask for at most"),
        (["score", "--space", "nasbench201", "--sample", "0"], 2, r"--sample must be >= 1"),
        (["score", "--space", "flash", "-O", "n_cells=" + "9" * 100_000, "--sample", "3"], 2,
         r"expected KEY=VALUE of at most 10,000 characters, got 100,008"),
        (["score", "--space", "flash", "-O", "n_cells=" + "[" * 5_000, "--sample", "3"], 2,
         r"'n_cells' parameter .* must be an int in 1\.\.64\. Got '\[\[\[.*\(5,002 char"),
    ],
)
def test_bad_sizes_and_options(capsys, old_output, argv, status, expected):
    line = run_failing(capsys, [*argv, "--output", old_output], status)
    assert re.search(expected, line), line
    assert len(line) < 600
    assert old_output.read_bytes() == OLD


def test_a_profile_without_costs_is_refused(capsys, tmp_path, old_output):
    profile = write(
        tmp_path / "p.json", json.dumps({"format": "flash-nas-profile/1", "model": "Pi3BModel",
                                         "costs": {}})
    )
    line = run_failing(
        capsys,
        ["hw", "--space", "nasbench201", "--sample", "2", "--hardware", "pi3b", "--profile",
         profile, "--output", old_output],
        1,
    )
    assert "lists no costs; expected the fitted cost of every event" in line
    assert old_output.read_bytes() == OLD


# ----------------------------------------------------------------------------- overflow
def test_metrics_of_huge_networks_are_positive_and_exact(capsys):
    code = main(["score", "--space", "flash", "-O", "input_size=4096", "-O", "widths=[8192]",
                 "--sample", "3", "--metrics", "flops,activations,params", "--quiet"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    for row in rows:
        for name in ("flops", "activations", "params"):
            assert float(row[name]) > 2**31, row  # int64 products wrapped to negative numbers


# ------------------------------------------------------------------------- crafted pickles
class _Payload:
    """Unpickling this with the plain unpickler creates ``path`` (a stand-in for any code)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _crafted_cifar(folder: Path, victim: Path) -> Path:
    """A cifar-10-batches-py folder whose first batch carries the payload."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        content = {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"labels": [0, 1]}
        if name == "data_batch_1":
            content[b"extra"] = _Payload(victim)
        (folder / name).write_bytes(pickle.dumps(content, protocol=2))
    return folder


def test_a_crafted_cifar_pickle_never_runs(tmp_path):
    victim = tmp_path / "pwned"
    folder = _crafted_cifar(tmp_path / "cifar-10-batches-py", victim)
    pickle.loads((folder / "test_batch").read_bytes())  # the plain unpickler reads the others
    with pytest.raises(DatasetError, match=r"names io\.open, which a CIFAR batch never"):
        load_cifar(folder)
    assert not victim.exists()
    pickle.loads((folder / "data_batch_1").read_bytes())  # the payload is real:
    assert victim.exists()  # the plain unpickler runs it


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_genuine_batches_of_every_pickle_protocol_still_load(tmp_path, protocol):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(protocol)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        content = {
            b"data": rng.integers(0, 256, (3, 3072), dtype=np.uint8),
            b"labels": [0, 9, np.int64(4)],  # a numpy scalar among the ints
            b"batch_label": b"",  # an empty bytes: protocol 2 writes it as a call to bytes()
            b"filenames": [b"a.png", "b.png", b"c.png"],
        }
        (folder / name).write_bytes(pickle.dumps(content, protocol=protocol))
    data = load_cifar(folder)
    assert data.train_images.shape == (15, 3, 32, 32) and data.test_labels.tolist() == [0, 9, 4]


def test_train_never_runs_a_crafted_pickle(capsys, tmp_path, old_output):
    victim = tmp_path / "pwned"
    folder = _crafted_cifar(tmp_path / "cifar-10-batches-py", victim)
    archs = write(tmp_path / "archs.txt", "dense:w=16,16,16;d=2,2,2;t=0,0,0\n")
    line = run_failing(
        capsys,
        ["train", "--space", "flash", "--archs", archs, "--data", folder, "--epochs", "1",
         "--output", old_output],
        1,
    )
    assert "data_batch_1: cannot read it as a CIFAR pickle" in line and "was not run" in line
    assert not victim.exists()
    assert old_output.read_bytes() == OLD


# ------------------------------------------------------------------------------- sampling
def test_a_large_flash_sample_has_no_repeats(capsys):
    # with replacement, 10^5 draws from 1.8e11 repeat with probability 3 %; at 10^6, 94 %
    assert main(["score", "--space", "flash", "--sample", "100000", "--metrics", "nn_degree",
                 "--quiet"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))[1:]
    assert len(rows) == 100_000 == len({row[0] for row in rows})


@pytest.mark.parametrize("pool", ["-1", str(10**12)])
def test_sample_pool_out_of_range_is_one_line(capsys, old_output, pool):
    line = run_failing(
        capsys, ["sample", "--space", "flash", "--pool", pool, "--n", "3", "--output", old_output], 2
    )
    assert re.search(r"--pool (must be >= 1|1,000,000,000,000 is more than flash-nas takes)", line)
    assert old_output.read_bytes() == OLD


def test_a_small_custom_flash_space_is_enumerated_by_sample(capsys):
    argv = ["sample", "--space", "flash", "-O", "widths=[16]", "-O", "depths=[2,3]", "-O",
            "n_cells=2", "--n", "5", "--quiet"]
    assert main(argv) == 0  # it used to say "pass --sample N or --archs FILE", which sample lacks
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 == len({row["arch"] for row in rows})


def test_calibrate_refuses_a_wrong_index_before_fitting(capsys, tmp_path, old_output):
    rows = [f"{NB201_ARCH},1,1.5", f"{OTHER_NB201_ARCH},1,2.5"]  # index 1 twice: one is wrong
    measurements = write(tmp_path / "m.csv", "arch,index,latency_ms\n" + "\n".join(rows))
    line = run_failing(
        capsys,
        ["calibrate", "--hardware", "pi3b", "--measurements", measurements, "--target",
         "latency_ms", "--fit-samples", "1", "--space", "nasbench201", "--output", old_output],
        1,  # the file's data is wrong
    )
    assert "m.csv, row 3: index 1 does not match the architecture" in line
    assert old_output.read_bytes() == OLD


def test_hardware_costs_of_a_large_batch_run_in_chunks_behind_a_bar(capsys, monkeypatch):
    from flash_nas import get_adapter, get_hardware
    from flash_nas.cli import hardware

    monkeypatch.setattr(hardware, "PROGRESS_ROWS", 100)
    monkeypatch.setattr(hardware, "_ESTIMATE_CHUNK", 64)
    batch = get_adapter("flash").sample(300, 4)
    model = get_hardware("imc")
    whole = model.estimate_batch(batch)
    chunked = hardware.estimate_all(model, batch, progress=True)
    err = capsys.readouterr().err
    assert "estimating: 100%" in err and "300/300" in err
    for name, values in whole.items():
        np.testing.assert_allclose(chunked[name], values, rtol=1e-12)
    hardware.estimate_all(model, batch, progress=False)
    assert "estimating" not in capsys.readouterr().err


def test_a_profile_that_is_a_folder_is_one_line(capsys, tmp_path, old_output):
    line = run_failing(
        capsys,
        ["hw", "--space", "nasbench201", "--sample", "2", "--hardware", "pi3b", "--profile",
         tmp_path, "--output", old_output],
        2,  # a named input that cannot be read: the command line is wrong
    )
    assert f"argument --profile: '{tmp_path}' is a folder; expected a file to read" in line
    assert old_output.read_bytes() == OLD
