"""ganaug: GAN data augmentation you can trust.

Pretrain a class-conditional GAN on a labelled image set, mix its samples into any
classifier's training data, and measure — with confidence intervals — what that buys.
"""

import os

from ganaug._version import __version__

# albumentations asks PyPI for its latest version on import unless told not to; set before any
# module (ganaug's or a caller's) imports it, so ganaug makes no network call it was not asked for.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from ganaug.augmenter import GANAugmenter  # noqa: E402
from ganaug.dagan import ConditionedDAGAN, DAGANAugmenter  # noqa: E402
from ganaug.data import (  # noqa: E402
    ArrayDataset,
    few_shot,
    load_dataset,
    split_by_group,
    split_classes,
    split_per_class,
)
from ganaug.filtering import FilteredAugmenter  # noqa: E402
from ganaug.mixing import GANResampler, MixLoader, SyntheticMixDataset, mix_loader  # noqa: E402
from ganaug.training import CheckpointError, DAGANConfig, GANConfig, TrainingDiverged  # noqa: E402


def __getattr__(name: str):
    # DAGANTransform subclasses an albumentations transform: albumentations (and its scipy)
    # load only when it is asked for, not on every `import ganaug` (about 0.5 s of start-up).
    if name == "DAGANTransform":
        from ganaug.transforms import DAGANTransform

        return DAGANTransform
    raise AttributeError(f"module 'ganaug' has no attribute {name!r}")


__all__ = [
    "ArrayDataset",
    "CheckpointError",
    "ConditionedDAGAN",
    "DAGANAugmenter",
    "DAGANConfig",
    "DAGANTransform",
    "FilteredAugmenter",
    "GANAugmenter",
    "GANConfig",
    "GANResampler",
    "MixLoader",
    "SyntheticMixDataset",
    "TrainingDiverged",
    "__version__",
    "few_shot",
    "load_dataset",
    "mix_loader",
    "split_by_group",
    "split_classes",
    "split_per_class",
]
