"""The declared parameter checks every stage and plugin uses: one message format, the caller's
error class, bools never taken for ints, None only where declared optional."""

from __future__ import annotations

import numpy as np
import pytest

from flash_nas.errors import ParameterError, TunerConfigError
from flash_nas.validation import check_choice, check_int, check_number, check_optional


def test_an_int_in_a_range_and_what_is_refused():
    assert check_int(np.int64(3), "n", owner="f", low=1, high=5) == 3
    for bad in (True, 2.0, "3", None, 0, 6):
        with pytest.raises(ParameterError, match=r"The 'n' parameter of f must be an int in 1\.\.5"):
            check_int(bad, "n", owner="f", low=1, high=5)
    with pytest.raises(ParameterError, match="must be an int >= 1. Got 0 instead"):
        check_int(0, "n", owner="f", low=1)


def test_optional_lets_none_through_and_says_so():
    assert check_optional(check_int, None, "limit", owner="M", low=1) is None
    assert check_optional(check_number, None, "clock", owner="M", positive=True) is None
    assert check_optional(check_int, 4, "limit", owner="M", low=1) == 4
    with pytest.raises(ParameterError, match="must be an int >= 1 or None. Got 0 instead"):
        check_optional(check_int, 0, "limit", owner="M", low=1)
    with pytest.raises(ParameterError, match="must be a finite number > 0 or None"):
        check_optional(check_number, -1.0, "clock", owner="M", positive=True)
    with pytest.raises(ParameterError, match="must be an int >= 1. Got None"):
        check_int(None, "limit", owner="M", low=1)


def test_numbers_refuse_bools_and_non_finite_values():
    assert check_number(2, "x", owner="f", low=0) == 2.0
    for bad in (False, float("nan"), float("inf"), "two", -0.5):
        with pytest.raises(ParameterError, match="'x' parameter of f must be a finite number >= 0"):
            check_number(bad, "x", owner="f", low=0)


def test_a_front_end_raises_its_own_class_and_noun():
    with pytest.raises(TunerConfigError, match="The 'seed' argument of FlashTuner must be an int"):
        check_int(-1, "seed", owner="FlashTuner", low=0, error=TunerConfigError, noun="argument")
    with pytest.raises(ParameterError, match="must be one of 'bo', 'flash'. Got 'tpe'"):
        check_choice("tpe", "method", ("bo", "flash"), owner="SearchEngine")
