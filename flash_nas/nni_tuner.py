"""Moved: the NNI tuner is :mod:`flash_nas.integrations.nni` (the NNI protocol over the search
engine) and NNI search-space translation is :mod:`flash_nas.integrations.params`. This module
keeps ``flash_nas.nni_tuner.FlashTuner`` working for experiments registered with flash-nas 0.1.
"""

from __future__ import annotations

import warnings

from flash_nas.integrations.nni import FlashTuner, TrialRecord
from flash_nas.integrations.params import (
    SearchSpaceError,
    SpaceTranslator,
    TunerConfigError,
    translate_space,
)

__all__ = [
    "FlashTuner",
    "SearchSpaceError",
    "SpaceTranslator",
    "TrialRecord",
    "TunerConfigError",
    "translate_space",
]

warnings.warn(
    "flash_nas.nni_tuner moved to flash_nas.integrations.nni; run `flash-nas nni register` "
    "again to register the tuner under its new path.",
    DeprecationWarning,
    stacklevel=2,
)
