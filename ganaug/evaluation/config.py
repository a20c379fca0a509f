"""`EvalConfig`, the settings of one evaluation run, and the registry of its conditions.

Light on purpose (no torch training code is imported), so the command line can list the
conditions without loading the evaluation stack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ganaug.evaluation.classifiers import CLASSIFIERS
from ganaug.training.config import GANConfig

# Every condition: what its classifier trains on. The first five run by default; the opt-in
# ones cost more (gan-gated cross-validates inside every cell).
CONDITION_INFO = {
    "real": "the few-shot subset",
    "classical": "the subset with albumentations affine + grid-distortion augmentation",
    "gan": "the subset + GAN samples (ratio per real item, redrawn each epoch)",
    "gan+classical": "both",
    "synthetic": "GAN samples only (train on synthetic, test on real: the Classification Accuracy Score)",
    "gan-gated": "gan+classical at the ratio (0 = classical) cross-validation on the subset picks",
    "gan-filtered": "gan through FilteredAugmenter: doubtful samples and near-copies redrawn",
}
CONDITIONS = ("real", "classical", "gan", "gan+classical", "synthetic")
OPTIONAL_CONDITIONS = ("gan-gated", "gan-filtered")
GAN_CONDITIONS = {"gan", "gan+classical", "synthetic", *OPTIONAL_CONDITIONS}
# The baselines every other condition's gain is paired with (classical is not paired with real).
BASELINES = ("real", "classical")
# The results schema; part of every cell's key, so a change to what a cell means (bump it then)
# makes the cells of older runs recomputed, never mixed with new ones.
SCHEMA = "ganaug-results/1"
# The results file the evaluation writes its settings to: not a GANConfig (`pretrain`'s
# config.json), so the two names differ.
CONFIG_FILE = "eval_config.json"


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
        if not self.conditions:
            raise ValueError(f"no condition given; choose from {', '.join(CONDITION_INFO)}")
        unknown = [c for c in self.conditions if c not in CONDITION_INFO]
        if unknown:
            raise ValueError(f"unknown condition{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(CONDITION_INFO)}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose from {', '.join(CLASSIFIERS)}")
        if not self.per_class or min(self.per_class) < 1:
            raise ValueError(f"per_class needs positive sizes, got {self.per_class}")
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if self.ratio < 0:
            raise ValueError(f"ratio must be >= 0, got {self.ratio}")

    @property
    def needs_gan(self) -> bool:
        return bool(GAN_CONDITIONS & set(self.conditions))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["per_class"], out["seeds"], out["conditions"] = list(self.per_class), list(self.seeds), list(self.conditions)
        return out

    def cell_key(self, data: str) -> str:
        """Hash of everything a cell's numbers depend on: these settings (the grid and the device
        aside: a folder's cells may cover more sizes, seeds and conditions), ``data``, a
        fingerprint of the images and labels the run read, and the results schema.

        The dataset's name is not enough: an npz or folder replaced in place keeps its name.
        """
        keep = {k: v for k, v in self.to_dict().items() if k not in ("per_class", "seeds", "conditions", "device")}
        keep |= {"data": data, "schema": SCHEMA}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]
