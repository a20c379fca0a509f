"""BatchAugment: albumentations' classical augmentation, drawn per image, applied to whole batches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from albumentations.augmentations.geometric import functional as fg

from ganaug.data.pixels import model_to_images, to_model
from ganaug.evaluation.augment import classical_augmentation
from ganaug.evaluation.batch_augment import BatchAugment, _affine, _axis_map, augmented_copies
from ganaug.training.classifier import TorchClassifier


class Fixed(BatchAugment):
    """Every draw is the next given value (a number, or a list for a vector of draws)."""

    p_affine = p_grid = 1.0

    def __init__(self, values, background: int = 0):
        super().__init__(background, seed=0)
        self.values = list(values)

    def _uniform(self, n, low, high, *shape):
        value = torch.tensor(self.values.pop(0), dtype=torch.float64)
        assert low <= value.min() and value.max() <= high
        return value.expand((n, *shape)).clone()


@pytest.fixture
def strokes():
    rng = np.random.default_rng(0)
    images = np.zeros((6, 28, 28), np.uint8)
    for img in images:
        r, c = rng.integers(6, 22, size=2)
        cv2.line(img, (int(c) - 5, int(r) - 4), (int(c) + 4, int(r) + 5), 255, 2)
    return images


AFFINE = (10.0, 5.0, -3.0, 1.05, 0.95, 0.07, -0.05)  # rotate, shear x/y, scale x/y, translate x/y


def test_the_affine_map_is_albumentations_own(strokes):
    rotate, shx, shy, scx, scy, tx, ty = AFFINE
    ours = _affine(Fixed(AFFINE), 1, 28, 28)[0].numpy()
    theirs = fg.create_affine_transformation_matrix(
        {"x": int(tx * 28), "y": int(ty * 28)}, {"x": shx, "y": shy}, {"x": scx, "y": scy}, rotate, fg.center((28, 28)))
    np.testing.assert_allclose(ours, theirs, atol=1e-12)
    no_grid = Fixed([*AFFINE, [0.0] * 4, [0.0] * 4])
    no_grid.p_grid = 0.0
    warped = model_to_images(no_grid(to_model(strokes)))
    expected = [cv2.warpAffine(img, theirs[:2], (28, 28), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
                for img in strokes]
    assert np.abs(warped.astype(int) - np.stack(expected)).max() <= 1  # bilinear, rounding aside


@pytest.mark.parametrize("size", [8, 12, 28])
def test_the_grid_distortion_is_albumentations_own(size):
    factors = [1.1, 0.9, 1.05, 0.95]
    ours = _axis_map(Fixed([[f - 1 for f in factors]]), 1, size)[0].numpy()
    normal = fg.normalize_grid_distortion_steps((size, size), 3, list(factors), list(factors))
    theirs, _ = fg.generate_grid((size, size), normal["steps_x"], normal["steps_y"], 3)
    np.testing.assert_allclose(ours, theirs[0], atol=1e-5)


def test_batches_are_augmented_like_the_per_image_pipeline(strokes):
    """Same distribution: how much of the ink stays put, over many draws, agrees with albumentations'."""
    images = np.repeat(strokes, 150, axis=0)
    ours = augmented_copies(images, BatchAugment(0, seed=1), copies=1)
    pipeline = classical_augmentation(0, seed=1)
    theirs = np.stack([pipeline(image=img)["image"] for img in images])
    ink = images > 127

    def kept(aug):  # share of each image's ink pixels still inked: 1 when untouched
        return ((aug > 127) & ink).sum(axis=(1, 2)) / ink.sum(axis=(1, 2))

    assert abs(kept(ours).mean() - kept(theirs).mean()) < 0.03
    assert abs((kept(ours) > 0.999).mean() - (kept(theirs) > 0.999).mean()) < 0.03  # untouched share (~7 %)
    assert abs(ours.mean() - theirs.mean()) / theirs.mean() < 0.05  # ink neither gained nor lost


def test_same_seed_same_bytes_and_the_background_fills_what_moved_in(strokes):
    x = to_model(strokes)
    a, b = BatchAugment(0, seed=3)(x), BatchAugment(0, seed=3)(x)
    assert torch.equal(a, b) and not torch.equal(a, BatchAugment(0, seed=4)(x))
    light = to_model(np.full((64, 28, 28), 200, np.uint8))  # a flat 200-grey image stays 200 everywhere
    out = model_to_images(BatchAugment(background=200, seed=0)(light))
    assert out.min() == out.max() == 200
    shape = BatchAugment(0, seed=0)(torch.zeros(5, 3, 12, 12)).shape
    assert shape == (5, 3, 12, 12)  # colour batches keep their channels


def test_every_fit_of_a_classifier_starts_its_augmentation_afresh(strokes):
    y = np.arange(6) % 2
    clf = TorchClassifier("mlp", steps=6, batch_size=4, seed=0, device="cpu", augment=BatchAugment(0, seed=0))
    first = clf.fit(strokes, y).predict_proba(strokes)
    again = clf.fit(strokes, y).predict_proba(strokes)
    np.testing.assert_array_equal(first, again)
    plain = TorchClassifier("mlp", steps=6, batch_size=4, seed=0, device="cpu").fit(strokes, y).predict_proba(strokes)
    assert not np.array_equal(first, plain)
