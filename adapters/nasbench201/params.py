"""NAS-Bench-201 as NNI-style parameters: six ``choice`` parameters ``cell/{j}_{i}``.

Named as NNI's own ``NasBench201`` model space labels its edges (node j feeds node i), each over
op names, NNI's (``none skip_connect conv_1x1 conv_3x3 avg_pool_3x3``) or NAS-Bench-201's
(``nor_conv_1x1``...); a subset of the ops restricts the search to it. Trials receive the names
the space declares. Registered through the ``translate_search_space`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flash_nas import Adapter, ArchFormatError
from flash_nas.errors import SearchSpaceError
from flash_nas.plugins.translator import SpaceTranslator, name_error, parse_parameter
from flash_nas_adapters.nasbench201.encoding import EDGES, NNI_OPS, OPS, check_ops

__all__ = ["NasBench201Translator"]


class NasBench201Translator(SpaceTranslator):
    """Six ``choice`` parameters ``cell/{j}_{i}`` over op names (NNI's or NAS-Bench-201's)."""

    def __init__(self, adapter: Adapter, space: Mapping[str, Any]) -> None:
        self.labels = [f"cell/{j}_{i}" for j, i in EDGES]
        self.op_ids = {name: OPS.index(name) for name in OPS}
        self.op_ids.update({nni_name: OPS.index(ours) for ours, nni_name in NNI_OPS.items()})
        if set(space) != set(self.labels):
            raise SearchSpaceError(
                name_error(
                    "nasbench201",
                    set(self.labels) - set(space),
                    set(space) - set(self.labels),
                    f"exactly the six edge parameters {', '.join(self.labels)} (NNI's "
                    f"NasBench201 labels)",
                )
            )
        parameters = {
            label: parse_parameter(label, space[label], ("choice",)) for label in self.labels
        }
        # declared value of each op, per edge: trials receive the names the space uses
        self.declared: dict[str, dict[int, str]] = {}
        for label, parameter in parameters.items():
            ops: dict[int, str] = {}
            for value in parameter.options or ():
                if not isinstance(value, str) or value not in self.op_ids:
                    raise SearchSpaceError(
                        f"Search-space parameter {label!r} lists {value!r}, not a NAS-Bench-201 "
                        f"op; expected names from {', '.join(self.op_ids)}."
                    )
                if self.op_ids[value] in ops:
                    raise SearchSpaceError(
                        f"Search-space parameter {label!r} names one op twice: "
                        f"{ops[self.op_ids[value]]!r} and {value!r}."
                    )
                ops[self.op_ids[value]] = value
            self.declared[label] = ops
        super().__init__(adapter, parameters)

    def to_arch(self, params: Mapping[str, Any]) -> Any:
        self.check_names(params)
        ops = []
        for label in self.labels:
            value = params[label]
            if not isinstance(value, str) or value not in self.op_ids:
                raise ArchFormatError(
                    f"Parameter {label!r} holds {value!r}; expected an op name from "
                    f"{', '.join(self.op_ids)}."
                )
            ops.append(self.op_ids[value])
        return tuple(ops)

    def to_params(self, arch: Any) -> dict[str, Any]:
        params = {}
        for label, op in zip(self.labels, check_ops(arch)):
            if op not in self.declared[label]:
                raise ArchFormatError(
                    f"{self.adapter.format(arch)} uses an op that {label!r} does not offer."
                )
            params[label] = self.declared[label][op]
        return params


