"""NNI's model spaces (``nni.nas.hub.pytorch``) as flash-nas search spaces: the plugin.

Registers, each an :class:`flash_nas.Adapter` whose canonical text is NNI's sample dict as
compact JSON (:mod:`flash_nas_adapters.nni.sample`):

* ``nni-nasbench201`` -- ``NasBench201``: the same graphs, index and table as ``nasbench201``
  (:mod:`flash_nas_adapters.nni.nasbench201`).
* ``nni-darts`` -- ``DARTS``: NNI's NDS cell network (:mod:`flash_nas_adapters.nni.darts`).
* ``nni-proxylessnas`` -- ``ProxylessNAS``: inverted residual blocks on ImageNet input
  (:mod:`flash_nas_adapters.nni.proxylessnas`).

A sample becomes a graph by pure mapping: none of this imports NNI or torch. Each adapter takes
the space's own constructor arguments (``-O width=16`` ...), and offers ``from_sample`` /
``to_sample`` between NNI's sample dicts and its archs; ``to_graph`` also takes a sample dict.

MobileNetV3Space is not covered: its squeeze-excite layers multiply a tensor by a gate computed
from it, which an ArchGraph (sum and concat nodes only) cannot express.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flash_nas
from flash_nas import Adapter
from flash_nas_adapters.nni.darts import NniDartsAdapter
from flash_nas_adapters.nni.nasbench201 import NniNasBench201Adapter
from flash_nas_adapters.nni.proxylessnas import NniProxylessAdapter

if TYPE_CHECKING:
    from flash_nas.plugins.translator import SpaceTranslator

ADAPTERS: dict[str, type[NniNasBench201Adapter | NniDartsAdapter | NniProxylessAdapter]] = {
    "nni-nasbench201": NniNasBench201Adapter,
    "nni-darts": NniDartsAdapter,
    "nni-proxylessnas": NniProxylessAdapter,
}


@flash_nas.hookimpl
def register_adapters(register: Callable[[str, type[Adapter]], None]) -> None:
    for name, factory in ADAPTERS.items():
        register(name, factory)


@flash_nas.hookimpl
def translate_search_space(
    adapter: Adapter, search_space: dict[str, Any], build: Callable[..., Adapter]
) -> SpaceTranslator | None:
    """One ``choice`` per label of the model space: NNI's samples are the parameters."""
    if isinstance(adapter, (NniNasBench201Adapter, NniDartsAdapter, NniProxylessAdapter)):
        from flash_nas.plugins.translator import SampleTranslator

        return SampleTranslator(adapter, search_space, adapter.from_sample, adapter.to_sample)
    return None
