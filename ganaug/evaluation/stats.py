"""Statistics over seeds: mean, spread, 95 % t-intervals and paired tests.

Paired gains compare two conditions within a seed (same split, same initialisation), so the
seed-to-seed variation of the split cancels out: the interval is on the differences.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from ganaug.evaluation.config import BASELINES


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def summarize(values: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean, sample std (ddof=1) and the Student-t interval of the mean.

    With one value, the std and interval are None (a single seed says nothing of spread).
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n == 0:
        raise ValueError("summarize() needs at least one value")
    mean = float(x.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "std": None, "ci_low": None, "ci_high": None}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}


def sign_flip_p_value(differences: Sequence[float]) -> float:
    """Exact two-sided p-value of the paired sign-flip (permutation) test.

    Under "no effect" each difference is as likely positive as negative; the p-value is the
    share of the 2^n sign patterns whose |mean| is at least the observed one. Exact for
    n ≤ 16, which covers seed counts in practice; beyond that a 65,536-draw Monte Carlo,
    counting the observed pattern among the draws so that the estimate is never 0.
    """
    d = np.asarray(differences, dtype=np.float64)
    n = len(d)
    observed = abs(d.mean())
    exact = n <= 16
    if exact:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        signs = np.random.default_rng(0).choice((1.0, -1.0), size=(65536, n))
    hits = int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12))
    return hits / len(signs) if exact else (hits + 1) / (len(signs) + 1)


def paired_gain(treatment: Sequence[float], baseline: Sequence[float], confidence: float = 0.95) -> dict:
    """Gain of ``treatment`` over ``baseline``, paired by position (seed).

    Returns:
        ``summarize`` of the differences plus ``p_value`` (paired t-test, two-sided),
        ``p_value_exact`` (sign-flip permutation test) and ``test``.
    """
    a, b = np.asarray(treatment, np.float64), np.asarray(baseline, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {len(a)} vs {len(b)}")
    d = a - b
    out = summarize(d, confidence)
    if len(d) < 2:
        p = None
    elif np.allclose(d, d[0]):
        p = 1.0 if abs(d[0]) < 1e-12 else 0.0  # zero variance: t is undefined, the sign is not
    else:
        p = _clean(float(stats.ttest_rel(a, b).pvalue))
    out.update(p_value=p, p_value_exact=sign_flip_p_value(d) if len(d) >= 2 else None, test="paired t-test")
    return out


def summarize_cells(cells: list[dict], conditions: tuple[str, ...], n_classes: int) -> dict[str, Any]:
    """Accuracy per condition, paired gains vs each baseline, per-class deltas, metric means."""
    summary: dict[str, list] = {"accuracy": [], "gains": [], "per_class_delta": [], "metrics": []}
    for n in sorted({c["per_class"] for c in cells}):
        group = sorted((c for c in cells if c["per_class"] == n), key=lambda c: c["seed"])
        acc = {cond: [c["results"][cond]["accuracy"] for c in group] for cond in conditions}
        for cond in conditions:
            summary["accuracy"].append({"per_class": n, "condition": cond, **summarize(acc[cond])})
        for base in BASELINES:
            if base not in acc:
                continue
            for cond in conditions:
                if cond == base or (base == "classical" and cond == "real"):
                    continue
                summary["gains"].append(
                    {"per_class": n, "condition": cond, "baseline": base, **paired_gain(acc[cond], acc[base])}
                )
                per_class = np.array([
                    np.subtract(c["results"][cond]["per_class_accuracy"], c["results"][base]["per_class_accuracy"])
                    for c in group
                ])
                summary["per_class_delta"].append(
                    {"per_class": n, "condition": cond, "baseline": base, "deltas": per_class.mean(axis=0).tolist()}
                )
        with_metrics = [c["metrics"] for c in group if c.get("metrics")]
        if with_metrics:
            row: dict[str, Any] = {"per_class": n}
            for name in ("fid", "kid", "precision", "recall", "label_consistency"):
                row[name] = float(np.mean([m[name] for m in with_metrics]))
            row["nn_ratio"] = float(np.mean([m["memorisation"]["nn_ratio"] for m in with_metrics]))
            summary["metrics"].append(row)
    return summary
