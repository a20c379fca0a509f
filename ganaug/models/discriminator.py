"""Class-conditional projection discriminator ``D(x, c)`` with spectral normalisation."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm

from ganaug.models.layout import plan_resolution


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append one channel holding the feature spread within groups of the batch.

    A collapsed generator gives batches with little spread, which this channel exposes to
    D (Karras et al., progressive GANs).
    """
    b, c, h, w = x.shape
    g = min(group, b)
    while b % g:
        g -= 1
    y = x.view(g, -1, c, h, w)  # (G, B/G, C, H, W)
    std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/G,)
    std = std.repeat(g).view(b, 1, 1, 1).expand(b, 1, h, w)
    return torch.cat([x, std], dim=1)


class Discriminator(nn.Module):
    """Downsampling conv net; output ``ψ(φ(x)) + <embed(c), φ(x)>`` (Miyato & Koyama).

    Args:
        n_classes: number of classes.
        image_shape: ``(C, H, W)``.
        channels: width of the first block; doubles with each halving, at most 256.
        minibatch_std: add a minibatch standard-deviation channel before the last conv.
        aux_classifier: also return ACGAN class logits from ``forward(..., return_aux=True)``.
    """

    def __init__(
        self,
        n_classes: int,
        image_shape: tuple[int, int, int],
        channels: int = 64,
        minibatch_std: bool = False,
        aux_classifier: bool = False,
    ) -> None:
        super().__init__()
        self.n_classes, self.image_shape = n_classes, tuple(image_shape)
        self.minibatch_std = minibatch_std
        n_steps, _ = plan_resolution(image_shape[1], image_shape[2])
        widths = [min(channels * 2**i, 256) for i in range(n_steps + 1)]
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(image_shape[0], widths[0], 3, padding=1))]
        for i in range(n_steps):
            layers += [
                nn.LeakyReLU(0.2),
                spectral_norm(nn.Conv2d(widths[i], widths[i + 1], 4, stride=2, padding=1)),
            ]
        layers.append(nn.LeakyReLU(0.2))
        self.blocks = nn.Sequential(*layers)
        self.final = spectral_norm(nn.Conv2d(widths[-1] + int(minibatch_std), widths[-1], 3, padding=1))
        self.act = nn.LeakyReLU(0.2)
        self.linear = spectral_norm(nn.Linear(widths[-1], 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, widths[-1]))
        self.aux = spectral_norm(nn.Linear(widths[-1], n_classes)) if aux_classifier else None

    def stages(self) -> list[nn.Module]:
        """The convolutions from the input up (the blocks', then ``final``); FreezeD keeps a
        prefix of them fixed while the rest and the heads fine-tune."""
        return [m for m in self.blocks if isinstance(m, nn.Conv2d)] + [self.final]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x)
        if self.minibatch_std:
            h = minibatch_stddev(h)
        return self.act(self.final(h)).sum(dim=(2, 3))  # (B, F)

    def forward(
        self, x: torch.Tensor, c: torch.Tensor, return_aux: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x)
        out = self.linear(h).squeeze(1) + (self.embed(c) * h).sum(dim=1)  # (B,)
        if return_aux:
            return out, (self.aux(h) if self.aux is not None else None)
        return out
