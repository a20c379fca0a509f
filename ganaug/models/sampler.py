"""`Sampler`: the part of a trained augmenter that draws images — a generator and its noise size.

A fitted or loaded `GANAugmenter` samples through one of these; it holds no discriminator, no
optimiser and no training state.
"""

from __future__ import annotations

import torch
from torch import nn


class Sampler:
    """Draw images from a conditional generator ``G(z, c)`` (usually the EMA copy, in eval mode).

    Args:
        generator: the network; its ``z_dim`` attribute sizes the noise.
        n_classes: how many classes ``c`` can take.
    """

    def __init__(self, generator: nn.Module, n_classes: int) -> None:
        self.generator, self.n_classes = generator.eval(), int(n_classes)

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    @property
    def z_dim(self) -> int:
        return int(self.generator.z_dim)

    @torch.no_grad()
    def sample(self, class_indices: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One image per class index, float ``(B, C, H, W)`` in [-1, 1] on the sampler's device.

        Args:
            class_indices: class positions ``0..n_classes-1``, shape ``(B,)``.
            generator: torch RNG for the noise (on the sampler's device), for reproducibility.
        """
        device = self.device
        c = class_indices.to(device=device, dtype=torch.long)
        if len(c) and (int(c.min()) < 0 or int(c.max()) >= self.n_classes):
            raise ValueError(f"class indices must lie in 0..{self.n_classes - 1}")
        z = torch.randn(len(c), self.z_dim, device=device, generator=generator)
        return self.generator(z, c)
