"""Labelled image sources, few-shot splits and input validation."""

from ganaug.data.datasets import (
    ArrayDataset,
    apply_transform,
    as_array_dataset,
    image_to_uint8,
)
from ganaug.data.omniglot import read_omniglot
from ganaug.data.pixels import from_uint8, model_to_images, model_to_uint8, to_model, to_uint8
from ganaug.data.sources import dataset_names, default_root, load_dataset
from ganaug.data.splits import (
    few_shot,
    imbalance,
    imbalance_ratio,
    long_tail,
    long_tail_counts,
    split_by_group,
    split_classes,
    split_per_class,
)
from ganaug.data.validation import validate_images, validate_labels

__all__ = [
    "ArrayDataset",
    "apply_transform",
    "as_array_dataset",
    "dataset_names",
    "default_root",
    "few_shot",
    "from_uint8",
    "image_to_uint8",
    "model_to_images",
    "model_to_uint8",
    "imbalance",
    "imbalance_ratio",
    "load_dataset",
    "long_tail",
    "long_tail_counts",
    "read_omniglot",
    "split_by_group",
    "split_classes",
    "split_per_class",
    "to_model",
    "to_uint8",
    "validate_images",
    "validate_labels",
]
