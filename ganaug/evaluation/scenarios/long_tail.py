"""The long-tail scenario: the classifier and the GAN train on a long-tailed set; a balanced test
set that neither saw scores it.

The test set is held out first: the dataset's test split (images pixel-identical to a pool
image dropped, as in the few-shot scenario), subsampled once per run to the same count per
class. For each cell (imbalance ratio, seed) the long-tailed training set is drawn from the pool
(`ganaug.data.long_tail`, exponential profile, classes in label order) and the GAN trains on all
of it: unlike the few-shot GAN it sees the common classes' many images, whose style (slant,
stroke width, size) the rare classes share.

Data that are long-tailed already (``imbalance=()``, the command line's default for ``folder:``
and ``npz:`` datasets) are taken as they are: the whole pool trains every seed, no subsampling,
and the measured ratio is recorded. Their test split keeps its own class mix, too: balancing it
would keep only as many test images per class as the rarest class has and throw most of the
rest away, while the headline metric, balanced accuracy, weighs every class equally whatever its
test count.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ganaug.data import ArrayDataset, imbalance_ratio, long_tail
from ganaug.evaluation.config import GENERATOR_OF, EvalConfig
from ganaug.evaluation.scenarios import few_shot
from ganaug.evaluation.scenarios.few_shot import check_disjoint, load_splits
from ganaug.evaluation.source_models import SOURCE_DAGAN_STEPS
from ganaug.evaluation.stats import summarize_long_tail

NAME = "long-tail"
SETTING_KEY = "imbalance"
NATURAL = "natural"  # the setting of data taken with their own imbalance
TEST_SEED = 0  # one balanced test set per run: every cell and condition is scored on the same images
BALANCED_BELOW = 1.5  # a pool whose measured ratio is lower is called balanced
DAGAN_STEPS = SOURCE_DAGAN_STEPS  # the cell DAGAN's, as the transfer scenario's source DAGAN


@dataclass
class Splits(few_shot.Splits):
    """The few-shot pool and test set, and whether the pool is taken whole (its own imbalance)."""

    natural: bool


def balanced(test: ArrayDataset, seed: int = TEST_SEED) -> ArrayDataset:
    """``test`` subsampled to its smallest class's count in every class."""
    counts = np.bincount(test.targets)
    n = int(counts[counts > 0].min())
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(test.targets == c), n, replace=False) for c in np.flatnonzero(counts)]
    return test.subset(np.sort(np.concatenate(keep)), name=f"{test.name}[balanced, {n}/class]")


def prepare(config: EvalConfig, progress: bool = False) -> Splits:
    pool, test, removed = load_splits(config)
    natural = not config.imbalance
    if natural and imbalance_ratio(pool.targets) < BALANCED_BELOW:
        warnings.warn(
            f"{config.dataset} is close to balanced (ratio {imbalance_ratio(pool.targets):.2f}); "
            "pass imbalance ratios (--imbalance 10,50) to make it long-tailed", stacklevel=2,
        )
    return Splits(pool, test if natural else balanced(test), removed, natural)


def settings(config: EvalConfig) -> tuple[Any, ...]:
    return tuple(float(r) for r in config.imbalance) or (NATURAL,)


def cell_name(setting: Any, seed: int) -> str:
    return f"{NATURAL}_seed{seed}" if setting == NATURAL else f"r{setting:g}_seed{seed}"


def describe(setting: Any) -> str:
    return "its own imbalance" if setting == NATURAL else f"ratio {setting:g}"


def draw(splits: Splits, setting: Any, seed: int) -> tuple[ArrayDataset, dict]:
    """The cell's long-tailed training set, checked against the test set, and its record."""
    train = splits.pool if setting == NATURAL else long_tail(splits.pool, float(setting), seed=seed)
    check_disjoint(train, splits.test, splits.same_source)
    counts = np.bincount(train.targets, minlength=len(splits.pool.classes))
    record = {
        SETTING_KEY: setting, "seed": seed, "n_train": len(train),
        "class_counts": counts.tolist(), "measured_ratio": round(imbalance_ratio(train.targets), 3),
        "subset_sha256": hashlib.sha256(np.asarray(train.indices, dtype=np.int64).tobytes()).hexdigest()[:16],
        "threads": torch.get_num_threads(),
    }
    return train, record


def generators(splits: Splits, subset: ArrayDataset, config: EvalConfig, seed: int) -> dict[str, Any]:
    """The cell's DAGAN, where a condition draws from it: trained on the long-tailed set itself
    (its same-class pairs come mostly from the common classes, so it learns their variation),
    then conditioned on every class's own images, the rare ones' included."""
    from ganaug.dagan import DAGANAugmenter

    if "dagan" not in {GENERATOR_OF.get(c) for c in config.conditions}:
        return {}
    counts = np.bincount(subset.targets)
    paired = subset.subset(np.flatnonzero(counts[subset.targets] >= 2))  # a pair needs two images of a class
    dagan = DAGANAugmenter(steps=DAGAN_STEPS, seed=seed, diversity_weight=float(config.dagan_diversity),
                           head=config.dagan_head, warp_grid=config.dagan_warp_grid, device=config.device).fit(paired)
    return {"dagan": dagan.condition_on(subset.data, subset.targets, classes=subset.classes, seed=seed)}


def settings_record(splits: Splits) -> dict[str, Any]:
    """What results.json's settings say of the data."""
    return {
        "n_pool": len(splits.pool), "n_test": len(splits.test),
        "test_duplicates_removed": splits.test_duplicates_removed, "class_names": list(splits.pool.classes),
        "pool_ratio": round(imbalance_ratio(splits.pool.targets), 3), "natural_imbalance": splits.natural,
        "test_balanced": not splits.natural,
        "test_counts": np.bincount(splits.test.targets, minlength=len(splits.pool.classes)).tolist(),
    }


def summarize(cells: list[dict], conditions: tuple[str, ...], n_classes: int) -> dict[str, Any]:
    return summarize_long_tail(cells, conditions, n_classes)
