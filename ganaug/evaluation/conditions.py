"""Conditions: what the downstream classifier of a cell trains on, and its score on the test set.

Every condition of a cell trains the same classifier (same initial weights, same step budget);
only its training data differ: real, classically augmented, mixed with GAN samples, GAN samples
only, gated (ratio chosen by cross-validation) or filtered. The long-tail scenario's conditions
differ in their data (oversampled, SMOTE, GAN-filled) or in their loss (class weights, logit
adjustment); its gate (``lt-gated``) chooses among them by cross-validation.
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
from ganaug.evaluation.augment import ToModelInput
from ganaug.evaluation.batch_augment import BatchAugment, augmented_copies
from ganaug.evaluation.classifiers import sklearn_classifier
from ganaug.evaluation.config import GAN_CONDITIONS, NON_GENERATIVE, EvalConfig
from ganaug.evaluation.gating import choose_condition, choose_ratio, cross_validate
from ganaug.evaluation.imbalanced import (
    capped_fill,
    fill_ratio,
    oversample_positions,
    rarest_classes,
    smote_arrays,
)
from ganaug.filtering import FilteredAugmenter
from ganaug.mixing import SyntheticMixDataset
from ganaug.training.classifier import TorchClassifier


@dataclass
class Cell:
    """One (n per class, seed) cell: its real training data and its augmenter.

    ``generators`` names every generator the cell's conditions may draw from (``gan``: the
    cell's own; transfer adds ``dagan`` and ``finetuned``); ``pretrained`` is the classifier
    the ``pretrained-classifier`` conditions start from, ``init`` the one this condition
    starts from (None: a fresh network).
    """

    n: int
    seed: int
    subset: ArrayDataset
    augmenter: GANAugmenter | None
    background: int
    generators: dict[str, Any] = dataclasses.field(default_factory=dict)
    pretrained: Any = None
    init: Any = None


class _ArrayItems(Dataset):
    """``(transform(image), class index)`` items of an ArrayDataset (no transform of its own)."""

    def __init__(self, data: ArrayDataset, transform: Callable) -> None:
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    @property
    def targets(self) -> np.ndarray:
        return self.data.targets

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.data.data[i]), int(self.data.targets[i])

    def batch_reader(self) -> Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]] | None:
        batch = getattr(self.transform, "batch", None)
        if batch is None:
            return None
        return lambda idx: (batch(self.data.data[idx]), torch.as_tensor(self.data.targets[idx], dtype=torch.long))


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

    def batch_reader(self) -> Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]] | None:
        read = self.mix.batch_reader()
        return None if read is None else lambda idx: read(np.asarray(idx) + self.mix.n_real)


def train_gan(subset: ArrayDataset, config: EvalConfig, seed: int) -> GANAugmenter:
    """The GAN of a cell (or of a gating fold): ``config.gan`` with the cell's seed."""
    gan = dataclasses.replace(config.gan, seed=seed)
    return GANAugmenter.from_config(gan, device=config.device, verbose=False).fit(subset)


def condition_dataset(cond: str, cell: Cell, config: EvalConfig) -> Dataset:
    """The torch dataset a condition trains on: ``(tensor in [-1, 1], class index)`` items.

    Classical augmentation is not in it: `batch_augmentation` gives the classifier that, on
    whole batches (real and synthetic items alike).
    """
    plain = ToModelInput()
    if cond in ("real", "classical"):
        return _ArrayItems(cell.subset, plain)
    if cond in LONG_TAIL_TRAINING:
        return _long_tail_dataset(cond, cell, plain, config.ratio)
    if cond == "synthetic":
        ratio = max(1.0, config.ratio)
        return _SyntheticOnly(SyntheticMixDataset(cell.subset, cell.augmenter, ratio, transform=plain, seed=cell.seed))
    return SyntheticMixDataset(cell.subset, cell.augmenter, config.ratio, transform=plain, seed=cell.seed)


def batch_augmentation(cond: str, cell: Cell) -> BatchAugment | None:
    """The classical augmentation of a condition's training batches (None without it)."""
    return BatchAugment(cell.background, seed=cell.seed) if "classical" in cond else None


def condition_arrays(cond: str, cell: Cell, config: EvalConfig) -> tuple[np.ndarray, np.ndarray]:
    """Training arrays for estimators without a data loader (scikit-learn)."""
    x, y = cell.subset.data, cell.subset.targets
    parts_x, parts_y = [], []
    if cond != "synthetic":
        parts_x.append(x)
        parts_y.append(y)
    if "classical" in cond:
        parts_x.append(augmented_copies(x, BatchAugment(cell.background, seed=cell.seed), copies=4))
        parts_y.append(np.tile(y, 4))
    if cond in GAN_CONDITIONS:
        n_syn = int(round(len(x) * (max(1.0, config.ratio) if cond == "synthetic" else config.ratio) * 4))
        images, labels = cell.augmenter.sample(n_syn, labels=np.resize(y, n_syn), seed=cell.seed)
        parts_x.append(images)
        parts_y.append(labels)
    return np.concatenate(parts_x), np.concatenate(parts_y)


def score(predicted: np.ndarray, test: ArrayDataset, n_classes: int, rare: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy, per-class accuracy (= recall) and the class-balanced scores.

    ``balanced_accuracy`` is the mean per-class recall (ACSA), ``macro_f1`` the mean per-class
    F1, ``gmean_recall`` the geometric mean of the recalls (0 when one class is never
    recognised); classes absent from the test set are left out of all three. With ``rare``
    (class indices), ``rare3_recall`` is their mean recall.
    """
    correct = predicted == test.targets
    per_class = [float(correct[test.targets == c].mean()) for c in range(n_classes)]
    present = np.isin(np.arange(n_classes), test.targets)
    recall = np.array(per_class)[present]
    tp = np.array([np.sum(correct & (test.targets == c)) for c in range(n_classes)])[present]
    predicted_n = np.bincount(predicted, minlength=n_classes)[present]
    actual_n = np.bincount(test.targets, minlength=n_classes)[present]
    f1 = np.divide(2 * tp, predicted_n + actual_n, out=np.zeros(len(tp)), where=predicted_n + actual_n > 0)
    out = {
        "accuracy": float(correct.mean()), "per_class_accuracy": per_class,
        "balanced_accuracy": float(recall.mean()), "macro_f1": float(f1.mean()),
        "gmean_recall": float(np.exp(np.mean(np.log(recall))) if recall.min() > 0 else 0.0),
    }
    if rare is not None:
        out["rare3_recall"] = float(np.mean([per_class[c] for c in rare]))
    return out


def train_and_score(
    cond: str, cell: Cell, test: ArrayDataset, config: EvalConfig, n_classes: int,
    classifier_factory: Callable[[int], Any] | None = None, done: dict[str, dict] | None = None,
) -> dict[str, Any]:
    """Train the downstream classifier under one condition and score it on the test set.

    ``done``: the cell's results so far; the gate reuses the one of the condition it chose.
    """
    if cond == "gan-gated":
        return _gated(cell, test, config, n_classes, classifier_factory)
    if cond == "lt-gated":
        return _lt_gated(cell, test, config, n_classes, done or {})
    if cond == "transfer-gated":
        return _transfer_gated(cell, test, config, n_classes, done or {})
    if cond in DERIVED:
        base, generator, pretrained = DERIVED[cond]
        adapted = dataclasses.replace(cell, augmenter=cell.generators.get(generator) if generator else cell.augmenter,
                                      init=cell.pretrained if pretrained else None)
        return train_and_score(base, adapted, test, config, n_classes, classifier_factory)
    if cond in ("gan-filtered", "gan-fill-filtered+logit-adjusted"):
        screened = FilteredAugmenter(cell.augmenter, cell.subset.data, cell.subset.targets, seed=cell.seed)
        base = "gan" if cond == "gan-filtered" else "gan-fill+logit-adjusted"
        result = train_and_score(base, dataclasses.replace(cell, augmenter=screened), test, config, n_classes, classifier_factory)
        return result | {"filter": dict(screened.stats)}
    started = time.perf_counter()
    if classifier_factory is not None or config.classifier in ("logreg", "svc"):
        if cond in LONG_TAIL_TRAINING:
            raise ValueError(f"{cond} trains a torch classifier (cnn or mlp), not {config.classifier} or a factory")
        clf = classifier_factory(cell.seed) if classifier_factory else sklearn_classifier(config.classifier, cell.seed)
        x, y = condition_arrays(cond, cell, config)
        predicted = np.asarray(clf.fit(x, y).predict(test.data))
    else:
        clf = TorchClassifier(config.classifier, steps=config.classifier_steps, seed=cell.seed, device=config.device,
                              augment=batch_augmentation(cond, cell), init=cell.init,
                              **LONG_TAIL_TRAINING.get(cond, {}))
        clf.fit_dataset(condition_dataset(cond, cell, config), cell.subset.image_shape, n_classes)
        predicted = clf.predict(test.data)
    rare = rarest_classes(cell.subset.targets, n_classes) if config.scenario == "long-tail" else None
    return score(predicted, test, n_classes, rare) | {"seconds": round(time.perf_counter() - started, 2)}


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


# Conditions that are another one with another generator or start: (the condition whose data
# they train on, the generator it draws from — None: the cell's own GAN —, whether the
# classifier starts from the source's). Most are the transfer scenario's; the long-tail
# scenario's DAGAN fills are its GAN fills with the cell's DAGAN.
DERIVED: dict[str, tuple[str, str | None, bool]] = {
    "pretrained-classifier": ("classical", None, True),
    "dagan+classical": ("gan+classical", "dagan", False),
    "finetuned+classical": ("gan+classical", "finetuned", False),
    "pretrained-classifier+gan": ("gan+classical", None, True),
    "pretrained-classifier+dagan": ("gan+classical", "dagan", True),
    "pretrained-classifier+finetuned": ("gan+classical", "finetuned", True),
    "synthetic-dagan": ("synthetic", "dagan", False),
    "synthetic-finetuned": ("synthetic", "finetuned", False),
    "ros+dagan-fill+classical": ("ros+gan-fill+classical", "dagan", False),
    "dagan-fill+classical": ("gan-fill+classical", "dagan", False),
    "ros+dagan-mix+classical": ("ros+gan-mix+classical", "dagan", False),
}


# The transfer gate's candidates: without a generator, then the DAGAN's (which needs no training
# per fold: it never saw a target image, and each fold conditions it on its training part only).
# The fine-tuned GAN is left out: a fine-tune per fold would cost a GAN training each.
TRANSFER_GATE = ("classical", "pretrained-classifier", "dagan+classical", "pretrained-classifier+dagan")


def _transfer_gated(cell: Cell, test: ArrayDataset, config: EvalConfig, n_classes: int, done: dict) -> dict[str, Any]:
    """The never-worse gate of the transfer scenario: cross-validation on the target's few
    images (half the step budget) keeps the better of classical and pretrained-classifier unless
    a DAGAN condition beats it by more than one standard error; the chosen one is then trained
    on the whole subset (or its result taken from ``done``)."""
    started = time.perf_counter()
    dagan = cell.generators["dagan"].augmenter
    cv_config = dataclasses.replace(config, classifier_steps=_cv_steps(config))
    folds: dict[bytes, Any] = {}  # the DAGAN conditioned on each fold's training part, once

    def fit_score(train_part: ArrayDataset, cond: str, val_part: ArrayDataset) -> float:
        key = train_part.indices.tobytes()
        if key not in folds:
            folds[key] = dagan.condition_on(train_part.data, train_part.targets, classes=train_part.classes, seed=cell.seed)
        part = dataclasses.replace(cell, subset=train_part, generators={**cell.generators, "dagan": folds[key]})
        return train_and_score(cond, part, val_part, cv_config, n_classes)["balanced_accuracy"]

    gate = choose_condition(cell.subset, fit_score, TRANSFER_GATE, generative=TRANSFER_GATE[2:], seed=cell.seed)
    chosen = gate["chosen"]
    result = dict(done[chosen]) | {"reused": chosen} if chosen in done else train_and_score(chosen, cell, test, config, n_classes)
    return result | {"gating": gate, "seconds": round(time.perf_counter() - started + done.get(chosen, {}).get("seconds", 0), 2)}


# The long-tail conditions a classifier trains directly, and the loss options each gives it.
LONG_TAIL_TRAINING: dict[str, dict[str, Any]] = {
    "ros+classical": {},
    "reweight+classical": {"class_weight": "balanced"},
    "logit-adjusted+classical": {"logit_adjust": 1.0},
    "gan-fill+classical": {},
    # The prior of the stacked condition is the mixed set's: TorchClassifier reads it from the
    # dataset's targets, real and synthetic.
    "gan-fill+logit-adjusted": {"logit_adjust": 1.0},
    "smote+classical": {},
    "ros+gan-fill+classical": {},
    "ros+gan-mix+classical": {},
}
# Share of each class's gap to the largest class that synthetic images fill. A full fill leaves
# a balanced mixed set, whose uniform prior would make logit adjustment a no-op; so the stacked
# condition fills half (water-filling: the rarest classes first) and its loss corrects the rest.
FILL = {"gan-fill+classical": 1.0, "gan-fill+logit-adjusted": 0.5}
# Synthetic items per real item of a class, at most, where random oversampling balances the set
# and GAN samples take the place of some of its repeats: a full fill makes up to 98 % of a rare
# class synthetic (mnist5k, ratio 50), and its recall fell with that share.
ROS_FILL_CAP = {"ros+gan-fill+classical": 1.0}
# Random oversampling to balance, then ``ratio`` samples per item added to every class alike. A fill
# makes the rare classes mostly synthetic and the common ones real, so a classifier can learn "looks
# generated, so rare" and call the real rare test images common; an even share says nothing of the class.
ROS_MIX = ("ros+gan-mix+classical",)


def _long_tail_dataset(cond: str, cell: Cell, plain: ToModelInput, ratio: float) -> Dataset:
    """The training set of a long-tail condition (its classical augmentation comes by batch);
    ``ratio``: synthetic items per item where every class gets the same share."""
    data = cell.subset
    if cond == "ros+classical":
        return _ArrayItems(data.subset(oversample_positions(data.targets, cell.seed)), plain)
    if cond in ROS_MIX:  # balanced real items: balancing water-fills every class alike
        real = data.subset(oversample_positions(data.targets, cell.seed))
        return SyntheticMixDataset(real, cell.augmenter, ratio, transform=plain, seed=cell.seed, balance=True)
    if cond in ROS_FILL_CAP:
        synthetic = capped_fill(data.targets, ROS_FILL_CAP[cond])
        top = int(np.bincount(data.targets).max())
        real = data.subset(oversample_positions(data.targets, cell.seed, counts=top - synthetic))
        # Balancing water-fills each class's gap to the largest, which is its capped share.
        ratio = int(synthetic.sum()) / len(real)
        return SyntheticMixDataset(real, cell.augmenter, ratio, transform=plain, seed=cell.seed, balance=True)
    if cond in FILL:
        ratio = fill_ratio(data.targets, FILL[cond])
        return SyntheticMixDataset(data, cell.augmenter, ratio, transform=plain, seed=cell.seed, balance=True)
    if cond == "smote+classical":
        x, y = smote_arrays(data.data, data.targets, cell.seed)  # drawn once per cell
        return _ArrayItems(ArrayDataset(x, y, data.classes, name=f"{data.name}[SMOTE]"), plain)
    return _ArrayItems(data, plain)  # reweight, logit-adjusted: the loss differs, not the data


def _lt_gated(cell: Cell, test: ArrayDataset, config: EvalConfig, n_classes: int, done: dict) -> dict[str, Any]:
    """The never-worse gate of the long-tail scenario.

    Cross-validates the non-generative conditions and gan-fill+classical on the long-tailed
    training set (stratified folds, balanced accuracy) and takes the best non-generative one
    unless gan-fill+classical beats it by more than one standard error over the folds. Each
    fold's GAN trains on that fold's training part only (the cell's GAN has seen the validation
    images). To bound the cost the CV classifiers train for half the step budget and the fold
    GANs for half the cell GAN's steps; both shortcuts handicap the generative candidate, so
    they err on the never-worse side. The chosen condition is then trained on the whole set
    (or its result taken from ``done`` when the cell has already run it).
    """
    started = time.perf_counter()
    candidates = (*NON_GENERATIVE, "gan-fill+classical") if cell.augmenter is not None else NON_GENERATIVE
    fold_steps = max(1, cell.augmenter.n_steps_ // 2) if cell.augmenter is not None else None
    fold_config = dataclasses.replace(config, gan=dataclasses.replace(config.gan, steps=fold_steps))
    fit_score = _CVScorer(cell, config, n_classes, fold_config)
    gate = choose_condition(cell.subset, fit_score, candidates, generative=("gan-fill+classical",), seed=cell.seed)
    gate["fold_gan_steps"], gate["cv_classifier_steps"] = fold_steps, _cv_steps(config)
    gate["fold_gans"] = fit_score.fold_gans
    chosen = gate["chosen"]
    if chosen in done:
        result = dict(done[chosen]) | {"reused": chosen}
    else:
        result = train_and_score(chosen, cell, test, config, n_classes)
    return result | {"gating": gate, "seconds": round(time.perf_counter() - started + done.get(chosen, {}).get("seconds", 0), 2)}


def _cv_steps(config: EvalConfig) -> int:
    return max(1, config.classifier_steps // 2)  # half the budget


class _CVScorer:
    """``(train part, condition, validation part) -> balanced accuracy`` at half the step budget,
    generative conditions drawing from a GAN of the training part alone (one per fold)."""

    def __init__(self, cell: Cell, config: EvalConfig, n_classes: int, gan_config: EvalConfig) -> None:
        self.cell, self.n_classes, self.gan_config = cell, n_classes, gan_config
        self.config = dataclasses.replace(config, classifier_steps=_cv_steps(config))
        self._gans: dict[bytes, GANAugmenter] = {}

    @property
    def fold_gans(self) -> int:
        return len(self._gans)

    def __call__(self, train_part: ArrayDataset, cond: str, val_part: ArrayDataset) -> float:
        aug = None
        if cond in GAN_CONDITIONS:
            key = train_part.indices.tobytes()
            if key not in self._gans:
                self._gans[key] = train_gan(train_part, self.gan_config, self.cell.seed)
            aug = self._gans[key]
        part = dataclasses.replace(self.cell, subset=train_part, augmenter=aug)
        return train_and_score(cond, part, val_part, self.config, self.n_classes)["balanced_accuracy"]



def validation_scores(cell: Cell, config: EvalConfig, n_classes: int, results: dict[str, dict]) -> dict[str, Any]:
    """Cross-validated balanced accuracy of the cell's non-generative conditions, on its own
    training set: what the "best-non-generative" baseline is chosen by (never the test set).

    The lt-gated condition's CV scores when the cell ran it; otherwise the same CV (folds,
    half budget) of the non-generative conditions alone.
    """
    ran = [c for c in NON_GENERATIVE if c in results]
    gate = (results.get("lt-gated") or {}).get("gating")
    if gate is not None:
        scores = {c: gate["cv_balanced_accuracy"][c] for c in ran if c in gate["cv_balanced_accuracy"]}
        return {"method": f"lt-gated CV ({gate['folds']} folds)", "balanced_accuracy": scores}
    if not ran:
        return {"method": "none", "balanced_accuracy": {}}
    cv, k = cross_validate(cell.subset, _CVScorer(cell, config, n_classes, config), ran, seed=cell.seed)
    return {"method": f"CV ({k} folds)", "balanced_accuracy": {c: float(np.mean(v)) for c, v in cv.items()}}
