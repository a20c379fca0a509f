"""GANConfig: JSON round trips, refused settings, and what auto resolves to."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug import GANAugmenter
from ganaug.training import GANConfig


def test_conditioning_settings_are_checked():
    from ganaug import GANConfig

    with pytest.raises(ValueError, match="unknown conditioning"):
        GANConfig(conditioning="per-pixel")
    with pytest.raises(ValueError, match="aux_weight needs conditioning='label'"):
        GANConfig(conditioning="per-class", aux_weight=0.5)


def test_config_json_round_trip(tmp_path):
    cfg = GANConfig(loss="minimax", steps=12)
    cfg.to_json(tmp_path / "c.json")
    assert GANConfig.from_json(tmp_path / "c.json") == cfg
    with pytest.raises(ValueError, match="unknown GANConfig field"):
        GANConfig.from_dict({"learning_rate": 1})


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"monitor_every": 0}, "monitor_every must be an integer >= 1, got 0"),
        ({"batch_size": 1}, "batch_size must be an integer >= 2"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"steps": "300"}, "steps must be an integer"),
        ({"lr_g": 0.0}, "lr_g must be > 0"),
        ({"beta2": 1.0}, r"beta2 must be in \[0, 1\)"),
        ({"ema_decay": 2}, "ema_decay must be in"),
        ({"r1_gamma": -1}, "r1_gamma must be >= 0"),
        ({"unrolled_steps": -1}, "unrolled_steps must be an integer >= 0"),
        ({"loss": "wgan"}, "unknown loss"),
        ({"diffaugment": "rotate"}, "unknown DiffAugment"),
    ],
)
def test_settings_out_of_range_are_refused_by_name(settings, message):
    # Refused when the config is made, so fit fails before it touches the fitted state.
    with pytest.raises(ValueError, match=message):
        GANConfig(**settings)


def test_a_config_file_that_is_not_an_object_is_refused(tmp_path):
    (tmp_path / "c.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="must hold a JSON object"):
        GANConfig.from_json(tmp_path / "c.json")


def test_auto_loss_follows_the_data_and_the_options():
    from ganaug.training import AUTO_MMD_BELOW, resolve

    few, many = AUTO_MMD_BELOW - 1, AUTO_MMD_BELOW
    assert resolve(GANConfig(), 500, 64, smallest_class=few).loss == "mmd"
    assert resolve(GANConfig(), 5000, 64, smallest_class=many).loss == "hinge"
    assert resolve(GANConfig(lecam_weight=0.3), 50, 64, smallest_class=5).loss == "hinge"  # asks for a D
    assert resolve(GANConfig(loss="minimax"), 50, 64, smallest_class=5).loss == "minimax"  # explicit wins
    assert resolve(GANConfig(mmd_feature_weight=1.0), 5000, 64, smallest_class=many).loss == "mmd"  # asks for MMD


def test_auto_steps_shrink_with_few_images_only_for_a_discriminator():
    from ganaug.training import MMD_STEPS, resolve
    from ganaug.training.config import MMD_STEPS_MANY

    assert resolve(GANConfig(), 50, 64, smallest_class=5).steps == MMD_STEPS  # no D to memorise the few
    assert resolve(GANConfig(loss="mmd"), 5000, 64).steps == MMD_STEPS_MANY  # more images, more steps
    hinge_few, hinge_many = (resolve(GANConfig(loss="hinge"), n, 64).steps for n in (50, 5000))
    assert hinge_few < hinge_many
    assert resolve(GANConfig(steps=7), 50, 64, smallest_class=5).steps == 7  # explicit wins


def test_auto_learning_rate_follows_the_objective():
    from ganaug.training import resolve
    from ganaug.training.config import ADVERSARIAL_LR_G, MMD_LR_G

    assert resolve(GANConfig(), 50, 64, smallest_class=5).lr_g == MMD_LR_G  # the matching network
    assert resolve(GANConfig(loss="hinge"), 50, 64).lr_g == ADVERSARIAL_LR_G  # keeps pace with D
    assert resolve(GANConfig(lr_g=2e-3), 50, 64, smallest_class=5).lr_g == 2e-3  # explicit wins
    assert GANConfig.from_dict(GANConfig().to_dict()) == GANConfig()  # None round-trips through JSON


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"loss": "hinge", "mmd_feature_weight": 1.0}, "needs loss='mmd'"),
        ({"mmd_feature_weight": 1.0, "r1_gamma": 1.0}, "set only one"),
        ({"mmd_feature_weight": -1.0}, ">= 0"),
    ],
)
def test_feature_kernel_settings_that_contradict_are_refused(settings, message):
    with pytest.raises(ValueError, match=message):
        GANConfig(**settings)


def test_default_augmenter_records_the_objective_it_resolved(digits, tmp_path):
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 10, seed=0)
    aug = GANAugmenter(steps=4, verbose=False).fit(subset)
    assert aug.loss == "auto" and aug.config_.loss == "mmd"
    loaded = GANAugmenter.load(aug.save(tmp_path / "a.safetensors"), device="cpu", verbose=False)
    assert loaded.config_.loss == "mmd"
    np.testing.assert_array_equal(aug.sample(10, seed=0)[0], loaded.sample(10, seed=0)[0])


def test_auto_sampling_balances_only_classes_of_unequal_size():
    from ganaug.training import resolve

    assert resolve(GANConfig(), 60, 64, class_counts=[50, 10]).sampling == "balanced"
    assert resolve(GANConfig(), 60, 64, class_counts=[30, 30]).sampling == "uniform"
    assert resolve(GANConfig(), 60, 64, smallest_class=10).sampling == "uniform"  # no counts: as before
    assert resolve(GANConfig(sampling="uniform"), 60, 64, class_counts=[50, 10]).sampling == "uniform"  # explicit wins
    assert resolve(GANConfig(), 60, 64, class_counts=[50, 10]).loss == "mmd"  # the smallest class decides the loss
    with pytest.raises(ValueError, match="unknown sampling 'stratified'"):
        GANConfig(sampling="stratified")
