"""Cost models: what running an architecture costs on a target, and how the model is refit to
measurements.

* :mod:`.linear` -- :class:`LinearCostModel`, FLASH's analytical form (events x costs per event);
* :mod:`.profile` -- fitted costs kept as JSON (:class:`Profile`, :func:`load_profile`);
* :mod:`.calibration` -- :func:`calibrate`: non-negative least squares on measurements (scipy).

Room rule: imports the graph layer, the plugin API (:class:`HardwareModel`), :mod:`flash_nas.io`
:mod:`flash_nas.errors` and :mod:`flash_nas.validation` (the checks of costs read from a
profile or an option). The hardware plugins themselves live in ``hardware/``.

Names load on first use, so that reading a profile does not import scipy. Graph and hardware
names live in their own layers (:mod:`flash_nas.graph`, :mod:`flash_nas.plugins`), not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__)

if TYPE_CHECKING:  # the public names: type checkers read them here, __getattr__ loads them
    from flash_nas.cost.calibration import (
        calibrate as calibrate,
        check_measurements as check_measurements,
        fit_quality as fit_quality,
    )
    from flash_nas.cost.linear import (
        Coefficient as Coefficient,
        LinearCostModel as LinearCostModel,
    )
    from flash_nas.cost.profile import (
        PROFILE_FORMAT as PROFILE_FORMAT,
        Fit as Fit,
        Profile as Profile,
        load_profile as load_profile,
        profile_status as profile_status,
        profile_summary as profile_summary,
    )
