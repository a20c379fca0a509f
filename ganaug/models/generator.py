"""Class-conditional generator ``G(z, c)``: noise and a class index in, an image in [-1, 1] out."""

from __future__ import annotations

import torch
from torch import nn

from ganaug.models.layout import plan_resolution


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose per-channel gain and bias are looked up by class (SNGAN/BigGAN style)."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Embedding(n_classes, channels)
        self.bias = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        out = self.norm(x)
        return out * self.gain(c)[:, :, None, None] + self.bias(c)[:, :, None, None]


class Generator(nn.Module):
    """DCGAN-style upsampling generator, conditioned by a class embedding and conditional BN.

    Args:
        n_classes: number of classes ``c`` can take.
        image_shape: ``(C, H, W)`` of the images to draw, C in {1, 3}, sides 8..64.
        z_dim: noise size.
        channels: width at the coarsest grid; halves with each doubling, never below 32.
    """

    def __init__(
        self, n_classes: int, image_shape: tuple[int, int, int], z_dim: int = 64, channels: int = 128
    ) -> None:
        super().__init__()
        self.n_classes, self.image_shape, self.z_dim = n_classes, tuple(image_shape), z_dim
        n_steps, (h0, w0) = plan_resolution(image_shape[1], image_shape[2])
        widths = [max(channels // 2**i, 32) for i in range(n_steps + 1)]
        self.base = (widths[0], h0, w0)
        self.embed = nn.Embedding(n_classes, z_dim)
        self.fc = nn.Linear(2 * z_dim, widths[0] * h0 * w0)
        self.norm0 = ConditionalBatchNorm2d(widths[0], n_classes)
        self.convs = nn.ModuleList(
            nn.Conv2d(widths[i], widths[i + 1], 3, padding=1) for i in range(n_steps)
        )
        self.norms = nn.ModuleList(ConditionalBatchNorm2d(w, n_classes) for w in widths[1:])
        self.to_image = nn.Conv2d(widths[-1], image_shape[0], 3, padding=1)
        self.act = nn.ReLU()

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = self.fc(torch.cat([z, self.embed(c)], dim=1)).view(-1, *self.base)  # (B, C0, h0, w0)
        h = self.act(self.norm0(h, c))
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = nn.functional.interpolate(h, scale_factor=2.0, mode="nearest")
            h = self.act(norm(conv(h), c))
        x = torch.tanh(self.to_image(h))  # (B, C, H', W') with H' >= H
        _, height, width = self.image_shape
        top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
        return x[:, :, top : top + height, left : left + width]
