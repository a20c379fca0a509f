"""Paired statistics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ganaug.evaluation.stats import paired_gain, sign_flip_p_value, summarize, summarize_cells


def test_summarize_matches_a_hand_computed_t_interval():
    s = summarize([0.80, 0.82, 0.84])
    # mean 0.82, sample std 0.02, t(0.975, df=2) = 4.302653, half-width = 4.302653*0.02/sqrt(3)
    half = 4.302653 * 0.02 / math.sqrt(3)
    assert s["n"] == 3 and s["mean"] == pytest.approx(0.82)
    assert s["std"] == pytest.approx(0.02)
    assert s["ci_low"] == pytest.approx(0.82 - half, abs=1e-6)
    assert s["ci_high"] == pytest.approx(0.82 + half, abs=1e-6)


def test_single_seed_has_no_spread():
    assert summarize([0.5]) == {"n": 1, "mean": 0.5, "std": None, "ci_low": None, "ci_high": None}
    with pytest.raises(ValueError):
        summarize([])


def test_paired_gain_by_hand():
    gan = [0.90, 0.85, 0.88, 0.92]
    real = [0.86, 0.84, 0.85, 0.87]
    # differences 0.04, 0.01, 0.03, 0.05: mean 0.0325, sd 0.017078, t = 3.806 on 3 df
    g = paired_gain(gan, real)
    assert g["mean"] == pytest.approx(0.0325)
    assert g["std"] == pytest.approx(0.0170783, abs=1e-6)
    assert g["p_value"] == pytest.approx(0.03192, abs=2e-4)
    half = 3.182446 * 0.0170783 / 2
    assert g["ci_low"] == pytest.approx(0.0325 - half, abs=1e-5)
    # all four differences positive: only the all-plus and all-minus patterns reach |mean| -> 2/16
    assert g["p_value_exact"] == pytest.approx(2 / 16)


def test_pairing_matters():
    # Large seed-to-seed swings, constant +1 point gain: paired test sees it, unpaired would not.
    base = [0.60, 0.90, 0.70, 0.80, 0.65]
    treat = [b + 0.01 for b in base]
    g = paired_gain(treat, base)
    assert g["ci_low"] == pytest.approx(0.01) and g["p_value"] == 0.0


def test_no_difference_and_mismatched_lengths():
    assert paired_gain([0.5, 0.6], [0.5, 0.6])["p_value"] == 1.0
    assert sign_flip_p_value([0.0, 0.0, 0.0]) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        paired_gain([0.1, 0.2], [0.1])


def test_sign_flip_beyond_sixteen_pairs_estimates_without_reaching_zero():
    # 20 pairs: a Monte Carlo estimate. Exact would be 2 / 2**20; a draw count of 0 must not read as p = 0.
    p = sign_flip_p_value([0.01] * 20)
    assert 0 < p < 1e-3
    assert sign_flip_p_value([0.01, -0.01] * 10) == pytest.approx(1.0)


def test_interval_width_follows_the_confidence():
    values = [0.80, 0.82, 0.84]
    wide, narrow = summarize(values, confidence=0.99), summarize(values, confidence=0.80)
    # t(0.995, 2) = 9.924843, t(0.90, 2) = 1.885618
    assert wide["ci_high"] - wide["mean"] == pytest.approx(9.924843 * 0.02 / math.sqrt(3), abs=1e-6)
    assert narrow["ci_high"] - narrow["mean"] == pytest.approx(1.885618 * 0.02 / math.sqrt(3), abs=1e-6)


def test_summary_gains_and_deltas_by_hand():
    def cell(seed, accuracies):
        return {"per_class": 5, "seed": seed, "results": {
            c: {"accuracy": a, "per_class_accuracy": [a - 0.1, a + 0.1]} for c, a in accuracies.items()}}

    cells = [cell(2, {"real": 0.70, "classical": 0.75, "gan": 0.74}),
             cell(0, {"real": 0.60, "classical": 0.66, "gan": 0.61}),
             cell(1, {"real": 0.80, "classical": 0.83, "gan": 0.84})]
    summary = summarize_cells(cells, ("real", "classical", "gan"), n_classes=2)
    gains = {(g["condition"], g["baseline"]): g for g in summary["gains"]}
    assert set(gains) == {("classical", "real"), ("gan", "real"), ("gan", "classical")}
    assert gains[("gan", "real")]["mean"] == pytest.approx((0.01 + 0.04 + 0.04) / 3)
    assert gains[("gan", "classical")]["mean"] == pytest.approx((-0.05 + 0.01 - 0.01) / 3)
    assert gains[("gan", "classical")]["n"] == 3
    delta = next(d for d in summary["per_class_delta"] if (d["condition"], d["baseline"]) == ("gan", "classical"))
    assert delta["deltas"] == pytest.approx([-0.05 / 3] * 2)
    real = next(a for a in summary["accuracy"] if a["condition"] == "real")
    assert real["mean"] == pytest.approx(0.70) and real["std"] == pytest.approx(0.10)
