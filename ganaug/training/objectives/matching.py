"""The generative matching network (Li et al., 2015): G alone minimises a class-conditional MMD.

There is no discriminator. With ``mmd_feature_weight`` > 0 a second MMD term is measured in the
feature space of a small CNN trained (then frozen) on the same real images, so samples must
match what tells the classes apart, not only the average ink.
"""

from __future__ import annotations

import torch
from torch import nn

from ganaug.training.features import fit_feature_net
from ganaug.training.losses import conditional_mmd2
from ganaug.training.objectives.base import Batches, Objective, Tensor
from ganaug.training.transfer import freeze_layers, trainable


class MatchingObjective(Objective):
    """``loss="mmd"``: moment matching in pixel space, optionally also in a learned feature space."""

    def __init__(self, generator: nn.Module, config, n_classes: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__(generator, config, n_classes, image_shape)
        self.config = config = freeze_layers(config, generator)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(trainable(generator), lr=config.lr_g, betas=betas)
        self.feature_net: nn.Module | None = None  # built from the data by `prepare`

    def prepare(self, x: Tensor, y: Tensor) -> None:
        # Rebuilt identically by a resumed run: it has random streams of its own.
        if self.config.mmd_feature_weight > 0 and self.feature_net is None:
            self.feature_net = fit_feature_net(x, y, self.n_classes, self.config.seed)

    def step(self, batches: Batches) -> dict[str, float]:
        real, c = batches.real()
        fake = self.generator(batches.noise(len(c)), c)
        loss = conditional_mmd2(fake, c, real, c)
        if self.feature_net is not None:
            f = self.feature_net.features
            loss = loss + self.config.mmd_feature_weight * conditional_mmd2(f(fake), c, f(real), c)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {"d_loss": 0.0, "g_loss": float(loss.detach()), "d_real": 0.0, "d_fake": 0.0}

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g}
