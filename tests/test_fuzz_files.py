"""Property-based fuzz of the JSON files flash-nas reads back: engine states and profiles.

Take a real saved file, replace any one field (at any depth) with any JSON value: loading it
either works or raises a :class:`~flash_nas.errors.FlashNasError` subclass, never another
exception (a TypeError, a RecursionError, an OverflowError...).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the fuzz tests need the [test] extra")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from flash_nas.cost.profile import load_profile  # noqa: E402
from flash_nas.errors import FlashNasError  # noqa: E402
from flash_nas.search.engine import SearchEngine  # noqa: E402

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))

#: Any JSON value, kept small: scalars (huge and odd numbers too) nested a few levels.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1e308, -1e308, 5e-324, "", "5_0", "nasbench201", "pi3b", "|x~0|"]),
    st.text(max_size=20),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and indices) into ``value``, the root excluded."""
    found = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    else:
        return found
    for key, child in items:
        found.append((*prefix, key))
        found.extend(paths(child, (*prefix, key)))
    return found


def replaced(data: Any, path: tuple, value: Any) -> Any:
    copy = json.loads(json.dumps(data))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _check_loads(load, path: Path, data: Any) -> None:
    path.write_text(json.dumps(data))
    with contextlib.suppress(FlashNasError):
        load(path)


@pytest.fixture(scope="module")
def saved_state(tmp_path_factory) -> dict:
    engine = SearchEngine("nasbench201", hardware="pi3b", seed=0, initial_samples=2, pool_size=200)
    proposals = engine.ask(3)
    engine.tell([proposals[0].arch, proposals[1].arch], [91.5, None])
    path = tmp_path_factory.mktemp("state") / "s.json"
    engine.save(path)
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def saved_profile(tmp_path_factory) -> dict:
    import flash_nas
    from flash_nas.cost.calibration import calibrate
    from flash_nas_hardware.pi3b import Pi3BModel

    model = Pi3BModel()
    batch = flash_nas.get_adapter("nasbench201").sample(30, seed=0)
    measured = model.estimate_batch(batch)["latency_ms"] * 1.3
    path = tmp_path_factory.mktemp("profile") / "p.json"
    calibrate(model, batch, {"latency_ms": measured}, fit_samples=20).save(path)
    return json.loads(path.read_text())


def test_any_field_of_a_state_replaced_by_any_json_loads_or_says_why(saved_state, tmp_path):
    where = paths(saved_state)

    @FUZZ
    @given(path=st.sampled_from(where), value=JSON_VALUES)
    def check(path, value):
        _check_loads(SearchEngine.load, tmp_path / "s.json", replaced(saved_state, path, value))

    check()


def test_any_field_of_a_profile_replaced_by_any_json_loads_or_says_why(saved_profile, tmp_path):
    from flash_nas_hardware.pi3b import Pi3BModel

    where = paths(saved_profile)

    def load(path: Path) -> None:
        profile = load_profile(path)
        Pi3BModel(profile=profile)
        for line in profile.fit.values():
            line.line()  # a profile's fit is printed: each statistic must be a number

    @FUZZ
    @given(path=st.sampled_from(where), value=JSON_VALUES)
    def check(path, value):
        _check_loads(load, tmp_path / "p.json", replaced(saved_profile, path, value))

    check()


@FUZZ
@given(value=JSON_VALUES)
def test_a_state_or_profile_that_is_any_json_value_loads_or_says_why(tmp_path_factory, value):
    folder = tmp_path_factory.mktemp("whole")
    _check_loads(SearchEngine.load, folder / "s.json", value)
    _check_loads(load_profile, folder / "p.json", value)
