"""Pretrained augmenters shipped as package data: found by name, loaded offline, provenance kept."""

from __future__ import annotations

import numpy as np
import pytest

import ganaug.pretrained as pretrained
from ganaug import DAGANAugmenter, GANAugmenter


@pytest.fixture
def shelf(tmp_path, monkeypatch, toy_arrays):
    """A package folder holding one tiny GAN and one tiny DAGAN, as the build writes them."""
    monkeypatch.setattr(pretrained, "FOLDER", tmp_path)
    x, y = toy_arrays
    gan = GANAugmenter(steps=3, batch_size=8, monitor_every=100, device="cpu").fit(x, y)
    gan.provenance_ = {"command": "python -m ganaug.pretrained.build --root DIR", "wall_seconds": 1.0}
    gan.save(tmp_path / "toy-8.safetensors", training_state=False)
    dagan = DAGANAugmenter(steps=3, batch_size=8, monitor_every=100, device="cpu").fit(x, y)
    dagan.provenance_ = {"command": "python -m ganaug.pretrained.build --root DIR --which dagan"}
    dagan.save(tmp_path / "toy-8-dagan.safetensors")
    return gan, dagan


def test_pretrained_augmenters_load_by_name_with_their_provenance(shelf, toy_arrays):
    gan, dagan = shelf
    assert pretrained.available() == ["toy-8", "toy-8-dagan"]
    loaded = GANAugmenter.from_pretrained("toy-8", device="cpu")
    assert loaded.provenance_ == gan.provenance_
    np.testing.assert_array_equal(loaded.sample(10, seed=0)[0], gan.sample(10, seed=0)[0])
    image_conditional = DAGANAugmenter.from_pretrained("toy-8-dagan", device="cpu")
    assert image_conditional.provenance_["command"].endswith("--which dagan")
    x, _ = toy_arrays
    np.testing.assert_array_equal(image_conditional.augment(x[:4], seed=1), dagan.augment(x[:4], seed=1))


def test_an_unknown_name_lists_what_there_is(shelf):
    with pytest.raises(ValueError, match=r"no pretrained augmenter named 'omniglot-64'; available: toy-8, toy-8-dagan"):
        GANAugmenter.from_pretrained("omniglot-64")
    with pytest.raises(ValueError, match="no pretrained augmenter named '../toy-8'"):
        GANAugmenter.from_pretrained("../toy-8")  # names, not paths
    with pytest.raises(Exception, match="DAGANAugmenter"):
        GANAugmenter.from_pretrained("toy-8-dagan")  # the other estimator's file says which loads it



def test_the_shipped_dagan_loads_offline_and_varies_a_new_class():
    """The package's own ``omniglot-28-dagan`` (package data, no download): it loads by name, says how
    it was made, stays small, and turns 28×28 images of a class it never saw into other images."""
    assert "omniglot-28-dagan" in pretrained.available()
    path = pretrained.path_of("omniglot-28-dagan")
    assert path.stat().st_size + path.with_suffix(".json").stat().st_size <= 10 * 2**20
    dagan = DAGANAugmenter.from_pretrained("omniglot-28-dagan", device="cpu")
    made = dagan.provenance_
    assert made["command"].startswith("python -m ganaug.pretrained.build") and made["wall_seconds"] > 0
    assert made["data"]["n_classes"] == 242 and made["machine"]
    assert dagan.image_shape_ == (28, 28) and len(dagan.classes_) == 242
    digit = np.zeros((28, 28), dtype=np.uint8)
    digit[6:22, 12:16] = 255  # a "1", which no Omniglot alphabet has
    a, b = dagan.augment(np.stack([digit, digit]), seed=0)
    assert a.shape == (28, 28) and a.dtype == np.uint8 and not np.array_equal(a, b)
    assert not np.array_equal(a, digit)


def test_the_shipped_class_conditional_gan_loads_offline_and_draws_each_character_several_ways():
    """The package's own ``omniglot-28`` (package data, no download): it loads by name, says how
    it was made, stays small, and draws 28×28 images of a character it is asked for, not one
    image per character whatever the noise (its first builds did)."""
    assert "omniglot-28" in pretrained.available()
    path = pretrained.path_of("omniglot-28")
    assert path.stat().st_size + path.with_suffix(".json").stat().st_size <= 10 * 2**20
    gan = GANAugmenter.from_pretrained("omniglot-28", device="cpu")
    made = gan.provenance_
    assert made["command"].startswith("python -m ganaug.pretrained.build") and made["data"]["n_classes"] == 242
    assert len(gan.classes_) == 242 and gan.config_.diversity_weight > 0
    images, labels = gan.sample(16, labels=gan.classes_[7], seed=0)
    assert images.shape == (16, 28, 28) and images.dtype == np.uint8 and (labels == gan.classes_[7]).all()
    assert images.astype(float).std(axis=0).mean() > 5  # the noise matters (a collapsed G: 0)
    assert not np.array_equal(images, gan.sample(16, labels=gan.classes_[8], seed=0)[0])
