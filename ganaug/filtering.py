"""Synthetic-sample filtering: keep only samples a real-data judge accepts, and no copies.

`FilteredAugmenter` wraps a fitted `GANAugmenter` and behaves like one (``sample``,
``sample_tensor``, ``classes_``…), so `SyntheticMixDataset`, `mix_loader` and `GANResampler`
take it unchanged. Each draw is screened by two tests:

- label faithfulness: a classifier trained on the real training images gives the
  conditioning class at least ``min_confidence``;
- memorisation: the sample is no closer to a training image than ``copy_quantile`` of the
  training images are to each other (leave-one-out nearest-neighbour distances).

Rejected slots are redrawn up to ``max_draws`` times; what still fails is kept, and counted,
so the caller always gets the number of samples it asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganaug.augmenter import GANAugmenter
from ganaug.data.neighbours import nearest_distances
from ganaug.data.pixels import model_to_images, to_uint8
from ganaug.mixing import check_label_mapping
from ganaug.training.classifier import fit_judge

JUDGE_STEPS = 300  # the judge's optimiser steps (a small CNN on the real training images)


def _flat01(u8: np.ndarray | torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(u8)
    return t.reshape(len(t), -1).float() / 255.0


class FilteredAugmenter:
    """A `GANAugmenter` whose samples pass a label-faithfulness and a no-copy test.

    Args:
        augmenter: a fitted `GANAugmenter`.
        images: the real training images (the augmenter's training data), uint8 or in its range.
        labels: their label values (from ``augmenter.classes_``).
        judge: an object with ``predict_proba(uint8 images) -> (N, K)`` over class positions;
            default: a small CNN trained on ``images``.
        min_confidence: lowest judge probability of the conditioning class to keep a sample.
        copy_quantile: quantile of real-to-real distances below which a sample is a copy.
        max_draws: redraw rounds for rejected slots.
        seed: the judge's training seed.
    """

    def __init__(
        self,
        augmenter: GANAugmenter,
        images: np.ndarray,
        labels: np.ndarray,
        judge: Any = None,
        min_confidence: float = 0.5,
        copy_quantile: float = 0.01,
        max_draws: int = 6,
        seed: int = 0,
    ) -> None:
        augmenter._check_fitted()
        if not 0 <= min_confidence <= 1:
            raise ValueError(f"min_confidence must lie in [0, 1], got {min_confidence!r}")
        if not 0 <= copy_quantile <= 1:
            raise ValueError(f"copy_quantile must lie in [0, 1], got {copy_quantile!r}")
        if int(max_draws) != max_draws or max_draws < 1:
            raise ValueError(f"max_draws must be a positive integer, got {max_draws!r}")
        self.augmenter = augmenter
        self.min_confidence, self.max_draws = min_confidence, int(max_draws)
        u8 = np.asarray(images)
        if tuple(u8.shape[1:]) != tuple(augmenter.image_shape_) or len(u8) != len(labels):
            raise ValueError(
                f"images must be the augmenter's training images, {len(labels)} of shape "
                f"{tuple(augmenter.image_shape_)}; got an array of shape {u8.shape}"
            )
        if u8.dtype != np.uint8:
            u8 = to_uint8(u8, augmenter.value_range_)
        check_label_mapping(np.asarray(labels), augmenter)
        positions = np.searchsorted(augmenter.classes_, np.asarray(labels))
        if judge is None:
            judge = fit_judge(u8, positions, steps=JUDGE_STEPS, seed=seed, device="cpu")
        self.judge = judge
        self.train_flat = _flat01(u8)
        loo = nearest_distances(self.train_flat, self.train_flat, exclude_self=True)
        self.copy_distance = float(torch.quantile(loo, copy_quantile))
        self.stats = {"drawn": 0, "kept": 0, "rejected_label": 0, "rejected_copy": 0, "kept_unfiltered": 0}

    def __getattr__(self, name: str) -> Any:
        # Everything not overridden (classes_, image_shape_, to_output, …) is the augmenter's.
        # Before __init__ (copy, pickle) there is no augmenter yet: a plain AttributeError.
        if "augmenter" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["augmenter"], name)

    def __sklearn_clone__(self) -> FilteredAugmenter:
        # Fitted state throughout (the GAN, the judge), like a frozen estimator: scikit-learn's
        # clone keeps it, so a resampler or pipeline cloned for cross-validation keeps its filter
        # instead of silently training a plain GAN.
        return self

    def _accept(self, x: torch.Tensor, class_indices: torch.Tensor) -> torch.Tensor:
        arrays = model_to_images(x)  # uint8 (B, H, W[, C])
        proba = torch.as_tensor(np.asarray(self.judge.predict_proba(arrays)))
        faithful = proba[torch.arange(len(proba)), class_indices.cpu()] >= self.min_confidence
        novel = nearest_distances(_flat01(arrays), self.train_flat) > self.copy_distance
        self.stats["rejected_label"] += int((~faithful).sum())
        self.stats["rejected_copy"] += int((faithful & ~novel).sum())
        return (faithful & novel).to(x.device)

    @torch.no_grad()
    def sample_tensor(self, class_indices: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Like `GANAugmenter.sample_tensor`, with rejected samples redrawn."""
        c = class_indices.to(self.augmenter.device_, dtype=torch.long)
        out = self.augmenter.sample_tensor(c, generator)
        todo = torch.arange(len(c), device=c.device)
        for _ in range(self.max_draws):
            if len(todo) == 0:
                break
            self.stats["drawn"] += len(todo)
            ok = self._accept(out[todo], c[todo])
            todo = todo[~ok]
            if len(todo):
                out[todo] = self.augmenter.sample_tensor(c[todo], generator)
        self.stats["kept_unfiltered"] += len(todo)
        self.stats["kept"] += len(c) - len(todo)
        return out

    # The augmenter's sampling logic, running on this class's sample_tensor.
    sample = GANAugmenter.sample
