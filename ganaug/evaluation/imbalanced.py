"""Rebalancing helpers of the long-tail conditions: random oversampling, the GAN fill's ratio,
SMOTE on pixels, and which classes are the rare ones."""

from __future__ import annotations

import numpy as np

SMOTE_MISSING = (
    "smote+classical needs imbalanced-learn, an optional extra: pip install 'ganaug[imbalanced]' "
    "(or pip install imbalanced-learn)"
)


def oversample_positions(targets: np.ndarray, seed: int, counts: np.ndarray | None = None) -> np.ndarray:
    """Positions that bring every class up to the largest class's count (or to ``counts[c]``,
    indexed by class, where given): each item repeated as often as fits, the remainder drawn
    without replacement (seeded)."""
    targets = np.asarray(targets)
    rng = np.random.default_rng(seed)
    top = int(np.bincount(targets).max())
    out = []
    for c in np.unique(targets):
        pos = np.flatnonzero(targets == c)
        whole, rest = divmod(top if counts is None else int(counts[c]), len(pos))
        out += [np.tile(pos, whole), rng.choice(pos, rest, replace=False)]
    return np.sort(np.concatenate(out))


def fill_ratio(targets: np.ndarray, share: float = 1.0) -> float:
    """The ``SyntheticMixDataset(balance=True)`` ratio (synthetic per real item) whose synthetic
    items number ``share`` × Σ(largest count − n_c): with share 1, every class filled up to the
    largest."""
    counts = np.bincount(np.asarray(targets))
    counts = counts[counts > 0]
    gap = int(round(share * int(np.sum(counts.max() - counts))))
    return gap / int(counts.sum())


def capped_fill(targets: np.ndarray, cap: float = 1.0) -> np.ndarray:
    """Synthetic items per class (indexed by class) when random oversampling balances the set
    and synthetic items take the place of some repeats: ``min(cap × n_c, largest − n_c)``, so a
    class's synthetic items never outnumber ``cap`` times its real ones."""
    counts = np.bincount(np.asarray(targets))
    return np.minimum(np.floor(cap * counts), counts.max() - counts).astype(np.int64) * (counts > 0)


def rarest_classes(targets: np.ndarray, n_classes: int, k: int = 3) -> np.ndarray:
    """The ``k`` classes with the fewest training items (ties: the lower class index first)."""
    counts = np.bincount(np.asarray(targets), minlength=n_classes)
    return np.argsort(counts, kind="stable")[:k]


def smote_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("imblearn") is not None


def smote_arrays(images: np.ndarray, targets: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE (imbalanced-learn) on flattened pixels: every class up to the largest class's count.

    k_neighbors is 5, or fewer when the smallest class to fill has fewer items; a class of a
    single item cannot be interpolated and is repeated instead.

    Raises:
        ImportError: imbalanced-learn is not installed (it is the ``imbalanced`` extra).
    """
    try:
        from imblearn.over_sampling import SMOTE
    except ImportError:
        raise ImportError(SMOTE_MISSING) from None
    targets = np.asarray(targets)
    counts = np.bincount(targets)
    top = int(counts.max())
    fill = {int(c): top for c in np.flatnonzero((counts >= 2) & (counts < top))}
    x, y = images.reshape(len(images), -1).astype(np.float32), targets
    if fill:
        k = min(5, min(int(counts[c]) for c in fill) - 1)
        x, y = SMOTE(sampling_strategy=fill, k_neighbors=k, random_state=seed).fit_resample(x, y)
    single = np.flatnonzero(counts == 1)
    if len(single) and top > 1:
        pos = np.repeat(np.flatnonzero(np.isin(targets, single)), top - 1)
        x, y = np.concatenate([x, x[pos]]), np.concatenate([y, y[pos]])
    pixels = np.clip(np.rint(x), 0, 255).astype(np.uint8).reshape(len(x), *images.shape[1:])
    return pixels, np.asarray(y, dtype=np.int64)
