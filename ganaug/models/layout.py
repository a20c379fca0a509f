"""How many 2× resolution steps a network needs for an image size."""

from __future__ import annotations

import math

MIN_SIZE, MAX_SIZE = 8, 64


def plan_resolution(height: int, width: int) -> tuple[int, tuple[int, int]]:
    """Return ``(n_steps, (h0, w0))``: ``n_steps`` doublings from ``(h0, w0)`` cover the image.

    The base grid is at most 7 pixels on the short side, with as few doublings as that allows; the generator draws at
    ``(h0·2^n, w0·2^n)`` ≥ the image and crops the centre.
    """
    for size in (height, width):
        if not MIN_SIZE <= size <= MAX_SIZE:
            raise ValueError(f"image sides must be {MIN_SIZE}..{MAX_SIZE} pixels, got {height}×{width}")
    n_steps = 1
    while math.ceil(min(height, width) / 2**n_steps) > 7:
        n_steps += 1
    base = (math.ceil(height / 2**n_steps), math.ceil(width / 2**n_steps))
    return n_steps, base
