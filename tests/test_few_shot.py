"""The few-shot scenario: no training subset overlaps the test set."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug import GANConfig
from ganaug.data import few_shot
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.scenarios.few_shot import check_disjoint, load_splits

TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


def test_no_training_subset_overlaps_the_test_set():
    pool, test, _ = load_splits(EvalConfig())
    assert pool.source == test.source  # one array: overlap is checkable by index
    for n in (5, 10, 20, 50):
        for seed in range(5):
            subset, _ = few_shot(pool, n, seed)
            assert not np.intersect1d(subset.indices, test.indices).size
            check_disjoint(subset, test, same_source=True)
    with pytest.raises(ValueError, match="also in the test set"):
        check_disjoint(test.subset(np.arange(3)), test, same_source=True)
    with pytest.raises(ValueError, match="pixel-identical"):
        check_disjoint(test.subset(np.arange(3)), test, same_source=False)
