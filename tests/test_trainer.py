"""The trainer and the objectives it runs: what each builds, calls back and checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug import GANAugmenter
from ganaug.models import Sampler
from ganaug.training import AdversarialObjective, GANConfig, MatchingObjective, Trainer, resolve
from ganaug.training.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(-1, 1, size=(24, 1, 8, 8))).float()
    y = torch.arange(24) % 3
    return x, y


@pytest.mark.parametrize("loss, kind, networks", [
    ("mmd", MatchingObjective, {"generator"}),
    ("hinge", AdversarialObjective, {"generator", "discriminator"}),
])
def test_each_objective_builds_only_what_it_trains(data, loss, kind, networks):
    config = resolve(GANConfig(loss=loss, steps=3, batch_size=8, z_dim=8, g_channels=8, d_channels=8), 24, 64)
    trainer = Trainer(config, 3, (1, 8, 8), torch.device("cpu"))
    assert isinstance(trainer.objective, kind) and set(trainer.objective.networks()) == networks
    seen = []
    trainer.train(*data, total_steps=3, progress=False, callbacks=[lambda t: seen.append(t.step)])
    assert seen == [1, 2, 3]
    tensors, meta = trainer.state_tensors()
    assert {k.split(".")[0] for k in tensors} == {"ema", "rng_state", *networks, *trainer.objective.optimizers()}
    assert isinstance(trainer.sampler(), Sampler)


def test_a_matching_network_checkpoint_holds_no_discriminator(tmp_path):
    # The matching network has no D: it must not build, train or save one.
    x = np.random.default_rng(0).integers(0, 256, size=(30, 8, 8), dtype=np.uint8)
    aug = GANAugmenter(loss="mmd", steps=2, batch_size=8, verbose=False, device="cpu").fit(x, np.arange(30) % 3)
    tensors, _ = load_checkpoint(aug.save(tmp_path / "a.safetensors"))
    assert not any(k.startswith(("discriminator.", "opt_d.")) for k in tensors)
    assert not hasattr(aug, "trainer_")  # a fitted augmenter samples through its Sampler alone


def test_the_sampler_draws_reproducibly_and_refuses_unknown_classes(data):
    config = resolve(GANConfig(loss="mmd", steps=1, batch_size=8, z_dim=8, g_channels=8), 24, 64)
    sampler = Trainer(config, 3, (1, 8, 8), torch.device("cpu")).sampler()
    c = torch.tensor([0, 1, 2, 2])
    a = sampler.sample(c, torch.Generator().manual_seed(1))
    b = sampler.sample(c, torch.Generator().manual_seed(1))
    assert a.shape == (4, 1, 8, 8) and torch.equal(a, b)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        sampler.sample(torch.tensor([3]))


def test_balanced_batches_draw_every_class_alike_and_keep_images_with_their_labels():
    from ganaug.training.objectives.base import Batches

    y = torch.tensor([0] * 980 + [1] * 15 + [2] * 5)
    x = y.float()[:, None, None, None].expand(-1, 1, 2, 2)  # each image holds its label
    rng = torch.Generator().manual_seed(0)
    batches = Batches(x, y, batch_size=3000, z_dim=2, rng=rng, sampling="balanced")
    images, labels = batches.real()
    assert torch.equal(images[:, 0, 0, 0].long(), labels)  # an image comes with its own label
    assert torch.bincount(labels, minlength=3).min() > 900  # ~1000 each, not 2,940 / 45 / 15
    assert len(torch.unique(images[labels == 2][:, 0, 0, 0])) == 1 and torch.bincount(batches.labels()).min() > 900
    uniform = Batches(x, y, batch_size=3000, z_dim=2, rng=torch.Generator().manual_seed(0)).real()[1]
    assert torch.bincount(uniform, minlength=3)[2] < 50  # the draw balancing replaces


def test_grouped_batches_hold_a_few_images_of_each_of_few_classes():
    # 200 classes of 5 images, batches of 32: a uniform draw almost never holds two images of a
    # class, which the class-conditional MMD needs; a grouped one holds 8 classes x 4 images.
    from ganaug.training.objectives.base import Batches

    y = torch.arange(200).repeat_interleave(5)
    x = y.float()[:, None, None, None].expand(-1, 1, 2, 2)
    batches = Batches(x, y, batch_size=32, z_dim=2, rng=torch.Generator().manual_seed(0), sampling="grouped")
    seen = set()
    for _ in range(50):
        images, labels = batches.real()
        assert torch.equal(images[:, 0, 0, 0].long(), labels)
        classes, counts = torch.unique(labels, return_counts=True)
        assert len(classes) == 8 and counts.tolist() == [4] * 8
        seen |= set(classes.tolist())
        assert torch.unique(batches.labels(), return_counts=True)[1].tolist() == [4] * 8
    assert len(seen) > 150  # the groups move over the classes
    few = Batches(x[:10], y[:10], batch_size=32, z_dim=2, rng=torch.Generator().manual_seed(0), sampling="grouped")
    assert torch.isin(few.real()[1], torch.tensor([0, 1])).all()  # two classes: eight groups among them


def test_a_generator_learns_a_rare_class_only_from_balanced_batches():
    # One class of 190 dark images, one of 10 bright ones: drawn uniformly, the bright class
    # is ~1/400 of the class-conditional MMD and its samples stay where G started.
    from ganaug import GANAugmenter

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.integers(0, 40, (190, 8, 8)), rng.integers(200, 256, (10, 8, 8))]).astype(np.uint8)
    y = np.array([0] * 190 + [1] * 10)
    errors = {}
    for sampling in ("uniform", "auto"):
        aug = GANAugmenter(loss="mmd", steps=40, sampling=sampling, verbose=False).fit(x, y)
        rare, _ = aug.sample(64, labels=1, seed=0)
        errors[aug.config_.sampling] = abs(float(rare.mean()) - float(x[y == 1].mean()))
    assert errors["balanced"] < 0.5 * errors["uniform"], errors
