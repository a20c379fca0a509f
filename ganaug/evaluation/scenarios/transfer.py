"""The transfer scenario: generators and a classifier pretrained on *other* classes (the
source) augment a few images of new classes (the target).

A generator that learns only from the few images the classifier also sees adds nothing that
classical augmentation lacks (the few-shot scenario measured it). Pretrained on many other
classes, it has seen how handwriting varies, and may carry that to new classes: the DAGAN /
F2GAN regime. The honest baseline is the one a practitioner tries first: the same CNN
pretrained on the same source and fine-tuned on the target (``pretrained-classifier``).

Two layouts:

* another dataset as the source (``source="omniglot"``, ``dataset="mnist5k"``): the source is
  all of it, resized to the target's image size; the target is few-shot as in that scenario
  (its pool, and its test split that nothing saw).
* one dataset cut by class groups (``source == dataset == "omniglot"``, ``target_groups``
  naming alphabets): the source is the other groups; every target class holds out
  ``smallest class − max(per_class)`` images per seed as that seed's test set (15 of Omniglot's
  20 at 5/class), and the cell's training images come from the rest.

The source models (classifier, GAN, DAGAN: those the conditions need) are trained once per run
with seed 0, before any cell, and cached by content like the metrics' feature network
(`ganaug.evaluation.cache`): a rerun, or another run on the same source, loads them.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ganaug.data import ArrayDataset, few_shot, load_dataset, split_by_group, split_per_class
from ganaug.evaluation.config import GENERATOR_OF, EvalConfig
from ganaug.evaluation.scenarios import few_shot as few_shot_scenario
from ganaug.evaluation.scenarios.few_shot import check_disjoint, check_sizes, load_splits
from ganaug.evaluation.source_models import SourceModels, train_source_models
from ganaug.evaluation.stats import summarize_cells

NAME = "transfer"
SETTING_KEY = "per_class"
SAMPLES_NOTE = " (classes it never saw)"  # the title of the cell generators' sample grids
# Conditions that start the classifier from the source's.
PRETRAINED = ("pretrained-classifier", "pretrained-classifier+gan", "pretrained-classifier+dagan",
              "pretrained-classifier+finetuned")


@dataclass
class Splits(few_shot_scenario.Splits):
    """The target's pool and test set, the source set, and what was pretrained on it.

    ``within``: source and target are class groups of one dataset; each seed then holds out its
    own test images of the target (`test_set`), and ``test`` is the whole target set.
    """

    source: ArrayDataset = None  # type: ignore[assignment]
    within: bool = False
    n_test: int = 0  # test images per target class and seed (within one dataset)
    models: SourceModels = field(default_factory=SourceModels)


def _image_size(dataset: ArrayDataset) -> int:
    height, width = dataset.image_shape[:2]
    if height != width:
        raise ValueError(f"{dataset.name}: the transfer scenario needs square images, got {height}x{width}")
    return height


def _load_source(config: EvalConfig, size: int) -> ArrayDataset:
    """The source set at the target's image size (Omniglot is resized when read)."""
    root = config.source_root or config.root
    options = {"image_size": size} if config.source == "omniglot" else {}
    source = load_dataset(config.source, root=root, train=None, download=config.download, **options)
    if source.image_shape[:2] != (size, size):
        raise ValueError(f"the source {config.source} holds {source.image_shape} images and the target {size}x{size}: "
                         "use a source of the same size (omniglot is resized to any)")
    return source


def prepare(config: EvalConfig, progress: bool = False) -> Splits:
    """The target's splits and the source set, checked, with the source models trained (or
    loaded from the cache) for the run's conditions; ``progress`` shows that training (it can
    take tens of minutes on a CPU)."""
    if config.source == config.dataset:
        options = {"image_size": 28} if config.dataset == "omniglot" else {}
        whole = load_dataset(config.dataset, root=config.root, train=None, download=config.download, **options)
        source, target = split_by_group(whole, list(config.target_groups))
        smallest = int(np.bincount(target.targets).min())
        if smallest - max(config.per_class) < 1:
            raise ValueError(f"per_class {max(config.per_class)} leaves no test image of a target class with "
                             f"{smallest}; the largest size it allows is {smallest - 1}")
        splits = Splits(target, target, 0, source=source, within=True, n_test=smallest - max(config.per_class))
    else:
        pool, test, removed = load_splits(config)
        check_sizes(pool, config.per_class)
        source = _load_source(config, _image_size(pool))
        splits = Splits(pool, test, removed, source=source, within=False)
    splits.models = train_source_models(splits.source, config, needs(config), progress=progress)
    return splits


def needs(config: EvalConfig) -> set[str]:
    """Which source models the run's conditions draw on: classifier, gan, dagan."""
    wanted = {GENERATOR_OF.get(c) for c in config.conditions} & {"dagan", "finetuned"}
    wanted = {"gan" if w == "finetuned" else w for w in wanted}
    return wanted | ({"classifier"} if set(PRETRAINED) & set(config.conditions) else set())


def test_set(splits: Splits, n: int, seed: int) -> ArrayDataset:
    """The test set of a cell: the target's test split, or (within one dataset) the seed's own
    ``n_test`` images per class, the same at every size of the seed."""
    if not splits.within:
        return splits.test
    return split_per_class(splits.pool, 1, splits.n_test, seed=seed)[1]


def draw(splits: Splits, n: int, seed: int) -> tuple[ArrayDataset, dict]:
    """The cell's training subset of the target, checked against its test set, and its record."""
    if splits.within:  # the seed's test images first, then the subset from the others
        subset, test = split_per_class(splits.pool, n, splits.n_test, seed=seed)
    else:
        (subset, _), test = few_shot(splits.pool, n, seed=seed), splits.test
    check_disjoint(subset, test, same_source=splits.within or splits.same_source)
    record = {
        "per_class": n, "seed": seed, "n_train": len(subset),
        "subset_sha256": hashlib.sha256(np.asarray(subset.indices, dtype=np.int64).tobytes()).hexdigest()[:16],
        "threads": torch.get_num_threads(),
    }
    return subset, record


def generators(splits: Splits, subset: ArrayDataset, config: EvalConfig, seed: int) -> dict[str, Any]:
    """The cell's source-based generators: the DAGAN conditioned on the subset's images, and the
    source GAN fine-tuned on the subset (those the conditions use)."""
    from ganaug.augmenter import GANAugmenter

    used = {GENERATOR_OF.get(c) for c in config.conditions}
    out: dict[str, Any] = {}
    if "dagan" in used:
        out["dagan"] = splits.models.dagan.condition_on(subset.data, subset.targets, classes=subset.classes, seed=seed)
    if "finetuned" in used:
        gan = dataclasses.replace(config.gan, seed=seed)
        out["finetuned"] = GANAugmenter.from_config(gan, device=config.device, verbose=False,
                                                    init=splits.models.gan).fit(subset)
    return out


settings = few_shot_scenario.settings
cell_name = few_shot_scenario.cell_name
describe = few_shot_scenario.describe


def settings_record(splits: Splits) -> dict[str, Any]:
    """What results.json's settings say of the data and the source models."""
    record = few_shot_scenario.settings_record(splits)
    groups = splits.source.class_groups
    return record | {
        "source": {"name": splits.source.name, "n_images": len(splits.source), "n_classes": len(splits.source.classes),
                   "groups": sorted(set(groups)) if groups else None},
        "target_groups": sorted(set(splits.pool.class_groups)) if splits.pool.class_groups else None,
        "test_per_seed": splits.within,
        "source_models": splits.models.describe(),
    }


def summarize(cells: list[dict], conditions: tuple[str, ...], n_classes: int) -> dict:
    return summarize_cells(cells, conditions, n_classes, baselines=("real", "classical", "pretrained-classifier"))
