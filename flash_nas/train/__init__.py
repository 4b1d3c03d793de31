"""Training the architectures a search asks for: the CIFAR-10 reader (:mod:`.cifar`), the torch
module built from an :class:`~flash_nas.graph.ArchGraph` (:mod:`.torch_builder`), the training
loop (:mod:`.training`) and torchvision's import beside the CPU torch
(:mod:`.torchvision_compat`). torch loads only here, on use.

Room rule: imports the graph layer, :mod:`flash_nas.io` and :mod:`flash_nas.errors`; the search
engine never imports it (front ends in :mod:`flash_nas.cli` join the two).
"""
