"""Never-worse gating: pick the synthetic ratio (0 included) by cross-validation on real data.

A GAN that saw the validation fold would flatter it, so ``fit_score`` should draw synthetic
data from a GAN trained on the training part only (the evaluation protocol does). The rule
is conservative as well: a ratio above 0 is chosen only when its fold-paired gain over ratio 0
exceeds one standard error; otherwise the gate stays shut and the classifier trains exactly as
it would without synthetic data (the ``baseline``).
"""

from __future__ import annotations

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
