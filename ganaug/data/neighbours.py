"""Nearest-neighbour distances and exact-duplicate hashes between image sets.

One implementation serves the sample filter (near-copies of training images), the
memorisation metric and the protocol's train/test overlap checks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np
import torch

# Upper bound on the entries of one distance block, so pairwise distances between large sets
# (e.g. 10k fakes against 50k training images) never materialise as one matrix.
BLOCK_ELEMENTS = 2**23


def distance_blocks(queries: torch.Tensor, reference: torch.Tensor) -> Iterator[tuple[int, torch.Tensor]]:
    """``(first row, distances)`` from blocks of ``queries`` rows to every ``reference`` row."""
    rows = max(1, BLOCK_ELEMENTS // max(1, len(reference)))
    for start in range(0, len(queries), rows):
        yield start, torch.cdist(queries[start : start + rows], reference)  # (rows, len(reference))


def nearest_distances(queries: torch.Tensor, reference: torch.Tensor, exclude_self: bool = False) -> torch.Tensor:
    """Euclidean distance from each query row to its nearest reference row.

    Args:
        exclude_self: ``queries`` is ``reference``; skip each row's distance to itself
            (leave-one-out).
    """
    out = []
    for start, d in distance_blocks(queries, reference):
        if exclude_self:
            d[torch.arange(len(d)), torch.arange(start, start + len(d))] = float("inf")
        out.append(d.min(dim=1).values)
    return torch.cat(out) if out else queries.new_zeros(0)


def kth_nearest_other(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest *other* row of ``x``."""
    # Each row's smallest distance is the row to itself (0), hence the (k+1)-th value.
    return torch.cat([d.kthvalue(k + 1, dim=1).values for _, d in distance_blocks(x, x)])


def within_radius(queries: torch.Tensor, points: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """Whether each query falls inside at least one ball ``(points[i], radii[i])``."""
    return torch.cat([(d <= radii[None, :]).any(dim=1) for _, d in distance_blocks(queries, points)])


def image_hashes(images: np.ndarray) -> np.ndarray:
    """A digest per image of its pixels: equal digests mean identical images."""
    return np.array([hashlib.blake2b(im.tobytes(), digest_size=12).hexdigest() for im in images])
