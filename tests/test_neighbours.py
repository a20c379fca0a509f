"""Nearest-neighbour distances and pixel hashes shared by the filter, the metrics and the protocol."""

from __future__ import annotations

import numpy as np
import torch

from ganaug.data import neighbours
from ganaug.data.neighbours import image_hashes, kth_nearest_other, nearest_distances, within_radius


def test_nearest_distances_match_a_brute_force_and_leave_one_out_skips_the_row_itself(monkeypatch):
    monkeypatch.setattr(neighbours, "BLOCK_ELEMENTS", 7)  # many small blocks: block edges must not matter
    rng = np.random.default_rng(0)
    q, r = torch.from_numpy(rng.normal(size=(9, 4))), torch.from_numpy(rng.normal(size=(6, 4)))
    full = torch.cdist(q, r)
    torch.testing.assert_close(nearest_distances(q, r), full.min(dim=1).values)
    loo = torch.cdist(q, q).fill_diagonal_(float("inf")).min(dim=1).values
    torch.testing.assert_close(nearest_distances(q, q, exclude_self=True), loo)
    torch.testing.assert_close(kth_nearest_other(q, 1), loo)
    assert within_radius(q, r, torch.zeros(len(r))).sum() == 0
    assert within_radius(r, r, torch.zeros(len(r))).all()


def test_equal_images_hash_equal_and_others_do_not():
    images = np.zeros((3, 4, 4), np.uint8)
    images[2, 0, 0] = 1
    h = image_hashes(images)
    assert h[0] == h[1] != h[2]
