"""Classical augmentation for handwriting, image by image (albumentations), and the classifier's
input pipeline.

`classical_augmentation` is the reference definition of the ``classical`` baseline, for a
per-image pipeline (a DataLoader's transform). The evaluation draws the same transforms on whole
batches instead (`ganaug.evaluation.batch_augment`), which is several times cheaper.
"""

from __future__ import annotations

from typing import Any

import albumentations as A  # ganaug/__init__ has set NO_ALBUMENTATIONS_UPDATE
import cv2
import numpy as np
import torch

from ganaug.data.pixels import to_model


def background_value(images: np.ndarray) -> int:
    """The dataset's background grey level: the median of the images' border pixels.

    Geometric augmentation fills uncovered pixels with it, so a dark-on-light set is not
    padded with black (or the reverse).
    """
    border = np.concatenate(
        [images[:, 0].ravel(), images[:, -1].ravel(), images[:, :, 0].ravel(), images[:, :, -1].ravel()]
    )
    return int(np.median(border))


def classical_augmentation(background: int = 0, seed: int | None = None) -> A.Compose:
    """Small affine jitter and grid distortion: label-preserving changes of handwriting.

    Rotations stay within ±12° and shears within ±8° so that 6/9 and 1/7 keep their identity.
    ``seed`` makes the stream of random parameters reproducible.
    """
    return A.Compose(
        [
            A.Affine(
                scale=(0.9, 1.1),
                translate_percent=(-0.08, 0.08),
                rotate=(-12, 12),
                shear=(-8, 8),
                border_mode=cv2.BORDER_CONSTANT,
                fill=background,
                p=0.9,
            ),
            A.GridDistortion(num_steps=3, distort_limit=0.15, border_mode=cv2.BORDER_CONSTANT, p=0.3),
        ],
        seed=seed,
    )


class ToModelInput:
    """uint8 image (optionally augmented first) → float ``(C, H, W)`` tensor in [-1, 1].

    A plain class rather than a lambda so DataLoader workers can pickle it.
    """

    def __init__(self, augment: A.Compose | None = None) -> None:
        self.augment = augment
        # A whole uint8 batch at once, the same tensor as image by image (see `batch_reader`);
        # None when an albumentations pipeline draws per image.
        self.batch = to_model if augment is None else None

    def __call__(self, image: Any) -> torch.Tensor:
        arr = np.asarray(image)
        if self.augment is not None:
            arr = self.augment(image=arr)["image"]
        return to_model(arr[None])[0]

