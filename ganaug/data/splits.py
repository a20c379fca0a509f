"""Stratified few-shot subsets, long-tailed subsets and class imbalance, reproducible from a seed."""

from __future__ import annotations

from collections.abc import Sequence
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


def split_classes(dataset: Any, target_classes: Sequence[str | int]) -> tuple[ArrayDataset, ArrayDataset]:
    """Cut a dataset by class into ``(source, target)``: ``target`` holds ``target_classes``.

    Each part has only its own classes, renumbered ``0..K-1`` in the dataset's class order, with
    its own ``classes`` (and ``class_groups``); both keep the items' source ``indices``. Each part
    needs two classes or more, as every `ArrayDataset` does.

    Args:
        dataset: any labelled image dataset.
        target_classes: class names (``"Korean/character01"``) or indices of the target part.

    Raises:
        ValueError: an unknown class, or a part that would hold fewer than two classes.
    """
    ds = as_array_dataset(dataset)
    named = [target_classes] if isinstance(target_classes, str) else target_classes
    wanted = {_class_index(ds, c) for c in named}
    target = sorted(wanted)
    source = [c for c in range(len(ds.classes)) if c not in wanted]
    if len(target) < 2 or len(source) < 2:
        raise ValueError(
            f"{ds.name}: the target part would hold {len(target)} of its {len(ds.classes)} classes, "
            f"the source part {len(source)}; each part needs two classes or more"
        )
    return _classes_of(ds, source, "source"), _classes_of(ds, target, "target")


def split_by_group(
    dataset: Any, target_groups: Sequence[str] | int, seed: int = 0
) -> tuple[ArrayDataset, ArrayDataset]:
    """`split_classes` by the groups of the classes (Omniglot's alphabets): ``(source, target)``.

    Args:
        dataset: a dataset whose ``class_groups`` name each class's group.
        target_groups: the groups whose classes make the target part, or how many groups to draw
            for it at random from ``seed``.
        seed: the draw when ``target_groups`` is a number.

    Raises:
        ValueError: the dataset has no ``class_groups``, an unknown group, or a part that would
            hold no group or fewer than two classes.
    """
    ds = as_array_dataset(dataset)
    if ds.class_groups is None:
        raise ValueError(
            f"{ds.name}: its classes carry no groups (class_groups is None); split it by class with "
            "split_classes(dataset, target_classes)"
        )
    groups = sorted(set(ds.class_groups))
    if isinstance(target_groups, (int, np.integer)) and not isinstance(target_groups, bool):
        if not 0 < target_groups < len(groups):
            raise ValueError(f"{ds.name}: cannot draw {target_groups} target group(s) of {len(groups)}; leave one for the source")
        chosen = set(np.random.default_rng(seed).choice(groups, int(target_groups), replace=False).tolist())
    else:
        chosen = {target_groups} if isinstance(target_groups, str) else set(target_groups)
        if unknown := sorted(chosen - set(groups)):
            raise ValueError(f"{ds.name}: no group {', '.join(map(repr, unknown))}; it has {', '.join(groups)}")
    return split_classes(ds, [c for c, g in enumerate(ds.class_groups) if g in chosen])


def _class_index(ds: ArrayDataset, c: Any) -> int:
    if isinstance(c, str) and c in ds.classes:
        return ds.classes.index(c)
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < len(ds.classes):
        return int(c)
    shown = ", ".join(ds.classes[:4]) + (", …" if len(ds.classes) > 4 else "")
    raise ValueError(f"{ds.name}: no class {c!r} (its {len(ds.classes)} classes: {shown})")


def _classes_of(ds: ArrayDataset, kept: list[int], part: str) -> ArrayDataset:
    """The items of classes ``kept`` with targets renumbered ``0..len(kept)-1``."""
    number = np.full(len(ds.classes), -1, dtype=np.int64)
    number[kept] = np.arange(len(kept))
    positions = np.flatnonzero(number[ds.targets] >= 0)
    return ArrayDataset(
        ds.data[positions],
        number[ds.targets[positions]],
        [ds.classes[c] for c in kept],
        transform=ds.transform,
        target_transform=ds.target_transform,
        name=f"{ds.name}[{part}: {len(kept)} classes]",
        indices=ds.indices[positions],
        source=ds.source,
        class_groups=None if ds.class_groups is None else [ds.class_groups[c] for c in kept],
    )


def split_per_class(
    dataset: Any, n_train: int, n_test: int | None = None, seed: int = 0
) -> tuple[ArrayDataset, ArrayDataset]:
    """``(train, test)``: ``n_train`` items of every class, and ``n_test`` others (all the rest if None).

    With ``n_test`` given, the test items are drawn first, so for one ``seed`` the test set is the
    same whatever ``n_train`` (1-shot and 5-shot runs score on the same images); the train items
    are drawn from the others. Both draws are `few_shot`'s; the parts keep their source
    ``indices`` and never overlap.

    Raises:
        ValueError: a class holds fewer than ``n_train + n_test`` items.
    """
    if n_test is None:
        return few_shot(dataset, n_train, seed)
    ds = as_array_dataset(dataset)
    for label, n in (("n_train", n_train), ("n_test", n_test)):
        if int(n) != n or n < 1:
            raise ValueError(f"{label} must be a positive integer, got {n!r}")
    check_class_counts(ds.targets, int(n_train + n_test), ds.classes)
    everything = np.arange(len(ds))
    test = _per_class(ds.targets, everything, int(n_test), seed)
    train = _per_class(ds.targets, np.setdiff1d(everything, test), int(n_train), seed)
    return (
        ds.subset(train, name=f"{ds.name}[{n_train}/class, seed {seed}]"),
        ds.subset(test, name=f"{ds.name}[test {n_test}/class, seed {seed}]"),
    )
