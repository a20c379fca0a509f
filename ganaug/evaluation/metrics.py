"""Offline generative metrics measured in a domain feature space.

No Inception network and nothing downloaded: the feature space is the 128-d penultimate layer of
a small CNN trained on the dataset's labelled pool (`fit_feature_extractor`). The same network
judges whether a sample looks like the class it was conditioned on (`label_consistency`).

Distribution metrics (`frechet_distance`, `kernel_distance`, `precision_recall`) take feature
arrays ``(N, D)``; `memorisation` works on pixels; `generative_metrics` runs them all, overall and
per class, and returns a JSON-serialisable dict.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from scipy import linalg

from ganaug.data.neighbours import kth_nearest_other, nearest_distances, within_radius
from ganaug.data.validation import validate_images, validate_labels
from ganaug.training.classifier import TorchClassifier, fit_judge


# -- feature space ---------------------------------------------------------------------------------
def fit_feature_extractor(
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    steps: int = 800,
    device: str = "auto",
) -> TorchClassifier:
    """Train the CNN whose penultimate layer is the feature space and whose head is the judge.

    Args:
        images: uint8 ``N×H×W`` or ``N×H×W×C``, the labelled pool of the dataset.
        labels: class indices ``0..K-1``.
        seed: initialisation and data order.
        steps: optimiser steps.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…

    Returns:
        A fitted `TorchClassifier`; ``.features(images)`` gives ``(N, 128)`` activations.
    """
    images = _check_uint8(images, "images")
    labels = validate_labels(labels, len(images))
    return fit_judge(images, labels, steps=steps, seed=seed, device=device)


# -- distribution distances ------------------------------------------------------------------------
def frechet_distance(real_feats: np.ndarray, fake_feats: np.ndarray, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID in our feature space).

    ``||mu_r - mu_f||² + Tr(S_r + S_f - 2 (S_r S_f)^½)``.

    Args:
        real_feats: ``(N, D)`` features, N ≥ 2.
        fake_feats: ``(M, D)`` features, M ≥ 2.
        eps: added to both covariance diagonals when their product has no finite square root.

    Returns:
        The distance (≥ 0; lower is closer).
    """
    real, fake = _check_feats(real_feats, fake_feats, min_rows=2)
    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    s1 = np.atleast_2d(np.cov(real, rowvar=False))
    s2 = np.atleast_2d(np.cov(fake, rowvar=False))
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * _trace_sqrt_product(s1, s2, eps)
    # Rounding can leave identical sets a hair below zero; the true distance never is.
    return float(max(value, 0.0))


def _trace_sqrt_product(s1: np.ndarray, s2: np.ndarray, eps: float) -> float:
    """``Tr((s1 s2)^½)``, guarded against singular covariances and rounding."""
    with warnings.catch_warnings():
        # Singular products (dead ReLU units, fewer samples than dimensions) make scipy warn;
        # we check the result ourselves below.
        warnings.simplefilter("ignore", RuntimeWarning)
        covmean = linalg.sqrtm(s1 @ s2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(s1)) * eps
            covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        # Rounding gives near-zero eigenvalues a tiny imaginary part; a large one means the
        # covariances are badly conditioned and the real part is only an approximation.
        scale = max(1.0, float(np.abs(covmean.real).max()))
        if np.abs(covmean.imag).max() > 1e-3 * scale:
            warnings.warn(
                "frechet_distance: the covariance product is badly conditioned (large imaginary "
                "part in its square root); using the real part. More samples help.",
                RuntimeWarning,
                stacklevel=3,
            )
        covmean = covmean.real
    return float(np.trace(covmean))


def kernel_distance(
    real_feats: np.ndarray,
    fake_feats: np.ndarray,
    n_subsets: int = 50,
    subset_size: int | None = None,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance (KID): unbiased MMD² with the kernel ``(x·y / D + 1)³``, over subsets.

    Unbiased, so it is meaningful at small sample sizes and can come out slightly negative when
    the two sets match.

    Args:
        real_feats: ``(N, D)`` features.
        fake_feats: ``(M, D)`` features.
        n_subsets: random subsets averaged over.
        subset_size: points drawn (without replacement) from each set per subset; default
            ``min(1000, N, M)``.
        seed: subset draws.

    Returns:
        ``(mean, std)`` of MMD² across subsets; lower is closer.
    """
    real, fake = _check_feats(real_feats, fake_feats, min_rows=2)
    size = min(1000, len(real), len(fake)) if subset_size is None else int(subset_size)
    if not 2 <= size <= min(len(real), len(fake)):
        raise ValueError(
            f"subset_size must lie in 2..{min(len(real), len(fake))} (the smaller set), got {size}"
        )
    if n_subsets < 1:
        raise ValueError(f"n_subsets must be at least 1, got {n_subsets}")
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            _mmd2_unbiased(
                real[rng.choice(len(real), size, replace=False)],
                fake[rng.choice(len(fake), size, replace=False)],
            )
            for _ in range(n_subsets)
        ]
    )
    return float(values.mean()), float(values.std())


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² under the cubic polynomial kernel; diagonal terms excluded."""
    d = x.shape[1]
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    m, n = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2.0 * kxy.mean()
    )


def precision_recall(
    real_feats: np.ndarray, fake_feats: np.ndarray, k: int = 3
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al., 2019) with k-NN ball manifolds.

    Each point of a set owns a ball reaching its k-th nearest neighbour in that set; the union
    of the balls approximates the set's manifold.

    Args:
        real_feats: ``(N, D)`` features, N > k.
        fake_feats: ``(M, D)`` features, M > k.
        k: neighbour whose distance sets each ball's radius.

    Returns:
        ``(precision, recall)``: the share of fakes inside the real manifold (fidelity) and the
        share of reals inside the fake manifold (coverage); higher is better for both.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    real, fake = _check_feats(real_feats, fake_feats, min_rows=k + 1)
    precision = _inside_manifold(fake, real, _knn_radii(real, k)).mean()
    recall = _inside_manifold(real, fake, _knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def _rows(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def _knn_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest *other* point of the same set."""
    return kth_nearest_other(_rows(x), k).numpy()


def _inside_manifold(queries: np.ndarray, points: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Whether each query falls inside at least one ball ``(points[i], radii[i])``."""
    return within_radius(_rows(queries), _rows(points), torch.from_numpy(radii)).numpy()


def _nearest_distances(queries: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance from each query to its nearest point."""
    return nearest_distances(_rows(queries), _rows(points)).numpy()


# -- pixel space and the judge ---------------------------------------------------------------------
def memorisation(
    fake_images: np.ndarray, train_images: np.ndarray, reference_images: np.ndarray
) -> dict[str, float | None]:
    """Does the GAN copy its training images? Nearest-neighbour distances in pixel space.

    Fakes are compared with the held-out reference images on the same footing: how close does
    each come to the GAN's training set? A GAN that generalises sits as far from its training
    images as unseen real images do.

    Args:
        fake_images: uint8 samples from the GAN.
        train_images: uint8 images the GAN was trained on.
        reference_images: uint8 real images the GAN never saw.

    Returns:
        ``nn_ratio``: median fake NN distance / median reference NN distance (≈ 1 healthy,
        ≪ 1 copying; None if the reference median is 0); ``copy_rate``: share of fakes at or
        below the 1st percentile of reference distances; ``fake_nn_median``,
        ``reference_nn_median``: the medians, pixels scaled to 0..1.
    """
    fake = _pixels(fake_images, "fake_images")
    train = _pixels(train_images, "train_images")
    reference = _pixels(reference_images, "reference_images")
    if not fake.shape[1] == train.shape[1] == reference.shape[1]:
        raise ValueError(
            "memorisation: fake, train and reference images must share one image shape, got "
            f"{fake_images.shape[1:]}, {train_images.shape[1:]} and {reference_images.shape[1:]}"
        )
    fake_nn = _nearest_distances(fake, train)
    reference_nn = _nearest_distances(reference, train)
    fake_median, reference_median = float(np.median(fake_nn)), float(np.median(reference_nn))
    # "At or below" so exact copies still count when the reference set itself holds a copy
    # of a training image and the threshold is 0.
    threshold = np.percentile(reference_nn, 1)
    return {
        "nn_ratio": fake_median / reference_median if reference_median > 0 else None,
        "copy_rate": float((fake_nn <= threshold).mean()),
        "fake_nn_median": fake_median,
        "reference_nn_median": reference_median,
    }


def label_consistency(
    extractor: TorchClassifier, fake_images: np.ndarray, fake_labels: np.ndarray
) -> float:
    """Share of fakes the judge assigns to the class they were conditioned on (higher is better).

    Args:
        extractor: the fitted judge (`fit_feature_extractor`).
        fake_images: uint8 samples.
        fake_labels: their conditioning class indices.

    Returns:
        Agreement in 0..1.
    """
    fake_images = _check_uint8(fake_images, "fake_images")
    fake_labels = _check_labels(fake_labels, len(fake_images), "fake_labels")
    return float((extractor.predict(fake_images) == fake_labels).mean())


# -- everything at once ----------------------------------------------------------------------------
def generative_metrics(
    extractor: TorchClassifier,
    real_images: np.ndarray,
    real_labels: np.ndarray,
    fake_images: np.ndarray,
    fake_labels: np.ndarray,
    train_images: np.ndarray,
    seed: int = 0,
    k: int = 3,
) -> dict[str, Any]:
    """All generative metrics of a sample set, overall and per class.

    Args:
        extractor: the fitted feature extractor and judge (`fit_feature_extractor`).
        real_images: uint8 held-out real images (the test split), the reference distribution.
        real_labels: their class indices.
        fake_images: uint8 GAN samples.
        fake_labels: their conditioning class indices.
        train_images: uint8 images the GAN was trained on (for `memorisation`).
        seed: KID subset draws.
        k: neighbourhood size of precision/recall.

    Returns:
        ``{"fid", "kid", "kid_std", "precision", "recall", "label_consistency",
        "memorisation": {...}, "per_class": {"<index>": {"kid", "precision", "recall",
        "label_consistency", "n_real", "n_fake"}}}``, plain Python numbers (per-class values
        None where a class has ≤ k samples on either side).
    """
    real_images = _check_uint8(real_images, "real_images")
    fake_images = _check_uint8(fake_images, "fake_images")
    real_labels = _check_labels(real_labels, len(real_images), "real_labels")
    fake_labels = _check_labels(fake_labels, len(fake_images), "fake_labels")
    real = extractor.features(real_images).astype(np.float64)  # (N, 128)
    fake = extractor.features(fake_images).astype(np.float64)  # (M, 128)
    predicted = extractor.predict(fake_images)

    kid, kid_std = kernel_distance(real, fake, seed=seed)
    precision, recall = precision_recall(real, fake, k=k)
    classes = np.union1d(np.union1d(real_labels, fake_labels), getattr(extractor, "classes_", []))
    per_class = {
        str(int(c)): _class_metrics(real[real_labels == c], fake[fake_labels == c], predicted[fake_labels == c] == c, seed, k)
        for c in classes.astype(np.int64)
    }
    return {
        "fid": frechet_distance(real, fake),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "label_consistency": float((predicted == fake_labels).mean()),
        "memorisation": memorisation(fake_images, train_images, real_images),
        "per_class": per_class,
    }


def _class_metrics(r: np.ndarray, f: np.ndarray, faithful: np.ndarray, seed: int, k: int) -> dict[str, Any]:
    """One class's metrics from its real and fake features; None where a side has ≤ k rows."""
    enough = len(r) > k and len(f) > k
    pr_c = precision_recall(r, f, k=k) if enough else (None, None)
    return {
        "kid": kernel_distance(r, f, seed=seed)[0] if enough else None,
        "precision": pr_c[0],
        "recall": pr_c[1],
        "label_consistency": float(faithful.mean()) if len(f) else None,
        "n_real": int(len(r)),
        "n_fake": int(len(f)),
    }


# -- input checks ----------------------------------------------------------------------------------
def _check_feats(
    real: np.ndarray, fake: np.ndarray, min_rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 ``(N, D)`` with the same D and at least ``min_rows`` rows."""
    out = []
    for name, x in (("real_feats", real), ("fake_feats", fake)):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError(f"{name}: expected a 2-D (N, D) feature array, got shape {x.shape}")
        if len(x) < min_rows:
            raise ValueError(f"{name}: need at least {min_rows} rows, got {len(x)}")
        if not np.isfinite(x).all():
            raise ValueError(f"{name}: holds NaN/inf values")
        out.append(x)
    if out[0].shape[1] != out[1].shape[1]:
        raise ValueError(
            f"feature dimensions differ: {out[0].shape[1]} (real) vs {out[1].shape[1]} (fake)"
        )
    return out[0], out[1]


def _check_uint8(images: np.ndarray, name: str) -> np.ndarray:
    """Valid image array of uint8 pixels (the scale every metric here assumes)."""
    validate_images(images, name=name)
    if images.dtype != np.uint8:
        raise ValueError(
            f"{name}: expected uint8 pixels, got {images.dtype}; convert with ganaug.data.to_uint8"
        )
    return images


def _check_labels(labels: np.ndarray, n: int, name: str) -> np.ndarray:
    """A 1-D int64 vector of ``n`` non-negative class indices (one class is allowed)."""
    return validate_labels(labels, n, name=name, min_classes=1)


def _pixels(images: np.ndarray, name: str) -> np.ndarray:
    """uint8 images → float64 rows in 0..1, ``(N, H·W·C)``."""
    images = _check_uint8(images, name)
    return images.reshape(len(images), -1).astype(np.float64) / 255.0
