"""The learned feature space of the matching network's second kernel.

Pixel-space MMD weighs every pixel alike, so a generator can lower it with a blurred class
average. A small CNN trained to classify the same real images maps them to features that
separate the classes; an MMD term in that space pushes G to match those, not only the mean
ink. The network sees the training images only — the same
data G learns from — and is frozen before G's first step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from ganaug.models.classifier import SmallCNN
from ganaug.training.diffaugment import diff_augment, parse_policy

Tensor = torch.Tensor
FEATURE_NET_STEPS = 300  # optimiser steps of the feature network, batches of 64
FEATURE_NET_POLICY = "translation,cutout"


def fit_feature_net(x: Tensor, y: Tensor, n_classes: int, seed: int, steps: int = FEATURE_NET_STEPS) -> nn.Module:
    """Train a small CNN classifier on ``(x, y)`` and return it frozen, in eval mode.

    Its own random streams are used throughout (the global one is restored afterwards), so
    building it does not shift the GAN's noise: a resumed run rebuilds the same network.

    Args:
        x: real images ``(N, C, H, W)`` in [-1, 1].
        y: class indices ``(N,)``.
        n_classes: number of classes.
        seed: initialisation, batches and augmentation.
        steps: optimiser steps (batches of 64, AdamW).
    """
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        net = SmallCNN(x.shape[1], n_classes).to(x.device)
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
        rng = torch.Generator(device=x.device).manual_seed(seed)
        policy = parse_policy(FEATURE_NET_POLICY)
        net.train()
        for _ in range(steps):
            idx = torch.randint(len(x), (min(64, len(x)),), device=x.device, generator=rng)
            loss = cross_entropy(net(diff_augment(x[idx], policy, rng)), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    net.requires_grad_(False)
    return net
