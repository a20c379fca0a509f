"""Conditions: what the downstream classifier of a cell trains on, and its score on the test set.

Every condition of a cell trains the same classifier (same initial weights, same step budget);
only its training data differ: real, classically augmented, mixed with GAN samples, GAN samples
only, gated (ratio chosen by cross-validation) or filtered.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ganaug.augmenter import GANAugmenter
from ganaug.data import ArrayDataset
from ganaug.evaluation.augment import ToModelInput, augmented_copies, classical_augmentation
from ganaug.evaluation.classifiers import sklearn_classifier
from ganaug.evaluation.config import GAN_CONDITIONS, EvalConfig
from ganaug.evaluation.gating import choose_ratio
from ganaug.filtering import FilteredAugmenter
from ganaug.mixing import SyntheticMixDataset
from ganaug.training.classifier import TorchClassifier


@dataclass
class Cell:
    """One (n per class, seed) cell: its real training data and its augmenter."""

    n: int
    seed: int
    subset: ArrayDataset
    augmenter: GANAugmenter | None
    background: int


class _ArrayItems(Dataset):
    """``(transform(image), class index)`` items of an ArrayDataset (no transform of its own)."""

    def __init__(self, data: ArrayDataset, transform: Callable) -> None:
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.data.data[i]), int(self.data.targets[i])


class _SyntheticOnly(Dataset):
    """The synthetic part of a SyntheticMixDataset, for train-on-synthetic."""

    def __init__(self, mix: SyntheticMixDataset) -> None:
        self.mix = mix

    def refresh(self, epoch: int) -> None:
        self.mix.refresh(epoch)

    def __len__(self) -> int:
        return len(self.mix) - self.mix.n_real

    def __getitem__(self, i: int) -> Any:
        return self.mix[self.mix.n_real + i]


def train_gan(subset: ArrayDataset, config: EvalConfig, seed: int) -> GANAugmenter:
    """The GAN of a cell (or of a gating fold): ``config.gan`` with the cell's seed."""
    gan = dataclasses.replace(config.gan, seed=seed)
    return GANAugmenter.from_config(gan, device=config.device, verbose=False).fit(subset)


def condition_dataset(cond: str, cell: Cell, config: EvalConfig) -> Dataset:
    """The torch dataset a condition trains on: ``(tensor in [-1, 1], class index)`` items."""
    plain = ToModelInput()
    classical = ToModelInput(classical_augmentation(cell.background, seed=cell.seed))
    transform = classical if "classical" in cond else plain
    if cond in ("real", "classical"):
        return _ArrayItems(cell.subset, transform)
    if cond == "synthetic":
        ratio = max(1.0, config.ratio)
        return _SyntheticOnly(SyntheticMixDataset(cell.subset, cell.augmenter, ratio, transform=plain, seed=cell.seed))
    return SyntheticMixDataset(cell.subset, cell.augmenter, config.ratio, transform=transform, seed=cell.seed)


def condition_arrays(cond: str, cell: Cell, config: EvalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Training arrays for estimators without a data loader (scikit-learn)."""
    x, y = cell.subset.data, cell.subset.targets
    parts_x, parts_y = [], []
    if cond != "synthetic":
        parts_x.append(x)
        parts_y.append(y)
    if "classical" in cond:
        parts_x.append(augmented_copies(x, classical_augmentation(cell.background, seed=cell.seed), copies=4))
        parts_y.append(np.tile(y, 4))
    if cond in GAN_CONDITIONS:
        n_syn = int(round(len(x) * (max(1.0, config.ratio) if cond == "synthetic" else config.ratio) * 4))
        images, labels = cell.augmenter.sample(n_syn, labels=np.resize(y, n_syn), seed=cell.seed)
        parts_x.append(images)
        parts_y.append(labels)
    return np.concatenate(parts_x), np.concatenate(parts_y)


def score(predicted: np.ndarray, test: ArrayDataset, n_classes: int) -> dict[str, Any]:
    correct = predicted == test.targets
    per_class = [float(correct[test.targets == c].mean()) for c in range(n_classes)]
    return {"accuracy": float(correct.mean()), "per_class_accuracy": per_class}


def train_and_score(
    cond: str, cell: Cell, test: ArrayDataset, config: EvalConfig, n_classes: int,
    classifier_factory: Callable[[int], Any] | None = None,
) -> dict[str, Any]:
    """Train the downstream classifier under one condition and score it on the test set."""
    if cond == "gan-gated":
        return _gated(cell, test, config, n_classes, classifier_factory)
    if cond == "gan-filtered":
        screened = FilteredAugmenter(cell.augmenter, cell.subset.data, cell.subset.targets, seed=cell.seed)
        result = train_and_score("gan", dataclasses.replace(cell, augmenter=screened), test, config, n_classes, classifier_factory)
        return result | {"filter": dict(screened.stats)}
    started = time.perf_counter()
    if classifier_factory is not None or config.classifier in ("logreg", "svc"):
        clf = classifier_factory(cell.seed) if classifier_factory else sklearn_classifier(config.classifier, cell.seed)
        x, y = condition_arrays(cond, cell, config)
        predicted = np.asarray(clf.fit(x, y).predict(test.data))
    else:
        clf = TorchClassifier(config.classifier, steps=config.classifier_steps, seed=cell.seed, device=config.device)
        clf.fit_dataset(condition_dataset(cond, cell, config), cell.subset.image_shape, n_classes)
        predicted = clf.predict(test.data)
    return score(predicted, test, n_classes) | {"seconds": round(time.perf_counter() - started, 2)}


def _gated(
    cell: Cell, test: ArrayDataset, config: EvalConfig, n_classes: int, classifier_factory: Callable | None
) -> dict[str, Any]:
    """``gan+classical`` at the ratio chosen by cross-validation on the real subset.

    Ratio 0 is exactly the ``classical`` condition, the strongest baseline without a GAN, so a
    shut gate can never fall below it. Candidates are 0, half the configured ratio and the
    configured ratio; the CV classifiers train for half the step budget. Each fold draws its
    synthetic data from a GAN trained on that fold's training part only: the cell's GAN has
    seen the validation images, and its samples of them would flatter a ratio above 0.
    """
    started = time.perf_counter()
    cv_config = dataclasses.replace(config, classifier_steps=max(50, config.classifier_steps // 2))
    fold_gans: dict[bytes, GANAugmenter] = {}

    def condition(ratio: float) -> str:
        return "gan+classical" if ratio > 0 else "classical"

    def fold_gan(train_part: ArrayDataset) -> GANAugmenter:
        key = train_part.indices.tobytes()
        if key not in fold_gans:
            fold_gans[key] = train_gan(train_part, config, cell.seed)
        return fold_gans[key]

    def fit_score(train_part: ArrayDataset, ratio: float, val_part: ArrayDataset) -> float:
        part = dataclasses.replace(cell, subset=train_part, augmenter=fold_gan(train_part) if ratio > 0 else None)
        scored = train_and_score(condition(ratio), part, val_part, dataclasses.replace(cv_config, ratio=ratio), n_classes, classifier_factory)
        return scored["accuracy"]

    candidates = tuple(sorted({0.0, config.ratio / 2, config.ratio}))
    gate = choose_ratio(cell.subset, fit_score, candidates=candidates, seed=cell.seed, baseline="classical")
    chosen = dataclasses.replace(config, ratio=gate["chosen"])
    result = train_and_score(condition(gate["chosen"]), cell, test, chosen, n_classes, classifier_factory)
    gate["fold_gans"] = len(fold_gans)
    return result | {"gating": gate, "seconds": round(time.perf_counter() - started, 2)}
