"""Issue 17, data inputs: each bad or unusual input is read right or refused in one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from ganaug import GANAugmenter
from ganaug.augmenter import _read_training_data
from ganaug.data import ArrayDataset, as_array_dataset, few_shot, load_dataset


def _grey_folder(root, n=4, size=8):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (root / cls).mkdir()
        for i in range(n):
            Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)).save(root / cls / f"{i}.png")


# -- item 5: image folders ---------------------------------------------------------------
def test_folder_of_16bit_pngs_is_scaled_not_white(tmp_path):
    expected = []
    for c, cls in enumerate(("a", "b")):
        (tmp_path / cls).mkdir()
        for i in range(4):
            k = np.arange(64).reshape(8, 8) * 4 % 256 if i else np.full((8, 8), 40 + c)
            Image.fromarray((k * 257).astype(np.uint16)).save(tmp_path / cls / f"{i}.png")
            expected.append(k.astype(np.uint8))
    assert Image.open(tmp_path / "a" / "0.png").mode == "I;16"
    with pytest.warns(UserWarning, match=r"8 16-bit image\(s\) \(mode I;16\) scaled to 8 bits"):
        ds = load_dataset(f"folder:{tmp_path}", train=None)
    assert ds.data.dtype == np.uint8
    np.testing.assert_array_equal(ds.data, np.stack(expected))  # 257·k reads as k, not 255


def test_one_rgb_file_in_a_grey_folder_is_converted_and_said(tmp_path):
    _grey_folder(tmp_path)
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[..., 0] = 200  # pure red: PIL's luma is 200 * 299 / 1000
    Image.fromarray(rgb).save(tmp_path / "dog" / "red.png")
    with pytest.warns(UserWarning, match=r"1 of 9 image\(s\) converted from RGB to greyscale \(L\)"):
        ds = load_dataset(f"folder:{tmp_path}", train=None)
    assert ds.data.shape == (9, 8, 8)  # the folder stays greyscale
    assert int(ds.data[-1].max()) == round(200 * 299 / 1000)


def test_folder_follows_imagefolder_extensions_and_skips_hidden_entries(tmp_path):
    from torchvision.datasets.folder import IMG_EXTENSIONS

    _grey_folder(tmp_path)
    (tmp_path / ".ipynb_checkpoints").mkdir()  # Jupyter's, not a class
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / ".ipynb_checkpoints" / "x.png")
    (tmp_path / "cat" / "._0.png").write_bytes(b"macOS resource fork")  # hidden file, not an image
    (tmp_path / "cat" / ".cache").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "cat" / ".cache" / "y.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "cat" / "extra.pgm")  # ImageFolder reads .pgm
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "dog" / "anim.gif")  # ... and not .gif
    (tmp_path / "dog" / "more").mkdir()  # ... and images in sub-folders of a class
    Image.fromarray(np.full((8, 8), 7, np.uint8)).save(tmp_path / "dog" / "more" / "z.png")
    assert ".pgm" in IMG_EXTENSIONS and ".gif" not in IMG_EXTENSIONS
    ds = load_dataset(f"folder:{tmp_path}", train=None)
    assert ds.classes == ["cat", "dog"]
    assert np.bincount(ds.targets).tolist() == [5, 5]
    assert (ds.data[-1] == 7).all()


# -- item 9: a stray label value -----------------------------------------------------------
def test_one_huge_label_in_an_npz_names_the_labels_present(tmp_path, toy_arrays):
    x, y = toy_arrays
    y = y.copy()
    y[0] = 10**9
    np.savez(tmp_path / "d.npz", x=x, y=y)
    with pytest.warns(UserWarning, match="not the class indices 0..4"):
        ds = load_dataset(f"npz:{tmp_path / 'd.npz'}", train=None)
    assert ds.classes == ["0", "1", "2", "3", "1000000000"]
    assert ds.classes[ds.targets[0]] == "1000000000" and ds.classes[ds.targets[1]] == "0"
    json.dumps(ds.classes)  # standard JSON
    with pytest.raises(ValueError, match="class '1000000000' holds only 1 image"), pytest.warns(UserWarning):
        load_dataset(f"npz:{tmp_path / 'd.npz'}", train=True)


def test_one_huge_label_without_class_names_is_refused_by_arraydataset(toy_arrays):
    x, labels = toy_arrays
    y = labels.copy()
    y[3] = 10**9
    with pytest.raises(ValueError, match=r"label 1000000000 at index 3 would make 1000000001 classes"):
        ArrayDataset(x, y)
    with pytest.raises(ValueError, match="would make 1000000001 classes"):
        as_array_dataset(TensorDataset(torch.as_tensor(x), torch.as_tensor(y)))
    sparse = ArrayDataset(x, np.array([3, 7, 42, 7])[labels])  # label values, not positions, still fine
    assert len(sparse.classes) == 43 and sparse.classes[42] == "42"


# -- tracebacks and unclear messages --------------------------------------------------------
def test_string_labels_in_an_npz_are_one_clear_line(tmp_path, toy_arrays):
    x, _ = toy_arrays
    np.savez(tmp_path / "s.npz", x=x, y=np.array(["cat", "dog"] * 20))
    with pytest.raises(ValueError, match=r"labels must be integers; got strings like 'cat'.*'classes'"):
        load_dataset(f"npz:{tmp_path / 's.npz'}")


def test_nan_pixels_in_an_npz_are_named(tmp_path, toy_arrays):
    x, y = toy_arrays
    xf = x / 255.0
    xf[5, 2, 2] = np.nan
    np.savez(tmp_path / "n.npz", x=xf, y=y)
    with pytest.raises(ValueError, match=r"pixel array 'x' holds 1 NaN/inf value\(s\), the first in image 5"):
        load_dataset(f"npz:{tmp_path / 'n.npz'}")


def test_a_text_file_named_npz_is_not_called_a_pickle(tmp_path):
    (tmp_path / "notes.npz").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match=r"not an \.npz archive") as err:
        load_dataset(f"npz:{tmp_path / 'notes.npz'}")
    assert "pickle" not in str(err.value)


def test_fit_takes_a_list_of_images_and_a_list_of_labels(toy_arrays):
    x, y = toy_arrays
    images, labels, names = _read_training_data(list(x), y.tolist(), None)
    np.testing.assert_array_equal(images, x)
    np.testing.assert_array_equal(labels, y)
    aug = GANAugmenter(steps=2, batch_size=8, device="cpu", verbose=False).fit(list(x), y.tolist())
    assert aug.classes_.tolist() == [0, 1, 2, 3] and aug.image_shape_ == (8, 8)


# -- item 4: datasets inside Subset / ConcatDataset are read with their transforms off -------
class Normalize:
    """uint8 H×W → float (1, H, W) in [-1, 1], like ToTensor + Normalize(0.5, 0.5)."""

    def __call__(self, image):
        return torch.tensor(np.array(image), dtype=torch.float32).div(255).sub(0.5).div(0.5)[None]


class VisionLike(Dataset):
    """A torchvision-style dataset: PIL items through a ``transform`` attribute."""

    def __init__(self, data, targets, transform=None, fail_at=None):
        self.data, self.targets, self.transform = data, list(targets), transform
        self.classes = ["zero", "one", "two", "three"]
        self.fail_at = fail_at

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        if i == self.fail_at:
            raise RuntimeError("disk error")
        image = Image.fromarray(self.data[i])
        return (self.transform(image) if self.transform is not None else image), self.targets[i]


class BakedIn(VisionLike):
    """Normalises inside ``__getitem__``, with no transform attribute to switch off."""

    def __getitem__(self, i):
        return Normalize()(self.data[i]), self.targets[i]


def test_subsets_and_concats_of_a_normalising_dataset_are_read_raw(toy_arrays):
    x, y = toy_arrays
    norm = Normalize()
    a, b = VisionLike(x, y, norm), VisionLike(x[::-1].copy(), y[::-1], norm)
    first = np.arange(0, 40, 2)
    nested = ConcatDataset([Subset(a, first), Subset(ConcatDataset([b, a]), [1, 45])])
    raw = np.concatenate([x[first], x[::-1][[1]], x[[5]]])
    for ds, want in ((Subset(a, first), x[first]), (nested, raw)):
        read = as_array_dataset(ds)
        np.testing.assert_array_equal(read.data, want)  # no clipping of the normalised [-1, 1]
        assert read.classes == a.classes
        images, labels, _ = _read_training_data(ds, None, None)  # what fit trains on
        np.testing.assert_array_equal(images, want)
    subset, _ = few_shot(Subset(a, first), 2, seed=0)
    assert set(map(bytes, subset.data)) <= set(map(bytes, x[first]))
    assert a.transform is norm and b.transform is norm  # switched back on
    assert torch.is_tensor(nested[0][0]) and nested[0][0].min() < 0
    broken = VisionLike(x, y, norm, fail_at=3)
    with pytest.raises(RuntimeError, match="disk error"):
        as_array_dataset(Subset(broken, range(10)))
    assert broken.transform is norm  # put back after an error too


def test_a_transform_baked_into_getitem_is_refused_not_clipped(toy_arrays):
    x, y = toy_arrays
    with pytest.raises(ValueError, match=r"dataset item 0: pixels span .* not 0..1 for float pixels.*`transform`"):
        as_array_dataset(Subset(BakedIn(x, y), range(0, 40, 3)))
    with pytest.raises(ValueError, match="not 0..1"):
        GANAugmenter(steps=2, batch_size=8, device="cpu", verbose=False).fit(BakedIn(x, y))


# -- load_dataset takes torchvision's transform arguments -----------------------------------
def test_load_dataset_accepts_transform_and_target_transform():
    def to_float(image):
        return image.astype(np.float32) / 255

    def shift(target):
        return target + 100

    ds = load_dataset("digits", transform=to_float, target_transform=shift)
    assert ds.transform is to_float and ds.target_transform is shift
    image, target = ds[0]
    assert image.dtype == np.float32 and target == int(ds.targets[0]) + 100
    np.testing.assert_array_equal(as_array_dataset(ds).data, load_dataset("digits").data)
