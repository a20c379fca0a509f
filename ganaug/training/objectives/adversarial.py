"""The adversarial game: D learns to tell real from generated pairs ``(x, c)``, G to fool it.

Losses (minimax, non-saturating, hinge) come from `ganaug.training.losses`; the remedies for
few data and mode collapse are options of the same game: DiffAugment on both players' inputs,
R1 (a gradient penalty on real images), LeCam (D's outputs pulled towards moving anchors),
ACGAN (an auxiliary class loss), MSGAN's mode seeking (G charged when two noises give one image)
and first-order unrolled D (G answers a D looked k updates
ahead).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.nn.functional import cross_entropy

from ganaug.models import build_discriminator
from ganaug.training.diffaugment import diff_augment, parse_policy
from ganaug.training.losses import get_loss, lecam_penalty, mode_seeking
from ganaug.training.objectives.base import Batches, Objective, Tensor, frozen
from ganaug.training.transfer import freeze_layers, trainable

LECAM_DECAY = 0.99  # the moving-average decay of the LeCam anchors, as in the paper


class AdversarialObjective(Objective):
    """``loss`` in minimax / nonsaturating / hinge: alternating D and G updates, Adam each."""

    def __init__(self, generator: nn.Module, config, n_classes: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__(generator, config, n_classes, image_shape)
        self.d_loss_fn, self.g_loss_fn = get_loss(config.loss)
        self.policy = parse_policy(config.diffaugment)
        device = next(generator.parameters()).device
        self.discriminator = build_discriminator(
            n_classes, image_shape, config.d_channels, minibatch_std=config.minibatch_std,
            aux_classifier=config.aux_weight > 0, per_class=config.conditioning == "per-class",
        ).to(device)
        self.config = config = freeze_layers(config, generator, self.discriminator)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(trainable(generator), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(trainable(self.discriminator), lr=config.lr_d, betas=betas)
        self.lecam_anchors = [0.0, 0.0]  # moving averages of D on real, on fake

    def step(self, batches: Batches) -> dict[str, float]:
        d_loss = d_real = d_fake = 0.0
        for _ in range(self.config.d_steps):
            d_loss, d_real, d_fake = self._d_step(batches)
        return {"d_loss": d_loss, "g_loss": self._g_step(batches), "d_real": d_real, "d_fake": d_fake}

    def _d_scores(self, real_in: Tensor, fake_in: Tensor, c: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """D's logits on real and fake inputs, and its class logits on the real ones (ACGAN)."""
        if self.config.minibatch_std:  # separate passes: minibatch groups must not mix real and fake
            d_real, aux_real = self.discriminator(real_in, c, return_aux=True)
            return d_real, self.discriminator(fake_in, c), aux_real
        # One pass over both halves is cheaper on small CPUs.
        both, aux_both = self.discriminator(torch.cat([real_in, fake_in]), torch.cat([c, c]), return_aux=True)
        d_real, d_fake = both.split(len(c))
        return d_real, d_fake, aux_both[: len(c)] if aux_both is not None else None

    def _d_step(self, batches: Batches) -> tuple[float, float, float]:
        cfg, rng = self.config, batches.rng
        real, c = batches.real()
        with torch.no_grad():
            fake = self.generator(batches.noise(len(c)), c)
        real_in = diff_augment(real, self.policy, rng)
        fake_in = diff_augment(fake, self.policy, rng)
        if cfg.r1_gamma > 0:
            real_in = real_in.detach().requires_grad_(True)
        d_real, d_fake, aux_real = self._d_scores(real_in, fake_in, c)
        loss = self.d_loss_fn(d_real, d_fake)
        if aux_real is not None:
            loss = loss + cfg.aux_weight * cross_entropy(aux_real, c)
        if cfg.r1_gamma > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
            loss = loss + 0.5 * cfg.r1_gamma * grad.pow(2).sum(dim=(1, 2, 3)).mean()
        if cfg.lecam_weight > 0:
            loss = loss + cfg.lecam_weight * lecam_penalty(d_real, d_fake, *self.lecam_anchors)
            means = (float(d_real.detach().mean()), float(d_fake.detach().mean()))
            self.lecam_anchors = [
                LECAM_DECAY * anchor + (1 - LECAM_DECAY) * mean
                for anchor, mean in zip(self.lecam_anchors, means, strict=True)
            ]
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return float(loss.detach()), float(d_real.detach().mean()), float(d_fake.detach().mean())

    def _g_step(self, batches: Batches) -> float:
        cfg = self.config
        saved = self._unroll(batches) if cfg.unrolled_steps > 0 else None
        c = batches.labels()
        if cfg.diversity_weight > 0:  # two images of each of half the labels, from two noises
            c = c[: max(1, len(c) // 2)].repeat(2)
        z = batches.noise(len(c))
        fake = self.generator(z, c)
        with frozen(self.discriminator) as critic:
            d_fake, aux = critic(diff_augment(fake, self.policy, batches.rng), c, return_aux=True)
        loss = self.g_loss_fn(d_fake)
        if aux is not None:
            loss = loss + cfg.aux_weight * cross_entropy(aux, c)
        if cfg.diversity_weight > 0:
            loss = loss + cfg.diversity_weight * mode_seeking(fake, z)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if saved is not None:
            self.discriminator.load_state_dict(saved[0])
            self.opt_d.load_state_dict(saved[1])
            self.lecam_anchors = saved[2]
        return float(loss.detach())

    def _unroll(self, batches: Batches) -> tuple[dict, dict, list[float]]:
        """Take ``unrolled_steps`` extra D updates, returning the state to restore afterwards.

        G's loss is then computed against this look-ahead D, so G is rewarded for moves D
        cannot immediately punish — such as collapsing onto one mode. This is the first-order
        variant: gradients do not flow back through D's updates.
        """
        saved = (
            {k: v.clone() for k, v in self.discriminator.state_dict().items()},
            copy.deepcopy(self.opt_d.state_dict()),
            list(self.lecam_anchors),
        )
        for _ in range(self.config.unrolled_steps):
            self._d_step(batches)
        return saved

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def extra_state(self) -> dict[str, Any]:
        return {"lecam_anchors": self.lecam_anchors}

    def load_extra_state(self, meta: dict[str, Any]) -> None:
        self.lecam_anchors = [float(a) for a in meta.get("lecam_anchors", [0.0, 0.0])]
