"""Shared fixtures: small, fast data and one tiny trained augmenter per session."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug import GANAugmenter, load_dataset

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def digits_test():
    return load_dataset("digits", train=False)


@pytest.fixture(scope="session")
def small_aug(digits):
    """A quickly trained augmenter: enough to exercise every code path, not to look good."""
    return GANAugmenter(steps=600, monitor_every=200, verbose=False, seed=0).fit(digits)


@pytest.fixture
def toy_arrays():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10)
    return x, y


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Tests never read or fill the user's cache (~/.cache/ganaug): each session has its own."""
    monkeypatch.setenv("GANAUG_CACHE", str(tmp_path_factory.getbasetemp() / "ganaug-cache"))
