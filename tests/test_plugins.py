"""The plugin registry: entry points, strict registration, errors that name the plugin."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import flash_nas
from flash_nas import HardwareModel, PluginError, UnknownNameError, hookimpl
from flash_nas.errors import ParameterError
from flash_nas.plugins.hookspecs import register_adapters, register_hardware
from flash_nas_adapters.nasbench201.space import NasBench201Adapter

TOY_PLUGIN = Path(__file__).resolve().parents[1] / "docs" / "examples" / "toy_plugin"


class Plugin:
    """A plugin object registering what it is given."""

    def __init__(self, adapters=(), hardware=()):
        self.adapters, self.hardware = adapters, hardware

    @hookimpl
    def register_adapters(self, register):
        for name, factory in self.adapters:
            register(name, factory)

    @hookimpl
    def register_hardware(self, register):
        for name, factory in self.hardware:
            register(name, factory)


class Other(NasBench201Adapter):
    description = "another space"


class Meter(HardwareModel):
    quantities = ("latency_ms",)

    def estimate(self, graph):
        return {"latency_ms": 1.0}


def test_builtins_come_from_entry_points():
    entries = {(r.kind, r.name): r for r in flash_nas.registrations()}
    assert entries["adapter", "nasbench201"].plugin == "nasbench201"
    assert entries["adapter", "nasbench201"].distribution == "flash-nas"
    assert isinstance(flash_nas.get_adapter("nasbench201"), NasBench201Adapter)


def test_a_registered_plugin_is_found_and_removed():
    flash_nas.plugins.add_plugin(
        Plugin(adapters=[("other", Other)], hardware=[("meter", Meter)]), "extra"
    )
    try:
        assert "other" in flash_nas.adapter_names()
        assert isinstance(flash_nas.get_hardware("meter"), Meter)
    finally:
        flash_nas.plugins.remove_plugin("extra")
    assert "other" not in flash_nas.adapter_names()
    assert "meter" not in flash_nas.hardware_names()


def test_a_duplicate_name_names_both_plugins(add_plugin):
    add_plugin(Plugin(adapters=[("twin", Other)]), "first")
    add_plugin(Plugin(adapters=[("twin", Other)]), "second")
    with pytest.raises(
        PluginError,
        match="'twin' is registered twice: by plugin '(first|second)' and by plugin '(first|second)'",
    ):
        flash_nas.adapter_names()


def test_a_builtin_name_cannot_be_taken(add_plugin):
    add_plugin(Plugin(adapters=[("nasbench201", Other)]), "usurper")
    with pytest.raises(PluginError, match="'nasbench201' is registered twice.*'usurper'"):
        flash_nas.get_adapter("nasbench201")


def test_a_plugin_that_raises_is_named(add_plugin):
    class Broken:
        @hookimpl
        def register_adapters(self, register):
            raise RuntimeError("database offline")

    add_plugin(Broken(), "broken")
    with pytest.raises(
        PluginError,
        match="Plugin 'broken' raised while registering its adapters: RuntimeError: database offline",
    ):
        flash_nas.adapter_names()


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            NasBench201Adapter(),
            "expected a subclass of flash_nas.Adapter \\(the class, not an instance\\)",
        ),
        (Meter, "expected a subclass of flash_nas.Adapter"),
        (dict, "expected a subclass of flash_nas.Adapter"),
    ],
)
def test_wrong_types_are_rejected(add_plugin, factory, message):
    add_plugin(Plugin(adapters=[("wrong", factory)]), "wrongtype")
    with pytest.raises(
        PluginError, match=f"Plugin 'wrongtype' registered adapter 'wrong' as .*{message}"
    ):
        flash_nas.adapter_names()


def test_bad_names_are_rejected(add_plugin):
    add_plugin(Plugin(adapters=[("a:b", Other)]), "colon")
    with pytest.raises(PluginError, match="without ':'"):
        flash_nas.adapter_names()


def test_a_plugin_with_an_unknown_hook_is_rejected():
    class Typo:
        @hookimpl
        def register_adaptors(self, register):
            pass

    with pytest.raises(PluginError, match="Plugin 'typo' does not match flash-nas's hooks"):
        flash_nas.plugins.add_plugin(Typo(), "typo")
    assert "typo" not in [r.plugin for r in flash_nas.registrations()]


def test_unknown_names_list_the_known_ones():
    with pytest.raises(
        UnknownNameError,
        match="Unknown adapter 'nb201' \\(--space\\); expected one of: .*nasbench201",
    ):
        flash_nas.get_adapter("nb201")
    with pytest.raises(UnknownNameError, match="Unknown hardware 'tpu'"):
        flash_nas.get_hardware("tpu")


def test_an_unknown_option_is_the_callers_error_and_lists_what_the_plugin_takes():
    with pytest.raises(ParameterError, match="Adapter 'nasbench201' has no option 'colour'") as info:
        flash_nas.get_adapter("nasbench201", colour="red")
    assert "num_classes" in str(info.value) and isinstance(info.value, ValueError)
    with pytest.raises(ParameterError, match="Hardware model 'hwnasbench' has no option 'colour'"):
        flash_nas.get_hardware("hwnasbench:raspi4", colour="red")


def test_a_type_error_inside_a_plugin_is_the_plugins_error():
    class Fussy(NasBench201Adapter):
        def __init__(self, width: int = 1) -> None:
            raise TypeError("width must be an int")

    class FussyPlugin:
        @staticmethod
        @hookimpl
        def register_adapters(register):
            register("fussy", Fussy)

    flash_nas.plugins.add_plugin(FussyPlugin(), "fussy-test")
    try:
        with pytest.raises(PluginError, match="'fussy' \\(plugin 'fussy-test'\\) rejected"):
            flash_nas.get_adapter("fussy", width="wide")
    finally:
        flash_nas.plugins.remove_plugin("fussy-test")


def test_every_hook_is_documented():
    for hook in (register_adapters, register_hardware):
        doc = hook.__doc__ or ""
        assert "Called once per plugin" in doc and "register(" in doc
        assert hook.__annotations__["register"]


def test_plugin_guide_shows_every_hook():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    for hook in (
        "register_adapters",
        "register_hardware",
        "AdapterContract",
        "HardwareModelContract",
    ):
        assert hook in guide


@pytest.mark.slow
def test_an_out_of_tree_plugin_installs_and_scores_from_the_cli(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(TOY_PLUGIN),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PIP_NO_INDEX": "1"},
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]),
    }
    listing = subprocess.run(
        [sys.executable, "-m", "flash_nas", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert any(
        line.split()[:4] == ["adapter", "toy", "toy", "flash-nas-toy-space"]
        for line in listing.stdout.splitlines()
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "flash_nas",
            "score",
            "--space",
            "toy",
            "--metrics",
            "nn_degree,params",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert list(rows[0]) == ["arch", "nn_degree", "params"]
    assert len(rows) == 12  # the whole space was enumerated
    row = {r["arch"]: r for r in rows}["w=8,d=2"]
    # conv 3->8 and 8->8 with batch norm, then a 10-way classifier
    assert int(row["params"]) == 3 * 8 * 9 + 16 + 8 * 8 * 9 + 16 + 8 * 10 + 10
    # NN-Degree: mean in-degree over the two convs = (3 + 8) / 2
    assert float(row["nn_degree"]) == pytest.approx(5.5)


def _toy_space_class():
    sys.path.insert(0, str(TOY_PLUGIN))
    try:
        from toy_space import ToySpace
    finally:
        sys.path.remove(str(TOY_PLUGIN))
    return ToySpace


def test_a_space_that_enumerates_samples_without_its_own_sample_method():
    toy = _toy_space_class()()
    assert type(toy).sample is flash_nas.Adapter.sample  # the guide's example writes none
    whole = toy.enumerate().texts()
    first = toy.sample(5, seed=3).texts()
    assert first == toy.sample(5, seed=3).texts()  # reproducible
    assert len(set(first)) == 5 and set(first) <= set(whole)  # without replacement
    assert first == [text for text in whole if text in first]  # in the space's order
    assert toy.sample(12, seed=0).texts() == whole
    assert {tuple(toy.sample(3, seed=seed).texts()) for seed in range(6)} != {tuple(first[:3])}
    with pytest.raises(flash_nas.NotSupportedError, match=r"1\.\.12; got 13"):
        toy.sample(13, seed=0)


def test_a_space_that_cannot_enumerate_says_what_to_implement():
    class Bare(flash_nas.Adapter):
        parse = format = to_graph = None  # type: ignore[assignment]  # a bare subclass on purpose

    with pytest.raises(flash_nas.NotSupportedError, match=r"implement Adapter.sample\(\)"):
        Bare().sample(1, seed=0)


def test_the_cli_samples_a_space_that_only_enumerates(add_plugin, capsys):
    from flash_nas.cli import main

    toy_space = _toy_space_class()
    add_plugin(sys.modules[toy_space.__module__], "toy-test")
    assert main(["score", "--space", "toy", "--sample", "4", "--seed", "1", "--output", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and len({row["arch"] for row in rows}) == 4


def test_plugin_guide_covers_what_a_plugin_author_needs():
    from flash_nas.graph import LAYER_KINDS

    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugins.md").read_text()
    assert "[`docs/examples/toy_plugin/`](examples/toy_plugin/)" in guide  # text from the root
    assert (Path(__file__).resolve().parents[1] / "docs" / "examples" / "toy_plugin").is_dir()
    assert "pip install pytest" in guide  # the contract tests are pytest classes
    table = guide[guide.index("| kind | reads"):]
    for kind in LAYER_KINDS:  # a new layer kind must reach the guide
        assert f"`{kind}`" in table, kind
    assert "**1×1 input**" in table and "`flatten`" in table
    for hook in ("encode", "encoding_groups", "cut_off", "chance_accuracy", "relaxation"):
        assert f"| `{hook}(" in guide, hook
        assert hook in vars(flash_nas.Adapter), hook  # the guide names real methods
    assert "translate_search_space(adapter, search_space" in guide
    assert "default `sample(n, seed)`" in guide


# --- hooks are called through pluggy: wrappers and ordering apply ------------------------------


class Inner:
    def __init__(self, events, name):
        self.events, self.name = events, name

    @hookimpl
    def register_adapters(self, register):
        self.events.append(self.name)
        register(self.name, Other)


def test_a_wrapper_runs_around_the_other_plugins_and_registers_as_itself(add_plugin):
    events = []

    class Wrapping:
        @hookimpl(wrapper=True)
        def register_adapters(self, register):
            events.append("wrapper: before")
            register("wrapped-early", Other)
            result = yield  # every other plugin registers here
            events.append("wrapper: after")
            register("wrapped-late", Other)
            return result

    add_plugin(Wrapping(), "wrapping")
    add_plugin(Inner(events, "inner-space"), "inner")
    entries = {r.name: r.plugin for r in flash_nas.registrations()}
    assert events == ["wrapper: before", "inner-space", "wrapper: after"]
    assert entries["wrapped-early"] == entries["wrapped-late"] == "wrapping"
    assert entries["inner-space"] == "inner" and entries["nasbench201"] == "nasbench201"


def test_an_old_style_hookwrapper_takes_effect_too(add_plugin):
    class OldStyle:
        @hookimpl(hookwrapper=True)
        def register_hardware(self, register):
            outcome = yield
            outcome.get_result()
            register("meter-after-all", Meter)

    add_plugin(OldStyle(), "old-style")
    entries = {(r.kind, r.name): r.plugin for r in flash_nas.registrations()}
    assert entries["hardware", "meter-after-all"] == "old-style"


def test_tryfirst_and_trylast_order_the_calls(add_plugin):
    events = []

    class Last(Inner):
        @hookimpl(trylast=True)
        def register_adapters(self, register):
            super().register_adapters(register)

    class First(Inner):
        @hookimpl(tryfirst=True)
        def register_adapters(self, register):
            super().register_adapters(register)

    # pluggy calls plain implementations last-registered first: the options must override that.
    add_plugin(First(events, "first-space"), "first")
    add_plugin(Inner(events, "middle-space"), "middle")
    add_plugin(Last(events, "last-space"), "last")
    flash_nas.adapter_names()
    assert events == ["first-space", "middle-space", "last-space"]


def test_a_wrapper_that_raises_after_the_others_is_named(add_plugin):
    class Failing:
        @hookimpl(wrapper=True)
        def register_adapters(self, register):
            yield
            raise KeyError("lost")

    add_plugin(Failing(), "failing-wrapper")
    with pytest.raises(
        PluginError,
        match="Plugin 'failing-wrapper' raised while registering its adapters: KeyError: 'lost'",
    ):
        flash_nas.adapter_names()


def test_an_inner_error_reaches_the_wrapper_named_after_its_plugin(add_plugin):
    seen = []

    class Watching:
        @hookimpl(wrapper=True)
        def register_adapters(self, register):
            try:
                return (yield)
            except PluginError as error:
                seen.append(str(error))
                raise

    class Broken:
        @hookimpl
        def register_adapters(self, register):
            raise RuntimeError("disk full")

    add_plugin(Watching(), "watching")
    add_plugin(Broken(), "broken-inner")
    with pytest.raises(PluginError, match="Plugin 'broken-inner' raised while registering"):
        flash_nas.adapter_names()
    assert len(seen) == 1 and "'broken-inner'" in seen[0]


def test_register_called_after_its_hook_returned_is_refused(add_plugin):
    kept = []

    class Keeper:
        @hookimpl
        def register_adapters(self, register):
            kept.append(register)

    add_plugin(Keeper(), "keeper")
    flash_nas.adapter_names()
    with pytest.raises(PluginError, match="called after the register_adapters hook returned"):
        kept[0]("too-late", Other)
