"""Networks, losses, DiffAugment, EMA and the mode-collapse monitor."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug.models import Discriminator, Generator
from ganaug.training import CollapseMonitor, GANConfig, diff_augment, get_loss, parse_policy
from ganaug.training.ema import make_ema, update_ema


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 32, 32), (1, 64, 64), (1, 16, 12)])
def test_networks_fit_every_supported_resolution(shape):
    g, d = Generator(5, shape, z_dim=16, channels=32), Discriminator(5, shape, channels=16, minibatch_std=True, aux_classifier=True)
    c = torch.arange(4) % 5
    x = g(torch.randn(4, 16), c)
    assert x.shape == (4, *shape) and x.abs().max() <= 1
    out, aux = d(x, c, return_aux=True)
    assert out.shape == (4,) and aux.shape == (4, 5)


def test_unsupported_resolution_is_refused():
    with pytest.raises(ValueError, match="8..64"):
        Generator(3, (1, 4, 4))
    with pytest.raises(ValueError, match="8..64"):
        Discriminator(3, (1, 128, 128))


def test_generator_depends_on_the_class():
    torch.manual_seed(0)
    g = Generator(3, (1, 8, 8), z_dim=8, channels=32).eval()
    z = torch.randn(1, 8).repeat(3, 1)
    x = g(z, torch.arange(3))
    assert not torch.allclose(x[0], x[1])


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


def test_ema_tracks_the_model():
    model = torch.nn.Linear(2, 2)
    ema = make_ema(model)
    with torch.no_grad():
        model.weight.add_(1.0)
    update_ema(ema, model, decay=0.999, step=0)  # early steps follow closely
    assert torch.allclose(ema.weight, model.weight, atol=0.2)
    assert not any(p.requires_grad for p in ema.parameters())


def test_collapse_monitor_fires_on_identical_samples_only():
    torch.manual_seed(0)
    real = torch.rand(40, 1, 8, 8)
    labels = torch.arange(40) % 2
    monitor = CollapseMonitor.from_data(real, labels)
    healthy = monitor.check(1, {0: torch.rand(20, 1, 8, 8), 1: torch.rand(20, 1, 8, 8)})
    assert healthy["collapsed"] == []
    collapsed = monitor.check(2, {0: torch.rand(1, 1, 8, 8).repeat(20, 1, 1, 1), 1: torch.rand(20, 1, 8, 8)})
    assert collapsed["collapsed"] == [0] and monitor.alarm == [0]


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

    assert resolve(GANConfig(), 50, 64, smallest_class=5).steps == MMD_STEPS  # no D to memorise the few
    assert resolve(GANConfig(loss="mmd"), 5000, 64).steps == MMD_STEPS
    hinge_few, hinge_many = (resolve(GANConfig(loss="hinge"), n, 64).steps for n in (50, 5000))
    assert hinge_few < hinge_many
    assert resolve(GANConfig(steps=7), 50, 64, smallest_class=5).steps == 7  # explicit wins


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


def test_default_augmenter_records_the_objective_it_resolved(digits, tmp_path):
    from ganaug import GANAugmenter
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 10, seed=0)
    aug = GANAugmenter(steps=4, verbose=False).fit(subset)
    assert aug.loss == "auto" and aug.config_.loss == "mmd"
    loaded = GANAugmenter.load(aug.save(tmp_path / "a.safetensors"), device="cpu", verbose=False)
    assert loaded.config_.loss == "mmd"
    np.testing.assert_array_equal(aug.sample(10, seed=0)[0], loaded.sample(10, seed=0)[0])
