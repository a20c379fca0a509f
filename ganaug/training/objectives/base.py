"""The interface every training objective meets, and the trainer's view of the data it gets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from ganaug.training import distributed
from ganaug.training.config import GANConfig

Tensor = torch.Tensor


class Batches:
    """Random batches of the training data and noise, all drawn from one seeded stream.

    The trainer owns the data and the stream; an objective asks for what each update needs,
    so the order of draws (and hence a run) is set by the objective's algorithm alone.
    ``sampling`` is ``"uniform"`` (each item any image alike), ``"balanced"`` (each item's class
    uniformly, then one of that class's images) or ``"grouped"`` (``batch_size // GROUP``
    distinct classes, then ``GROUP`` images of each, drawn with replacement); `GANConfig` says
    when each helps, `ganaug.training.config.auto_sampling` which one ``"auto"`` picks.
    """

    GROUP = 4

    def __init__(self, x: Tensor, y: Tensor, batch_size: int, z_dim: int, rng: torch.Generator,
                 sampling: str = "uniform") -> None:
        self.x, self.y, self.batch_size, self.z_dim, self.rng = x, y, batch_size, z_dim, rng
        self.sampling = sampling
        if sampling != "uniform":  # the images sorted by class, and where each class starts and how many it has
            self._order = torch.argsort(y, stable=True)
            self._classes, self._counts = torch.unique(y, return_counts=True)
            self._starts = torch.cumsum(self._counts, 0) - self._counts

    def _class_positions(self) -> Tensor:
        """Positions in ``self._classes`` of one batch's items (``"balanced"`` or ``"grouped"``)."""
        n, device = self.batch_size, self.y.device
        if self.sampling == "balanced":
            return torch.randint(len(self._classes), (n,), device=device, generator=self.rng)
        n_groups = -(-n // self.GROUP)
        if n_groups <= len(self._classes):
            picked = torch.randperm(len(self._classes), device=device, generator=self.rng)[:n_groups]
        else:  # fewer classes than groups: some class twice
            picked = torch.randint(len(self._classes), (n_groups,), device=device, generator=self.rng)
        return picked.repeat_interleave(self.GROUP)[:n]

    def _indices(self) -> Tensor:
        n = self.batch_size
        if self.sampling == "uniform":
            return torch.randint(len(self.x), (n,), device=self.x.device, generator=self.rng)
        k = self._class_positions()
        within = (torch.rand(n, device=self.x.device, generator=self.rng) * self._counts[k]).long()
        return self._order[self._starts[k] + within.minimum(self._counts[k] - 1)]

    def real(self) -> tuple[Tensor, Tensor]:
        """A batch of real images ``(B, C, H, W)`` and their class indices ``(B,)``."""
        idx = self._indices()
        return self.x[idx], self.y[idx]

    def labels(self) -> Tensor:
        """A batch of class indices drawn like the real batches' (uniformly over classes unless
        ``"uniform"``, in groups when ``"grouped"``)."""
        if self.sampling != "uniform":
            return self._classes[self._class_positions()]
        return self.y[torch.randint(len(self.y), (self.batch_size,), device=self.y.device, generator=self.rng)]

    def noise(self, n: int) -> Tensor:
        return torch.randn(n, self.z_dim, device=self.x.device, generator=self.rng)


@contextmanager
def frozen(critic: nn.Module) -> Iterator[nn.Module]:
    """``critic`` (a discriminator) with its trainable weights out of autograd for the block.

    G's update needs gradients through D's input, not D's own: without this, every G step paid
    for D's weight gradients and threw them away (StyleGAN2-ADA toggles ``requires_grad`` the
    same way). Yields the network itself, outside any DDP wrapper, so no rank waits to average
    gradients that are not made; its weights are the same on every rank. Build the graph inside
    the block; ``backward()`` may run after it.
    """
    params = [p for p in critic.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield distributed.unwrap(critic)
    finally:
        for p in params:
            p.requires_grad_(True)


class Objective(ABC):
    """What one generator update does, and what it must checkpoint to resume.

    An objective owns the networks it trains besides the generator (a discriminator, a frozen
    feature network) and the optimisers of all of them, over the parameters that train
    (``config.train_layers``, see `ganaug.training.transfer.freeze_layers`); the trainer owns the
    data, the random stream, the EMA copy, progress and checkpoints.

    Args:
        generator: ``G(z, c)``, already on its device.
        config: the resolved settings.
        n_classes: number of classes.
        image_shape: ``(C, H, W)``.
    """

    def __init__(self, generator: nn.Module, config: GANConfig, n_classes: int, image_shape: tuple[int, int, int]) -> None:
        self.generator, self.config = generator, config
        self.n_classes, self.image_shape = n_classes, image_shape

    def prepare(self, x: Tensor, y: Tensor) -> None:
        """Build whatever depends on the training data, before the first update of a run."""
        return None  # nothing by default: optional hook, not abstract

    @abstractmethod
    def step(self, batches: Batches) -> dict[str, float]:
        """One generator update (and the discriminator updates it alternates with).

        Returns:
            ``{"d_loss", "g_loss", "d_real", "d_fake"}`` as floats (0.0 where there is no D).
        """

    @abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """The trained networks by checkpoint prefix, ``"generator"`` first."""

    @abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers by checkpoint prefix."""

    def draw(self, generator: nn.Module, c: Tensor, z: Tensor, rng: torch.Generator | None = None) -> Tensor:
        """The images ``generator`` (G, or its EMA copy) makes for class indices ``c`` from noise
        ``z``; the trainer's collapse monitor looks at these. ``rng`` serves any other draw."""
        return generator(z, c)

    def train(self) -> None:
        for net in self.networks().values():
            net.train()

    def wrap_networks(self, wrap: Callable[[nn.Module], nn.Module]) -> None:
        """Run the trained networks' forward passes through ``wrap(net)`` (DistributedDataParallel):
        each entry of `networks` is the attribute of that name, and becomes the wrapper."""
        for name, net in self.networks().items():
            setattr(self, name, wrap(net))

    def extra_state(self) -> dict[str, Any]:
        """JSON-serialisable state beyond weights and optimisers (e.g. moving averages)."""
        return {}

    def load_extra_state(self, meta: dict[str, Any]) -> None:
        """Restore `extra_state` from a checkpoint's metadata."""
        return None  # nothing by default: optional hook, not abstract
