"""Input checks that turn bad arrays into one clear `ValueError` before any training starts."""

from __future__ import annotations

import numpy as np


def validate_images(x: np.ndarray, *, name: str = "images") -> np.ndarray:
    """Check an image array and return it unchanged.

    Accepts ``N×H×W`` (greyscale) or ``N×H×W×C`` with C in {1, 3}; uint8, or a real float dtype
    with finite values.

    Raises:
        ValueError: the array's rank, dtype, size or values cannot be images, saying which.
    """
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name}: expected a numpy array, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(
            f"{name}: expected shape N×H×W or N×H×W×C, got {x.ndim} dimension(s) {tuple(x.shape)}"
            + ("; pass image_shape=(H, W) for flattened rows" if x.ndim == 2 else "")
        )
    if x.ndim == 4 and x.shape[-1] not in (1, 3):
        raise ValueError(
            f"{name}: last axis must hold 1 or 3 channels (N×H×W×C), got {x.shape[-1]} "
            f"in shape {tuple(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{name}: the array holds no images")
    if x.dtype == np.bool_ or not (
        np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)
    ):
        raise ValueError(f"{name}: expected uint8 or float pixels, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.flatnonzero(bad.reshape(len(x), -1).any(axis=1))[0])
            raise ValueError(
                f"{name}: {int(bad.sum())} NaN/inf value(s), the first in image {first}"
            )
    elif x.dtype != np.uint8:
        lo, hi = int(x.min()), int(x.max())
        if lo < 0 or hi > 255:
            raise ValueError(
                f"{name}: integer pixels must lie in 0..255, got range {lo}..{hi} ({x.dtype})"
            )
    return x


def validate_labels(y: np.ndarray, n: int | None = None, *, name: str = "labels", min_classes: int = 2) -> np.ndarray:
    """Check a label vector and return it as int64.

    Raises:
        ValueError: labels are not a 1-D integer vector of length ``n``, are negative, or name
            fewer than ``min_classes`` classes.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D vector, got shape {tuple(y.shape)}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name}: {len(y)} labels for {n} images")
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all():
            raise ValueError(f"{name}: NaN/inf label at index {int(np.flatnonzero(~np.isfinite(y))[0])}")
        frac = y != np.round(y)
        if frac.any():
            i = int(np.flatnonzero(frac)[0])
            raise ValueError(f"{name}: non-integer label {y[i].item()!r} at index {i}")
    elif (example := first_string(y)) is not None:
        raise ValueError(
            f"{name}: labels must be integers; got strings like {example!r} — map them to 0..K-1 "
            "(names, y = np.unique(y, return_inverse=True)) and pass the names as 'classes' "
            "(ArrayDataset(x, y, classes=names))"
        )
    elif not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name}: expected integer class labels, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if (y < 0).any():
        i = int(np.flatnonzero(y < 0)[0])
        raise ValueError(f"{name}: negative label {y[i]} at index {i}")
    n_classes = len(np.unique(y))
    if n_classes < min_classes:
        raise ValueError(f"{name}: need at least {min_classes} classes, got {n_classes}")
    return y


def first_string(y: np.ndarray) -> str | bytes | None:
    """The first string in a label array, or None when it holds none."""
    if y.dtype.kind not in "USO":
        return None
    return next((v for v in y.ravel().tolist() if isinstance(v, (str, bytes))), None)


# Without class names, ArrayDataset names every index up to the largest label, as torchvision's
# `classes` are indexed by target. A label beyond this many classes is a stray value far more
# often than a class index, and naming every index up to it would exhaust memory.
MAX_UNNAMED_CLASSES = 1 << 16


def index_names(y: np.ndarray, *, name: str = "labels") -> list[str]:
    """Class names ``"0"``..``"K-1"`` for class-index labels ``y`` (K = largest label + 1).

    Raises:
        ValueError: a label implies more than `MAX_UNNAMED_CLASSES` classes.
    """
    top = int(y.max()) if len(y) else -1
    if top >= MAX_UNNAMED_CLASSES:
        i = int(np.argmax(y))
        raise ValueError(
            f"{name}: label {top} at index {i} would make {top + 1} classes; without class names, "
            f"labels are class indices 0..K-1 (K ≤ {MAX_UNNAMED_CLASSES}) — remap them "
            "(np.unique(y, return_inverse=True)) and pass the names as 'classes'"
        )
    return [str(i) for i in range(top + 1)]


def encode_labels(y: np.ndarray) -> tuple[np.ndarray, list[str], bool]:
    """Labels → ``(class indices, names, remapped)``: the labels present, sorted, are the classes.

    Labels already ``0..K-1`` (each present) come back unchanged; any others are replaced by
    their position among the sorted label values, and the values become the class names, as
    scikit-learn's ``LabelEncoder`` does, so ``classes`` stays indexed by target.
    """
    values, inverse = np.unique(y, return_inverse=True)
    names = [str(v) for v in values]
    if np.array_equal(values, np.arange(len(values))):
        return y, names, False
    return inverse.reshape(y.shape).astype(np.int64), names, True


def check_label_range(y: np.ndarray, n_classes: int, *, name: str = "labels") -> None:
    """Raise if a label falls outside ``0..n_classes-1``."""
    out = (y < 0) | (y >= n_classes)
    if out.any():
        i = int(np.flatnonzero(out)[0])
        raise ValueError(
            f"{name}: label {y[i]} at index {i} is out of range for {n_classes} classes "
            f"(expected 0..{n_classes - 1})"
        )


def check_class_counts(y: np.ndarray, n_per_class: int, classes: list[str] | None = None) -> None:
    """Raise if any class holds fewer than ``n_per_class`` samples."""
    values, counts = np.unique(y, return_counts=True)
    short = [(int(v), int(c)) for v, c in zip(values, counts, strict=True) if c < n_per_class]
    if short:
        named = ", ".join(
            f"{classes[v] if classes is not None and v < len(classes) else v}: {c}" for v, c in short
        )
        raise ValueError(
            f"asked for {n_per_class} samples per class, but {len(short)} class(es) have fewer "
            f"({named})"
        )
