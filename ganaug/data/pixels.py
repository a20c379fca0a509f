"""Pixel conversions, written once: uint8 images ↔ the networks' float space, and uint8 ↔ a
float value range.

Networks see float ``(N, C, H, W)`` tensors in [-1, 1] ("model space"); everything a user holds
is an ``N×H×W`` or ``N×H×W×C`` array of uint8 pixels, or floats in a known value range.
"""

from __future__ import annotations

import numpy as np
import torch


def to_model(images: np.ndarray) -> torch.Tensor:
    """uint8 ``N×H×W`` / ``N×H×W×C`` → float ``(N, C, H, W)`` in [-1, 1], on the CPU."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div(127.5).sub(1.0)
    t = t.unsqueeze(1) if t.ndim == 3 else t.permute(0, 3, 1, 2)
    return t.contiguous()


def model_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Float ``(B, C, H, W)`` in [-1, 1] → uint8 ``(B, C, H, W)`` on the same device (clipped)."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def model_to_images(x: torch.Tensor) -> np.ndarray:
    """Float ``(B, C, H, W)`` in [-1, 1] → a uint8 numpy ``B×H×W`` (one channel) or ``B×H×W×C``."""
    u8 = model_to_uint8(x).permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, C)
    return u8[..., 0] if u8.shape[-1] == 1 else u8


def to_uint8(x: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    """Rescale pixels from ``value_range`` to uint8 0..255 (rounding, clipping)."""
    lo, hi = value_range
    if hi <= lo:
        raise ValueError(f"value_range must satisfy low < high, got {value_range}")
    scaled = (np.asarray(x, dtype=np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def from_uint8(x: np.ndarray, value_range: tuple[float, float], dtype: np.dtype) -> np.ndarray:
    """Inverse of `to_uint8`: map 0..255 back to ``value_range`` in ``dtype``."""
    lo, hi = value_range
    if np.dtype(dtype) == np.uint8 and (lo, hi) == (0, 255):
        return x.astype(np.uint8)
    out = lo + x.astype(np.float64) * ((hi - lo) / 255.0)
    if np.issubdtype(np.dtype(dtype), np.integer):
        out = np.rint(out)
    return out.astype(dtype)
