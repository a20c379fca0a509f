"""Issue-4 levers: gating, filtering, the MMD matching network, unrolled D, the collapse alarm."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug import GANAugmenter
from ganaug.evaluation.gating import choose_ratio
from ganaug.filtering import FilteredAugmenter
from ganaug.mixing import SyntheticMixDataset
from ganaug.models import Generator
from ganaug.training.losses import conditional_mmd2


# -- never-worse gating ----------------------------------------------------------------------
def _fake_scores(gain_at):
    rng = np.random.default_rng(0)

    def fit_score(train, ratio, val):
        return 0.80 + rng.normal(0, 0.002) + gain_at.get(ratio, 0.0)

    return fit_score


def test_gate_stays_shut_without_a_clear_gain(digits):
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 6, seed=0)
    gate = choose_ratio(subset, _fake_scores({1.0: -0.02, 2.0: -0.05}), folds=3)
    assert gate["chosen"] == 0.0 and "switched off" in gate["reason"] and gate["folds"] == 3
    gate = choose_ratio(subset, _fake_scores({1.0: 0.05}), folds=3)
    assert gate["chosen"] == 1.0 and "beat real-only" in gate["reason"]
    assert set(gate["cv_accuracy"]) == {"0", "0.5", "1", "2"}


def test_gate_uses_no_more_folds_than_the_smallest_class_has_images(digits):
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 2, seed=0)
    gate = choose_ratio(subset, _fake_scores({}), candidates=(1.0,), folds=5)
    assert gate["folds"] == 2 and gate["candidates"] == [0.0, 1.0]  # ratio 0 is always a candidate


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


# -- the direct method: MMD generative matching network ------------------------------------
def test_conditional_mmd_sees_distribution_and_label_mismatches():
    torch.manual_seed(0)
    c = torch.arange(64) % 2
    real = torch.randn(64, 16) + c[:, None] * 3
    same = torch.randn(64, 16) + c[:, None] * 3
    shifted = torch.randn(64, 16) + c[:, None] * 3 + 1.5
    base = float(conditional_mmd2(same, c, real, c))
    assert float(conditional_mmd2(shifted, c, real, c)) > base + 0.05
    assert float(conditional_mmd2(same, 1 - c, real, c)) > base + 0.05  # right images, wrong labels


def test_mmd_and_unrolled_variants_train_and_sample(digits):
    mmd = GANAugmenter(loss="mmd", steps=20, batch_size=32, verbose=False).fit(digits)
    assert mmd.history_["d_loss"][-1] == 0.0 and mmd.sample(5, seed=0)[0].shape == (5, 8, 8)
    unrolled = GANAugmenter(loss="hinge", unrolled_steps=2, steps=4, batch_size=16, verbose=False).fit(digits)
    assert unrolled.n_steps_ == 4


def test_lecam_penalises_only_scores_that_cross_the_other_anchor():
    from ganaug.training.losses import lecam_penalty

    real, fake = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 3.0])
    # anchors: real 2.0, fake -1.0 -> real-side relu(1+1)=2, relu(-2+1)=0; fake-side relu(2-0)=2, relu(2-3)=0
    assert float(lecam_penalty(real, fake, 2.0, -1.0)) == pytest.approx((4 + 0) / 2 + (4 + 0) / 2)
    assert float(lecam_penalty(real, fake, -5.0, 5.0)) == 0.0


def test_lecam_changes_training_and_moves_its_anchors(digits):
    params = dict(loss="hinge", steps=6, batch_size=16, verbose=False, seed=1)
    plain = GANAugmenter(**params).fit(digits)
    lecam = GANAugmenter(lecam_weight=1.0, **params).fit(digits)
    assert lecam.history_["d_loss"] != plain.history_["d_loss"]
    assert lecam._training_state[1]["lecam_anchors"] != [0.0, 0.0]
    assert plain._training_state[1]["lecam_anchors"] == [0.0, 0.0]


# -- per-class conditioning -------------------------------------------------------------------
def test_per_class_wrapper_routes_each_row_to_its_own_network():
    from torch import nn

    from ganaug.models import PerClass

    class Tagged(nn.Module):
        def __init__(self):
            super().__init__()
            self.tag = nn.Parameter(torch.zeros(()))

        def forward(self, x, c, return_aux=False):
            assert (c == 0).all()  # each copy sees its class as index 0
            return (x + self.tag, None) if return_aux else x + self.tag

    net = PerClass(Tagged, n_classes=3)
    with torch.no_grad():
        for k, copy in enumerate(net.nets):
            copy.tag.fill_(10.0 * k)
    x, c = torch.zeros(5), torch.tensor([2, 0, 1, 2, 0])
    assert net(x, c).tolist() == [20.0, 0.0, 10.0, 20.0, 0.0]
    out, aux = net(x, c, return_aux=True)
    assert out.tolist() == [20.0, 0.0, 10.0, 20.0, 0.0] and aux is None
    net(x, c).sum().backward()
    assert [float(copy.tag.grad) for copy in net.nets] == [2.0, 1.0, 2.0]


def test_per_class_gan_keeps_classes_independent_and_round_trips(digits, tmp_path):
    aug = GANAugmenter(loss="hinge", conditioning="per-class", steps=6, batch_size=32, verbose=False).fit(digits)
    assert len(aug.generator_.nets) == 10
    threes = aug.sample(8, labels=3, seed=0)[0]
    with torch.no_grad():  # wrecking every other class's generator leaves class 3 untouched
        for k, copy in enumerate(aug.generator_.nets):
            if k != 3:
                for p in copy.parameters():
                    p.add_(1.0)
    np.testing.assert_array_equal(threes, aug.sample(8, labels=3, seed=0)[0])
    loaded = GANAugmenter.load(aug.save(tmp_path / "pc.safetensors"), device="cpu", verbose=False)
    assert loaded.config_.conditioning == "per-class"
    np.testing.assert_array_equal(aug.sample(20, seed=1)[0], loaded.sample(20, seed=1)[0])


def test_conditioning_settings_are_checked():
    from ganaug import GANConfig

    with pytest.raises(ValueError, match="unknown conditioning"):
        GANConfig(conditioning="per-pixel")
    with pytest.raises(ValueError, match="aux_weight needs conditioning='label'"):
        GANConfig(conditioning="per-class", aux_weight=0.5)


# -- mode-collapse alarm ---------------------------------------------------------------------
def test_collapse_alarm_fires_on_a_deliberately_collapsed_run(digits, monkeypatch):
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward", lambda self, z, c: forward(self, torch.zeros_like(z), c))
    aug = GANAugmenter(steps=40, batch_size=32, monitor_every=20, verbose=False).fit(digits)
    assert sorted(aug.monitor_[-1]["collapsed"]) == list(range(10))  # noise ignored: one image per class


def test_collapse_alarm_is_quiet_on_a_healthy_run(small_aug):
    assert small_aug.monitor_[-1]["collapsed"] == []


def test_collapse_alarm_is_quiet_on_a_default_few_shot_run(digits):
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 10, seed=0)  # few images: the default resolves to the matching network
    aug = GANAugmenter(seed=0, verbose=False).fit(subset)
    assert aug.config_.loss == "mmd" and aug.n_steps_ == aug.config_.steps
    assert all(check["collapsed"] == [] for check in aug.monitor_)
