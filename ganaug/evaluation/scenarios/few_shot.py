"""The few-shot scenario: a stratified subset of n images per class trains both the GAN and the
classifier; a held-out test set that neither saw scores it.

For each cell (n per class, seed): draw the subset, pretrain a GAN on that subset only, and
hand both to the conditions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ganaug.data import ArrayDataset, few_shot, load_dataset
from ganaug.data.neighbours import image_hashes
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.stats import summarize_cells

NAME = "few-shot"
SETTING_KEY = "per_class"


@dataclass
class Splits:
    """The pool every subset is drawn from and the test set disjoint from all of it."""

    pool: ArrayDataset
    test: ArrayDataset
    test_duplicates_removed: int

    @property
    def same_source(self) -> bool:
        return self.pool.source == self.test.source


def load_splits(config: EvalConfig) -> tuple[ArrayDataset, ArrayDataset, int]:
    """The pool every few-shot subset is drawn from, and a test set disjoint from all of it.

    Test images whose pixels equal any pool image's are dropped (an exact duplicate would be
    "seen" data); returns how many were dropped.
    """
    pool = load_dataset(config.dataset, root=config.root, train=True, download=config.download)
    test = load_dataset(config.dataset, root=config.root, train=False, download=config.download)
    dup = np.isin(image_hashes(test.data), image_hashes(pool.data))
    if dup.any():
        test = test.subset(np.flatnonzero(~dup))
    return pool, test, int(dup.sum())


def check_disjoint(train: ArrayDataset, test: ArrayDataset, same_source: bool) -> None:
    """Refuse a training subset that shares an item with the test set.

    Raises:
        ValueError: an index (same source array) or an identical image appears in both.
    """
    if same_source:
        shared = np.intersect1d(train.indices, test.indices)
        if len(shared):
            raise ValueError(f"{len(shared)} training item(s) are also in the test set (e.g. index {shared[0]})")
    shared_pixels = np.isin(image_hashes(train.data), image_hashes(test.data))
    if shared_pixels.any():
        raise ValueError(f"{int(shared_pixels.sum())} training image(s) are pixel-identical to test images")


def prepare(config: EvalConfig, progress: bool = False) -> Splits:
    """The run's splits, checked to fill every size of the grid (before any cell runs)."""
    splits = Splits(*load_splits(config))
    check_sizes(splits.pool, config.per_class)
    return splits


def check_sizes(pool: ArrayDataset, sizes: tuple[int, ...]) -> None:
    """Refuse sizes the pool's smallest class cannot fill, naming that class and its count.

    Raises:
        ValueError: the pool is empty, or a size exceeds the smallest class.
    """
    values, counts = np.unique(pool.targets, return_counts=True)
    if not len(counts):
        raise ValueError(f"{pool.name}: the pool holds no images")
    smallest, value = int(counts.min()), int(values[counts.argmin()])
    too_big = [n for n in sizes if n > smallest]
    if too_big:
        name = pool.classes[value] if value < len(pool.classes) else value
        raise ValueError(
            f"per_class {', '.join(map(str, too_big))} asks for more images than class {name!r} has in the "
            f"pool of {pool.name} ({smallest}); the largest size it allows is {smallest}"
        )


def draw_subset(splits: Splits, n: int, seed: int) -> tuple[ArrayDataset, dict]:
    """The cell's training subset, checked against the test set, and what the cell records of it."""
    subset, _ = few_shot(splits.pool, n, seed=seed)
    check_disjoint(subset, splits.test, splits.same_source)
    record = {
        "per_class": n, "seed": seed, "n_train": len(subset),
        # Which images the cell trained on, so runs made apart can be checked to pair the same
        # subset; and the thread count, which sets float summation order (accuracies of two
        # runs of the same cell can differ with it).
        "subset_sha256": hashlib.sha256(np.asarray(subset.indices, dtype=np.int64).tobytes()).hexdigest()[:16],
        "threads": torch.get_num_threads(),
    }
    return subset, record


def settings(config: EvalConfig) -> tuple[int, ...]:
    return tuple(config.per_class)


def cell_name(n: int, seed: int) -> str:
    return f"n{n}_seed{seed}"


def describe(n: int) -> str:
    return f"{n}/class"


draw = draw_subset


def settings_record(splits: Splits) -> dict:
    """What results.json's settings say of the data."""
    return {
        "n_pool": len(splits.pool), "n_test": len(splits.test),
        "test_duplicates_removed": splits.test_duplicates_removed, "class_names": list(splits.pool.classes),
    }


def summarize(cells: list[dict], conditions: tuple[str, ...], n_classes: int) -> dict:
    return summarize_cells(cells, conditions, n_classes)
