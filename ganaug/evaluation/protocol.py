"""The evaluation protocol: conditions × real samples per class × seeds, paired within a seed.

For each cell (n per class, seed): draw the few-shot subset, pretrain a GAN on that subset
only, train the same classifier (same initial weights, same step budget) under every
condition, and score it on a held-out test set that no GAN and no classifier saw. Each
finished cell is written to ``out/cells/`` at once, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from ganaug.augmenter import GANAugmenter
from ganaug.data import ArrayDataset, few_shot, load_dataset
from ganaug.evaluation.augment import (
    ToModelInput,
    augmented_copies,
    background_value,
    classical_augmentation,
)
from ganaug.evaluation.classifiers import CLASSIFIERS, TorchClassifier, sklearn_classifier
from ganaug.evaluation.stats import paired_gain, summarize
from ganaug.mixing import SyntheticMixDataset
from ganaug.training.config import GANConfig
from ganaug.utils import machine, resolve_device, versions

CONDITIONS = ("real", "classical", "gan", "gan+classical", "synthetic")
# Opt-in: gan-gated is gan+classical at a ratio (0 = classical) cross-validated inside every
# cell (slower); gan-filtered screens samples with a judge trained on the real subset and drops
# near-copies.
OPTIONAL_CONDITIONS = ("gan-gated", "gan-filtered")
GAN_CONDITIONS = {"gan", "gan+classical", "synthetic", *OPTIONAL_CONDITIONS}
BASELINES = ("real", "classical")
SCHEMA = "ganaug-results/1"


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one evaluation run (written into results.json).

    ``ratio`` is synthetic items per real item in the ``gan`` conditions; ``synthetic`` trains
    on ``max(1, ratio)`` × n_real synthetic items. Synthetic banks are redrawn every epoch.
    """

    dataset: str = "digits"
    root: str | None = None
    download: bool = False
    per_class: tuple[int, ...] = (5, 10, 20)
    seeds: tuple[int, ...] = (0, 1, 2)
    conditions: tuple[str, ...] = CONDITIONS
    classifier: str = "cnn"
    classifier_steps: int = 400
    ratio: float = 1.0
    gan: GANConfig = field(default_factory=GANConfig)
    metrics: bool = True
    metric_samples: int = 1000
    feature_steps: int = 800
    device: str = "auto"

    def __post_init__(self) -> None:
        known = CONDITIONS + OPTIONAL_CONDITIONS
        unknown = [c for c in self.conditions if c not in known]
        if unknown or not self.conditions:
            raise ValueError(f"unknown condition(s) {unknown}; choose from {', '.join(known)}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose from {', '.join(CLASSIFIERS)}")
        if not self.per_class or min(self.per_class) < 1:
            raise ValueError(f"per_class needs positive sizes, got {self.per_class}")
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if self.ratio < 0:
            raise ValueError(f"ratio must be >= 0, got {self.ratio}")

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["per_class"], out["seeds"], out["conditions"] = list(self.per_class), list(self.seeds), list(self.conditions)
        return out

    def cell_key(self) -> str:
        """Hash of everything a cell's numbers depend on (conditions aside: cells may hold more)."""
        keep = {k: v for k, v in self.to_dict().items() if k not in ("per_class", "seeds", "conditions", "device")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


# -- data ------------------------------------------------------------------------------------
def _image_hashes(images: np.ndarray) -> np.ndarray:
    return np.array([hashlib.blake2b(im.tobytes(), digest_size=12).hexdigest() for im in images])


def load_splits(config: EvalConfig) -> tuple[ArrayDataset, ArrayDataset, int]:
    """The pool every few-shot subset is drawn from, and a test set disjoint from all of it.

    Test images whose pixels equal any pool image's are dropped (an exact duplicate would be
    "seen" data); returns how many were dropped.
    """
    pool = load_dataset(config.dataset, root=config.root, train=True, download=config.download)
    test = load_dataset(config.dataset, root=config.root, train=False, download=config.download)
    dup = np.isin(_image_hashes(test.data), _image_hashes(pool.data))
    if dup.any():
        test = test.subset(np.flatnonzero(~dup))
    return pool, test, int(dup.sum())


def check_disjoint(train: ArrayDataset, test: ArrayDataset, same_source: bool) -> None:
    """Refuse a training subset that shares an item with the test set.

    Raises:
        ValueError: an index (same source array) or an identical image appears in both.
    """
    if same_source:
        shared = np.intersect1d(train.indices, test.indices)
        if len(shared):
            raise ValueError(f"{len(shared)} training item(s) are also in the test set (e.g. index {shared[0]})")
    shared_pixels = np.isin(_image_hashes(train.data), _image_hashes(test.data))
    if shared_pixels.any():
        raise ValueError(f"{int(shared_pixels.sum())} training image(s) are pixel-identical to test images")


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


# -- one cell ---------------------------------------------------------------------------------
@dataclass
class _Cell:
    n: int
    seed: int
    subset: ArrayDataset
    augmenter: GANAugmenter | None
    background: int


def _condition_dataset(cond: str, cell: _Cell, config: EvalConfig) -> Dataset:
    plain = ToModelInput()
    classical = ToModelInput(classical_augmentation(cell.background, seed=cell.seed))
    transform = classical if "classical" in cond else plain
    if cond in ("real", "classical"):
        return _ArrayItems(cell.subset, transform)
    if cond == "synthetic":
        ratio = max(1.0, config.ratio)
        return _SyntheticOnly(SyntheticMixDataset(cell.subset, cell.augmenter, ratio, transform=plain, seed=cell.seed))
    return SyntheticMixDataset(cell.subset, cell.augmenter, config.ratio, transform=transform, seed=cell.seed)


def _condition_arrays(cond: str, cell: _Cell, config: EvalConfig) -> tuple[np.ndarray, np.ndarray]:
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


def _score(predicted: np.ndarray, test: ArrayDataset, n_classes: int) -> dict[str, Any]:
    correct = predicted == test.targets
    per_class = [float(correct[test.targets == c].mean()) for c in range(n_classes)]
    return {"accuracy": float(correct.mean()), "per_class_accuracy": per_class}


def train_and_score(
    cond: str, cell: _Cell, test: ArrayDataset, config: EvalConfig, n_classes: int,
    classifier_factory: Callable[[int], Any] | None = None,
) -> dict[str, Any]:
    """Train the downstream classifier under one condition and score it on the test set."""
    if cond == "gan-gated":
        return _gated(cell, test, config, n_classes, classifier_factory)
    if cond == "gan-filtered":
        from ganaug.filtering import FilteredAugmenter

        screened = FilteredAugmenter(cell.augmenter, cell.subset.data, cell.subset.targets, seed=cell.seed)
        result = train_and_score("gan", dataclasses.replace(cell, augmenter=screened), test, config, n_classes, classifier_factory)
        return result | {"filter": dict(screened.stats)}
    started = time.perf_counter()
    if classifier_factory is not None or config.classifier in ("logreg", "svc"):
        clf = classifier_factory(cell.seed) if classifier_factory else sklearn_classifier(config.classifier, cell.seed)
        x, y = _condition_arrays(cond, cell, config)
        predicted = np.asarray(clf.fit(x, y).predict(test.data))
    else:
        clf = TorchClassifier(config.classifier, steps=config.classifier_steps, seed=cell.seed, device=config.device)
        clf.fit_dataset(_condition_dataset(cond, cell, config), cell.subset.image_shape, n_classes)
        predicted = clf.predict(test.data)
    return _score(predicted, test, n_classes) | {"seconds": round(time.perf_counter() - started, 2)}


def _train_gan(subset: ArrayDataset, config: EvalConfig, seed: int) -> GANAugmenter:
    """The GAN of a cell (or of a gating fold): ``config.gan`` with the cell's seed."""
    return GANAugmenter.from_config(dataclasses.replace(config.gan, seed=seed), device=config.device, verbose=False).fit(subset)


def _gated(
    cell: _Cell, test: ArrayDataset, config: EvalConfig, n_classes: int, classifier_factory: Callable | None
) -> dict[str, Any]:
    """``gan+classical`` at the ratio chosen by cross-validation on the real subset.

    Ratio 0 is exactly the ``classical`` condition, the strongest baseline without a GAN, so a
    shut gate can never fall below it. Candidates are 0, half the configured ratio and the
    configured ratio; the CV classifiers train for half the step budget. Each fold draws its
    synthetic data from a GAN trained on that fold's training part only: the cell's GAN has
    seen the validation images, and its samples of them would flatter a ratio above 0.
    """
    from ganaug.evaluation.gating import choose_ratio

    started = time.perf_counter()
    cv_config = dataclasses.replace(config, classifier_steps=max(50, config.classifier_steps // 2))
    fold_gans: dict[bytes, GANAugmenter] = {}

    def condition(ratio: float) -> str:
        return "gan+classical" if ratio > 0 else "classical"

    def fold_gan(train_part: ArrayDataset) -> GANAugmenter:
        key = train_part.indices.tobytes()
        if key not in fold_gans:
            fold_gans[key] = _train_gan(train_part, config, cell.seed)
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


# -- the grid ---------------------------------------------------------------------------------
def run_evaluation(
    config: EvalConfig,
    out_dir: str | Path,
    progress: bool = True,
    classifier_factory: Callable[[int], Any] | None = None,
    on_cell_done: Callable[[dict], None] | None = None,
    command: str | None = None,
) -> dict[str, Any]:
    """Run (or resume) the whole grid and write ``out_dir/results.json``.

    Args:
        config: the settings.
        out_dir: where ``cells/``, ``samples/`` and ``results.json`` go. Cells already there,
            made with the same settings, are reused rather than recomputed.
        progress: show a progress bar over every (cell, condition).
        classifier_factory: ``seed -> estimator`` with ``fit(X, y)``/``predict(X)`` on uint8
            image arrays, replacing ``config.classifier`` (Python API only).
        on_cell_done: called with each finished cell's record.
        command: the command line, recorded in results.json.

    Returns:
        The results dict (also written as JSON).
    """
    from ganaug.report.plots import sample_grid

    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    (out / "samples").mkdir(exist_ok=True)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    pool, test, n_dupes = load_splits(config)
    same_source = pool.source == test.source
    n_classes = len(pool.classes)
    key = config.cell_key()
    grid = [(n, s) for n in config.per_class for s in config.seeds]
    needs_gan = bool(GAN_CONDITIONS & set(config.conditions))
    bar = tqdm(total=len(grid) * len(config.conditions), disable=not progress, desc="evaluate", unit="run", dynamic_ncols=True)
    extractor = None
    cells = []
    started = time.perf_counter()
    host = machine(config.device)
    for n, seed in grid:
        path = out / "cells" / f"n{n}_seed{seed}.json"
        cached = _load_cell(path, key, config.conditions)
        if cached is not None:
            cells.append(cached)
            bar.update(len(config.conditions))
            continue
        cell_start = time.perf_counter()
        bar.set_description(f"n={n}/class seed={seed}: GAN")
        subset, _ = few_shot(pool, n, seed=seed)
        check_disjoint(subset, test, same_source)
        record: dict[str, Any] = {
            "per_class": n, "seed": seed, "n_train": len(subset), "key": key,
            # Which images the cell trained on, so runs made apart can be checked to pair the same
            # subset; and the thread count, which sets float summation order (accuracies of two
            # runs of the same cell can differ with it).
            "subset_sha256": hashlib.sha256(np.asarray(subset.indices, dtype=np.int64).tobytes()).hexdigest()[:16],
            "threads": torch.get_num_threads(),
        }
        aug = None
        if needs_gan:
            aug = _train_gan(subset, config, seed)
            aug.save(out / "checkpoints" / f"n{n}_seed{seed}.safetensors", training_state=False)
            images, labels = aug.sample(10 * len(aug.classes_), seed=seed)
            sample_grid(images, labels, aug.class_names_, aug.classes_, path=out / "samples" / f"n{n}_seed{seed}.png",
                        title=f"{config.dataset}: GAN trained on {n}/class, seed {seed}")
            record["samples_png"] = f"samples/n{n}_seed{seed}.png"
            record["gan"] = {
                "loss": aug.config_.loss, "steps": aug.n_steps_, "train_seconds": round(aug.trainer_.train_seconds, 2),
                "history": aug.history_, "monitor": aug.monitor_,
                "collapsed": aug.monitor_[-1]["collapsed"] if aug.monitor_ else [],
            }
            if config.metrics:
                if extractor is None:
                    from ganaug.evaluation.metrics import fit_feature_extractor

                    bar.set_description("feature space for metrics")
                    extractor = fit_feature_extractor(
                        pool.data, pool.targets, seed=0, steps=config.feature_steps, device=config.device
                    )
                from ganaug.evaluation.metrics import generative_metrics

                fake, fake_y = aug.sample(config.metric_samples, seed=seed + 10_000)
                record["metrics"] = generative_metrics(
                    extractor, test.data, test.targets, fake, fake_y, subset.data, seed=seed
                )
        cell = _Cell(n, seed, subset, aug, background_value(pool.data))
        record["results"] = {}
        for cond in config.conditions:
            bar.set_description(f"n={n}/class seed={seed}: {cond}")
            record["results"][cond] = train_and_score(cond, cell, test, config, n_classes, classifier_factory)
            bar.update(1)
        record["wall_seconds"] = round(time.perf_counter() - cell_start, 2)
        record["machine"] = host
        _write_json(path, record)
        cells.append(record)
        if on_cell_done is not None:
            on_cell_done(record)
    bar.close()
    results = {
        "schema": SCHEMA,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "versions": versions(),
        "device": str(resolve_device(config.device)),
        "machine": host,
        "wall_seconds": round(time.perf_counter() - started, 2),
        "cell_seconds": round(sum(c["wall_seconds"] for c in cells), 2),
        "settings": config.to_dict() | {
            "gan": config.gan.to_dict(), "n_pool": len(pool), "n_test": len(test),
            "test_duplicates_removed": n_dupes, "class_names": list(pool.classes),
        },
        "cells": cells,
        "summary": summarize_cells(cells, config.conditions, n_classes),
    }
    _write_json(out / "results.json", results)
    return results


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


def _load_cell(path: Path, key: str, conditions: tuple[str, ...]) -> dict | None:
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # a cell cut off mid-write is recomputed
    if record.get("key") != key or not set(conditions) <= set(record.get("results", {})):
        return None
    record["results"] = {c: record["results"][c] for c in conditions}
    return record


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # workers sharing a run folder never collide
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)
