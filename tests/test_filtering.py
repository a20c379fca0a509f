"""FilteredAugmenter: redrawn rejections, the default judge, copies and clones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug.filtering import FilteredAugmenter
from ganaug.mixing import SyntheticMixDataset


# -- filtering -------------------------------------------------------------------------------
class _Judge:
    def __init__(self, accept: bool):
        self.accept = accept

    def predict_proba(self, images):
        return np.full((len(images), 10), 1.0 if self.accept else 0.0)


def test_filter_redraws_rejections_and_always_returns_n(small_aug, digits):
    keep_all = FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_Judge(True))
    x, y = keep_all.sample(40, seed=0)
    assert x.shape == (40, 8, 8) and keep_all.stats["kept"] + keep_all.stats["kept_unfiltered"] == 40
    reject_all = FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_Judge(False), max_draws=2)
    x, _ = reject_all.sample(10, seed=0)
    assert len(x) == 10 and reject_all.stats["rejected_label"] >= 10 and reject_all.stats["kept_unfiltered"] == 10
    copies = FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_Judge(True), max_draws=1)
    copies.copy_distance = float("inf")  # every sample counts as a copy
    copies.sample(10, seed=0)
    assert copies.stats["rejected_copy"] == 10
    mixed = SyntheticMixDataset(digits, keep_all, ratio=0.05)  # drop-in for the mixing wrappers
    assert mixed.synthetic_mask.sum() == round(0.05 * len(digits))


class _RejectFirstCall:
    """Rejects everything it is first shown, accepts from then on."""

    def __init__(self):
        self.calls = 0

    def predict_proba(self, images):
        self.calls += 1
        return np.full((len(images), 10), 0.0 if self.calls == 1 else 1.0)


def test_filter_replaces_rejected_samples_with_fresh_draws(small_aug, digits):
    f = FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_RejectFirstCall())
    f.copy_distance = -1.0  # nothing counts as a copy: only the judge decides
    classes = torch.arange(12) % 10
    screened = f.sample_tensor(classes, torch.Generator().manual_seed(0))
    plain = small_aug.sample_tensor(classes, torch.Generator().manual_seed(0))
    assert f.stats == {"drawn": 24, "kept": 12, "rejected_label": 12, "rejected_copy": 0, "kept_unfiltered": 0}
    assert not torch.equal(screened, plain)  # the first, rejected draw was replaced


def test_filter_survives_copy_and_clone_and_refuses_bad_settings(small_aug, digits):
    import pickle

    from sklearn.base import clone

    from ganaug.mixing import GANResampler

    f = FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_Judge(True))
    # Worker processes get it by pickling (unpickling used to fail on a KeyError).
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(f)).sample(5, seed=0)[0], f.sample(5, seed=0)[0])
    # Cloned for cross-validation, a resampler keeps its filter (it used to become a plain GAN).
    assert clone(GANResampler(f)).augmenter is f
    for settings, message in (({"copy_quantile": 5}, "copy_quantile"), ({"min_confidence": -0.1}, "min_confidence"),
                              ({"max_draws": 0}, "max_draws")):
        with pytest.raises(ValueError, match=message):
            FilteredAugmenter(small_aug, digits.data, digits.targets, judge=_Judge(True), **settings)
    with pytest.raises(ValueError, match="training images"):
        FilteredAugmenter(small_aug, np.zeros((4, 10, 10), np.uint8), [0, 1, 2, 3], judge=_Judge(True))
    with pytest.raises(ValueError, match="not trained on"):
        FilteredAugmenter(small_aug, digits.data[:4], [0, 1, 2, 12], judge=_Judge(True))


def test_default_filter_trains_a_judge_that_rejects_mislabelled_samples(small_aug, digits):
    f = FilteredAugmenter(small_aug, digits.data, digits.targets, seed=0)
    gen = torch.Generator().manual_seed(0)
    x = small_aug.sample_tensor(torch.full((32,), 3), gen)
    accepted_right = f._accept(x, torch.full((32,), 3)).float().mean()
    accepted_wrong = f._accept(x, torch.full((32,), 0)).float().mean()
    assert accepted_right > accepted_wrong
