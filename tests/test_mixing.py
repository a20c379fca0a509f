"""SyntheticMixDataset, mix_loader and GANResampler, including end-to-end CNN training."""

from __future__ import annotations

import albumentations as A
import numpy as np
import pytest
import torch
from albumentations.pytorch import ToTensorV2
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from ganaug import ArrayDataset, GANAugmenter
from ganaug.mixing import GANResampler, SyntheticMixDataset, mix_loader

V2 = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
ALBU = A.Compose([A.Affine(translate_percent=0.05, p=0.5), A.Normalize(mean=0.5, std=0.5, max_pixel_value=255.0), ToTensorV2()])


class PILDigits(Dataset):
    """A torchvision-style dataset: PIL images, its own transform, ``classes``/``targets``."""

    def __init__(self, base: ArrayDataset, transform=None):
        self.base, self.transform = base, transform
        self.targets, self.classes = base.targets, base.classes

    def __len__(self):
        return len(self.base)

    def __getitem__(self, i):
        img = Image.fromarray(self.base.data[i], mode="L")
        return (self.transform(img) if self.transform else img), int(self.targets[i])


def tiny_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


def train_and_score(batches, test: ArrayDataset, epochs: int = 10) -> float:
    torch.manual_seed(0)
    model = tiny_cnn()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(epochs):
        for x, y in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    x_test = torch.from_numpy(test.data).float().div(255).sub(0.5).div(0.5)[:, None]
    with torch.no_grad():
        return float((model(x_test).argmax(1).numpy() == test.targets).mean())


# -- SyntheticMixDataset ---------------------------------------------------------------------
def test_mix_dataset_sizes_mask_and_raw_form(small_aug, digits):
    mixed = SyntheticMixDataset(digits, small_aug, ratio=0.5, seed=1)
    n_syn = round(0.5 * len(digits))
    assert len(mixed) == len(digits) + n_syn
    assert mixed.synthetic_mask.sum() == n_syn and mixed.is_synthetic(len(digits)) and not mixed.is_synthetic(0)
    real_img, _ = mixed[0]
    syn_img, syn_t = mixed[len(digits)]
    assert type(syn_img) is type(real_img) and syn_img.dtype == real_img.dtype and syn_img.shape == real_img.shape
    assert syn_t in range(10) and len(mixed.targets) == len(mixed)


def test_mix_dataset_matches_pil_and_reuses_the_dataset_transform(small_aug, digits):
    raw = SyntheticMixDataset(PILDigits(digits), small_aug, ratio=0.1)
    assert isinstance(raw[len(digits)][0], Image.Image) and raw[len(digits)][0].mode == "L"
    mixed = SyntheticMixDataset(PILDigits(digits, transform=V2), small_aug, ratio=0.1)
    real, syn = mixed[0][0], mixed[len(digits)][0]
    assert real.shape == syn.shape == (1, 8, 8) and real.dtype == syn.dtype == torch.float32
    assert -1.0 <= float(syn.min()) and float(syn.max()) <= 1.0
    with pytest.raises(ValueError, match="both the real dataset and SyntheticMixDataset have a transform"):
        SyntheticMixDataset(PILDigits(digits, transform=V2), small_aug, transform=V2)


def test_a_whole_batch_reads_as_the_items_one_by_one_and_trains_the_same_bits(small_aug, digits):
    from ganaug.evaluation.augment import ToModelInput
    from ganaug.training.classifier import TorchClassifier, batch_reader

    mixed = SyntheticMixDataset(digits.subset(np.arange(60)), small_aug, ratio=1.0, transform=ToModelInput(), seed=2)
    idx = np.array([59, 0, 60, 119, 3, 75, 75])  # real and synthetic, out of order, repeated
    x, y = batch_reader(mixed)(idx)
    one_by_one = [mixed[int(i)] for i in idx]
    assert torch.equal(x, torch.stack([a for a, _ in one_by_one]))
    assert torch.equal(y, torch.tensor([b for _, b in one_by_one]))

    class ItemByItem(Dataset):  # the same items without a batch reader
        def __init__(self, data):
            self.data = data

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            return self.data[i]

    fits = [TorchClassifier(steps=6, batch_size=16, device="cpu").fit_dataset(d, (8, 8), 10) for d in (mixed, ItemByItem(mixed))]
    assert all(torch.equal(a, b) for a, b in zip(*(f.model_.state_dict().values() for f in fits), strict=True))
    # A transform that works image by image, or a dataset with transforms of its own: no batch reader.
    assert batch_reader(SyntheticMixDataset(digits, small_aug, ratio=0.5, transform=V2)) is None
    assert batch_reader(SyntheticMixDataset(PILDigits(digits, V2), small_aug, ratio=0.5)) is None


def test_refresh_draws_a_new_bank(small_aug, digits):
    mixed = SyntheticMixDataset(digits, small_aug, ratio=0.2, seed=0)
    before = mixed.bank.copy()
    mixed.refresh(epoch=1)
    assert not np.array_equal(before, mixed.bank)
    mixed.refresh(epoch=0)
    np.testing.assert_array_equal(before, mixed.bank)


def test_balance_fills_small_classes_first(small_aug, digits):
    from ganaug.data import imbalance

    skewed = imbalance(digits, {0: 5, 1: 10})
    mixed = SyntheticMixDataset(skewed, small_aug, ratio=0.1, balance=True)
    counts = np.bincount(mixed.targets, minlength=10)
    synthetic = np.bincount(mixed.bank_targets, minlength=10)
    # Water-filling: the two short classes are lifted to one level, the others get nothing.
    assert synthetic[0] > synthetic[1] > 0 and synthetic[2:].sum() == 0
    assert abs(int(counts[0]) - int(counts[1])) <= 1 and counts[0] < counts[2:].min()


def test_label_and_shape_mismatches_are_errors(small_aug, toy_arrays):
    x, y = toy_arrays
    # A dataset without .targets is checked batch by batch: labels 10-12 are no class of the augmenter.
    plain = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y + 9))
    with pytest.raises(ValueError, match=r"label\(s\) \[10, 11, 12\]"):
        list(mix_loader(DataLoader(plain, batch_size=40), small_aug, ratio=1.0))
    mixed = SyntheticMixDataset(ArrayDataset(x, y), small_aug, ratio=0.5)
    with pytest.raises(IndexError):
        mixed[-len(mixed) - 1]
    with pytest.raises(ValueError, match="not trained on"):
        SyntheticMixDataset(ArrayDataset(x, y + 10), small_aug)
    with pytest.raises(ValueError, match="augmenter draws"):
        SyntheticMixDataset(ArrayDataset(np.zeros((4, 16, 16), np.uint8), [0, 1, 0, 1]), small_aug)
    with pytest.raises(ValueError, match="ratio"):
        SyntheticMixDataset(ArrayDataset(x, y), small_aug, ratio=-1)


@pytest.mark.parametrize("transform", [V2, ALBU], ids=["torchvision-v2", "albumentations"])
def test_mix_dataset_trains_a_cnn_with_workers(small_aug, digits, digits_test, transform):
    mixed = SyntheticMixDataset(digits, small_aug, ratio=0.5, transform=transform)
    loader = DataLoader(mixed, batch_size=64, shuffle=True, num_workers=2)
    x, y = next(iter(loader))
    assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.float32
    accuracy = train_and_score(loader, digits_test)
    assert accuracy > 0.5  # chance is 0.1


# -- mix_loader ------------------------------------------------------------------------------
def test_mix_loader_batches(small_aug, digits):
    base = DataLoader(PILDigits(digits, transform=V2), batch_size=32, shuffle=False)
    post = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    mixed = mix_loader(base, small_aug, ratio=0.5, transform=post, return_mask=True)
    assert len(mixed) == len(base)
    sizes, fractions = [], []
    for x, y, mask in mixed:
        assert x.shape[1:] == (1, 8, 8) and len(x) == len(y) == len(mask)
        assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
        sizes.append(len(x))
        fractions.append(float(mask.float().mean()))
    assert abs(np.mean(fractions) - 1 / 3) < 0.05  # 0.5 synthetic per real = a third of each batch
    plain = next(iter(mix_loader(DataLoader(digits, batch_size=8), small_aug, ratio=1.0)))
    assert plain[0].dtype == torch.uint8 and len(plain[0]) == 16


def test_mix_loader_shape_mismatch_tells_the_user_to_pass_a_transform(small_aug, digits):
    flat = DataLoader(PILDigits(digits, transform=v2.Compose([V2, v2.Lambda(lambda t: t.flatten())])), batch_size=8)
    with pytest.raises(ValueError, match="mix_loader\\(transform=...\\)"):
        next(iter(mix_loader(flat, small_aug, ratio=1.0)))


@pytest.mark.parametrize("kind", ["torchvision-v2", "albumentations"])
def test_mix_loader_trains_a_cnn_with_workers(small_aug, digits, digits_test, kind):
    if kind == "albumentations":
        base_ds = ArrayDataset(digits.data, digits.targets, transform=ALBU)
        post = ALBU
    else:
        base_ds = PILDigits(digits, transform=V2)
        post = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    loader = DataLoader(base_ds, batch_size=64, shuffle=True, num_workers=2)
    accuracy = train_and_score(mix_loader(loader, small_aug, ratio=0.5, transform=post), digits_test)
    assert accuracy > 0.5


# -- GANResampler ----------------------------------------------------------------------------
def test_resampler_balances_flattened_arrays(small_aug, digits):
    from ganaug.data import imbalance

    skewed = imbalance(digits, {3: 20, 5: 40})
    X, y = skewed.data.reshape(len(skewed), -1), skewed.targets
    X_res, y_res = GANResampler(small_aug).fit_resample(X, y)
    counts = np.bincount(y_res)
    assert X_res.shape[1] == 64 and X_res.dtype == X.dtype and (counts == counts.max()).all()
    np.testing.assert_array_equal(X_res[: len(X)], X)
    X_d, y_d = GANResampler(small_aug, sampling_strategy={3: 30}).fit_resample(X, y)
    assert np.bincount(y_d)[3] == 30 and len(y_d) == len(y) + 10
    with pytest.raises(ValueError, match="should be greater or equal to the original number"):
        GANResampler(small_aug, sampling_strategy={3: 5}).fit_resample(X, y)
    with pytest.raises(ValueError, match="When .sampling_strategy. is a string"):
        GANResampler(small_aug, sampling_strategy="bogus").fit_resample(X, y)
    # The synthetic rows come in the augmenter's units: X in other units or sizes is refused.
    with pytest.raises(ValueError, match="trained on 0..255"):
        GANResampler(small_aug).fit_resample(X.astype(np.float32) / 255, y)
    binary = (X > 8).astype(np.uint8)  # 0/1 integers: binary images, as the augmenter's uint8 units
    assert len(GANResampler(small_aug).fit_resample(binary, y)[0]) > len(binary)
    with pytest.raises(ValueError, match="100 values per image"):
        GANResampler(small_aug).fit_resample(np.zeros((len(y), 100), np.uint8), y)


def test_resampler_fits_its_own_augmenter(toy_arrays):
    x, y = toy_arrays
    keep = np.r_[0:10, 10:13, 20:30, 30:40]
    res = GANResampler(GANAugmenter(steps=3, batch_size=8, verbose=False), random_state=1)
    X_res, y_res = res.fit_resample(x[keep], y[keep])
    assert np.bincount(y_res).tolist() == [10, 10, 10, 10] and X_res.shape[1:] == (8, 8)
    assert res.augmenter_.seed == 1


def test_label_values_other_than_positions_come_back_as_values(toy_arrays):
    # Labels 3, 7, 42 sit at positions 0, 1, 2: every wrapper must hand back values, not positions.
    x, y = toy_arrays
    keep = y < 3
    values = np.array([3, 7, 42])[y[keep]]
    aug = GANAugmenter(steps=2, batch_size=8, verbose=False).fit(x[keep], values)
    assert aug.sample(6, labels=42, seed=0)[1].tolist() == [42] * 6
    assert set(aug.sample(30, seed=0)[1].tolist()) == {3, 7, 42}
    only7 = torch.utils.data.TensorDataset(torch.as_tensor(x[:8]), torch.full((8,), 7))
    for _, batch_y in mix_loader(DataLoader(only7, batch_size=8), aug, ratio=1.0):
        assert set(batch_y.tolist()) == {7}  # synthetic labels drawn from the batch's own
    mixed = SyntheticMixDataset(ArrayDataset(x[keep], values), aug, ratio=1.0)
    assert set(mixed.bank_targets.tolist()) <= {3, 7, 42}
    X_res, y_res = GANResampler(aug, sampling_strategy={42: 15}).fit_resample(x[keep], values)
    assert np.bincount(y_res)[[3, 7, 42]].tolist() == [10, 10, 15] and len(X_res) == len(y_res)


def test_resampler_strategies_agree_and_mix_loader_uniform_labels(toy_arrays):
    x, y = toy_arrays
    keep = np.r_[0:10, 10:14, 20:26, 30:40]  # class counts 10, 4, 6, 10
    aug = GANAugmenter(steps=2, batch_size=8, verbose=False).fit(x, y)
    X, Y = x[keep], y[keep]
    _, half = GANResampler(aug, sampling_strategy=0.5).fit_resample(X, Y)
    assert np.bincount(half).tolist() == [10, 5, 6, 10]  # each class up to ceil(0.5 × 10)
    _, by_dict = GANResampler(aug, sampling_strategy={1: 9, 2: 9}).fit_resample(X, Y)
    _, by_callable = GANResampler(aug, sampling_strategy=lambda labels: {1: 9, 2: 9}).fit_resample(X, Y)
    assert np.bincount(by_dict).tolist() == np.bincount(by_callable).tolist() == [10, 9, 9, 10]
    with pytest.raises(ValueError, match=r"in the range \(0, 1\]"):
        GANResampler(aug, sampling_strategy=1.5).fit_resample(X, Y)
    # "uniform" ignores the batch's labels: a batch of class 0 still gets every class.
    zeros = torch.utils.data.TensorDataset(torch.as_tensor(x[:10]), torch.zeros(10, dtype=torch.long))
    mixed = mix_loader(DataLoader(zeros, batch_size=10), aug, ratio=4.0, labels="uniform", return_mask=True)
    _, labels, mask = next(iter(mixed))
    assert set(labels[mask].tolist()) == {0, 1, 2, 3}
    with pytest.raises(ValueError, match="'batch' or 'uniform'"):
        mix_loader(DataLoader(zeros), aug, labels="classes")
