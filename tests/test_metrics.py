"""Generative metrics: known answers on synthetic features, and the full report on digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ganaug.evaluation.metrics import (
    fit_feature_extractor,
    frechet_distance,
    generative_metrics,
    kernel_distance,
    label_consistency,
    memorisation,
    precision_recall,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """These networks and matrices are tiny: a second OpenMP thread only spin-waits on shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def gaussian(n: int, d: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


# -- Fréchet distance -------------------------------------------------------------------------------
def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = gaussian(500, 16)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_recovers_a_mean_shift_and_is_symmetric():
    real, fake = gaussian(5000, 8, seed=1), gaussian(5000, 8, shift=0.5, seed=2)
    expected = 8 * 0.5**2  # ||mu||², identical covariances
    fd = frechet_distance(real, fake)
    assert fd == pytest.approx(expected, abs=0.15)
    assert frechet_distance(fake, real) == pytest.approx(fd, rel=1e-6)


def test_frechet_distance_is_finite_for_singular_covariances():
    # Fewer samples than dimensions and dead units: what a small fake set gives in practice.
    real, fake = gaussian(10, 32, seed=3), gaussian(12, 32, shift=1.0, seed=4)
    real[:, :5] = 0.0
    fd = frechet_distance(real, fake)
    assert np.isfinite(fd) and fd > 0


def test_frechet_distance_rejects_mismatched_features():
    with pytest.raises(ValueError, match="dimensions differ"):
        frechet_distance(gaussian(10, 4), gaussian(10, 5))


# -- KID -------------------------------------------------------------------------------------------
def test_kernel_distance_is_near_zero_for_one_distribution_and_positive_for_a_shift():
    real, same, shifted = (
        gaussian(600, 32, seed=5),
        gaussian(600, 32, seed=6),
        gaussian(600, 32, 0.5, seed=7),
    )
    mean, std = kernel_distance(real, same, n_subsets=20, subset_size=200)
    assert abs(mean) < 0.02 and std > 0  # proper subsets, so the draws differ
    shifted_mean, shifted_std = kernel_distance(real, shifted, n_subsets=20, subset_size=200)
    assert shifted_mean > 0.5 and shifted_mean > 10 * shifted_std


# -- precision / recall ----------------------------------------------------------------------------
def test_precision_recall_of_identical_sets_is_one():
    x = gaussian(300, 8)
    assert precision_recall(x, x) == (1.0, 1.0)


def test_precision_recall_separates_fidelity_from_mode_dropping():
    two_modes = np.concatenate([gaussian(1000, 2, seed=8), gaussian(1000, 2, shift=10.0, seed=9)])
    one_mode = gaussian(1000, 2, seed=10)
    precision, recall = precision_recall(two_modes, one_mode)
    assert precision > 0.9  # every fake looks real...
    assert 0.4 < recall <= 0.5  # ...but half the real distribution is never generated


def test_precision_of_far_away_fakes_is_zero():
    precision, recall = precision_recall(gaussian(300, 8), gaussian(300, 8, shift=50.0))
    assert precision == 0.0 and recall == 0.0


# -- memorisation ----------------------------------------------------------------------------------
@pytest.fixture
def pixel_sets():
    rng = np.random.default_rng(11)
    train, reference, fresh = (
        rng.integers(0, 256, size=(200, 8, 8), dtype=np.uint8) for _ in range(3)
    )
    return train, reference, fresh


def test_memorisation_flags_copies_of_training_images(pixel_sets):
    train, reference, _ = pixel_sets
    result = memorisation(train[:50].copy(), train, reference)
    assert result["nn_ratio"] == pytest.approx(0.0, abs=1e-6)
    assert result["copy_rate"] == 1.0


def test_memorisation_of_fresh_samples_matches_the_reference(pixel_sets):
    train, reference, fresh = pixel_sets
    result = memorisation(fresh, train, reference)
    assert 0.9 < result["nn_ratio"] < 1.1
    assert result["copy_rate"] < 0.1


def test_memorisation_rejects_float_pixels(pixel_sets):
    train, reference, fresh = pixel_sets
    with pytest.raises(ValueError, match="uint8"):
        memorisation(fresh / 255.0, train, reference)


# -- the full report on digits ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def extractor(digits):
    # Tiny, yet this judge already agrees with > 95 % of held-out digits.
    return fit_feature_extractor(digits.data, digits.targets, seed=0, steps=60, device="cpu")


@pytest.fixture(scope="module")
def halves(digits_test):
    """Two disjoint halves of the held-out split: 'real' and 'fake' from one distribution."""
    half = len(digits_test) // 2
    x, y = digits_test.data, digits_test.targets
    return (x[:half], y[:half]), (x[half:], y[half:])


def test_label_consistency_follows_the_conditioning_labels(extractor, halves):
    _, (fake, labels) = halves
    assert label_consistency(extractor, fake, labels) > 0.8
    assert label_consistency(extractor, fake, (labels + 1) % 10) < 0.3


def test_generative_metrics_report_is_complete_and_serialisable(extractor, halves, digits):
    (real, real_y), (fake, fake_y) = halves
    report = generative_metrics(extractor, real, real_y, fake, fake_y, digits.data, seed=0)

    json.dumps(report, allow_nan=False)  # strict JSON: undefined values are None, never NaN
    assert set(report) == {
        "fid",
        "kid",
        "kid_std",
        "precision",
        "recall",
        "label_consistency",
        "memorisation",
        "per_class",
    }
    assert set(report["memorisation"]) == {
        "nn_ratio",
        "copy_rate",
        "fake_nn_median",
        "reference_nn_median",
    }
    assert report["label_consistency"] > 0.8
    assert report["fid"] >= 0 and report["precision"] > 0.5 and report["recall"] > 0.5
    assert set(report["per_class"]) == {str(c) for c in range(10)}
    for row in report["per_class"].values():
        assert set(row) == {"kid", "precision", "recall", "label_consistency", "n_real", "n_fake"}
        assert row["kid"] is not None and row["precision"] is not None
    assert sum(row["n_fake"] for row in report["per_class"].values()) == len(fake)


def test_generative_metrics_skips_classes_too_small_to_measure(extractor, halves, digits):
    (real, real_y), (fake, fake_y) = halves
    keep = np.ones(len(fake), bool)
    keep[np.flatnonzero(fake_y == 0)[2:]] = False  # two fakes of class 0 left: fewer than k + 1
    report = generative_metrics(extractor, real, real_y, fake[keep], fake_y[keep], digits.data, k=3)

    row = report["per_class"]["0"]
    assert row["n_fake"] == 2
    assert row["kid"] is None and row["precision"] is None and row["recall"] is None
    assert row["label_consistency"] is not None
