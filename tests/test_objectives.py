"""Training objectives and their losses: the adversarial game with its remedies, the matching network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug import GANAugmenter
from ganaug.training import GANConfig, get_loss
from ganaug.training.losses import conditional_mmd2


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


def test_losses_behave_as_their_papers_say():
    d_hinge, g_hinge = get_loss("hinge")
    assert float(d_hinge(torch.full((4,), 2.0), torch.full((4,), -2.0))) == 0.0  # both margins met
    _, g_mm = get_loss("minimax")
    _, g_ns = get_loss("nonsaturating")
    fake = torch.tensor([-8.0], requires_grad=True)  # D confidently rejects the sample
    (grad_mm,) = torch.autograd.grad(g_mm(fake), fake)
    (grad_ns,) = torch.autograd.grad(g_ns(fake), fake)
    assert abs(float(grad_mm)) < 1e-3 < abs(float(grad_ns))  # minimax saturates, NS does not
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("wasserstein-ish")


def test_feature_kernel_is_learned_from_the_training_images_and_pulls_samples_towards_their_class(digits):
    # The feature network must classify the very images G learns from (else its features say
    # nothing about them), be frozen (G's loss must not train it), and leave the global random
    # stream where it was (a resumed run rebuilds the same network without shifting G's noise).
    from ganaug.training import Trainer, resolve
    from ganaug.training.features import fit_feature_net
    from ganaug.training.losses import conditional_mmd2

    x = torch.from_numpy(digits.data[:300]).float().div(8).sub(1).unsqueeze(1)
    y = torch.from_numpy(digits.targets[:300]).long()
    state = torch.get_rng_state()
    net = fit_feature_net(x, y, 10, seed=0, steps=150)
    assert torch.equal(torch.get_rng_state(), state)
    assert not any(p.requires_grad for p in net.parameters()) and not net.training
    assert (net(x).argmax(1) == y).float().mean() > 0.9
    # Both kernels' bandwidths follow the median distance, so their MMDs compare: relabelled
    # images (each called the next class) must lie farther from the true classes in features.
    wrong = (y + 1) % 10
    assert conditional_mmd2(net.features(x), wrong, net.features(x), y) > conditional_mmd2(x, wrong, x, y)

    config = resolve(GANConfig(mmd_feature_weight=1.0, steps=3), 300, 64)
    trainer = Trainer(config, 10, (1, 8, 8), torch.device("cpu"))
    trainer.train(x, y, total_steps=3, progress=False)
    assert trainer.objective.feature_net is not None and trainer.step == 3


@pytest.mark.parametrize("make", ["hinge", "acgan+freezed", "dagan"])
def test_a_generator_update_computes_no_discriminator_gradient_and_keeps_its_frozen_layers(make):
    """D's own gradients are made once per step, by its own update; G's update only flows through
    D (and restores which of D's layers train, FreezeD's frozen ones included)."""
    from ganaug.dagan import DAGANConfig
    from ganaug.models import DAGANGenerator, build_generator
    from ganaug.training.config import resolve
    from ganaug.training.objectives import Batches, make_objective
    from ganaug.training.objectives.pairs import PairObjective

    torch.manual_seed(0)
    shape, k = (1, 8, 8), 3
    if make == "dagan":
        objective = PairObjective(DAGANGenerator(shape, z_dim=4, channels=8), DAGANConfig(batch_size=8, channels=8,
                                  d_channels=8, diversity_weight=1.0), k, shape)
    else:
        options = {"aux_weight": 0.5, "train_layers": "freeze-d", "freeze_d_blocks": 1} if make == "acgan+freezed" else {}
        config = resolve(GANConfig(loss="hinge", batch_size=8, z_dim=4, g_channels=8, d_channels=8, **options), 30, 64)
        objective = make_objective(config, build_generator(k, shape, 4, 8), k, shape)
    critic = objective.discriminator
    trains = {name: p.requires_grad for name, p in critic.named_parameters()}
    made = {name: 0 for name, p in critic.named_parameters() if p.requires_grad}
    for name, p in critic.named_parameters():
        if p.requires_grad:
            p.register_hook(lambda grad, name=name: made.__setitem__(name, made[name] + 1))
    x, y = torch.rand(30, *shape) * 2 - 1, torch.arange(30) % k
    objective.prepare(x, y)
    objective.step(Batches(x, y, 8, 4, torch.Generator().manual_seed(0)))
    assert made and set(made.values()) == {1}
    assert {name: p.requires_grad for name, p in critic.named_parameters()} == trains
    if make == "acgan+freezed":
        assert not all(trains.values())  # the first block stayed frozen through G's update


def test_mode_seeking_makes_an_adversarial_generator_draw_other_images_from_other_noise(digits):
    # An ACGAN G on many classes of few images may answer every z of a class with one image
    # (the Omniglot probes did); MSGAN's term charges it for that.
    def within_class_spread(weight: float) -> float:
        aug = GANAugmenter(loss="hinge", aux_weight=1.0, diversity_weight=weight, steps=60, batch_size=32,
                           ema_decay=0.0, verbose=False, seed=0).fit(digits)
        images = aug.sample(64, labels=3, seed=0)[0].astype(float)
        return float(images.std(axis=0).mean())

    assert within_class_spread(2.0) > 1.3 * within_class_spread(0.0)  # measured: 43 against 28
    with pytest.raises(ValueError, match="diversity_weight is a term of an adversarial"):
        GANConfig(loss="mmd", diversity_weight=1.0)
    assert GANAugmenter(diversity_weight=1.0, steps=1, batch_size=16, verbose=False).fit(digits).config_.loss == "hinge"
