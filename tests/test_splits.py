"""Few-shot and imbalanced splits."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.data import ArrayDataset, few_shot, imbalance


def test_few_shot_is_stratified_reproducible_and_disjoint(digits):
    a, rest = few_shot(digits, 5, seed=3)
    b, _ = few_shot(digits, 5, seed=3)
    c, _ = few_shot(digits, 5, seed=4)
    assert np.bincount(a.targets).tolist() == [5] * 10
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    assert not set(a.indices) & set(rest.indices)
    assert len(a) + len(rest) == len(digits)


def test_few_shot_asks_more_than_a_class_holds(toy_arrays):
    x, y = toy_arrays
    with pytest.raises(ValueError, match="fewer"):
        few_shot(ArrayDataset(x, y), 11)
    with pytest.raises(ValueError, match="positive integer"):
        few_shot(ArrayDataset(x, y), 0)


def test_imbalance_keeps_requested_counts(toy_arrays):
    ds = imbalance(ArrayDataset(*toy_arrays), {0: 2, 1: 5})
    assert np.bincount(ds.targets).tolist() == [2, 5, 10, 10]
