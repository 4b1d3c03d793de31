"""What ``FlashSearcher.restore`` reads is checked before anything changes: a checkpoint with
another metric or mode, or one changed by hand, is one ``StateError`` line, never a traceback
and never a run that silently records every later result as failed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("ray.tune", reason="the [ray] extra is not installed")

from flash_nas.errors import FlashNasError
from flash_nas.integrations.ray import FlashSearcher
from flash_nas.search.engine import StateError
from flash_nas_adapters.nasbench201.encoding import ops_from_nni, ops_to_string
from flash_nas_adapters.nasbench201.space import load_shipped_table

TABLE = dict(zip(load_shipped_table().archs, load_shipped_table().column("c10_valid").tolist()))


def searcher(**extra):
    return FlashSearcher(space="nasbench201", seed=0, **{"metric": "acc", "mode": "max", **extra})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A real checkpoint: three trials told, a fourth in flight."""
    flash = searcher()
    for k in range(3):
        config = flash.suggest(f"t{k}")
        flash.on_trial_complete(f"t{k}", {"acc": TABLE[ops_to_string(ops_from_nni(config))]})
    flash.suggest("t3")
    path = tmp_path_factory.mktemp("ckpt") / "searcher.json"
    flash.save(str(path))
    return json.loads(path.read_text())


def restore(state, tmp_path, text=None, **built):
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(state) if text is None else text)
    flash = searcher(**built)
    flash.restore(str(path))
    return flash


def changed(state, *path_and_value):
    *path, value = path_and_value
    copy = json.loads(json.dumps(state))
    node = copy
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


def test_a_checkpoint_restores_as_written(checkpoint, tmp_path):
    flash = restore(checkpoint, tmp_path)
    assert flash.get_state() == checkpoint


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mode", "evil", "mode is not 'max' or 'min'"),
        ("metric", 5, "metric is not a result entry's name"),
        ("metric", "", "metric is not a result entry's name"),
    ],
)
def test_a_checkpoints_metric_and_mode_are_checked(checkpoint, tmp_path, field, value, message):
    with pytest.raises(StateError, match=message):
        restore(changed(checkpoint, field, value), tmp_path)


def test_a_searcher_with_another_metric_or_mode_refuses_the_checkpoint(checkpoint, tmp_path):
    with pytest.raises(StateError, match=r"written with metric='acc'.*has metric='loss'"):
        restore(checkpoint, tmp_path, metric="loss")
    with pytest.raises(StateError, match=r"written with mode='max'.*has mode='min'"):
        restore(checkpoint, tmp_path, mode="min")
    flash = searcher(metric=None, mode=None)  # built without: takes the checkpoint's
    path = tmp_path / "ckpt.json"
    path.write_text(json.dumps(checkpoint))
    flash.restore(str(path))
    assert (flash.metric, flash.mode) == ("acc", "max")


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(("engine", "trials", 0, "source", KeyError), id="trial-without-source"),
        pytest.param(("engine", "settings", [1]), id="settings-as-a-list"),
        pytest.param(("engine", "settings", "label_scale", "x"), id="bad-label-scale"),
        pytest.param(("engine", "settings", "label_scale", [0, 100]), id="short-label-scale"),
        pytest.param(("engine", "settings", "domain", {}), id="settings-domain"),
        pytest.param(("engine", "settings", "space", 3), id="space-3"),
        pytest.param(("trials", "t0", 7), id="trial-id-to-a-number"),
        pytest.param(("trials", "t9", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
                     id="trial-id-to-an-arch-never-proposed"),
        pytest.param(("paths", 3), id="paths"),
        pytest.param(("search_space", []), id="search-space"),
    ],
)  # fmt: skip
def test_a_changed_checkpoint_is_one_state_error(checkpoint, tmp_path, edit):
    path = str(tmp_path / "changed.json")
    with pytest.raises(StateError, match=f"^{path}: ") as error:
        restore(changed(checkpoint, *edit), tmp_path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"format": ' + "1" * 5000 + "}", "digits"),
        ("{", "not JSON"),
    ],
)
def test_unreadable_checkpoints_are_one_state_error(checkpoint, tmp_path, text, message):
    with pytest.raises(StateError, match=message):
        restore(checkpoint, tmp_path, text=text)


def test_a_refused_checkpoint_leaves_the_searcher_as_it_was(checkpoint, tmp_path):
    flash = searcher()
    before = flash.suggest("first")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(changed(checkpoint, "engine", "settings", "label_scale", "x")))
    with pytest.raises(StateError):
        flash.restore(str(path))
    assert list(flash.trial_archs) == ["first"] and len(flash.engine.trials) == 1
    assert flash.suggest("second") != before


hypothesis = pytest.importorskip("hypothesis", reason="the fuzz tests need the [test] extra")
from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
    strategies as st,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8,
)  # fmt: skip


def places(value, path=()):
    """Every place in a JSON value, as its path of keys."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += places(inner, (*path, key))
    elif isinstance(value, list):
        for key, inner in enumerate(value):
            found += places(inner, (*path, key))
    return found


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_json_value_in_any_field_of_a_checkpoint_is_restored_or_a_flash_nas_error(
    checkpoint, tmp_path, data
):
    where = data.draw(st.sampled_from(places(checkpoint)))
    value = data.draw(JSON)
    try:
        restore(changed(checkpoint, *where, value), tmp_path)
    except FlashNasError as error:
        assert "\n" not in str(error)
