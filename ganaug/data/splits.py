"""Stratified few-shot subsets and class imbalance, reproducible from a seed."""

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
    present = np.unique(ds.targets)
    check_class_counts(ds.targets, int(n_per_class), ds.classes)
    rng = np.random.default_rng(seed)
    chosen = np.concatenate(
        [rng.choice(np.flatnonzero(ds.targets == c), int(n_per_class), replace=False) for c in present]
    )
    chosen = np.sort(chosen)
    rest = np.setdiff1d(np.arange(len(ds)), chosen)
    return (
        ds.subset(chosen, name=f"{ds.name}[{n_per_class}/class, seed {seed}]"),
        ds.subset(rest, name=f"{ds.name}[rest]"),
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
