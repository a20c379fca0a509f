"""`EvalConfig`, the settings of one evaluation run, and the registry of its conditions.

Light on purpose (no torch training code is imported), so the command line can list the
conditions without loading the evaluation stack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from ganaug.evaluation.classifiers import CLASSIFIERS
from ganaug.training.config import GANConfig

# Every condition: what its classifier trains on. The first five run by default; the opt-in
# ones cost more (gan-gated cross-validates inside every cell).
CONDITION_INFO = {
    "real": "the few-shot subset",
    "classical": "the subset with classical augmentation: affine jitter + grid distortion, drawn per image on the batch",
    "gan": "the subset + GAN samples (ratio per real item, redrawn each epoch)",
    "gan+classical": "both",
    "synthetic": "GAN samples only (train on synthetic, test on real: the Classification Accuracy Score)",
    "gan-gated": "gan+classical at the ratio (0 = classical) cross-validation on the subset picks",
    "gan-filtered": "gan through FilteredAugmenter: doubtful samples and near-copies redrawn",
}
CONDITIONS = ("real", "classical", "gan", "gan+classical", "synthetic")
OPTIONAL_CONDITIONS = ("gan-gated", "gan-filtered")
# The long-tail scenario's conditions (issue 19), every one with the same CNN and step budget:
# the baselines that beat generative oversamplers in the literature, then the GAN's.
CONDITION_INFO |= {
    "ros+classical": "random oversampling: each class's real items repeated up to the largest class's count",
    "reweight+classical": "class-balanced cross-entropy (weights ∝ 1 / class count, mean 1)",
    "logit-adjusted+classical": "logit-adjusted loss (Menon et al. 2007.07314), tau = 1, the training prior",
    "gan-fill+classical": "GAN samples fill every class up to the largest class's count",
    "gan-fill+logit-adjusted": "GAN samples fill half of each class's gap (rarest first), logit adjustment the rest",
    "ros+gan-fill+classical": "random oversampling to the largest class's count, GAN samples in place of repeats "
                              "(at most one per real item of the class)",
    "ros+dagan-fill+classical": "ros+gan-fill+classical with a DAGAN's variants of each class's own images, the "
                                "DAGAN trained on the long-tailed set (its pairs mostly of the common classes)",
    "dagan-fill+classical": "the same DAGAN's variants of each class's own images fill every class up to the largest "
                            "class's count (no repeats, no cap)",
    "ros+gan-mix+classical": "random oversampling to the largest class's count, then `ratio` GAN samples per item "
                             "added to every class alike (being synthetic says nothing of the class)",
    "ros+dagan-mix+classical": "ros+gan-mix+classical with the DAGAN's variants of each class's own images",
    "smote+classical": "SMOTE on pixels (imbalanced-learn, the optional extra ganaug[imbalanced])",
    "gan-fill-filtered+logit-adjusted": "gan-fill+logit-adjusted with samples a judge trained on the real set doubts redrawn",
    "lt-gated": "the never-worse gate: the non-generative conditions and gan-fill+classical, chosen by CV",
}
# Without a GAN: the candidates for the "best-non-generative" baseline of a long-tail run.
NON_GENERATIVE = ("real", "classical", "ros+classical", "reweight+classical", "logit-adjusted+classical")
LONG_TAIL_CONDITIONS = (*NON_GENERATIVE, "gan-fill+classical", "gan-fill+logit-adjusted", "lt-gated")
LONG_TAIL_OPTIONAL = ("smote+classical", "gan-fill-filtered+logit-adjusted", "ros+gan-fill+classical",
                      "ros+dagan-fill+classical", "dagan-fill+classical", "ros+gan-mix+classical",
                      "ros+dagan-mix+classical")
GAN_CONDITIONS = {"gan", "gan+classical", "synthetic", *OPTIONAL_CONDITIONS, "gan-fill+classical",
                  "gan-fill+logit-adjusted", "lt-gated", "pretrained-classifier+gan", "gan-fill-filtered+logit-adjusted",
                  "ros+gan-fill+classical", "ros+gan-mix+classical"}
# The transfer scenario's conditions (issue 18): generators and a classifier pretrained on
# *other* classes (the source), against the same CNN pretrained on that source.
CONDITION_INFO |= {
    "pretrained-classifier": "the CNN pretrained on the source, fine-tuned on the subset with classical augmentation",
    "dagan+classical": "the subset + samples of the source-trained DAGAN, conditioned on the subset's images",
    "finetuned+classical": "the subset + samples of the source-pretrained GAN fine-tuned on the subset",
    "pretrained-classifier+gan": "pretrained-classifier's start, trained on gan+classical's data",
    "pretrained-classifier+dagan": "pretrained-classifier's start, trained on dagan+classical's data",
    "pretrained-classifier+finetuned": "pretrained-classifier's start, trained on finetuned+classical's data",
    "synthetic-dagan": "DAGAN samples only (its Classification Accuracy Score)",
    "synthetic-finetuned": "fine-tuned GAN samples only (its Classification Accuracy Score)",
    "transfer-gated": "the never-worse gate: classical, pretrained-classifier and the DAGAN conditions, chosen by CV",
}
TRANSFER_CONDITIONS = (
    "real", "classical", "pretrained-classifier", "gan+classical", "dagan+classical", "finetuned+classical",
    "pretrained-classifier+gan", "pretrained-classifier+dagan", "pretrained-classifier+finetuned",
    "synthetic", "synthetic-dagan", "synthetic-finetuned",
)
# The generator each condition draws from: the cell's own GAN (trained on the subset alone), the
# DAGAN trained on the source, or the source GAN fine-tuned on the subset.
GENERATOR_OF = {
    **{c: "gan" for c in ("gan", "gan+classical", "synthetic", "gan-gated", "gan-filtered", "gan-fill+classical",
                          "gan-fill+logit-adjusted", "lt-gated", "pretrained-classifier+gan",
                          "gan-fill-filtered+logit-adjusted", "ros+gan-fill+classical", "ros+gan-mix+classical")},
    **{c: "dagan" for c in ("dagan+classical", "pretrained-classifier+dagan", "synthetic-dagan", "transfer-gated",
                            "ros+dagan-fill+classical", "dagan-fill+classical", "ros+dagan-mix+classical")},
    **{c: "finetuned" for c in ("finetuned+classical", "pretrained-classifier+finetuned", "synthetic-finetuned")},
}
# Which conditions each scenario runs: the defaults, then the opt-in ones.
SCENARIO_CONDITIONS = {
    "few-shot": (CONDITIONS, OPTIONAL_CONDITIONS),
    "long-tail": (LONG_TAIL_CONDITIONS, LONG_TAIL_OPTIONAL),
    "transfer": (TRANSFER_CONDITIONS, ("transfer-gated",)),
}
# The baselines every other condition's gain is paired with (classical is not paired with real).
BASELINES = ("real", "classical")
# The results schema; part of every cell's key, so a change to what a cell means (bump it then)
# makes the cells of older runs recomputed, never mixed with new ones.
SCHEMA = "ganaug-results/1"
# The results file the evaluation writes its settings to: not a GANConfig (`pretrain`'s
# config.json), so the two names differ.
CONFIG_FILE = "eval_config.json"
# GANConfig fields added after evaluation runs existed, with their defaults (see cell_key).
LATER_GAN_FIELDS = {"train_layers": "all", "freeze_d_blocks": None, "diversity_weight": 0.0}


# The classifiers' standing budget, and the one measured to do as well on small subsets.
CLASSIFIER_STEPS = 400
SMALL = {"pixels": 64, "images": 200, "steps": 200}


def auto_classifier_steps(image_shape: tuple[int, ...], n_images: int) -> int:
    """A few-shot cell's classifier steps when ``classifier_steps`` is None, from its images.

    Measured (benchmarks/training_length.py: digits, 5 seeds, paired with 400 steps): on 8×8
    images, 200 steps kept all five conditions within noise at 5, 10 and 20 images per class
    (50–200 images; every interval spans 0), in half the time; at 50 per class (500 images)
    ``gan+classical`` lost 0.7 points [-1.0, -0.3]. So 200 for subsets of at most 200 images of
    at most 64 pixels, and the standing 400 otherwise (nothing larger was measured shorter).
    """
    h, w = image_shape[:2]
    small = h * w <= SMALL["pixels"] and n_images <= SMALL["images"]
    return SMALL["steps"] if small else CLASSIFIER_STEPS


def _check_whole(name: str, value: object, also: str = "") -> None:
    """Refuse anything but a whole number >= 1 (a bool is not one)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1{also}, got {value!r}")


@dataclass(frozen=True)
class EvalConfig:
    """Settings of one evaluation run (written into results.json).

    ``ratio`` is synthetic items per real item in the ``gan`` conditions; ``synthetic`` trains
    on ``max(1, ratio)`` × n_real synthetic items. Synthetic banks are redrawn every epoch.

    ``scenario`` is ``"few-shot"`` (the grid runs over ``per_class``) or ``"long-tail"`` (it runs
    over ``imbalance``, the ratios largest / smallest class of the long-tailed training sets; an
    empty tuple takes the data as they are, with their own imbalance). ``conditions`` defaults
    to the scenario's.

    ``scenario="transfer"`` pretrains on ``source`` (a dataset name, read from ``source_root``
    or ``root``) and runs the few-shot grid on ``dataset``'s classes. With ``source ==
    dataset`` (within Omniglot) ``target_groups`` name the class groups (alphabets) held out as
    the target; the source is the other groups. ``dagan_diversity`` is the source DAGAN's
    mode-seeking weight (`ganaug.training.DAGANConfig.diversity_weight`), ``dagan_head`` its
    generator's output (``"image"``, or ``"warp"``: a deformation of the input image, smooth
    between ``dagan_warp_grid`` control points per side, 0: a quarter of the side); in the
    long-tail scenario the two set the DAGAN each cell trains on its long-tailed set for
    ``ros+dagan-fill+classical``, ``dagan-fill+classical`` and ``ros+dagan-mix+classical``.
    ``source_gan`` is the source GAN's settings where they differ from the fine-tune's
    (``gan``): a recipe for the source's many classes (say, grouped batches and an ACGAN head),
    and a short fine-tune on the target's few images. None: ``gan`` trains both.

    ``classifier_steps=None`` sizes a few-shot cell's classifier training from its subset
    (`auto_classifier_steps`; the cell records the number); every condition of a cell trains
    with the same budget. The other scenarios take 400.

    ``threads`` is torch's CPU thread count inside every cell. It is a setting, not a machine
    detail, because the numbers depend on it: a CPU reduction split over more threads adds in
    another order, and the same seed then trains other weights. One thread per cell keeps a
    run's numbers the same on any core count and at any ``jobs`` (the cores go to parallel
    cells instead, see `ganaug.evaluation.parallel`).
    """

    dataset: str = "digits"
    root: str | None = None
    download: bool = False
    per_class: tuple[int, ...] = (5, 10, 20)
    seeds: tuple[int, ...] = (0, 1, 2)
    conditions: tuple[str, ...] | None = None
    classifier: str = "cnn"
    classifier_steps: int | None = None
    ratio: float = 1.0
    gan: GANConfig = field(default_factory=GANConfig)
    metrics: bool = True
    metric_samples: int = 1000
    feature_steps: int = 800
    device: str = "auto"
    scenario: str = "few-shot"
    imbalance: tuple[float, ...] = (10.0, 50.0)
    threads: int = 1
    source: str | None = None
    source_root: str | None = None
    target_groups: tuple[str, ...] = ()
    dagan_diversity: float = 0.0
    dagan_head: str = "image"
    dagan_warp_grid: int = 0
    source_gan: GANConfig | None = None

    def __post_init__(self) -> None:
        if self.classifier_steps is not None:
            _check_whole("classifier_steps", self.classifier_steps, " or None")
        if self.classifier_steps is None and self.scenario != "few-shot":
            # Measured for few-shot grids only: the other scenarios keep the standing budget.
            object.__setattr__(self, "classifier_steps", CLASSIFIER_STEPS)
        if self.scenario not in SCENARIO_CONDITIONS:
            raise ValueError(f"unknown scenario {self.scenario!r}; choose from {', '.join(SCENARIO_CONDITIONS)}")
        defaults, optional = SCENARIO_CONDITIONS[self.scenario]
        if self.conditions is None:
            object.__setattr__(self, "conditions", defaults)
        if not self.conditions:
            raise ValueError(f"no condition given; choose from {', '.join(CONDITION_INFO)}")
        unknown = [c for c in self.conditions if c not in CONDITION_INFO]
        if unknown:
            raise ValueError(f"unknown condition{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                             f"choose from {', '.join(CONDITION_INFO)}")
        elsewhere = [c for c in self.conditions if c not in (*defaults, *optional)]
        if elsewhere:
            raise ValueError(
                f"condition(s) {', '.join(elsewhere)} belong to another scenario than {self.scenario}; "
                f"{self.scenario} runs {', '.join((*defaults, *optional))}"
            )
        if self.scenario == "transfer":
            _check_transfer(self)
        elif self.source is not None or self.target_groups or self.source_gan is not None:
            raise ValueError(f"source, target_groups and source_gan belong to the transfer scenario, not {self.scenario}")
        elif self.scenario == "few-shot" and (self.dagan_diversity or self.dagan_head != "image" or self.dagan_warp_grid):
            raise ValueError("dagan_diversity, dagan_head and dagan_warp_grid belong to the transfer and long-tail "
                             "scenarios, not few-shot")
        _check_dagan(self)
        if self.scenario == "long-tail" and self.classifier not in ("cnn", "mlp"):
            raise ValueError(f"the long-tail conditions train a torch classifier (cnn or mlp), not {self.classifier}")
        if any(not r >= 1 for r in self.imbalance):
            raise ValueError(f"imbalance ratios (largest class / smallest) must be >= 1, got {self.imbalance}")
        if self.classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {self.classifier!r}; choose from {', '.join(CLASSIFIERS)}")
        if not self.per_class or min(self.per_class) < 1:
            raise ValueError(f"per_class needs positive sizes, got {self.per_class}")
        if not self.seeds:
            raise ValueError("at least one seed is needed")
        if self.ratio < 0:
            raise ValueError(f"ratio must be >= 0, got {self.ratio}")
        _check_whole("threads", self.threads)

    @property
    def needs_gan(self) -> bool:
        return bool(GAN_CONDITIONS & set(self.conditions))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["per_class"], out["seeds"], out["conditions"] = list(self.per_class), list(self.seeds), list(self.conditions)
        out["target_groups"] = list(self.target_groups)
        if self.scenario != "transfer":
            # Settings (eval_config.json, results, cell keys) of the other scenarios stay as
            # they were before transfer existed.
            del out["source"], out["source_root"], out["target_groups"], out["source_gan"]
            if out["dagan_diversity"] == 0 and out["dagan_head"] == "image":  # no DAGAN setting given
                del out["dagan_diversity"], out["dagan_head"]
        if out.get("dagan_warp_grid") == 0:  # the warp's grid, added later: runs before it keep their keys
            del out["dagan_warp_grid"]
        if self.scenario == "few-shot":
            # Few-shot settings stay as they were before scenarios had a name: an omitted
            # scenario reads as few-shot.
            del out["scenario"], out["imbalance"]
        else:
            out["imbalance"] = list(self.imbalance)
        return out

    def cell_key(self, data: str) -> str:
        """Hash of everything a cell's numbers depend on: these settings (the grid's axes — sizes,
        imbalance ratios, seeds — and the device aside: a folder's cells may cover more, and a
        cell's file name says which it is), ``data``, a fingerprint of the images and labels the
        run read, and the results schema.

        The dataset's name is not enough: an npz or folder replaced in place keeps its name.
        """
        drop = ("per_class", "seeds", "conditions", "device", "imbalance")
        keep = {k: v for k, v in self.to_dict().items() if k not in drop}
        # GAN settings added after runs were keyed count only when set, so those runs still resume.
        keep["gan"] = {k: v for k, v in keep["gan"].items() if k not in LATER_GAN_FIELDS or v != LATER_GAN_FIELDS[k]}
        if self.scenario == "few-shot" and keep["gan"].get("sampling") == "auto":
            # Few-shot subsets hold every class alike, where "auto" draws as every run before it
            # did; elsewhere (a long-tailed set, a source pool) it changed the draw: keyed.
            del keep["gan"]["sampling"]
        if keep.get("dagan_head") == "image":  # likewise the DAGAN's head, added after the first transfer runs
            del keep["dagan_head"]
        if "source_gan" in keep and keep["source_gan"] is None:  # and the source GAN's own settings
            del keep["source_gan"]
        keep |= {"data": data, "schema": SCHEMA}
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


def _check_dagan(config: EvalConfig) -> None:
    """The DAGAN's settings (the transfer scenario's source DAGAN, the long-tail cell's own)."""
    value = config.dagan_diversity
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
        raise ValueError(f"dagan_diversity must be a number >= 0, got {config.dagan_diversity!r}")
    if config.dagan_head not in ("image", "warp"):
        raise ValueError(f"dagan_head must be 'image' or 'warp', got {config.dagan_head!r}")
    grid = config.dagan_warp_grid
    if isinstance(grid, bool) or not isinstance(grid, numbers.Integral) or grid < 0:
        raise ValueError(f"dagan_warp_grid must be an integer >= 0 (0: a quarter of the side), got {grid!r}")
    if grid and config.dagan_head != "warp":
        raise ValueError(f"dagan_warp_grid shapes the warp head's field; it needs dagan_head='warp', not {config.dagan_head!r}")


def _check_transfer(config: EvalConfig) -> None:
    """The transfer scenario's own settings: a source, groups only within one dataset, a torch CNN."""
    if not config.source:
        raise ValueError("the transfer scenario needs a source dataset (source='omniglot', --source omniglot)")
    if config.source == config.dataset and not config.target_groups:
        raise ValueError(f"transfer within {config.dataset} needs target_groups: the class groups (alphabets) "
                         "held out as the target, the rest being the source")
    if config.source != config.dataset and config.target_groups:
        raise ValueError("target_groups split one dataset into source and target; with another source "
                         f"({config.source} -> {config.dataset}) every class of {config.dataset} is the target")
    if config.source_gan is not None and not isinstance(config.source_gan, GANConfig):
        raise ValueError(f"source_gan must be a GANConfig or None, got {type(config.source_gan).__name__}")
    if config.classifier not in ("cnn", "mlp"):
        raise ValueError(f"the transfer conditions fine-tune a torch classifier (cnn or mlp), not {config.classifier}")
