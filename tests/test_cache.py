"""The feature-network cache: trained once per data, loaded bit-identical in later runs."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.evaluation import cache
from ganaug.evaluation.metrics import fit_feature_extractor


@pytest.fixture
def pool(toy_arrays):
    return toy_arrays


def test_a_cached_feature_network_gives_the_fitted_ones_features(pool, tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUG_CACHE", str(tmp_path))
    x, y = pool
    fits = []

    def fit():
        fits.append(1)
        return fit_feature_extractor(x, y, steps=5, device="cpu")

    key = cache.feature_key("data", x.shape[1:], 4, 5, 0, "cpu")
    first = cache.cached_extractor(key, fit, "cpu")
    again = cache.cached_extractor(key, fit, "cpu")
    assert fits == [1]  # the second run loaded it
    np.testing.assert_array_equal(again.features(x), first.features(x))
    np.testing.assert_array_equal(again.predict_proba(x), first.predict_proba(x))
    assert list((tmp_path / "features").glob("*.safetensors")) == [tmp_path / "features" / f"{key}.safetensors"]
    # Other data, steps or seed: another key, so never the wrong network.
    assert len({key, cache.feature_key("other", x.shape[1:], 4, 5, 0, "cpu"),
                cache.feature_key("data", x.shape[1:], 4, 6, 0, "cpu"),
                cache.feature_key("data", x.shape[1:], 4, 5, 1, "cpu")}) == 4


def test_a_damaged_cache_entry_is_retrained_not_trusted(pool, tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUG_CACHE", str(tmp_path))
    x, y = pool
    key = cache.feature_key("data", x.shape[1:], 4, 5, 0, "cpu")
    (tmp_path / "features").mkdir()
    (tmp_path / "features" / f"{key}.safetensors").write_bytes(b"not a checkpoint")
    with pytest.warns(UserWarning, match="ignoring the cached network"):
        clf = cache.cached_extractor(key, lambda: fit_feature_extractor(x, y, steps=5, device="cpu"), "cpu")
    assert clf.features(x).shape == (len(x), 128)


def test_the_cache_can_be_turned_off(pool, tmp_path, monkeypatch):
    monkeypatch.setenv("GANAUG_CACHE", "off")
    monkeypatch.chdir(tmp_path)
    x, y = pool
    fits = []
    for _ in range(2):
        cache.cached_extractor("k", lambda: fits.append(1) or fit_feature_extractor(x, y, steps=5, device="cpu"), "cpu")
    assert fits == [1, 1] and not list(tmp_path.rglob("*.safetensors"))
