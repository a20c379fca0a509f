"""Stratified few-shot subsets, long-tailed subsets and class imbalance, reproducible from a seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from ganaug.data.datasets import ArrayDataset, as_array_dataset
from ganaug.data.validation import check_class_counts


def few_shot(dataset: Any, n_per_class: int, seed: int = 0) -> tuple[ArrayDataset, ArrayDataset]:
    """Draw ``n_per_class`` items of every class; return ``(subset, rest)``.

    The draw depends only on the dataset, ``n_per_class`` and ``seed``. Both parts keep the
    source ``indices`` of their items, so the two never overlap and can be traced back.

    Raises:
        ValueError: ``n_per_class`` < 1, or a class holds fewer items than asked.
    """
    ds = as_array_dataset(dataset)
    if int(n_per_class) != n_per_class or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    check_class_counts(ds.targets, int(n_per_class), ds.classes)
    chosen = _per_class(ds.targets, np.arange(len(ds)), int(n_per_class), seed)
    rest = np.setdiff1d(np.arange(len(ds)), chosen)
    return (
        ds.subset(chosen, name=f"{ds.name}[{n_per_class}/class, seed {seed}]"),
        ds.subset(rest, name=f"{ds.name}[rest]"),
    )


def _per_class(targets: np.ndarray, pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` positions of every class among ``pool``, drawn from ``seed``, sorted."""
    rng = np.random.default_rng(seed)
    in_pool = targets[pool]
    return np.sort(
        np.concatenate([rng.choice(pool[in_pool == c], n, replace=False) for c in np.unique(in_pool)])
    )


def imbalance(dataset: Any, counts: dict[int, int], seed: int = 0) -> ArrayDataset:
    """Keep ``counts[c]`` items of class index ``c`` (all items of classes not named)."""
    ds = as_array_dataset(dataset)
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(ds.targets):
        pos = np.flatnonzero(ds.targets == c)
        n = counts.get(int(c), len(pos))
        if n > len(pos) or n < 0:
            raise ValueError(f"class {ds.classes[c]}: asked to keep {n}, it holds {len(pos)}")
        keep.append(rng.choice(pos, n, replace=False))
    return ds.subset(np.sort(np.concatenate(keep)))


# The long-tailed MNIST of DeepSMOTE (Dablain et al., arXiv 2105.02340) and GAMO: imbalance ratio 100.
DEEPSMOTE_COUNTS = (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)
PROFILES = ("exp", "step", "deepsmote")


def long_tail_counts(n_classes: int, ratio: float | None, profile: str = "exp", n_max: int = 100) -> np.ndarray:
    """Items per position of a long-tailed set (position 0 the most frequent class), each >= 1.

    ``"exp"``: n_c = n_max · ratio^(−c/(C−1)) (Cao et al.'s long-tailed CIFAR); ``"step"``: the
    first ⌈C/2⌉ positions at n_max, the rest at n_max / ratio; ``"deepsmote"``: the DeepSMOTE/GAMO
    MNIST counts (ten classes, ratio 100) scaled by n_max / 4000 when n_max is smaller.

    Raises:
        ValueError: an unknown profile, a ratio < 1, or a deepsmote preset for other than 10 classes.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown long-tail profile {profile!r}; choose from {', '.join(PROFILES)}")
    if profile == "deepsmote":
        if n_classes != len(DEEPSMOTE_COUNTS):
            raise ValueError(f"the deepsmote preset is for {len(DEEPSMOTE_COUNTS)} classes, the data hold {n_classes}")
        if ratio is not None and ratio != DEEPSMOTE_COUNTS[0] / DEEPSMOTE_COUNTS[-1]:
            raise ValueError("the deepsmote preset has its own imbalance ratio (100); pass ratio=None")
        scale = min(1.0, n_max / DEEPSMOTE_COUNTS[0])
        counts = np.round(np.array(DEEPSMOTE_COUNTS) * scale)
    else:
        if ratio is None or not np.isfinite(ratio) or ratio < 1:
            raise ValueError(f"the imbalance ratio (largest class / smallest) must be >= 1, got {ratio!r}")
        c = np.arange(n_classes)
        if profile == "exp":
            counts = np.round(n_max * ratio ** (-c / max(1, n_classes - 1)))
        else:
            counts = np.where(c < (n_classes + 1) // 2, n_max, np.round(n_max / ratio))
    return np.maximum(1, counts).astype(np.int64)


def long_tail(
    dataset: Any,
    ratio: float | None,
    profile: str = "exp",
    seed: int = 0,
    order: Any = None,
    n_max: int | None = None,
) -> ArrayDataset:
    """A long-tailed subset: class counts fall from ``n_max`` to about ``n_max / ratio``.

    Args:
        dataset: any labelled image dataset (classes with no items are left out).
        ratio: imbalance ratio, the largest class's count over the smallest's (None for the
            ``"deepsmote"`` preset, which has its own).
        profile: ``"exp"``, ``"step"`` or ``"deepsmote"`` (see `long_tail_counts`).
        seed: which items are drawn (and the class order when ``order="random"``).
        order: the classes from most to least frequent: None (label order), ``"random"`` (a
            permutation drawn from ``seed``) or a sequence of class indices.
        n_max: the most frequent class's count; by default the smallest class's count in
            ``dataset``, so every class can supply its quota whatever its position.

    Returns:
        An ArrayDataset that keeps the items' source ``indices``.

    Raises:
        ValueError: a bad profile or ratio, an order that is not a permutation of the classes,
            or a class that holds fewer items than its position asks.
    """
    ds = as_array_dataset(dataset)
    present, have = np.unique(ds.targets, return_counts=True)
    rng = np.random.default_rng(seed)
    if order is None:
        order = present
    elif isinstance(order, str):
        if order != "random":
            raise ValueError(f"order must be None, 'random' or a sequence of classes, got {order!r}")
        order = rng.permutation(present)
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != present.tolist():
        raise ValueError(f"order must list each class of the data once ({present.tolist()}), got {order.tolist()}")
    top = int(have.min()) if n_max is None else int(n_max)
    if profile == "deepsmote" and n_max is None:
        top = min(top, DEEPSMOTE_COUNTS[0])
    counts = long_tail_counts(len(present), ratio, profile, top)
    keep = []
    for c, n in zip(order, counts, strict=True):
        pos = np.flatnonzero(ds.targets == c)
        if n > len(pos):
            raise ValueError(f"class {ds.classes[c]}: its place in the long tail asks {n} items, it holds {len(pos)}")
        keep.append(rng.choice(pos, int(n), replace=False))
    label = f"{profile} ratio {ratio:g}" if ratio is not None else profile
    return ds.subset(np.sort(np.concatenate(keep)), name=f"{ds.name}[long-tail {label}, seed {seed}]")


def imbalance_ratio(targets: np.ndarray) -> float:
    """The largest class's count over the smallest's (classes with no items left out)."""
    counts = np.bincount(np.asarray(targets, dtype=np.int64))
    counts = counts[counts > 0]
    return float(counts.max() / counts.min())
