"""The long-tail scenario: long-tailed splits, its conditions, its summary, its CLI and report."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.data import ArrayDataset, imbalance_ratio, long_tail, long_tail_counts

# -- long_tail (data/splits.py) -------------------------------------------------------------------


def test_exponential_profile_follows_the_formula_and_keeps_source_indices(digits):
    lt = long_tail(digits, ratio=10, seed=0)
    n_max = int(np.bincount(digits.targets).min())  # 131: every class can supply it
    expected = [max(1, round(n_max * 10 ** (-c / 9))) for c in range(10)]
    assert np.bincount(lt.targets).tolist() == expected
    assert expected[0] == n_max and expected[-1] == round(n_max / 10)
    # Items are the source's own, traceable by index.
    np.testing.assert_array_equal(lt.data, digits.data[np.searchsorted(digits.indices, lt.indices)])
    assert len(np.unique(lt.indices)) == len(lt)
    assert imbalance_ratio(lt.targets) == pytest.approx(n_max / expected[-1])


def test_seed_changes_the_items_not_the_counts(digits):
    a, b, c = (long_tail(digits, 20, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    assert np.bincount(a.targets).tolist() == np.bincount(c.targets).tolist()


def test_order_decides_which_classes_are_rare(digits):
    order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    counts = np.bincount(long_tail(digits, 10, order=order).targets)
    assert counts[9] == counts.max() and counts[0] == counts.min()
    shuffled = np.bincount(long_tail(digits, 10, order="random", seed=3).targets)
    assert sorted(shuffled.tolist()) == sorted(counts.tolist()) and shuffled.tolist() != counts.tolist()
    with pytest.raises(ValueError, match="each class of the data once"):
        long_tail(digits, 10, order=[0, 1, 2])
    with pytest.raises(ValueError, match="order must be"):
        long_tail(digits, 10, order="backwards")


def test_step_profile_and_the_deepsmote_preset():
    assert long_tail_counts(10, 10, "step", n_max=100).tolist() == [100] * 5 + [10] * 5
    assert long_tail_counts(3, 4, "step", n_max=8).tolist() == [8, 8, 2]  # first ⌈C/2⌉ at n_max
    assert long_tail_counts(10, None, "deepsmote", n_max=4000).tolist() == [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]
    # Scaled down proportionally when the data hold fewer, never below one item.
    assert long_tail_counts(10, None, "deepsmote", n_max=400).tolist() == [400, 200, 100, 75, 50, 35, 20, 10, 6, 4]
    assert long_tail_counts(10, None, "deepsmote", n_max=40).min() == 1
    assert long_tail_counts(4, 1000, "exp", n_max=5).tolist() == [5, 1, 1, 1]  # each class keeps one
    for args, message in (((10, 0.5, "exp"), "must be >= 1"), ((10, 10, "zipf"), "unknown long-tail profile"),
                          ((4, None, "deepsmote"), "10 classes"), ((10, 50, "deepsmote"), "own imbalance ratio")):
        with pytest.raises(ValueError, match=message):
            long_tail_counts(*args, n_max=100)


def test_deepsmote_preset_on_digits_and_a_quota_a_class_cannot_meet(digits):
    lt = long_tail(digits, None, profile="deepsmote")
    scale = np.bincount(digits.targets).min() / 4000
    assert np.bincount(lt.targets).tolist() == [max(1, round(n * scale)) for n in (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)]
    x = np.zeros((30, 4, 4), np.uint8)
    x[:, 0, 0] = np.arange(30)
    small = ArrayDataset(x, np.repeat([0, 1, 2], [20, 5, 5]))
    with pytest.raises(ValueError, match="class 0: its place in the long tail asks 25 items, it holds 20"):
        long_tail(small, 5, n_max=25)
