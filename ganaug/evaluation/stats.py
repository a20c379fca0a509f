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

from ganaug.evaluation.config import BASELINES, NON_GENERATIVE


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


def summarize_cells(
    cells: list[dict], conditions: tuple[str, ...], n_classes: int, setting_key: str = "per_class",
    baselines: tuple[str, ...] = BASELINES,
) -> dict[str, Any]:
    """Accuracy per condition, paired gains vs each baseline, per-class deltas, metric means.

    Cells are grouped by ``setting_key``, the field that names their setting (few-shot:
    ``per_class``); every row carries it under that name.
    """
    summary: dict[str, list] = {"accuracy": [], "gains": [], "per_class_delta": [], "metrics": []}
    for n, group in _groups(cells, setting_key):
        acc = {cond: [c["results"][cond]["accuracy"] for c in group] for cond in conditions}
        for cond in conditions:
            summary["accuracy"].append({setting_key: n, "condition": cond, **summarize(acc[cond])})
        for base in baselines:
            if base not in acc:
                continue
            for cond in conditions:
                if cond == base or (base != "real" and cond == "real"):
                    continue
                summary["gains"].append(
                    {setting_key: n, "condition": cond, "baseline": base, **paired_gain(acc[cond], acc[base])}
                )
                summary["per_class_delta"].append(
                    {setting_key: n, "condition": cond, "baseline": base, "deltas": _per_class_delta(group, cond, base)}
                )
        summary["metrics"] += _metrics_rows(group, setting_key, n)
    return summary


def _groups(cells: list[dict], setting_key: str) -> list[tuple[Any, list[dict]]]:
    """Cells by setting (in the settings' order), each group in seed order."""
    settings = sorted({c[setting_key] for c in cells}, key=lambda v: (isinstance(v, str), v))
    return [(n, sorted((c for c in cells if c[setting_key] == n), key=lambda c: c["seed"])) for n in settings]


def _per_class_delta(group: list[dict], cond: str, base: str) -> list[float]:
    per_class = np.array([
        np.subtract(c["results"][cond]["per_class_accuracy"], c["results"][base]["per_class_accuracy"])
        for c in group
    ])
    return per_class.mean(axis=0).tolist()


def _metrics_rows(group: list[dict], setting_key: str, n: Any) -> list[dict]:
    with_metrics = [c["metrics"] for c in group if c.get("metrics")]
    if not with_metrics:
        return []
    row: dict[str, Any] = {setting_key: n}
    for name in ("fid", "kid", "precision", "recall", "label_consistency"):
        row[name] = float(np.mean([m[name] for m in with_metrics]))
    row["nn_ratio"] = float(np.mean([m["memorisation"]["nn_ratio"] for m in with_metrics]))
    return [row]


# What each long-tail condition is scored by besides accuracy (conditions.score computes them).
LONG_TAIL_SCORES = ("macro_f1", "gmean_recall", "rare3_recall")
BEST_NON_GENERATIVE = "best-non-generative"


def best_non_generative(group: list[dict], conditions: tuple[str, ...]) -> dict[str, Any] | None:
    """The non-generative condition with the best mean *validation* balanced accuracy.

    Chosen on validation data only, never on the test set: each long-tail cell records, under
    ``validation``, cross-validated balanced accuracies on its own long-tailed training set (the
    lt-gated condition's CV scores when it ran, else a CV of the non-generative conditions
    alone; see ``ganaug.evaluation.conditions.validation_scores``), and the choice is the
    condition with the highest mean over the group's seeds. None when no cell has any.
    """
    candidates = [c for c in NON_GENERATIVE if c in conditions]
    scores = {c: [cell["validation"]["balanced_accuracy"][c] for cell in group
                  if c in (cell.get("validation") or {}).get("balanced_accuracy", {})] for c in candidates}
    means = {c: float(np.mean(v)) for c, v in scores.items() if len(v) == len(group) and v}
    if not means:
        return None
    chosen = max(means, key=lambda c: (means[c], -candidates.index(c)))
    methods = sorted({cell["validation"]["method"] for cell in group})
    return {"condition": chosen, "validation_balanced_accuracy": means, "method": " + ".join(methods)}


def summarize_long_tail(cells: list[dict], conditions: tuple[str, ...], n_classes: int) -> dict[str, Any]:
    """The long-tail summary, grouped by imbalance ratio.

    ``accuracy`` and ``balanced_accuracy`` (the headline: mean per-class recall) per condition;
    ``scores`` (macro-F1, geometric mean of recalls, recall of the three rarest training classes,
    mean per-class recall); ``best_non_generative`` (chosen on validation data); ``gains``:
    paired gains in balanced accuracy vs the best non-generative condition and vs ``real``;
    ``rare3_gains``: the same for the rarest three classes' recall; ``per_class_delta`` vs the
    best non-generative condition; ``metrics``: generative metrics.
    """
    key = "imbalance"
    summary: dict[str, list] = {"accuracy": [], "balanced_accuracy": [], "scores": [], "best_non_generative": [],
                                "gains": [], "rare3_gains": [], "per_class_delta": [], "metrics": []}
    for r, group in _groups(cells, key):
        values = {m: {cond: [c["results"][cond][m] for c in group] for cond in conditions}
                  for m in ("accuracy", "balanced_accuracy", *LONG_TAIL_SCORES)}
        for metric in ("accuracy", "balanced_accuracy"):
            summary[metric] += [{key: r, "condition": cond, **summarize(values[metric][cond])} for cond in conditions]
        for cond in conditions:
            recall = np.mean([c["results"][cond]["per_class_accuracy"] for c in group], axis=0)
            summary["scores"].append({key: r, "condition": cond, **{m: float(np.mean(values[m][cond])) for m in LONG_TAIL_SCORES},
                                      "per_class_recall": recall.tolist()})
        best = best_non_generative(group, conditions)
        baselines = [("real", "real")] if "real" in conditions else []
        if best is not None:
            summary["best_non_generative"].append({key: r, **best})
            baselines.insert(0, (BEST_NON_GENERATIVE, best["condition"]))
        for name, base in baselines:
            for cond in conditions:
                if cond == base:
                    continue
                tag = {key: r, "condition": cond, "baseline": name, "baseline_condition": base}
                summary["gains"].append(tag | paired_gain(values["balanced_accuracy"][cond], values["balanced_accuracy"][base]))
                if name == BEST_NON_GENERATIVE:
                    summary["rare3_gains"].append(tag | paired_gain(values["rare3_recall"][cond], values["rare3_recall"][base]))
                    summary["per_class_delta"].append(tag | {"deltas": _per_class_delta(group, cond, base)})
        summary["metrics"] += _metrics_rows(group, key, r)
    return summary
