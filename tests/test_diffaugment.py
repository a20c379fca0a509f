"""DiffAugment policies."""

from __future__ import annotations

import pytest
import torch

from ganaug.training import diff_augment, parse_policy


def test_diffaugment_policies():
    assert parse_policy("translation, cutout") == ["translation", "cutout"]
    assert parse_policy("none") == [] and parse_policy(None) == []
    with pytest.raises(ValueError, match="unknown DiffAugment"):
        parse_policy("rotate")
    x = torch.rand(16, 1, 8, 8) * 2 - 1
    gen = torch.Generator().manual_seed(0)
    out = diff_augment(x, ["translation", "cutout"], gen)
    assert out.shape == x.shape and not torch.equal(out, x)
    cut = diff_augment(x, ["cutout"], gen)
    holes = (cut == 0).flatten(1).sum(1)
    assert ((holes >= 4) & (holes <= 16)).all()  # a 4×4 hole per image, clipped at the borders
    x.requires_grad_(True)
    diff_augment(x, ["translation", "cutout", "color"], gen).sum().backward()
    assert x.grad is not None  # differentiable, so G learns through it
