"""Image-conditional networks of a DAGAN (Antoniou et al., 2017, arXiv:1711.04340).

``DAGANGenerator(x, z)`` turns a real image ``x`` and noise ``z`` into a new image meant to be of
``x``'s class; ``PairDiscriminator(x, x2)`` judges a pair of images. Neither knows a class index,
so a trained pair works on classes it never saw.

The generator has two heads. ``"image"`` (DAGAN's) draws the new image's pixels, so it can draw
another class's image as well. ``"warp"`` draws a smooth displacement field and moves ``x``'s
own pixels along it (a spatial transformer, Jaderberg et al. 2015): the variant is ``x``
deformed, by at most ``warp_limit`` of the side, so it keeps ``x``'s strokes and, for small
limits, its class; what it learns from the source classes is *how* images of one class deform.
The field is smooth between ``warp_grid`` control points per side: with many (a quarter of the
side on 28×28 is 7) neighbouring points move apart and strokes wobble; with few (2-3) the
deformation bends the whole shape, as one writer's hand differs from another's.
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.functional import interpolate
from torch.nn.utils import spectral_norm

from ganaug.models.layout import plan_resolution


def _widths(channels: int, n_steps: int) -> list[int]:
    """Width at each resolution, finest first: doubles with each halving, at most 256."""
    return [min(channels * 2**i, 256) for i in range(n_steps + 1)]


def _block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    """Conv, group norm (batch-independent: an image's variant never depends on its batch), act."""
    conv = nn.Conv2d(c_in, c_out, 4, stride=2, padding=1) if stride == 2 else nn.Conv2d(c_in, c_out, 3, padding=1)
    return nn.Sequential(conv, nn.GroupNorm(math.gcd(8, c_out), c_out), nn.LeakyReLU(0.2))


class DAGANGenerator(nn.Module):
    """U-Net-style encoder-decoder ``G(x, z)``: encode ``x``, add ``z`` at the bottleneck, decode
    with skip connections from the encoder.

    Args:
        image_shape: ``(C, H, W)``, sides 8..64; odd sides work (the decoder resizes to each skip).
        z_dim: noise size.
        channels: width at full resolution; doubles with each halving, at most 256.
        head: ``"image"`` (draw the pixels) or ``"warp"`` (deform ``x``; see the module's docstring).
        warp_limit: the warp head's largest displacement, as a fraction of the side.
        warp_grid: the warp field's control points per side; 0: a quarter of the side (at least 2).
    """

    HEADS = ("image", "warp")

    def __init__(self, image_shape: tuple[int, int, int], z_dim: int = 32, channels: int = 32,
                 head: str = "image", warp_limit: float = 0.1, warp_grid: int = 0) -> None:
        super().__init__()
        if head not in self.HEADS:
            raise ValueError(f"head must be one of {', '.join(self.HEADS)}, got {head!r}")
        if isinstance(warp_grid, bool) or not isinstance(warp_grid, numbers.Integral) or warp_grid < 0:
            raise ValueError(f"warp_grid must be an integer >= 0 (0: a quarter of the side), got {warp_grid!r}")
        self.head, self.warp_limit, self.warp_grid = head, float(warp_limit), int(warp_grid)
        self.image_shape, self.z_dim = tuple(image_shape), int(z_dim)
        c, h, w = self.image_shape
        n_steps, _ = plan_resolution(h, w)
        widths = _widths(channels, n_steps)
        self.stem = nn.Sequential(nn.Conv2d(c, widths[0], 3, padding=1), nn.LeakyReLU(0.2))
        self.down = nn.ModuleList(_block(widths[i], widths[i + 1], stride=2) for i in range(n_steps))
        self.bottleneck = (h >> n_steps, w >> n_steps)  # a stride-2 4×4 conv with padding 1 floors
        self.z_channels = max(8, widths[-1] // 4)
        self.from_z = nn.Linear(self.z_dim, self.z_channels * self.bottleneck[0] * self.bottleneck[1])
        self.middle = _block(widths[-1] + self.z_channels, widths[-1])
        self.up = nn.ModuleList(_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(n_steps)))
        self.to_image = nn.Conv2d(widths[0], c if head == "image" else 2, 3, padding=1)
        if head == "warp":  # start at the identity: the first variants are the inputs themselves
            nn.init.zeros_(self.to_image.weight)
            nn.init.zeros_(self.to_image.bias)

    def _warp(self, x: torch.Tensor, field: torch.Tensor) -> torch.Tensor:
        """``x`` resampled along ``field`` ``(B, 2, H, W)``, smoothed to a coarse grid of
        ``warp_grid`` points per side (0: a quarter of the side) so the warp moves strokes, not
        single pixels."""
        h, w = x.shape[2:]
        points = (self.warp_grid, self.warp_grid) if self.warp_grid else (max(2, h // 4), max(2, w // 4))
        coarse = F.adaptive_avg_pool2d(field, points)
        # Normalised coordinates span 2 across the side: a fraction f of the side is 2f.
        shift = 2 * self.warp_limit * torch.tanh(interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False))
        ys = torch.linspace(-1 + 1 / h, 1 - 1 / h, h, device=x.device, dtype=x.dtype)
        xs = torch.linspace(-1 + 1 / w, 1 - 1 / w, w, device=x.device, dtype=x.dtype)
        base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (H, W, 2) as (x, y)
        grid = base.unsqueeze(0) + shift.permute(0, 2, 3, 1)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)  # (B, W0, H, W)
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        skips.pop()  # the bottleneck itself
        z_map = self.from_z(z).view(-1, self.z_channels, *self.bottleneck)  # (B, Cz, h, w)
        h = self.middle(torch.cat([h, z_map], dim=1))
        for up in self.up:
            skip = skips.pop()
            h = interpolate(h, size=skip.shape[2:], mode="nearest")
            h = up(torch.cat([h, skip], dim=1))
        if self.head == "warp":
            return self._warp(x, self.to_image(h))
        return torch.tanh(self.to_image(h))  # (B, C, H, W) in [-1, 1]


class PairDiscriminator(nn.Module):
    """``D(x, x2)``: a downsampling conv net with spectral norm on two images stacked on channels.

    Trained to score "two real images of one class" high and "a real image and its generated
    variant" low; it sees no class index.

    Args:
        image_shape: ``(C, H, W)`` of one image of the pair.
        channels: width of the first block; doubles with each halving, at most 256.
    """

    def __init__(self, image_shape: tuple[int, int, int], channels: int = 32) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        n_steps, _ = plan_resolution(h, w)
        widths = _widths(channels, n_steps)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(2 * c, widths[0], 3, padding=1))]
        for i in range(n_steps):
            layers += [nn.LeakyReLU(0.2), spectral_norm(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1))]
        layers += [nn.LeakyReLU(0.2), spectral_norm(nn.Conv2d(widths[-1], widths[-1], 3, padding=1)), nn.LeakyReLU(0.2)]
        self.blocks = nn.Sequential(*layers)
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))

    def forward(self, x: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        h = self.blocks(torch.cat([x, x2], dim=1)).sum(dim=(2, 3))  # (B, F)
        return self.linear(h).squeeze(1)  # (B,)
