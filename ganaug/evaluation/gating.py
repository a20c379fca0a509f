"""Never-worse gating: pick the synthetic ratio (0 included) by cross-validation on real data
(`choose_ratio`), or, in the long-tail scenario, the condition (`choose_condition`).

A GAN that saw the validation fold would flatter it, so ``fit_score`` should draw synthetic
data from a GAN trained on the training part only (the evaluation protocol does). The rule
is conservative as well: a ratio above 0 is chosen only when its fold-paired gain over ratio 0
exceeds one standard error; otherwise the gate stays shut and the classifier trains exactly as
it would without synthetic data (the ``baseline``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ganaug.data import ArrayDataset

DEFAULT_CANDIDATES = (0.0, 0.5, 1.0, 2.0)


def choose_ratio(
    real: ArrayDataset,
    fit_score: Callable[[ArrayDataset, float, ArrayDataset], float],
    candidates: tuple[float, ...] = DEFAULT_CANDIDATES,
    folds: int = 3,
    seed: int = 0,
    baseline: str = "real-only",
) -> dict[str, Any]:
    """Cross-validate each synthetic ratio on ``real`` and choose one.

    Args:
        real: the real training data (the few-shot subset).
        fit_score: ``(train_part, ratio, validation_part) -> accuracy``: trains the downstream
            classifier on ``train_part`` plus ``ratio`` synthetic items per real item and scores
            it on ``validation_part``.
        candidates: ratios to try; 0 is always added.
        folds: stratified folds (at most the smallest class count, at least 2).
        seed: fold assignment.
        baseline: what ratio 0 trains on, named in the reason (e.g. ``"classical"``).

    Returns:
        ``{"candidates", "folds", "cv_accuracy" (ratio -> mean), "gain_vs_0" (ratio -> mean,
        standard error), "chosen", "reason"}`` — what the report prints.
    """
    ratios = sorted({0.0, *map(float, candidates)})
    k = max(2, min(folds, int(np.bincount(real.targets).min())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores = {r: [] for r in ratios}
    for train_pos, val_pos in splitter.split(np.zeros(len(real)), real.targets):
        train_part, val_part = real.subset(train_pos), real.subset(val_pos)
        for r in ratios:
            scores[r].append(float(fit_score(train_part, r, val_part)))
    base = np.array(scores[0.0])
    gains = {}
    for r in ratios[1:]:
        d = np.array(scores[r]) - base
        gains[r] = (float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))))
    passing = {r: g for r, (g, se) in gains.items() if g > max(se, 1e-9)}
    if passing:
        chosen = max(passing, key=lambda r: (passing[r], -r))
        reason = (
            f"ratio {chosen:g} beat {baseline} by {100 * passing[chosen]:+.1f} points over {k} folds, "
            f"more than one standard error ({100 * gains[chosen][1]:.1f})"
        )
    else:
        chosen = 0.0
        best = max(gains, key=lambda r: gains[r][0]) if gains else None
        reason = (
            f"no ratio beat {baseline} by more than one standard error"
            + (f" (best: {best:g}, {100 * gains[best][0]:+.1f} ± {100 * gains[best][1]:.1f} points)" if best is not None else "")
            + "; synthetic data switched off"
        )
    return {
        "candidates": ratios,
        "folds": k,
        "cv_accuracy": {f"{r:g}": float(np.mean(s)) for r, s in scores.items()},
        "gain_vs_0": {f"{r:g}": {"mean": g, "se": se} for r, (g, se) in gains.items()},
        "chosen": chosen,
        "reason": reason,
    }


def cross_validate(
    real: ArrayDataset,
    fit_score: Callable[[ArrayDataset, Any, ArrayDataset], float],
    candidates: tuple | list,
    folds: int = 3,
    seed: int = 0,
) -> tuple[dict[Any, list[float]], int]:
    """Each candidate's score on each of ``folds`` stratified folds of ``real`` (at most the
    smallest class count, at least 2); returns the scores and the fold count."""
    counts = np.bincount(real.targets)
    k = max(2, min(folds, int(counts[counts > 0].min())))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    scores: dict[Any, list[float]] = {c: [] for c in candidates}
    with warnings.catch_warnings():
        # A class with fewer items than folds is left out of some training parts; said in the record.
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        splits = list(splitter.split(np.zeros(len(real)), real.targets))
    for train_pos, val_pos in splits:
        train_part, val_part = real.subset(train_pos), real.subset(val_pos)
        for c in candidates:
            scores[c].append(float(fit_score(train_part, c, val_part)))
    return scores, k


def choose_condition(
    real: ArrayDataset,
    fit_score: Callable[[ArrayDataset, str, ArrayDataset], float],
    candidates: tuple[str, ...],
    generative: tuple[str, ...],
    folds: int = 3,
    seed: int = 0,
) -> dict[str, Any]:
    """The long-tail gate: cross-validate every candidate condition and choose one, never worse.

    The best non-generative candidate (highest mean CV score) is the default; a ``generative``
    candidate replaces it only when its fold-paired gain over that one exceeds one standard
    error, as `choose_ratio` opens its gate.

    Returns:
        ``{"candidates", "folds", "cv_balanced_accuracy" (condition -> mean),
        "best_non_generative", "gain_vs_best" (condition -> mean, se), "chosen", "reason"}``.
    """
    scores, k = cross_validate(real, fit_score, candidates, folds, seed)
    plain = [c for c in candidates if c not in generative]
    best = max(plain, key=lambda c: (np.mean(scores[c]), -plain.index(c)))
    gains = {}
    for g in (c for c in candidates if c in generative):
        d = np.array(scores[g]) - np.array(scores[best])
        gains[g] = (float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))))
    passing = {g: m for g, (m, se) in gains.items() if m > max(se, 1e-9)}
    if passing:
        chosen = max(passing, key=lambda g: passing[g])
        reason = (f"{chosen} beat {best}, the best non-generative condition, by {100 * passing[chosen]:+.1f} points of "
                  f"balanced accuracy over {k} folds, more than one standard error ({100 * gains[chosen][1]:.1f})")
    else:
        chosen = best
        top = max(gains, key=lambda g: gains[g][0]) if gains else None
        reason = (f"{best} had the best CV balanced accuracy of the non-generative conditions"
                  + (f"; {top} did not beat it by more than one standard error ({100 * gains[top][0]:+.1f} ± "
                     f"{100 * gains[top][1]:.1f} points)" if top is not None else ""))
    return {
        "candidates": list(candidates), "folds": k,
        "cv_balanced_accuracy": {c: float(np.mean(s)) for c, s in scores.items()},
        "best_non_generative": best,
        "gain_vs_best": {g: {"mean": m, "se": se} for g, (m, se) in gains.items()},
        "chosen": chosen, "reason": reason,
    }
