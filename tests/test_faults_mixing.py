"""Issue 17, the mixing wrappers: no silent mix of units or layouts, one-line errors, DataLoader ways."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset
from torchvision.transforms import v2

from ganaug import ArrayDataset, GANAugmenter
from ganaug.mixing import GANResampler, SyntheticMixDataset, mix_loader

TO_INPUT = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])  # on uint8 C×H×W
NORMALISE = v2.Compose([v2.ToImage(), TO_INPUT])


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10)
    return x, y


@pytest.fixture(scope="module")
def aug(toy):
    """Trained on uint8 0..255 images."""
    return GANAugmenter(steps=3, batch_size=8, device="cpu", verbose=False, seed=0).fit(*toy)


def test_resampler_refuses_x_in_other_units_or_layouts(aug, toy):
    digits = load_digits()
    keep = digits.target < 4
    X16, y16 = digits.data[keep][:60], digits.target[keep][:60]  # float64 0..16
    # sklearn's own digits beside an augmenter of 0..255 pixels: rows up to 255 would be appended.
    for X in (X16, X16.astype(np.uint8), X16 / 16):
        with pytest.raises(ValueError, match="far below the augmenter's units"):
            GANResampler(aug).fit_resample(X, y16)
    x, y = toy
    skewed = np.r_[0:10, 10:13, 20:30, 30:40]
    # The right number of values in another layout would be reshaped into scrambled images.
    with pytest.raises(ValueError, match=r"pass X shaped \(N, 8, 8\), \(N, 8, 8, 1\) or flattened \(N, 64\)"):
        GANResampler(aug).fit_resample(x[skewed].reshape(-1, 4, 16), y[skewed])
    with pytest.raises(ValueError, match="shaped"):
        GANResampler(aug).fit_resample(x[skewed][:, None], y[skewed])  # (N, 1, 8, 8)
    # What is the augmenter's own units and layout is still taken, and comes back so.
    for X in (x[skewed], x[skewed].reshape(-1, 64), x[skewed][..., None], x[skewed].astype(np.float32)):
        X_res, y_res = GANResampler(aug).fit_resample(X, y[skewed])
        assert X_res.shape[1:] == X.shape[1:] and X_res.dtype == X.dtype
        assert np.bincount(y_res).tolist() == [10, 10, 10, 10]
    # An augmenter fitted on those 0..16 floats resamples them, and refuses them as integers or 0..1.
    aug16 = GANAugmenter(steps=3, batch_size=8, device="cpu", verbose=False).fit(X16, y16, image_shape=(8, 8))
    X_res, _ = GANResampler(aug16).fit_resample(X16, y16)
    assert X_res.dtype == np.float64 and 0 <= X_res.min() and X_res.max() <= 16
    with pytest.raises(ValueError, match=r"X\.astype\(np\.float64\)"):
        GANResampler(aug16).fit_resample(X16.astype(np.int64), y16)
    with pytest.raises(ValueError, match="far below"):
        GANResampler(aug16).fit_resample(X16 / 16, y16)


def test_mix_loader_refuses_normalised_batches_without_transform(aug, toy):
    x, y = toy
    normalised = DataLoader(ArrayDataset(x, y, transform=NORMALISE), batch_size=8)
    with pytest.raises(ValueError, match=r"-1\.\.1.*pass mix_loader\(transform=\.\.\.\)"):
        next(iter(mix_loader(normalised, aug, ratio=1.0)))
    # With the dataset's own tensor/normalise steps, synthetic items share the real units.
    xs, _, mask = next(iter(mix_loader(normalised, aug, ratio=1.0, transform=TO_INPUT, return_mask=True)))
    assert xs.dtype == torch.float32 and xs[mask].min() < 0
    # ToTensor's 0..1 floats, and integer pixels, get synthetic items in their own units.
    unit = torch.as_tensor(x[:, None] / 255.0, dtype=torch.float32)

    def as_loader(images: torch.Tensor) -> DataLoader:
        return DataLoader(TensorDataset(images, torch.as_tensor(y)), batch_size=8)

    xs, _, mask = next(iter(mix_loader(as_loader(unit), aug, ratio=1.0, return_mask=True)))
    assert 0 <= xs[mask].min() and xs[mask].max() <= 1
    ints = torch.as_tensor(x[:, None], dtype=torch.int64)
    xs, _, mask = next(iter(mix_loader(as_loader(ints), aug, ratio=1.0, return_mask=True)))
    assert xs.dtype == torch.int64 and xs[mask].max() > 1  # pixels, not 0/1
    # A loader whose later batches change units is caught there.
    shifted = unit.clone()
    shifted[8:] = shifted[8:] * 2 - 1
    batches = iter(mix_loader(as_loader(shifted), aug, ratio=1.0))
    next(batches)
    with pytest.raises(ValueError, match="normalisation"):
        next(batches)


def test_ratio_must_be_a_real_number(aug, toy):
    x, y = toy
    for ratio in ("0.5", True, None, [0.5]):
        with pytest.raises(ValueError, match="ratio must be a finite real number"):
            SyntheticMixDataset(ArrayDataset(x, y), aug, ratio=ratio)
        with pytest.raises(ValueError, match="ratio must be a finite real number"):
            mix_loader(DataLoader(ArrayDataset(x, y)), aug, ratio=ratio)
    assert SyntheticMixDataset(ArrayDataset(x, y), aug, ratio=np.float32(0.5)).n_synthetic == 20


def test_mix_loader_reads_through_its_loader_and_set_epoch_reseeds(aug, toy):
    x, y = toy
    data = ArrayDataset(x, y)
    sampler = DistributedSampler(data, num_replicas=2, rank=0, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=5, sampler=sampler, drop_last=True)
    mixed = mix_loader(loader, aug, ratio=1.0, labels="uniform", return_mask=True)
    names = ("dataset", "batch_size", "sampler", "batch_sampler", "num_workers", "drop_last", "collate_fn")
    for name in names:
        assert getattr(mixed, name) is getattr(loader, name)
    with pytest.raises(AttributeError):
        mixed.sampler = None

    def synthetic() -> torch.Tensor:
        return torch.cat([xs[mask] for xs, _, mask in mixed])

    mixed.set_epoch(3)
    assert sampler.epoch == 3
    first = synthetic()
    mixed.set_epoch(3)
    torch.testing.assert_close(synthetic(), first, rtol=0, atol=0)
    mixed.set_epoch(4)
    assert sampler.epoch == 4 and not torch.equal(synthetic(), first)
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        mixed.set_epoch(-1)


def test_a_subset_of_a_normalising_dataset_mixes_real_and_synthetic_items_alike(aug, toy):
    # The transform sits on the dataset inside the Subset: synthetic items must go through it too,
    # or real items in [-1, 1] would sit beside synthetic PIL images / 0..1 tensors.
    base = ArrayDataset(*toy, transform=NORMALISE)
    mixed = SyntheticMixDataset(torch.utils.data.Subset(base, list(range(0, 40, 2))), aug, ratio=1.0)
    real, synthetic = mixed[0][0], mixed[len(mixed) - 1][0]
    assert isinstance(real, torch.Tensor) and isinstance(synthetic, torch.Tensor)
    assert real.dtype == synthetic.dtype == torch.float32 and real.shape == synthetic.shape
    assert float(synthetic.min()) >= -1 and float(synthetic.max()) <= 1 and float(synthetic.min()) < 0
    DataLoader(mixed, batch_size=len(mixed)).__iter__().__next__()  # the two collate into one batch
