"""Differentiable augmentation (Zhao et al., 2020) applied to every image D sees, real and fake.

A policy string such as ``"translation,cutout"`` names functions in `POLICIES`; each takes
and returns a ``(B, C, H, W)`` tensor in [-1, 1] and draws its randomness from ``generator``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Tensor = torch.Tensor


def _rand(x: Tensor, *shape: int, generator: torch.Generator | None) -> Tensor:
    return torch.rand(*shape, device=x.device, generator=generator, dtype=x.dtype)


def translation(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its size, repeating the edge pixels."""
    b, _, h, w = x.shape
    max_dy, max_dx = max(1, round(h * ratio)), max(1, round(w * ratio))
    dy = (_rand(x, b, generator=generator) * (2 * max_dy + 1)).long() - max_dy
    dx = (_rand(x, b, generator=generator) * (2 * max_dx + 1)).long() - max_dx
    rows = (torch.arange(h, device=x.device)[None, :] - dy[:, None]).clamp(0, h - 1)  # (B, H)
    cols = (torch.arange(w, device=x.device)[None, :] - dx[:, None]).clamp(0, w - 1)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def cutout(x: Tensor, generator: torch.Generator | None = None, ratio: float = 0.5) -> Tensor:
    """Blank one square of ``ratio`` × the image size per image (set to 0, mid-range)."""
    b, _, h, w = x.shape
    ch, cw = max(1, round(h * ratio)), max(1, round(w * ratio))
    cy = (_rand(x, b, generator=generator) * (h + 1 - ch % 2)).long()
    cx = (_rand(x, b, generator=generator) * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device)[None, :]
    xs = torch.arange(w, device=x.device)[None, :]
    in_y = (ys >= (cy - ch // 2)[:, None]) & (ys < (cy - ch // 2 + ch)[:, None])  # (B, H)
    in_x = (xs >= (cx - cw // 2)[:, None]) & (xs < (cx - cw // 2 + cw)[:, None])  # (B, W)
    mask = ~(in_y[:, :, None] & in_x[:, None, :])
    return x * mask[:, None].to(x.dtype)


def brightness(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    return x + (_rand(x, x.shape[0], 1, 1, 1, generator=generator) - 0.5)


def saturation(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand(x, x.shape[0], 1, 1, 1, generator=generator) * 2) + mean


def contrast(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, x.shape[0], 1, 1, 1, generator=generator) + 0.5) + mean


def color(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Brightness, saturation and contrast jitter; meant for RGB images."""
    return contrast(saturation(brightness(x, generator), generator), generator)


POLICIES: dict[str, Callable[..., Tensor]] = {
    "translation": translation,
    "cutout": cutout,
    "color": color,
    "brightness": brightness,
    "contrast": contrast,
}


def parse_policy(policy: str | None) -> list[str]:
    """``"translation,cutout"`` → ``["translation", "cutout"]``; ``""``/``None``/``"none"`` → ``[]``."""
    if not policy or policy.strip().lower() == "none":
        return []
    names = [p.strip() for p in policy.split(",") if p.strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment op(s) {unknown}; choose from {', '.join(POLICIES)}")
    return names


def diff_augment(x: Tensor, policy: list[str], generator: torch.Generator | None = None) -> Tensor:
    for name in policy:
        x = POLICIES[name](x, generator)
    return x
