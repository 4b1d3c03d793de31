"""Small torch models named ``tests.contract_models:NAME`` for the ``torch`` adapter's contract
(tests/test_contracts.py): the adapter imports this module and calls the builder, as it does
for a user's ``module:callable`` line."""

from __future__ import annotations

import torch
from torch import nn


def conv_net() -> nn.Module:
    """Two convs and a classifier: a chain, one edge per layer run."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 10),
    )


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + self.body(x)  # a skip: a sum node in the graph
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def residual_net() -> nn.Module:
    """A stem, one residual block, a classifier."""
    return _Residual()
