"""Cost models: what running an architecture costs on a target, and how the model is refit to
measurements.

* :mod:`.linear` -- :class:`LinearCostModel`, FLASH's analytical form (events x costs per event);
* :mod:`.profile` -- fitted costs kept as JSON (:class:`Profile`, :func:`load_profile`);
* :mod:`.calibration` -- :func:`calibrate`: non-negative least squares on measurements (scipy).

Room rule: imports the graph layer, the plugin API (:class:`HardwareModel`), :mod:`flash_nas.io`
:mod:`flash_nas.errors` and :mod:`flash_nas.validation` (the checks of costs read from a
profile or an option). The hardware plugins themselves live in ``hardware/``.

Names load on first use, so that reading a profile does not import scipy. This package is also
what the old modules ``flash_nas.hardware`` and ``flash_nas.calibration`` resolve to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flash_nas._lazy import lazy_names

_PUBLIC = {
    "Coefficient": "flash_nas.cost.linear",
    "LinearCostModel": "flash_nas.cost.linear",
    "PROFILE_FORMAT": "flash_nas.cost.profile",
    "Fit": "flash_nas.cost.profile",
    "Profile": "flash_nas.cost.profile",
    "load_profile": "flash_nas.cost.profile",
    "profile_status": "flash_nas.cost.profile",
    "profile_summary": "flash_nas.cost.profile",
    "calibrate": "flash_nas.cost.calibration",
    "check_measurements": "flash_nas.cost.calibration",
    "fit_quality": "flash_nas.cost.calibration",
    # Names the old flash_nas.hardware module exported, at home elsewhere now.
    "QUANTITIES": "flash_nas.plugins.hardware",
    "HardwareModel": "flash_nas.plugins.hardware",
    "EdgeShape": "flash_nas.graph.structure",
    "edge_sums": "flash_nas.graph.structure",
    "executed_edges": "flash_nas.graph.structure",
    "live_edges": "flash_nas.graph.structure",
    "op_flops": "flash_nas.graph.structure",
    "op_macs": "flash_nas.graph.structure",
}


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC)


__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:
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
    from flash_nas.graph.structure import (
        EdgeShape as EdgeShape,
        edge_sums as edge_sums,
        executed_edges as executed_edges,
        live_edges as live_edges,
        op_flops as op_flops,
        op_macs as op_macs,
    )
    from flash_nas.plugins.hardware import (
        QUANTITIES as QUANTITIES,
        HardwareModel as HardwareModel,
    )
