"""The DAGAN pair game (Antoniou et al., 2017): D tells two real images of one class from a real
image and its generated variant; G, given a real image and noise, draws a variant D accepts.

Real pairs are two *different* images of one class, so G cannot win by copying its input: a pair
of identical images is never real. The loss is the hinge loss; DiffAugment moves both images of
a pair together, so it changes how a pair looks, not how its two images relate.

Nothing in that game makes G use its noise: one plausible variant per input image wins it as well
as many (the first Omniglot build drew the same variant for every z). ``diversity_weight`` > 0
adds the mode-seeking term of Mao et al. (2019, MSGAN, arXiv:1903.05628) to G's loss: G draws two
variants of each anchor from two noises and is charged ``mean|z1 - z2| / mean|G(x, z1) - G(x, z2)|``,
large when different noises give the same image.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganaug.models import PairDiscriminator
from ganaug.training.diffaugment import diff_augment, parse_policy
from ganaug.training.losses import d_hinge, g_hinge, mode_seeking
from ganaug.training.objectives.base import Batches, Objective, Tensor, frozen

BETAS = (0.5, 0.999)  # Adam's, for both players, as GANConfig's defaults


@dataclass(frozen=True)
class DAGANConfig:
    """Settings of a DAGAN and its training; written as JSON beside every checkpoint.

    ``channels`` and ``d_channels`` are the widths of G and D at full resolution (each doubles
    with every halving of the grid, up to 256); ``lr`` is Adam's learning rate for both players.
    ``diversity_weight`` weighs the mode-seeking term in G's loss (0: none; see the module's
    docstring); with it each G step draws two variants per anchor (half the anchors, the same
    batch size). ``head`` is G's output (`ganaug.models.DAGANGenerator`): ``"image"`` draws
    pixels, ``"warp"`` deforms the input by at most ``warp_limit`` of the side, smoothly between
    ``warp_grid`` control points per side (0: a quarter of the side).
    """

    steps: int = 2000
    batch_size: int = 32
    z_dim: int = 32
    channels: int = 32
    d_channels: int = 32
    lr: float = 2e-4
    diffaugment: str = "translation,cutout"
    ema_decay: float = 0.999
    monitor_every: int = 250
    seed: int = 0
    diversity_weight: float = 0.0
    head: str = "image"
    warp_limit: float = 0.1
    warp_grid: int = 0

    def __post_init__(self) -> None:
        for name, low in (("steps", 1), ("batch_size", 2), ("z_dim", 1), ("channels", 1), ("d_channels", 1),
                          ("monitor_every", 1), ("seed", 0), ("warp_grid", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name, ok, rule in (("lr", lambda v: v > 0, "> 0"), ("ema_decay", lambda v: 0 <= v < 1, "in [0, 1)"),
                               ("diversity_weight", lambda v: v >= 0, ">= 0"),
                               ("warp_limit", lambda v: 0 < v <= 1, "in (0, 1]")):
            value = getattr(self, name)
            real = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not real or not math.isfinite(value) or not ok(value):
                raise ValueError(f"{name} must be a finite number {rule}, got {value!r}")
        if self.head not in ("image", "warp"):
            raise ValueError(f"head must be 'image' or 'warp', got {self.head!r}")
        parse_policy(self.diffaugment)  # raises on an unknown op

    # What `Trainer` reads of a config beside the fields above (its divergence message).
    loss = "hinge"

    @property
    def lr_g(self) -> float:
        return self.lr

    @property
    def lr_d(self) -> float:
        return self.lr

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DAGANConfig:
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown DAGANConfig field(s): {', '.join(unknown)}")
        return cls(**values)


class ClassGroups:
    """Image indices grouped by class, to draw images of a given class from.

    Args:
        y: class indices ``(N,)`` of the images, in ``0..K-1``.
    """

    def __init__(self, y: Tensor) -> None:
        y = y.long()
        self.y = y
        self.order = torch.argsort(y, stable=True)  # image indices, grouped by class
        self.counts = torch.bincount(y)  # (K,)
        self.starts = torch.cumsum(self.counts, 0) - self.counts
        self.rank = torch.empty_like(y)  # each image's position within its class's group
        self.rank[self.order] = torch.arange(len(y), device=y.device) - self.starts[y[self.order]]

    @staticmethod
    def _offsets(n: Tensor, rng: torch.Generator | None) -> Tensor:
        """A uniform integer in ``0..n-1`` per entry of ``n``."""
        u = torch.rand(len(n), device=n.device, generator=rng)
        return torch.minimum((u * n).long(), n - 1)  # float rounding can reach n itself

    def pick(self, c: Tensor, rng: torch.Generator | None = None) -> Tensor:
        """For each class index in ``c``, a uniformly drawn image index of that class."""
        c = c.long()
        return self.order[self.starts[c] + self._offsets(self.counts[c], rng)]


class SamePairs(ClassGroups):
    """Draws, for image indices, a partner: another image of the same class, never itself.

    Raises:
        ValueError: a class present in ``y`` has a single image.
    """

    def __init__(self, y: Tensor) -> None:
        super().__init__(y)
        single = torch.nonzero(self.counts == 1)
        if len(single):
            raise ValueError(f"class index {int(single[0])} has 1 image; a pair needs 2 images of one class")

    def partners(self, idx: Tensor, rng: torch.Generator | None = None) -> Tensor:
        """For each index in ``idx``, a uniformly drawn other image of its class."""
        c = self.y[idx]
        k = self.counts[c]
        pos = (self.rank[idx] + 1 + self._offsets(k - 1, rng)) % k
        return self.order[self.starts[c] + pos]


class PairObjective(Objective):
    """The DAGAN game on hinge losses: one D update and one G update per step, Adam each.

    ``generator`` is a ``G(x, z)`` (`ganaug.models.DAGANGenerator`); this objective builds and owns
    the `PairDiscriminator` and both optimisers.
    """

    def __init__(self, generator: nn.Module, config: DAGANConfig, n_classes: int, image_shape: tuple[int, int, int]) -> None:
        super().__init__(generator, config, n_classes, image_shape)
        self.policy = parse_policy(config.diffaugment)
        device = next(generator.parameters()).device
        self.discriminator = PairDiscriminator(image_shape, config.d_channels).to(device)
        self.opt_g = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=BETAS)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr, betas=BETAS)
        self.x: Tensor | None = None
        self.pairs: SamePairs | None = None

    def prepare(self, x: Tensor, y: Tensor) -> None:
        self.x, self.pairs = x, SamePairs(y)

    def _anchors(self, batches: Batches) -> Tensor:
        return torch.randint(len(batches.x), (batches.batch_size,), device=batches.x.device, generator=batches.rng)

    def _score(self, x: Tensor, x2: Tensor, rng: torch.Generator, critic: nn.Module | None = None) -> Tensor:
        """D (or ``critic``, D frozen) on a pair, after one DiffAugment draw shared by both of its images."""
        pair = diff_augment(torch.cat([x, x2], dim=1), self.policy, rng)  # (B, 2C, H, W)
        first, second = pair.split(x.shape[1], dim=1)
        return (self.discriminator if critic is None else critic)(first, second)

    def step(self, batches: Batches) -> dict[str, float]:
        rng = batches.rng
        idx = self._anchors(batches)
        anchor, other = self.x[idx], self.x[self.pairs.partners(idx, rng)]
        with torch.no_grad():
            fake = self.generator(anchor, batches.noise(len(idx)))
        d_real, d_fake = self._score(anchor, other, rng), self._score(anchor, fake, rng)
        d_loss = d_hinge(d_real, d_fake)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        anchor = self.x[self._anchors(batches)]
        weight = self.config.diversity_weight
        if weight > 0:  # two variants of each of half the anchors: the same batch through G and D
            anchor = anchor[: max(1, len(anchor) // 2)].repeat(2, 1, 1, 1)
        z = batches.noise(len(anchor))
        fake = self.generator(anchor, z)
        with frozen(self.discriminator) as critic:
            g_loss = g_hinge(self._score(anchor, fake, rng, critic))
        logs = {}
        if weight > 0:
            ratio = mode_seeking(fake, z)
            g_loss = g_loss + weight * ratio
            logs["mode_seeking"] = float(ratio.detach())
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return {"d_loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()),
                "d_real": float(d_real.detach().mean()), "d_fake": float(d_fake.detach().mean()), **logs}

    def draw(self, generator: nn.Module, c: Tensor, z: Tensor, rng: torch.Generator | None = None) -> Tensor:
        """Variants of random training images of classes ``c``."""
        return generator(self.x[self.pairs.pick(c.to(self.x.device), rng)], z)

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}
