"""Reading the official NAS-Bench-201 file, on a small synthetic benchmark in the real format."""

from __future__ import annotations

import copy
import sys

import numpy as np
import pytest

from flash_nas import MissingDependencyError, TableError, UnknownNameError

api = pytest.importorskip("nas_201_api", reason="the official file reader needs the [nb201] extra")
torch = pytest.importorskip("torch", reason="the official file reader needs the [torch] extra")

from flash_nas_adapters.nasbench201.benchmark import (  # noqa: E402  (after the importorskips)
    ACCURACY_COLUMNS,
    PICKLE_WARNING,
    read_benchmark_file,
)

ARCHS = [
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
    "|skip_connect~0|+|nor_conv_1x1~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
]
EVALUATED = [4, 0, 3, 1]  # index 2 is in the file but not evaluated; the real list is not sorted
# The eval sets each dataset's runs carry in the real file.
EVAL_SETS = {
    "cifar10-valid": ("x-valid", "ori-test"),
    "cifar10": ("ori-test",),
    "cifar100": ("ori-test", "x-valid", "x-test"),
    "ImageNet16-120": ("ori-test", "x-valid", "x-test"),
}
SET_OFFSET = {"x-valid": 0.0, "ori-test": 0.5, "x-test": 0.25}
DATASET_BASE = {"cifar10-valid": 80.0, "cifar10": 85.0, "cifar100": 60.0, "ImageNet16-120": 30.0}
HP_EPOCHS = {"12": 12, "200": 200}
SEED_DELTA = {777: 1.0, 888: -3.0}


def seeds_of(index: int, dataset: str) -> tuple[int, ...]:
    """Arch 3 was trained once on cifar10, as many real architectures were."""
    return (777,) if (index, dataset) == (3, "cifar10") else (777, 888)


def final_acc(index: int, dataset: str, setname: str, hp: str, seed: int) -> float:
    hp_shift = -20.0 if hp == "12" else 0.0
    return DATASET_BASE[dataset] + index + SET_OFFSET[setname] + hp_shift + SEED_DELTA[seed]


def epoch_time(index: int, seed: int) -> float:
    return 2.0 + index + (seed - 777) / 111


def expected_acc(index: int, dataset: str, setname: str, hp: str = "200") -> float:
    seeds = seeds_of(index, dataset)
    return float(np.mean([final_acc(index, dataset, setname, hp, seed) for seed in seeds]))


def expected_time(index: int, dataset: str, hp: str = "200") -> float:
    seeds = seeds_of(index, dataset)
    return float(np.mean([HP_EPOCHS[hp] * epoch_time(index, seed) for seed in seeds]))


def run(index: int, dataset: str, hp: str, seed: int) -> api.ResultsCount:
    """One trial, built with the benchmark's own class the way its authors filled it in."""
    epochs = HP_EPOCHS[hp]
    config = {"name": "infer.tiny", "channel": 16, "num_cells": 5, "arch_str": ARCHS[index],
              "class_num": 10}
    result = api.ResultsCount(dataset, None, None, None, 0.4, 40.0, config, seed, epochs, [0.01])
    result.update_train_info(
        {e: 50.0 + e / epochs for e in range(epochs)},
        {e: 90.0 for e in range(epochs)},
        {e: 1.0 - e / epochs / 2 for e in range(epochs)},
        {e: epoch_time(index, seed) for e in range(epochs)},
    )
    accs, losses, times = {}, {}, {}
    for setname in EVAL_SETS[dataset]:
        final = final_acc(index, dataset, setname, hp, seed)
        for e in range(epochs):
            key = f"{setname}@{e}"
            accs[key] = final if e == epochs - 1 else final - 10.0  # only the last epoch counts
            losses[key], times[key] = 0.5, 0.25
    result.update_eval(accs, losses, times)
    return result


def arch_results(index: int, hp: str, datasets) -> dict:
    results = api.ArchResults(index, ARCHS[index])
    for dataset in datasets:
        for seed in seeds_of(index, dataset):
            results.update(dataset, seed, run(index, dataset, hp, seed))
    return results.state_dict()


def benchmark(datasets=tuple(EVAL_SETS), less_datasets=("cifar10-valid", "cifar10")) -> dict:
    """The dict ``torch.load`` returns for the official file, at five architectures."""
    return {
        "meta_archs": list(ARCHS),
        "arch2infos": {
            index: {"less": arch_results(index, "12", less_datasets),
                    "full": arch_results(index, "200", datasets)}
            for index in range(len(ARCHS))
        },
        "evaluated_indexes": list(EVALUATED),
    }


@pytest.fixture(scope="module")
def bench() -> dict:
    return benchmark()


@pytest.fixture(scope="module")
def bench_file(bench, tmp_path_factory):
    path = tmp_path_factory.mktemp("nb201") / "NAS-Bench-201-tiny.pth"
    torch.save(bench, path)
    return path


def save(data, tmp_path, name: str = "bench.pth"):
    path = tmp_path / name
    torch.save(data, path)
    return path


def test_reads_seed_means_of_the_evaluated_archs_in_index_order(bench_file, capsys):
    table = read_benchmark_file(bench_file)
    assert capsys.readouterr().out == ""  # nas_201_api prints a lot; none of it shows
    assert table.archs == (ARCHS[0], ARCHS[1], ARCHS[3], ARCHS[4])
    assert table.indices.tolist() == [0, 1, 3, 4]
    assert table.source == str(bench_file)
    assert list(table.columns) == [
        "c10_valid", "c10_valid_test", "c10_valid_train_time_s", "c10_test", "c10_train_time_s",
    ]
    rows = [0, 1, 3, 4]
    for column, dataset, setname in (
        ("c10_valid", "cifar10-valid", "x-valid"),
        ("c10_valid_test", "cifar10-valid", "ori-test"),
        ("c10_test", "cifar10", "ori-test"),
    ):
        expected = [expected_acc(index, dataset, setname) for index in rows]
        np.testing.assert_allclose(table.column(column), expected)
    # Arch 3 ran once on cifar10: its mean is its one run.
    assert table.lookup([ARCHS[3]], "c10_test")[0] == pytest.approx(85.0 + 3 + 0.5 + 1.0)
    np.testing.assert_allclose(
        table.column("c10_train_time_s"), [expected_time(index, "cifar10") for index in rows]
    )
    assert table.lookup([ARCHS[1]], "c10_valid_train_time_s")[0] == pytest.approx(200 * 3.5)


def test_cifar100_and_imagenet_columns(bench_file):
    table = read_benchmark_file(str(bench_file), datasets=("ImageNet16-120", "cifar100"),
                                train_times=False)
    assert list(table.columns) == ["in16_valid", "in16_test", "c100_valid", "c100_test"]
    for column, dataset, setname in (
        ("in16_valid", "ImageNet16-120", "x-valid"),
        ("in16_test", "ImageNet16-120", "x-test"),
        ("c100_valid", "cifar100", "x-valid"),
        ("c100_test", "cifar100", "x-test"),
    ):
        expected = [expected_acc(index, dataset, setname) for index in (0, 1, 3, 4)]
        np.testing.assert_allclose(table.column(column), expected)


def test_twelve_epoch_results_and_a_single_dataset_name(bench_file):
    table = read_benchmark_file(bench_file, datasets="cifar10-valid", hp=12)
    assert list(table.columns) == ["c10_valid", "c10_valid_test", "c10_valid_train_time_s"]
    np.testing.assert_allclose(
        table.column("c10_valid"),
        [expected_acc(index, "cifar10-valid", "x-valid", "12") for index in (0, 1, 3, 4)],
    )
    np.testing.assert_allclose(
        table.column("c10_valid_train_time_s"),
        [expected_time(index, "cifar10-valid", "12") for index in (0, 1, 3, 4)],
    )


def test_agrees_with_the_official_api_on_the_same_dict(bench, bench_file):
    """NASBench201API takes the loaded dict; its seed means are the table's numbers."""
    official = api.NASBench201API(bench, verbose=False)
    assert official.evaluated_indexes == [0, 1, 3, 4]
    table = read_benchmark_file(bench_file, datasets=tuple(ACCURACY_COLUMNS))
    for index in official.evaluated_indexes:
        row = table.row_of(official.arch(index))
        assert table.indices[row] == index
        for dataset, pairs in ACCURACY_COLUMNS.items():
            info = official.get_more_info(index, dataset, hp="200", is_random=False)
            for setname, column in pairs:
                key = "valid-accuracy" if setname == "x-valid" else "test-accuracy"
                assert table.column(column)[row] == pytest.approx(info[key])
            time_column = {"cifar10-valid": "c10_valid_train_time_s", "cifar10": "c10_train_time_s",
                           "cifar100": "c100_train_time_s",
                           "ImageNet16-120": "in16_train_time_s"}[dataset]
            assert table.column(time_column)[row] == pytest.approx(info["train-all-time"])


# ----------------------------------------------------------------------------- errors
def test_missing_path_and_directory(tmp_path):
    with pytest.raises(TableError, match=r"nope\.pth' does not exist; expected the path"):
        read_benchmark_file(tmp_path / "nope.pth")
    with pytest.raises(TableError, match="is a directory"):
        read_benchmark_file(tmp_path)
    with pytest.raises(TableError, match="loading a pickle runs code"):
        read_benchmark_file(tmp_path / "nope.pth")


@pytest.mark.parametrize("content", [b"", b"hello, not a pickle\n", b"\x80\x02garbage"])
def test_a_file_that_is_not_a_torch_pickle(tmp_path, content):
    path = tmp_path / "bad.pth"
    path.write_bytes(content)
    with pytest.raises(TableError, match=r"cannot read it as a torch pickle .*only read a file"):
        read_benchmark_file(path)


def test_a_truncated_file(bench_file, tmp_path):
    data = bench_file.read_bytes()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(TableError, match="cannot read it as a torch pickle"):
        read_benchmark_file(path)


def test_a_pickle_that_is_not_the_benchmark_dict(tmp_path):
    with pytest.raises(TableError, match="holds a list; expected a dict with the keys meta_archs"):
        read_benchmark_file(save([1, 2, 3], tmp_path))
    with pytest.raises(TableError, match=r"missing key\(s\) arch2infos, evaluated_indexes "
                                         r"\(it has: meta_archs, other\)"):
        read_benchmark_file(save({"meta_archs": ARCHS, "other": 1}, tmp_path))


def test_broken_parts_of_the_dict(bench, tmp_path):
    def broken(**changes):
        data = dict(bench, **changes)
        return save(data, tmp_path)

    with pytest.raises(TableError, match="'evaluated_indexes' is empty"):
        read_benchmark_file(broken(evaluated_indexes=[]))
    with pytest.raises(TableError, match=r"evaluated index\(es\) \[7\] lie outside"):
        read_benchmark_file(broken(evaluated_indexes=[0, 7]))
    with pytest.raises(TableError, match="'evaluated_indexes' must be a list of integer"):
        read_benchmark_file(broken(evaluated_indexes=["x"]))
    with pytest.raises(TableError, match="'meta_archs' is a str"):
        read_benchmark_file(broken(meta_archs="abc"))
    with pytest.raises(TableError, match="'arch2infos' is a list"):
        read_benchmark_file(broken(arch2infos=[]))
    with pytest.raises(TableError, match=r"'meta_archs'\[1\]: Malformed NAS-Bench-201 arch"):
        read_benchmark_file(broken(meta_archs=[ARCHS[0], "|conv~0|", *ARCHS[2:]]))
    as_path = {**bench["arch2infos"], 0: {"less": "x.pth", "full": "x.pth"}}
    with pytest.raises(TableError, match=r"architecture 0 .* 'full' results are a str; expected "
                                         r"an ArchResults state dict"):
        read_benchmark_file(broken(arch2infos=as_path))
    not_runs = {**bench["arch2infos"], 0: {"less": {}, "full": {"all_results": [1]}}}
    with pytest.raises(TableError, match=r"architecture 0 .* are not an ArchResults state dict"):
        read_benchmark_file(broken(arch2infos=not_runs))
    without_one = {index: info for index, info in bench["arch2infos"].items() if index != 3}
    with pytest.raises(TableError, match=r"architecture 3 \(\|skip_connect~0\|.*\) is listed as "
                                         r"evaluated but has no 'full' results"):
        read_benchmark_file(broken(arch2infos=without_one))


def test_an_arch_without_a_requested_dataset_is_an_error_not_a_dropped_row(tmp_path):
    data = benchmark()
    data["arch2infos"][4]["full"] = arch_results(4, "200", ("cifar10-valid", "cifar10"))
    path = save(data, tmp_path)
    assert len(read_benchmark_file(path)) == 4
    with pytest.raises(TableError, match=r"architecture 4 \(\|nor_conv_3x3~0\|.*\) has no "
                                         r"hp='200' results on 'cifar100'; it has: "
                                         r"cifar10-valid, cifar10"):
        read_benchmark_file(path, datasets=("cifar10", "cifar100"))
    with pytest.raises(TableError, match="has no hp='12' results on 'ImageNet16-120'"):
        read_benchmark_file(path, datasets=("ImageNet16-120",), hp="12")


def test_an_arch_missing_an_eval_set_or_its_training_times(bench, tmp_path):
    data = copy.deepcopy(bench)
    run_state = data["arch2infos"][1]["full"]["all_results"][("cifar100", 888)]
    run_state["eval_acc1es"] = {
        key: value for key, value in run_state["eval_acc1es"].items() if not key.startswith("x-test")
    }
    with pytest.raises(TableError, match=r"architecture 1 .* lacks the 'x-test' accuracy on "
                                         r"'cifar100' for some of its seeds \[777, 888\]"):
        read_benchmark_file(save(data, tmp_path), datasets=("cifar100",))

    data = copy.deepcopy(bench)
    for run_state in data["arch2infos"][0]["full"]["all_results"].values():
        run_state["train_times"] = None
    path = save(data, tmp_path)
    with pytest.raises(TableError, match="has no training times on 'cifar10-valid'; pass "
                                         "train_times=False"):
        read_benchmark_file(path)
    table = read_benchmark_file(path, train_times=False)
    assert list(table.columns) == ["c10_valid", "c10_valid_test", "c10_test"]


def test_bad_arguments_fail_before_the_file_is_read(tmp_path):
    missing = tmp_path / "never-read.pth"
    with pytest.raises(UnknownNameError, match="Unknown NAS-Bench-201 dataset 'cifar-10'; "
                                               "expected one of cifar10-valid, cifar10, cifar100, "
                                               "ImageNet16-120"):
        read_benchmark_file(missing, datasets=("cifar-10",))
    with pytest.raises(UnknownNameError, match=r"hp='90'; expected '200' \(200 epochs\) or '12'"):
        read_benchmark_file(missing, hp="90")
    with pytest.raises(ValueError, match="needs at least one of cifar10-valid"):
        read_benchmark_file(missing, datasets=())
    with pytest.raises(ValueError, match="lists a dataset twice"):
        read_benchmark_file(missing, datasets=("cifar10", "cifar10"))


def test_without_nas_201_api_the_error_names_the_extra(bench_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "nas_201_api", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'flash-nas\[nb201\]'"):
        read_benchmark_file(bench_file)


def test_the_docstring_and_warning_say_the_file_runs_code():
    assert "runs code" in PICKLE_WARNING
    assert "runs code" in read_benchmark_file.__doc__
