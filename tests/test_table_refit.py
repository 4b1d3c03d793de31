"""The engine's refit of a table of latencies (HW-NAS-Bench's, given as the prior): one scale
factor, the median measured-to-table ratio, with calibration's outlier rule around it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flash_nas.search.engine import SearchEngine

LATENCY = "latency_ms"


def _engine_and_cells(count: int) -> tuple[SearchEngine, list, np.ndarray]:
    engine = SearchEngine("nasbench201", hardware="hwnasbench:raspi4", objective="acc", seed=0)
    c = engine.candidates
    rows = engine.pool_rows[: 40 : 40 // count][:count]
    return engine, [c.archs[r] for r in rows], c.column(f"prior:{LATENCY}")[rows]


def test_a_row_ten_times_off_the_others_scale_is_set_aside_and_named() -> None:
    engine, archs, table = _engine_and_cells(7)
    measured = table * 1.3
    measured[4] = table[4] * 13.0
    engine.measure(archs, {LATENCY: list(measured)})
    beliefs = engine.candidates.beliefs
    ((arch, value, _),) = beliefs.set_aside[LATENCY]
    assert arch == archs[4] and value == pytest.approx(measured[4])
    # the scale rests on the six others alone
    assert beliefs.bias[LATENCY] == pytest.approx(math.log(1.3))


def test_rows_that_differ_by_under_twice_are_kept_however_far_from_the_median() -> None:
    engine, archs, table = _engine_and_cells(7)
    factors = np.array([1.0, 1.0, 1.01, 1.0, 1.9, 0.99, 1.0])  # 1.9: z far above 3.5
    engine.measure(archs, {LATENCY: list(table * factors)})
    beliefs = engine.candidates.beliefs
    assert beliefs.set_aside[LATENCY] == []
    assert beliefs.bias[LATENCY] == pytest.approx(0.0)


def test_two_rows_are_too_few_to_call_either_wrong() -> None:
    engine, archs, table = _engine_and_cells(2)
    engine.measure(archs, {LATENCY: [table[0], table[1] * 13.0]})
    beliefs = engine.candidates.beliefs
    assert beliefs.set_aside[LATENCY] == []
    assert beliefs.bias[LATENCY] == pytest.approx(math.log(13.0) / 2)
