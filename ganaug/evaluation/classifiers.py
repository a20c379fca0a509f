"""Downstream classifiers: a small CNN (default), an MLP, and scikit-learn estimators on pixels.

Every classifier here is trained for a fixed number of optimiser steps from a seeded
initialisation, so the evaluation protocol can give each condition the same budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ganaug.utils import resolve_device


class SmallCNN(nn.Module):
    """Two conv blocks and a linear head; ``features`` is the 128-d penultimate layer."""

    def __init__(self, in_channels: int, n_classes: int, width: int = 32) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(2), nn.Flatten(),
            nn.Linear(8 * width, 128), nn.ReLU(), nn.Dropout(0.3),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class MLP(nn.Module):
    def __init__(self, in_features: int, n_classes: int, hidden: int = 256) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(), nn.Linear(in_features, hidden), nn.ReLU(), nn.Dropout(0.2),
            nn.Linear(hidden, 128), nn.ReLU(),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def build_network(arch: str, image_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    """``arch`` in {"cnn", "mlp"}; ``image_shape`` is ``(H, W)`` or ``(H, W, C)``."""
    channels = image_shape[2] if len(image_shape) == 3 else 1
    if arch == "cnn":
        return SmallCNN(channels, n_classes)
    if arch == "mlp":
        return MLP(int(np.prod(image_shape)), n_classes)
    raise ValueError(f"unknown network {arch!r}; choose cnn or mlp")


def images_to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``N×H×W[×C]`` → float ``(N, C, H, W)`` normalised to [-1, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(images)).float().div(127.5).sub(1.0)
    if t.ndim == 3:
        t = t.unsqueeze(1)
    else:
        t = t.permute(0, 3, 1, 2)
    return t.contiguous()


class TorchClassifier:
    """Train a torch network for a fixed number of steps; predict on uint8 image arrays.

    Args:
        arch: ``"cnn"`` or ``"mlp"``, or a callable ``(image_shape, n_classes) -> nn.Module``.
        steps: optimiser steps (the budget, equal across conditions).
        batch_size: items per step.
        lr: AdamW learning rate (cosine-decayed to 0 over ``steps``).
        seed: initialisation and data order.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…
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
    ) -> None:
        self.arch, self.steps, self.batch_size = arch, steps, batch_size
        self.lr, self.weight_decay, self.seed, self.device = lr, weight_decay, seed, device

    def _network(self, image_shape: tuple[int, ...], n_classes: int) -> nn.Module:
        torch.manual_seed(self.seed)  # same initial weights for every condition of a seed
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
        opt = torch.optim.AdamW(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.steps, pct_start=0.15)
        gen = torch.Generator().manual_seed(self.seed)
        loader = DataLoader(
            dataset, batch_size=min(self.batch_size, len(dataset)), shuffle=True, drop_last=True, generator=gen
        )
        self.model_.train()
        step, epoch = 0, 0
        while step < self.steps:
            if epoch and hasattr(dataset, "refresh"):
                dataset.refresh(epoch)
            for x, y in loader:
                x, y = x.to(device, non_blocking=True), torch.as_tensor(y).to(device)
                loss = nn.functional.cross_entropy(self.model_(x), y)
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
        return self

    def fit(self, images: np.ndarray, labels: np.ndarray) -> TorchClassifier:
        """Train on uint8 arrays (labels are class indices ``0..K-1``)."""
        x = images_to_tensor(images)
        dataset = torch.utils.data.TensorDataset(x, torch.as_tensor(labels, dtype=torch.long))
        n_classes = int(np.max(labels)) + 1
        return self.fit_dataset(dataset, tuple(images.shape[1:]), n_classes)

    @torch.no_grad()
    def _batched(self, images: np.ndarray, fn: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        device = next(self.model_.parameters()).device
        x = images_to_tensor(images)
        return torch.cat([fn(x[i : i + 1024].to(device)).cpu() for i in range(0, len(x), 1024)]).numpy()

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        return self._batched(images, lambda x: self.model_(x).softmax(dim=1))

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.predict_proba(images).argmax(axis=1)

    def features(self, images: np.ndarray) -> np.ndarray:
        """Penultimate-layer activations, the space generative metrics are measured in."""
        return self._batched(images, self.model_.features)

    def score(self, images: np.ndarray, labels: np.ndarray) -> float:
        return float((self.predict(images) == np.asarray(labels)).mean())


def sklearn_classifier(name: str, seed: int = 0) -> Any:
    """``logreg`` or ``svc``, on flattened pixels scaled to 0..1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    scale = FunctionTransformer(lambda x: x.reshape(len(x), -1) / 255.0)
    if name == "logreg":
        return make_pipeline(scale, LogisticRegression(max_iter=2000, C=0.5, random_state=seed))
    if name == "svc":
        return make_pipeline(scale, SVC(gamma="scale", random_state=seed))
    raise ValueError(f"unknown scikit-learn classifier {name!r}; choose logreg or svc")


CLASSIFIERS = ("cnn", "mlp", "logreg", "svc")
