"""GAN objectives as pure functions of discriminator logits.

Each entry maps a name to ``(d_loss(real, fake), g_loss(fake))``; both return a scalar.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn.functional import relu, softplus

Tensor = torch.Tensor


def d_logistic(real: Tensor, fake: Tensor) -> Tensor:
    """``-log σ(D(x)) - log(1 - σ(D(G(z))))``: the discriminator's side of the minimax game."""
    return softplus(-real).mean() + softplus(fake).mean()


def g_minimax(fake: Tensor) -> Tensor:
    """Goodfellow et al.'s original generator loss, ``log(1 - σ(D(G(z))))``, minimised.

    It saturates when D rejects samples confidently, which is why practice moved on; kept
    so the benchmark can show it.
    """
    return -softplus(fake).mean()


def g_nonsaturating(fake: Tensor) -> Tensor:
    """``-log σ(D(G(z)))``: same fixed point as minimax, strong gradients early on."""
    return softplus(-fake).mean()


def d_hinge(real: Tensor, fake: Tensor) -> Tensor:
    return relu(1.0 - real).mean() + relu(1.0 + fake).mean()


def g_hinge(fake: Tensor) -> Tensor:
    return -fake.mean()


LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]] = {
    "minimax": (d_logistic, g_minimax),
    "nonsaturating": (d_logistic, g_nonsaturating),
    "hinge": (d_hinge, g_hinge),
}


def get_loss(name: str) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]]:
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
