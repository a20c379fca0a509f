"""`TorchClassifier`: train a classifier network for a fixed number of optimiser steps.

Every classifier here starts from a seeded initialisation and trains for a fixed step budget, so
the evaluation protocol can give each condition the same one. `fit_judge` is the small CNN that
other parts train on real images to judge samples (the sample filter, the generative metrics).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ganaug.data.pixels import to_model
from ganaug.models.classifier import SmallCNN, build_network
from ganaug.utils import resolve_device

# How `TorchClassifier` lays out its CNN's tensors; part of every cache key
# (`ganaug.evaluation.cache.content_key`): the layout changes a trained network's last bits, so
# networks cached before it are not reused as today's.
LAYOUT = "channels_last"


def channels_last(model: nn.Module) -> nn.Module:
    """ganaug's own CNN (`SmallCNN`) in the channels-last layout, which the CPU's convolution
    kernels run faster at these sizes (`benchmarks/speed.py`, classifier_step); any other
    network (an MLP, a user's) is left as it is. Call before an optimiser holds its weights."""
    return model.to(memory_format=torch.channels_last) if isinstance(model, SmallCNN) else model


def batch_layout(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``x`` in the layout ``model`` was put in by `channels_last`."""
    return x.contiguous(memory_format=torch.channels_last) if isinstance(model, SmallCNN) else x


class TorchClassifier:
    """Train a torch network for a fixed number of steps; predict on uint8 image arrays.

    Args:
        arch: ``"cnn"`` or ``"mlp"``, or a callable ``(image_shape, n_classes) -> nn.Module``.
        steps: optimiser steps (the budget, equal across conditions).
        batch_size: items per step.
        lr: AdamW learning rate (cosine-decayed to 0 over ``steps``).
        seed: initialisation and data order.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…
        class_weight: cross-entropy weight per class: ``None`` (all 1), ``"balanced"`` (inverse
            class frequency of the training labels, normalised to mean 1 over the classes) or a
            sequence with one weight per class index.
        logit_adjust: τ of the logit-adjusted loss (Menon et al., arXiv 2007.07314): training
            minimises cross-entropy on ``logits + τ·log(prior)``; predictions use the logits
            alone, which undoes the training prior's pull towards common classes. 0 = off.
        class_prior: the prior of ``logit_adjust``: ``None`` (the training labels' class
            frequencies) or a sequence with one probability per class index.
        augment: ``(B, C, H, W) -> (B, C, H, W)``, applied to every training batch on the
            device (e.g. `ganaug.evaluation.batch_augment.BatchAugment`); each fit starts from a
            fresh copy of it, so a seeded augmenter gives every fit the same stream.
        init: a fitted `TorchClassifier` (of other classes, e.g. a transfer source) whose network
            this one starts from: its body's weights are copied and a new head, seeded, maps to
            this fit's classes; every layer then trains. ``None``: a seeded fresh network.
    """

    def __init__(
        self,
        arch: str | Callable[[tuple[int, ...], int], nn.Module] = "cnn",
        steps: int = 600,
        batch_size: int = 64,
        lr: float = 2e-3,
        weight_decay: float = 1e-4,
        seed: int = 0,
        device: str = "auto",
        class_weight: str | np.ndarray | list[float] | None = None,
        logit_adjust: float = 0.0,
        class_prior: np.ndarray | list[float] | None = None,
        augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        init: TorchClassifier | None = None,
    ) -> None:
        self.arch, self.steps, self.batch_size = arch, steps, batch_size
        self.lr, self.weight_decay, self.seed, self.device = lr, weight_decay, seed, device
        self.class_weight, self.logit_adjust, self.class_prior = class_weight, logit_adjust, class_prior
        self.augment, self.init = augment, init

    def _loss_terms(self, dataset: Dataset, n_classes: int) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The class weights and the logit offsets ``τ·log(prior)`` (None where unused)."""
        if isinstance(self.class_weight, str) and self.class_weight != "balanced":
            raise ValueError(f"class_weight must be None, 'balanced' or one weight per class, got {self.class_weight!r}")
        needs_counts = isinstance(self.class_weight, str) or (self.logit_adjust and self.class_prior is None)
        # A class without training items counts as one, so its weight and log-prior stay finite.
        counts = np.maximum(1, np.bincount(_labels(dataset), minlength=n_classes)[:n_classes]) if needs_counts else None
        weight = offset = None
        if isinstance(self.class_weight, str):
            inverse = 1.0 / counts
            weight = torch.as_tensor(inverse / inverse.mean(), dtype=torch.float32)
        elif self.class_weight is not None:
            weight = torch.as_tensor(np.asarray(self.class_weight, dtype=np.float32))
        if self.logit_adjust:
            prior = counts / counts.sum() if self.class_prior is None else np.asarray(self.class_prior, np.float64)
            offset = torch.as_tensor(self.logit_adjust * np.log(prior), dtype=torch.float32)
        for name, t in (("class_weight", weight), ("class_prior", offset)):
            if t is not None and t.shape != (n_classes,):
                raise ValueError(f"{name} needs one value per class ({n_classes}), got {tuple(t.shape)}")
        return weight, offset

    def _network(self, image_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        torch.manual_seed(self.seed)  # same initial weights for every condition of a seed
        if self.init is not None:
            return _from_pretrained(self.init, image_shape, n_classes)
        if callable(self.arch):
            return self.arch(image_shape, n_classes)
        return build_network(self.arch, image_shape, n_classes)

    def fit_dataset(self, dataset: Dataset, image_shape: tuple[int, ...], n_classes: int) -> TorchClassifier:
        """Train on a dataset of ``(tensor (C, H, W) in [-1, 1], class index)`` items.

        ``dataset.refresh(epoch)`` is called between passes when it exists, so synthetic banks
        change from epoch to epoch.
        """
        device = resolve_device(self.device)
        self.model_ = self._network(image_shape, n_classes).to(device)
        channels_last(self.model_)
        weight, offset = (None if t is None else t.to(device) for t in self._loss_terms(dataset, n_classes))
        opt = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.steps, pct_start=0.15)
        gen = torch.Generator().manual_seed(self.seed)
        augment = copy.deepcopy(self.augment)
        read = batch_reader(dataset)
        loader = DataLoader(
            dataset if read is None else _WholeBatches(dataset, read), batch_size=min(self.batch_size, len(dataset)),
            shuffle=True, drop_last=True, generator=gen, collate_fn=None if read is None else _as_batch,
        )
        self.model_.train()
        step, epoch = 0, 0
        while step < self.steps:
            if epoch and hasattr(dataset, "refresh"):
                dataset.refresh(epoch)
            for x, y in loader:
                x, y = x.to(device, non_blocking=True), torch.as_tensor(y).to(device)
                if augment is not None:
                    x = augment(x)
                logits = self.model_(batch_layout(self.model_, x))
                if offset is not None:
                    logits = logits + offset  # (B, K) + (K,): the logit-adjusted loss
                loss = nn.functional.cross_entropy(logits, y, weight=weight)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                if step >= self.steps:
                    break
            epoch += 1
        self.model_.eval()
        self.classes_ = np.arange(n_classes)
        self.image_shape_ = tuple(image_shape)
        return self

    def fit(self, images: np.ndarray, labels: np.ndarray) -> TorchClassifier:
        """Train on uint8 arrays (labels are class indices ``0..K-1``)."""
        x = to_model(images)
        dataset = torch.utils.data.TensorDataset(x, torch.as_tensor(labels, dtype=torch.long))
        n_classes = int(np.max(labels)) + 1
        return self.fit_dataset(dataset, tuple(images.shape[1:]), n_classes)

    @torch.no_grad()
    def _batched(self, images: np.ndarray, fn: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        device = next(self.model_.parameters()).device
        x, model = to_model(images), channels_last(self.model_)  # a network loaded from a file too
        return torch.cat([fn(batch_layout(model, x[i : i + 1024].to(device))).cpu() for i in range(0, len(x), 1024)]).numpy()

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self._batched(images, lambda x: self.model_(x).softmax(dim=1))

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)

    def features(self, images: np.ndarray) -> np.ndarray:
        """Penultimate-layer activations, the space generative metrics are measured in."""
        return self._batched(images, self.model_.features)

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())


def batch_reader(dataset: Dataset) -> Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]] | None:
    """How to read a whole batch of an in-memory dataset at once: a function of the index array
    giving the ``(images, targets)`` tensors that reading item by item and stacking would give
    (the same values, in the same order), or None. A two-tensor ``TensorDataset`` has one, and
    any dataset whose ``batch_reader()`` returns one (`SyntheticMixDataset`, the evaluation's
    item sets); per-item DataLoader fetching cost ~2 ms a batch, a fifth of a small CNN's step."""
    if isinstance(dataset, torch.utils.data.TensorDataset) and len(dataset.tensors) == 2:
        x, y = dataset.tensors
        return lambda idx: (x[torch.from_numpy(idx)], y[torch.from_numpy(idx)])
    own = getattr(dataset, "batch_reader", None)
    return own() if callable(own) else None


class _WholeBatches(Dataset):
    """``dataset`` read a batch at a time by ``read`` (the DataLoader's ``__getitems__`` hook), so the
    sampler, and the random stream it draws from, stay the DataLoader's own."""

    def __init__(self, dataset: Dataset, read: Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]]) -> None:
        self.dataset, self.read = dataset, read

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[i]

    def __getitems__(self, indices: list[int]) -> _Batch:
        return _Batch(self.read(np.asarray(indices, dtype=np.int64)))


class _Batch(tuple):
    """An ``(images, targets)`` batch read whole: the collate step passes it through."""


def _as_batch(items: Any) -> Any:
    return tuple(items) if isinstance(items, _Batch) else torch.utils.data.default_collate(items)


def _from_pretrained(init: TorchClassifier, image_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """A copy of ``init``'s network with a new head for ``n_classes`` (drawn from the current
    torch seed); refuses a network made for other images."""
    if getattr(init, "model_", None) is None:
        raise ValueError("init must be a fitted TorchClassifier (call fit first)")
    shape = getattr(init, "image_shape_", None)
    if shape is not None and tuple(shape) != tuple(image_shape):
        raise ValueError(f"init was trained on {tuple(shape)} images; these are {tuple(image_shape)}: "
                         "resize one set to the other's size")
    network = copy.deepcopy(init.model_).cpu()
    head = network.head
    network.head = nn.Linear(head.in_features, n_classes)
    return network


def _labels(dataset: Dataset) -> np.ndarray:
    """A training dataset's class indices: its ``targets``, a TensorDataset's second tensor, or
    read item by item."""
    targets = getattr(dataset, "targets", None)
    if targets is None and isinstance(dataset, torch.utils.data.TensorDataset):
        targets = dataset.tensors[1]
    if targets is None:
        targets = [int(dataset[i][1]) for i in range(len(dataset))]
    return np.asarray(targets.tolist() if isinstance(targets, torch.Tensor) else targets, dtype=np.int64)


def fit_judge(
    images: np.ndarray, labels: np.ndarray, steps: int, seed: int = 0, device: str = "auto"
) -> TorchClassifier:
    """A small CNN trained on uint8 ``images`` with class indices ``labels``: a judge of samples
    (``predict_proba``) and a feature space (``features``)."""
    return TorchClassifier("cnn", steps=steps, seed=seed, device=device).fit(images, labels)
