"""DAGANAugmenter: the image-conditional networks, the pair game, the estimator, its sampler for
the mixing wrappers and its transform in torchvision and albumentations pipelines."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import tv_tensors
from torchvision.transforms import v2

from ganaug import (
    ArrayDataset,
    CheckpointError,
    ConditionedDAGAN,
    DAGANAugmenter,
    DAGANTransform,
    GANAugmenter,
    GANResampler,
    SyntheticMixDataset,
    mix_loader,
)
from ganaug.models import DAGANGenerator, PairDiscriminator
from ganaug.training.checkpoint import save_checkpoint
from ganaug.training.losses import mode_seeking
from ganaug.training.objectives.pairs import ClassGroups, SamePairs

TINY = {"batch_size": 8, "z_dim": 4, "channels": 8, "d_channels": 8, "monitor_every": 10, "device": "cpu"}


def toy_images(classes: list[int], per_class: int, side: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class c is a bright bar in row c % side on a noisy dark background."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.asarray(classes), per_class)
    images = rng.integers(0, 60, size=(len(labels), side, side), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, c % side, :] = rng.integers(180, 256, size=side)
    return images, labels


@pytest.fixture(scope="module")
def source():
    images, labels = toy_images([0, 1, 2, 3], per_class=6)
    return ArrayDataset(images, labels, classes=["a", "b", "c", "d"])


@pytest.fixture(scope="module")
def dagan(source):
    return DAGANAugmenter(steps=30, seed=0, **TINY).fit(source)


@pytest.fixture(scope="module")
def unseen():
    """Images of classes the DAGAN never saw (labels 4 and 6 of eight names)."""
    images, labels = toy_images([4, 6], per_class=4, seed=1)
    return ArrayDataset(images, labels, classes=[f"k{i}" for i in range(8)])


# -- networks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("hw", [(8, 8), (12, 12), (28, 28), (32, 32), (9, 13)])
@pytest.mark.parametrize("c", [1, 3])
def test_networks_keep_the_image_shape_and_score_pairs(hw, c):
    g, d = DAGANGenerator((c, *hw), z_dim=4, channels=8), PairDiscriminator((c, *hw), channels=8)
    x = torch.rand(3, c, *hw) * 2 - 1
    with torch.no_grad():
        out = g(x, torch.randn(3, 4))
    assert out.shape == x.shape and float(out.abs().max()) <= 1.0
    assert d(x, out).shape == (3,)


def test_generator_uses_its_noise_and_its_image():
    g = DAGANGenerator((1, 8, 8), z_dim=4, channels=8).eval()
    x, z = torch.rand(2, 1, 8, 8) * 2 - 1, torch.randn(2, 4)
    assert not torch.equal(g(x, z), g(x, torch.randn(2, 4)))
    assert not torch.equal(g(x, z), g(x.flip(0), z))


def test_the_warp_head_starts_at_the_identity():
    g = DAGANGenerator((1, 12, 12), z_dim=4, channels=8, head="warp").eval()
    x = torch.rand(3, 1, 12, 12) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(g(x, torch.randn(3, 4)), x, atol=1e-5)


def test_the_warp_head_moves_ink_no_further_than_its_limit():
    """A single dot of ink, however hard the field pushes, lands within warp_limit of the side."""
    side, limit = 28, 0.1
    g = DAGANGenerator((1, side, side), z_dim=4, channels=8, head="warp", warp_limit=limit).eval()
    torch.nn.init.normal_(g.to_image.weight, std=5.0)  # a saturated, far-from-identity field
    x = torch.full((16, 1, side, side), -1.0)
    x[:, :, 14, 14] = 1.0
    with torch.no_grad():
        out = g(x, torch.randn(16, 4))
    assert not torch.allclose(out, x, atol=1e-2)  # it does move things
    ink = (out[:, 0] > -0.9).nonzero()[:, 1:].float()  # (row, col) of every inked pixel
    assert float((ink - 14).abs().max()) <= limit * side + 1  # + 1: bilinear spreads a pixel


def test_a_coarser_warp_grid_bends_the_whole_shape_instead_of_wobbling_strokes():
    """The same raw field, smoothed on 7 (a quarter of 28), 3 or 1 control points per side: the
    horizontal shift it gives a left-to-right ramp changes less from column to column."""
    side = 28
    ramp = torch.linspace(-1, 1, side).expand(8, 1, side, side).contiguous()
    field = torch.randn(8, 2, side, side, generator=torch.Generator().manual_seed(0)) * 3
    shifts = {}
    for grid in (0, 3, 1):
        g = DAGANGenerator((1, side, side), z_dim=4, channels=8, head="warp", warp_grid=grid)
        with torch.no_grad():
            moved = g._warp(ramp, field)
        shifts[grid] = ((moved - ramp) * (side - 1) / 2)[:, 0, :, 3:-3]  # pixels, away from the border's clamp
    wobble = {grid: float(s.diff(dim=-1).abs().mean()) for grid, s in shifts.items()}
    assert float(shifts[0].abs().max()) > 1.0  # the default does move the ramp
    assert wobble[3] < 0.6 * wobble[0]
    assert float(shifts[1].std(dim=(1, 2)).max()) < 1e-3  # 1 point: one shift for the whole image
    with pytest.raises(ValueError, match="warp_grid must be an integer >= 0"):
        DAGANGenerator((1, side, side), head="warp", warp_grid=-1)


def test_dagan_settings_refuse_an_unknown_head_or_limit():
    with pytest.raises(ValueError, match="head must be 'image' or 'warp'"):
        DAGANAugmenter(head="flow", **TINY).get_config()
    with pytest.raises(ValueError, match=r"warp_limit must be a finite number in \(0, 1\]"):
        DAGANAugmenter(head="warp", warp_limit=0.0, **TINY).get_config()


def test_a_warp_dagan_keeps_its_head_through_save_and_load(source, tmp_path):
    warp = DAGANAugmenter(steps=10, head="warp", warp_limit=0.2, warp_grid=2, seed=0, **TINY).fit(source)
    loaded = DAGANAugmenter.load(warp.save(tmp_path / "warp.safetensors"))
    assert loaded.generator_.head == "warp" and loaded.get_params()["warp_limit"] == 0.2
    assert loaded.generator_.warp_grid == 2
    assert loaded.augment(source.data, seed=3).tobytes() == warp.augment(source.data, seed=3).tobytes()


# -- pairs ---------------------------------------------------------------------------------------
def test_pairs_are_two_different_images_of_one_class():
    y = torch.tensor([3, 0, 1, 0, 3, 1, 1, 0, 2, 2])
    pairs = SamePairs(y)
    rng = torch.Generator().manual_seed(0)
    idx = torch.randint(len(y), (2000,), generator=rng)
    other = pairs.partners(idx, rng)
    assert torch.equal(y[other], y[idx]) and bool((other != idx).all())
    for i in range(len(y)):  # every other image of the class is drawn as a partner
        assert set(other[idx == i].tolist()) == set(torch.nonzero(y == y[i]).flatten().tolist()) - {i}


def test_class_groups_pick_images_of_the_class_asked_for():
    y = torch.tensor([1, 0, 1, 2, 1])
    c = torch.tensor([0, 1, 2] * 100)
    picked = ClassGroups(y).pick(c, torch.Generator().manual_seed(0))
    assert torch.equal(y[picked], c) and set(picked[c == 1].tolist()) == {0, 2, 4}


def test_pairs_refuse_a_class_of_one_image():
    with pytest.raises(ValueError, match="1 image"):
        SamePairs(torch.tensor([0, 0, 1]))


# -- fitting -------------------------------------------------------------------------------------
def test_a_short_fit_records_finite_losses(dagan, source):
    assert dagan.n_steps_ == 30 and dagan.classes_.tolist() == [0, 1, 2, 3]
    assert dagan.class_names_ == ["a", "b", "c", "d"] and dagan.image_shape_ == (8, 8)
    assert not dagan.generator_.training
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert dagan.history_[key] and np.isfinite(dagan.history_[key]).all()
    assert dagan.monitor_ and dagan.monitor_[-1]["step"] == 30


def test_fit_refuses_a_class_of_one_image_by_name():
    images, labels = toy_images([0, 1], per_class=3)
    labels[-2:] = [5, 1]  # class 5 has a single image
    with pytest.raises(ValueError, match=r"pairs of two different images.*class\(es\) 5 have 1 image"):
        DAGANAugmenter(steps=1, **TINY).fit(images, labels)


def test_fit_refuses_float_pixels_and_bad_settings(source):
    images, labels = toy_images([0, 1], per_class=3)
    with pytest.raises(ValueError, match="uint8"):
        DAGANAugmenter(steps=1, **TINY).fit(images / 255.0, labels)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        DAGANAugmenter(**(TINY | {"batch_size": 8}), steps=0).fit(source)


def test_fit_is_reproducible_for_a_seed(source):
    a, b = (DAGANAugmenter(steps=4, seed=3, **TINY).fit(source) for _ in range(2))
    assert a.augment(source.data, seed=0).tobytes() == b.augment(source.data, seed=0).tobytes()


def test_the_mode_seeking_term_makes_other_noise_draw_other_variants(source):
    # Without it G may answer every z with the same variant (the first Omniglot build did).
    def noise_gap(weight: float) -> float:
        fitted = DAGANAugmenter(steps=60, seed=0, diversity_weight=weight, **(TINY | {"ema_decay": 0.0})).fit(source)
        first, second = (fitted.augment(source.data, seed=s).astype(float) for s in (0, 1))
        return float(np.abs(first - second).mean())

    assert noise_gap(1.0) > 2 * noise_gap(0.0)


def test_mode_seeking_is_large_when_two_noises_give_one_image():
    z = torch.randn(8, 4)
    same = torch.rand(4, 1, 8, 8).repeat(2, 1, 1, 1)
    other = torch.rand(8, 1, 8, 8)
    assert float(mode_seeking(same, z)) > 100 * float(mode_seeking(other, z))
    with pytest.raises(ValueError, match="diversity_weight must be a finite number >= 0"):
        DAGANAugmenter(steps=1, diversity_weight=-1.0, **TINY).fit(ArrayDataset(*toy_images([0, 1], per_class=3)))


def test_fits_at_28_by_28_in_colour():
    images, labels = toy_images([0, 1], per_class=2, side=28)
    rgb = np.repeat(images[..., None], 3, axis=-1)
    dagan = DAGANAugmenter(steps=2, **TINY).fit(rgb, labels)
    assert dagan.augment(rgb[:3], seed=0).shape == (3, 28, 28, 3)


# -- augment -------------------------------------------------------------------------------------
def test_augment_keeps_shape_and_dtype(dagan, source):
    batch = source.data[:5]
    out = dagan.augment(batch, seed=0)
    assert out.shape == batch.shape and out.dtype == np.uint8 and not np.array_equal(out, batch)
    assert dagan.augment(batch[0], seed=0).shape == (8, 8)
    assert dagan.augment(batch[..., None], seed=0).shape == (5, 8, 8, 1)
    assert dagan.augment(torch.from_numpy(batch), seed=0).shape == (5, 8, 8)
    assert dagan.augment(batch[:0]).shape == (0, 8, 8)


def test_augment_refuses_other_images(dagan, source):
    with pytest.raises(ValueError, match="uint8"):
        dagan.augment(source.data[:2] / 255.0)
    with pytest.raises(ValueError, match=r"shaped \(2, 9, 9\).*\(8, 8\)"):
        dagan.augment(np.zeros((2, 9, 9), np.uint8))
    with pytest.raises(RuntimeError, match="not fitted"):
        DAGANAugmenter().augment(source.data[:2])


def test_augment_is_deterministic_for_a_seed(dagan, source):
    first = dagan.augment(source.data, seed=7)
    assert first.tobytes() == dagan.augment(source.data, seed=7).tobytes()
    assert first.tobytes() == dagan.augment(source.data, seed=7, batch_size=5).tobytes()
    assert first.tobytes() != dagan.augment(source.data, seed=8).tobytes()
    assert dagan.augment(source.data).tobytes() != dagan.augment(source.data).tobytes()  # fresh draws


# -- persistence ---------------------------------------------------------------------------------
def test_save_load_round_trip_gives_the_same_bytes(dagan, source, tmp_path):
    path = dagan.save(tmp_path / "dagan")
    assert path.name == "augmenter.safetensors" and path.with_suffix(".json").is_file()
    state = torch.random.get_rng_state()
    loaded = DAGANAugmenter.load(tmp_path / "dagan")
    assert torch.equal(torch.random.get_rng_state(), state)
    assert loaded.get_params() == dagan.get_params() | {"device": "auto"}
    assert loaded.classes_.tolist() == [0, 1, 2, 3] and loaded.class_names_ == dagan.class_names_
    assert loaded.history_ == dagan.history_ and loaded.n_steps_ == 30
    assert loaded.augment(source.data, seed=5).tobytes() == dagan.augment(source.data, seed=5).tobytes()


def test_checkpoints_of_the_two_estimators_are_told_apart(dagan, tmp_path):
    dagan_path = dagan.save(tmp_path / "d.safetensors")
    with pytest.raises(CheckpointError, match="DAGANAugmenter checkpoint.*DAGANAugmenter.load"):
        GANAugmenter.load(dagan_path)
    other = save_checkpoint(tmp_path / "g.safetensors", {"ema.w": torch.zeros(1)}, {"config": {}})
    with pytest.raises(CheckpointError, match="not a DAGANAugmenter checkpoint"):
        DAGANAugmenter.load(other)
    with pytest.raises(ValueError, match="never torch.save pickles"):
        dagan.save(tmp_path / "model.pt")


# -- conditioning on new classes -----------------------------------------------------------------
def test_condition_on_draws_classes_the_dagan_never_saw(dagan, unseen):
    sampler = dagan.condition_on(unseen)
    assert isinstance(sampler, ConditionedDAGAN)
    assert sampler.classes_.tolist() == [4, 6] and sampler.class_names_ == ["k4", "k6"]
    images, labels = sampler.sample(6, labels=[6, 4, 6, 4, 4, 6], seed=0)
    assert images.shape == (6, 8, 8) and images.dtype == np.uint8 and labels.tolist() == [6, 4, 6, 4, 4, 6]
    assert images.tobytes() == sampler.sample(6, labels=labels, seed=0)[0].tobytes()
    x = sampler.sample_tensor(torch.tensor([0, 1, 1]), torch.Generator().manual_seed(0))
    assert x.shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="not one of the augmenter's classes"):
        sampler.sample(2, labels=[0, 4])


def test_each_variant_comes_from_a_reference_of_its_class(dagan, unseen, monkeypatch):
    sampler = dagan.condition_on(unseen.data, unseen.targets, classes=unseen.classes)
    monkeypatch.setattr(dagan, "variants_tensor", lambda x, generator=None: x)  # G = identity
    images, labels = sampler.sample(40, seed=1)
    refs = {c: {im.tobytes() for im in unseen.data[unseen.targets == c]} for c in (4, 6)}
    assert all(im.tobytes() in refs[int(c)] for im, c in zip(images, labels, strict=True))
    assert {im.tobytes() for im in images} == refs[4] | refs[6]  # every reference gets its turn


def test_condition_on_refuses_references_of_another_shape(dagan):
    with pytest.raises(ValueError, match="reference images are shaped"):
        dagan.condition_on(np.zeros((2, 9, 9), np.uint8), [0, 1])


def test_mixing_wrappers_take_the_conditioned_sampler(dagan, unseen):
    sampler = dagan.condition_on(unseen)
    mixed = SyntheticMixDataset(unseen, sampler, ratio=1.0, seed=0)
    assert len(mixed) == 2 * len(unseen) and mixed.synthetic_mask.sum() == len(unseen)
    image, target = mixed[len(unseen)]
    assert image.shape == (8, 8) and image.dtype == np.uint8 and target in (4, 6)
    assert set(mixed.targets[mixed.synthetic_mask].tolist()) <= {4, 6}
    loader = mix_loader(DataLoader(unseen, batch_size=4), sampler, ratio=1.0, return_mask=True)
    x, y, mask = next(iter(loader))
    assert x.shape == (8, 8, 8) and x.dtype == torch.uint8 and int(mask.sum()) == 4
    assert set(y.tolist()) <= {4, 6}
    X, y = GANResampler(sampler, sampling_strategy={4: 6, 6: 5}).fit_resample(unseen.data, unseen.targets)
    assert X.shape == (11, 8, 8) and X.dtype == np.uint8 and np.bincount(y).tolist()[4:] == [6, 0, 5]


# -- the transform -------------------------------------------------------------------------------
def test_transform_in_a_torchvision_v2_pipeline(dagan, source):
    image = source.data[0]
    pipe = v2.Compose([DAGANTransform(dagan, p=1.0, seed=0), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    out = pipe(image)
    assert out.shape == (1, 8, 8) and out.dtype == torch.float32
    again = v2.Compose([DAGANTransform(dagan, p=1.0, seed=0), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    assert torch.equal(out, again(image)) and not torch.equal(out, v2.ToDtype(torch.float32, scale=True)(v2.ToImage()(image)))
    assert DAGANTransform(dagan, p=0.0)(image) is image
    t = DAGANTransform(dagan, p=1.0, seed=0)
    assert isinstance(t(Image.fromarray(image)), Image.Image)
    as_tensor = torch.from_numpy(image)[None]
    assert t(as_tensor).dtype == torch.uint8 and t(as_tensor.float() / 255).dtype == torch.float32
    assert isinstance(t(tv_tensors.Image(as_tensor)), tv_tensors.Image)


def test_transform_in_an_albumentations_pipeline(dagan, source):
    image = source.data[0]

    def pipe(p: float) -> A.Compose:
        return A.Compose([DAGANTransform(dagan, p=p), A.HorizontalFlip(p=0.5)], seed=3)

    out = pipe(1.0)(image=image)["image"]
    assert out.shape == (8, 8) and out.dtype == np.uint8
    assert np.array_equal(out, pipe(1.0)(image=image)["image"])
    assert not np.array_equal(out, image) and not np.array_equal(out, image[:, ::-1])
    kept = pipe(0.0)(image=image)["image"]
    assert np.array_equal(kept, image) or np.array_equal(kept, image[:, ::-1])


def test_transform_as_a_dataset_transform(dagan, source):
    ds = ArrayDataset(source.data, source.targets, transform=DAGANTransform(dagan, p=1.0, seed=0))
    image, target = ds[0]
    assert image.shape == (8, 8) and image.dtype == np.uint8 and target == 0


# -- on a GPU ------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_trains_draws_and_mixes_on_cuda(source, unseen, tmp_path):
    dagan = DAGANAugmenter(steps=5, seed=0, **(TINY | {"device": "cuda"})).fit(source)
    assert dagan.device_.type == "cuda"
    out = dagan.augment(source.data, seed=1)
    assert out.tobytes() == DAGANAugmenter.load(dagan.save(tmp_path / "d"), device="cuda").augment(source.data, seed=1).tobytes()
    x, y = next(iter(mix_loader(DataLoader(unseen, batch_size=4), dagan.condition_on(unseen), ratio=1.0)))
    assert x.shape == (8, 8, 8) and x.device.type == "cpu" and set(y.tolist()) <= {4, 6}
