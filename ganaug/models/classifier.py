"""Downstream classifier networks: a small CNN (the default) and an MLP.

Both expose ``features(x)``, the 128-d penultimate layer, which the generative metrics and the
matching network's feature kernel measure in.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head; ``features`` is the 128-d penultimate layer."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(8 * width, 128), nn.ReLU(), nn.Dropout(0.3),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class MLP(nn.Module):
    def __init__(self, in_features: int, n_classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(hidden, 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_network(arch: str, image_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """``arch`` in {"cnn", "mlp"}; ``image_shape`` is ``(H, W)`` or ``(H, W, C)``."""
    channels = image_shape[2] if len(image_shape) == 3 else 1
    if arch == "cnn":
        return SmallCNN(channels, n_classes)
    if arch == "mlp":
        return MLP(int(np.prod(image_shape)), n_classes)
    raise ValueError(f"unknown network {arch!r}; choose cnn or mlp")
