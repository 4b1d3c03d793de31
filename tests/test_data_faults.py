"""Numbers and records read from files and options (issue 19): each finding is one readable
line naming the file or option and what is wrong, nothing written, nothing quoted from a file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import flash_nas
import flash_nas.cli
from flash_nas.cost.profile import DEFAULTED, PROFILE_FORMAT, load_profile
from flash_nas.errors import (
    ArchFormatError,
    ObjectiveError,
    ParameterError,
    ProfileError,
    StateError,
    TableError,
)
from flash_nas.io.jsonfile import read_json
from flash_nas.io.numbers import parse_integer, parse_number
from flash_nas.io.tables import read_table
from flash_nas.search.engine import SearchEngine
from flash_nas.search.objective import parse_objective
from tests.cli_helpers import fail

TOKEN = "not-for-any-message"
SECRET = f"root:$6${TOKEN}$:19000:0:99999:7:::"
NB201 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def pi3b_profile(path: Path, **changes) -> Path:
    """A complete Pi-3B profile (every cost at its default), with ``changes`` to its fields."""
    from flash_nas_hardware.pi3b import Pi3BModel

    data = {
        "format": PROFILE_FORMAT,
        "model": "Pi3BModel",
        "costs": {c.name: c.default for c in Pi3BModel.coefficients},
        "calibrated": {"latency_ms": "fitted to 25 measured rows", "energy_mj": "carried"},
        **changes,
    }
    path.write_text(json.dumps(data))
    return path


def hw(capsys, tmp_path, *extra):
    out = tmp_path / "out.csv"
    code, err = fail(
        capsys, "hw", "--space", "nasbench201", "--sample", "3", "--hardware", "pi3b", *extra,
        "--output", str(out),
    )  # fmt: skip
    assert not out.exists()
    return code, err


# ------------------------------------------------------------------------------- profiles
def test_a_cost_that_overflows_is_refused_by_name(capsys, tmp_path):
    costs = {"ms_per_conv_mac": 1e308}
    profile = pi3b_profile(tmp_path / "p.json")
    data = json.loads(profile.read_text())
    data["costs"].update(costs)
    profile.write_text(json.dumps(data))
    code, err = hw(capsys, tmp_path, "--profile", str(profile))
    assert code == 1
    assert "'ms_per_conv_mac' cost" in err and "overflows" in err


def test_a_cost_option_that_overflows_is_refused(capsys, tmp_path):
    code, err = hw(capsys, tmp_path, "-H", "ms_per_byte=1e300")
    assert code == 2 and "'ms_per_byte' cost of Pi3BModel" in err


@pytest.mark.parametrize("value", [True, "5_0", "1.0", None, [1], {"a": 1}, -1])
def test_a_cost_that_is_no_number_is_refused(tmp_path, value):
    profile = pi3b_profile(tmp_path / "p.json")
    data = json.loads(profile.read_text())
    data["costs"]["ms_per_byte"] = value
    profile.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=r"'ms_per_byte' cost of Profile .* must be a finite"):
        load_profile(profile)


def test_a_cost_of_5000_digits_is_refused(tmp_path):
    profile = pi3b_profile(tmp_path / "p.json")
    text = profile.read_text().replace(
        '"ms_per_byte": ', '"ms_per_byte": ' + "9" * 5000 + ', "x": '
    )
    profile.write_text(text)
    with pytest.raises(ProfileError, match="thousands of digits"):
        load_profile(profile)


def test_a_missing_cost_is_an_error_naming_it(tmp_path):
    from flash_nas_hardware.pi3b import Pi3BModel

    profile = pi3b_profile(tmp_path / "p.json")
    data = json.loads(profile.read_text())
    del data["costs"]["mj_per_byte"]
    profile.write_text(json.dumps(data))
    with pytest.raises(ProfileError, match=r"has no cost 'mj_per_byte' of Pi3BModel"):
        Pi3BModel(profile=profile)
    # unless the profile records that quantity as left at the model's defaults
    data["calibrated"]["energy_mj"] = DEFAULTED
    profile.write_text(json.dumps(data))
    default = {c.name: c.default for c in Pi3BModel.coefficients}["mj_per_byte"]
    assert Pi3BModel(profile=profile).cost("mj_per_byte") == default


def test_a_calibrated_profile_that_leaves_a_quantity_at_the_defaults_loads_without_its_costs(
    tmp_path,
):
    """The record the check relies on is what calibrate writes."""
    from flash_nas.cost.calibration import calibrate
    from flash_nas_hardware.pi3b import Pi3BModel

    model = Pi3BModel()
    batch = flash_nas.get_adapter("nasbench201").sample(30, seed=0)
    measured = model.estimate_batch(batch)["latency_ms"] * 1.1
    profile = calibrate(model, batch, {"latency_ms": measured}, fit_samples=20)
    assert DEFAULTED not in profile.calibrated.values()  # energy is carried, not defaulted
    profile.calibrated["energy_mj"] = DEFAULTED
    for name in [c.name for c in model.coefficients if c.quantity == "energy_mj"]:
        del profile.costs[name]
    profile.save(tmp_path / "p.json")
    default = {c.name: c.default for c in Pi3BModel.coefficients}["mj_per_layer"]
    assert Pi3BModel(profile=tmp_path / "p.json").cost("mj_per_layer") == default


@pytest.mark.parametrize(
    "text, message",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": "flash-nas-profile/1", "seed": ' + "7" * 5000 + "}", "thousands of digits"),
        ("[1, 2]", "a JSON array, not an object"),
        ("\xff\xfe", "not valid JSON|not UTF-8"),
    ],
)
def test_a_damaged_profile_is_one_line_naming_it(capsys, tmp_path, text, message):
    profile = tmp_path / "p.json"
    profile.write_text(text, encoding="latin-1")
    code, err = hw(capsys, tmp_path, "--profile", str(profile))
    assert code == 1 and str(profile) in err
    assert re.search(message, err), err


# ------------------------------------------------------------------------------ objective
@pytest.mark.parametrize(
    "objective, message",
    [
        ("acc**1e308", "raises acc to the power 1e\\+308"),
        ("acc**1e999", "too large for a float"),
        ("acc*1e999", "too large for a float"),
        ("acc**" + "9" * 400, "too large for a float"),
        ("acc**" + "-" * 90_000 + "1", "characters long"),
    ],
)
def test_an_objective_whose_value_is_no_number_is_an_error_naming_it(objective, message):
    with pytest.raises(ObjectiveError, match=message):
        parse_objective(objective)


def test_an_objective_that_overflows_on_an_architecture_names_the_objective(capsys, tmp_path):
    out = tmp_path / "out.csv"
    code, err = fail(
        capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_test",
        "--n-labels", "5", "--objective", "acc/params**20", "--output", str(out),
    )  # fmt: skip
    # the objective is what was typed: a command-line error (the README's exit rule)
    assert code == 2 and "The objective 'acc/params**20' is about 1e-" in err
    assert not out.exists()


def test_the_search_refuses_acc_to_a_huge_power_before_any_work(capsys, tmp_path):
    out = tmp_path / "out.csv"
    code, err = fail(
        capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_test",
        "--n-labels", "5", "--objective", "acc**1e308", "--output", str(out),
    )  # fmt: skip
    assert code == 2 and "'acc**1e308'" in err and "inf" not in err
    assert not out.exists()


# --------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(
    "cell", ["5_0", "٥٠", "５０", "0x32", "infinity", "nan", "1e999", " ", "+"]
)
def test_label_cells_are_plain_ascii_decimal_numbers(tmp_path, cell):
    table = tmp_path / "labels.csv"
    table.write_text(f"arch,acc\n{NB201},{cell}\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"line 2: column 'acc' is not a number") as info:
        read_table(table)
    assert cell.strip() not in str(info.value) or not cell.strip()


def test_the_one_parser_reads_what_tables_write():
    assert [parse_number(t) for t in ("50", "-1.5", ".5", "5.", "1e-3", " 2E+2 ")] == [
        50.0, -1.5, 0.5, 5.0, 0.001, 200.0,
    ]  # fmt: skip
    assert parse_integer("٤٢") is None and parse_integer("4_2") is None
    assert parse_integer("42") == 42 and parse_integer("9" * 19) is None


def test_a_saved_option_text_is_read_by_the_same_parser():
    from flash_nas.validation import check_number

    assert check_number("1.5", "x", owner="f") == 1.5
    with pytest.raises(ParameterError, match="'x' parameter of f"):
        check_number("1_5", "x", owner="f")
    with pytest.raises(ParameterError, match="'x' parameter of f"):
        check_number(10**400, "x", owner="f")


@pytest.mark.parametrize(
    "space, option, limit",
    [
        ("nasbench101", "input_size=1000000000000", "4..4096"),
        ("fbnet", "input_size=8192", "8..4096"),
        ("nni-proxylessnas", "input_size=8192", "32..4096"),
        ("nasbench101", "input_size=" + "9" * 180, "4..4096"),
        ("nasbench201", "input_size=" + "9" * 5000, "4..4096"),
        ("nni-proxylessnas", "width_mult=1e308", "<= 64"),
    ],
)
def test_space_options_have_upper_limits(capsys, space, option, limit):
    code, err = fail(capsys, "score", "--space", space, "--sample", "2", "-O", option)
    assert code == 2 and limit in err and len(err) < 400


# --------------------------------------------------------------------------- state files
@pytest.fixture(scope="module")
def saved_state(tmp_path_factory) -> dict:
    engine = SearchEngine("nasbench201", seed=0, initial_samples=2)
    proposals = engine.ask(2)
    engine.tell([proposals[0].arch], [91.5])
    path = tmp_path_factory.mktemp("state") / "s.json"
    engine.save(path)
    return json.loads(path.read_text())


def _tampered(saved_state, change) -> dict:
    data = json.loads(json.dumps(saved_state))
    change(data)
    return data


STATE_CASES = {
    "settings as a list": (lambda d: d.update(settings=[1, 2]), "'settings' must be"),
    "space: 3": (lambda d: d["settings"].update(space=3), r"settings.space must be .* 3"),
    "a bad label_scale": (
        lambda d: d["settings"].update(label_scale=[0, "x"]),
        "settings.label_scale must be",
    ),
    "settings.domain": (lambda d: d["settings"].update(domain={}), "settings.domain is an object"),
    "features x 100000": (
        lambda d: d["settings"].update(features=["params"] * 100_000),
        "settings.features must be a list of distinct metric names",
    ),
    "an unknown feature": (
        lambda d: d["settings"].update(features=["nn_degree", "zen"]),
        "settings.features must be",
    ),
    "a trial without source": (lambda d: d["trials"][0].pop("source"), "trial 1: 'source' must"),
    "a trial value true": (lambda d: d["trials"][0].update(value=True), "trial 1: 'value' must"),
    "limits as text": (
        lambda d: d["settings"].update(limits={"max_params": "5"}),
        "settings.limits must be",
    ),
    "objective as a number": (
        lambda d: d["settings"].update(objective=5),
        "settings.objective must be",
    ),
}


@pytest.mark.parametrize("case", list(STATE_CASES))
def test_a_tampered_state_is_one_state_error_naming_the_file(tmp_path, saved_state, case):
    change, message = STATE_CASES[case]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(_tampered(saved_state, change)))
    with pytest.raises(StateError, match=message) as info:
        SearchEngine.load(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"format": "flash-nas engine state", "version": ' + "1" * 5000 + "}", "digits"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('"just a string"', "a JSON string, not an object"),
    ],
)
def test_an_unreadable_state_is_one_line_through_the_cli(capsys, tmp_path, text, message):
    state = tmp_path / "s.json"
    state.write_text(text)
    out = tmp_path / "out.csv"
    code, err = fail(
        capsys, "search", "--space", "nasbench201", "--labels-from", "cifar10:c10_test",
        "--n-labels", "3", "--state", str(state), "--output", str(out),
    )  # fmt: skip
    assert code == 1 and str(state) in err and message in err
    assert not out.exists()


def test_the_json_reader_names_the_callers_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[" * 50_000)
    with pytest.raises(ProfileError, match="x.json: JSON nested too deeply.*the thing"):
        read_json(path, error=ProfileError, what="the thing")
    with pytest.raises(StateError, match=r"cannot be read \(Is a directory\); expected a state"):
        read_json(tmp_path, error=StateError, what="a state")


# ------------------------------------------------------------------------- arch parsers
@pytest.mark.parametrize(
    "space, text",
    [
        ("nasbench301", "Genotype(normal=" + "-" * 45_000 + "1)"),
        ("nasbench301", "[" * 45_000 + "]" * 45_000),
        ("nni-darts", '{"width":' + "[" * 45_000 + "]" * 45_000 + "}"),
        ("nni-darts", '{"width":' + "9" * 5000 + "}"),
    ],
)
def test_an_architecture_nested_thousands_deep_is_an_arch_format_error(space, text):
    with pytest.raises(ArchFormatError):
        flash_nas.get_adapter(space).parse(text)


# --------------------------------------------------------------------------------- measure
def test_measure_out_of_memory_is_one_line_saying_what_to_change(capsys, tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="measure times torch inference")
    from flash_nas_hardware.host import HostModel

    def no_memory(self, graph):
        raise RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
        )

    monkeypatch.setattr(HostModel, "estimate", no_memory)
    out = tmp_path / "out.csv"
    argv = ["measure", "--space", "nasbench201", "--sample", "1", "-O", "input_size=4096"]
    with pytest.raises(SystemExit) as exit_info:
        flash_nas.cli.main([*argv, "--output", str(out)])
    last = capsys.readouterr().err.strip().splitlines()[-1]  # after the "Timing ..." line
    assert exit_info.value.code == 1 and "smaller input (-O input_size=...)" in last
    assert last.startswith("flash-nas: error: measure: the network did not fit in memory")
    assert not out.exists()


def test_hw_refuses_to_write_an_infinite_cost(capsys, tmp_path, monkeypatch):
    import numpy as np

    from flash_nas_hardware.pi3b import Pi3BModel

    real = Pi3BModel.estimate_batch

    def overflowing(self, batch):
        columns = real(self, batch)
        columns["latency_ms"][1] = np.inf
        return columns

    monkeypatch.setattr(Pi3BModel, "estimate_batch", overflowing)
    code, err = hw(capsys, tmp_path)
    assert code == 1 and "latency_ms = inf" in err and "expected finite numbers" in err


# ----------------------------------------------------------------------------------- leaks
def _secret_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_text(SECRET + "\nsecond line\n")
    return path


def test_a_table_option_naming_a_private_file_does_not_quote_it(capsys, tmp_path):
    secret = _secret_file(tmp_path, "shadow")
    code, err = fail(
        capsys, "hw", "--space", "nasbench201", "--sample", "2", "--hardware",
        "hwnasbench", "-H", f"table={secret}",
    )  # fmt: skip
    assert code in (1, 2) and TOKEN not in err


def test_a_state_naming_a_private_table_does_not_quote_it(tmp_path, saved_state):
    secret = _secret_file(tmp_path, "shadow")
    data = _tampered(
        saved_state,
        lambda d: d["settings"].update(
            hardware="hwnasbench", hardware_options={"table": str(secret)}
        ),
    )
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(StateError) as info:
        SearchEngine.load(path)
    assert str(path) in str(info.value) and TOKEN not in str(info.value)


def test_a_profile_or_label_file_that_is_private_is_not_quoted(capsys, tmp_path):
    secret = _secret_file(tmp_path, "passwd")
    _, err = hw(capsys, tmp_path, "--profile", str(secret))
    assert TOKEN not in err and "not valid JSON" in err
    out = tmp_path / "o.csv"
    _, err = fail(
        capsys, "search", "--space", "nasbench201", "--labels-from", f"{secret}:acc",
        "--n-labels", "3", "--output", str(out),
    )  # fmt: skip
    assert TOKEN not in err and "missing column(s)" in err


def test_a_hardware_yaml_that_is_no_yaml_is_not_quoted(capsys, tmp_path):
    pytest.importorskip("zigzag", reason="the zigzag model needs the [zigzag] extra")
    secret = tmp_path / "hw.yaml"
    secret.write_text(SECRET + ": [unclosed\n")
    code, err = fail(
        capsys, "hw", "--space", "nasbench201", "--sample", "1", "--hardware", "zigzag",
        "-H", f"hardware_yaml={secret}",
    )  # fmt: skip
    assert code == 1 and str(secret) in err and TOKEN not in err and "line 2, column 1" in err
