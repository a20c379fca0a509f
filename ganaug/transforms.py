"""`DAGANTransform`: an image-conditional augmenter as a per-image transform, for torchvision v2
and albumentations pipelines alike."""

from __future__ import annotations

from typing import Any

import albumentations as A  # ganaug/__init__ has set NO_ALBUMENTATIONS_UPDATE
import numpy as np
import torch
from PIL import Image

from ganaug.data.datasets import image_to_uint8

SEED_BOUND = 2**31  # per-image seeds are drawn below this


def _like(u8: np.ndarray, image: Any) -> Any:
    """A uint8 ``H×W[×C]`` array back in ``image``'s container, shape and dtype (floats 0..1)."""
    if isinstance(image, Image.Image):
        return Image.fromarray(u8).convert(image.mode)
    if isinstance(image, torch.Tensor):
        t = torch.from_numpy(np.ascontiguousarray(u8))
        t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)  # (C, H, W)
        t = t.reshape(image.shape).to(image.device)
        out = image.clone()  # keeps a tv_tensors.Image an Image
        out.copy_(t.float() / 255.0 if image.is_floating_point() else t)
        return out
    arr = np.asarray(image)
    u8 = u8.reshape(arr.shape)
    return (u8 / 255.0).astype(arr.dtype) if np.issubdtype(arr.dtype, np.floating) else u8.astype(arr.dtype)


class DAGANTransform(A.ImageOnlyTransform):
    """With probability ``p``, replace an image by a variant drawn by an image-conditional
    augmenter (`ganaug.DAGANAugmenter`, or anything with ``augment(images, seed=...)``).

    One class serves both pipelines:

    - torchvision (``v2.Compose([DAGANTransform(dagan), v2.ToImage(), ...])``, or a dataset's
      ``transform``): called with one image, a uint8 ``H×W[×C]`` array, a PIL image or a
      ``C×H×W`` tensor (uint8, or floats in 0..1); the result has the input's type, shape and
      dtype. Place it before any normalisation.
    - albumentations (``A.Compose([DAGANTransform(dagan), ...], seed=0)``): an
      ``ImageOnlyTransform``; the pipeline's seed drives it as it drives the others.

    Args:
        augmenter: a fitted augmenter with ``augment(images, seed=...)``; its image shape must
            be the images' own.
        p: probability of replacing an image.
        seed: seed of the draws (whether to replace, and each variant's noise), so a pipeline
            that calls it in the same order gets the same images. An albumentations
            ``Compose(seed=...)`` reseeds it.
    """

    def __init__(self, augmenter: Any, p: float = 0.5, seed: int | None = None) -> None:
        super().__init__(p=p)
        self.augmenter = augmenter
        if seed is not None:
            self.set_random_seed(seed)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) != 1:  # albumentations: named targets (image=...)
            return super().__call__(*args, **kwargs)
        image = args[0]
        if self.py_random.random() >= self.p:
            return image
        u8 = image_to_uint8(image, where="DAGANTransform input")
        return _like(self.augmenter.augment(u8, seed=self._draw_seed()), image)

    def _draw_seed(self) -> int:
        return int(self.random_generator.integers(SEED_BOUND))

    def get_params(self) -> dict[str, Any]:
        return {"seed": self._draw_seed()}

    def apply(self, img: np.ndarray, seed: int = 0, **params: Any) -> np.ndarray:
        return self.augmenter.augment(np.ascontiguousarray(img), seed=seed).reshape(img.shape)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ()  # the augmenter is no serialisable argument
