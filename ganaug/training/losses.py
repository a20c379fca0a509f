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


def conditional_mmd2(
    fake: Tensor, fake_c: Tensor, real: Tensor, real_c: Tensor, scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
) -> Tensor:
    """Unbiased MMD² between (image, class) pairs: the generative matching network's loss.

    The kernel is a sum of Gaussians on pixels, with bandwidths at ``scales`` × the median
    real-to-fake distance, times 1[same class] — the product kernel compares the
    class-conditional distributions, so G cannot trade one class's samples for another's.
    """
    x, y = fake.flatten(1), real.flatten(1)
    d_xx, d_yy, d_xy = torch.cdist(x, x).pow(2), torch.cdist(y, y).pow(2), torch.cdist(x, y).pow(2)
    base = d_xy.detach().median().clamp_min(1e-6)
    same_xx = (fake_c[:, None] == fake_c[None, :]).to(x.dtype)
    same_yy = (real_c[:, None] == real_c[None, :]).to(x.dtype)
    same_xy = (fake_c[:, None] == real_c[None, :]).to(x.dtype)

    def kernel(d: Tensor) -> Tensor:
        return sum(torch.exp(-d / (2 * s * base)) for s in scales)

    n, m = len(x), len(y)
    k_xx = (kernel(d_xx) * same_xx).fill_diagonal_(0).sum() / (n * (n - 1))
    k_yy = (kernel(d_yy) * same_yy).fill_diagonal_(0).sum() / (m * (m - 1))
    k_xy = (kernel(d_xy) * same_xy).mean()
    return k_xx + k_yy - 2 * k_xy


def lecam_penalty(real: Tensor, fake: Tensor, anchor_real: float, anchor_fake: float) -> Tensor:
    """LeCam regulariser: real scores above the fake anchor and fake scores below the real one.

    The anchors are moving averages of D's mean output on real and on fake images; penalising
    scores that cross them keeps D from growing over-confident on a small training set.
    """
    return (real - anchor_fake).relu().pow(2).mean() + (anchor_real - fake).relu().pow(2).mean()


LOSSES: dict[str, tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]] | None] = {
    "minimax": (d_logistic, g_minimax),
    "nonsaturating": (d_logistic, g_nonsaturating),
    "hinge": (d_hinge, g_hinge),
    "mmd": None,  # no discriminator: G minimises `conditional_mmd2` directly (Li et al., 2015)
}


def get_loss(name: str) -> tuple[Callable[[Tensor, Tensor], Tensor], Callable[[Tensor], Tensor]] | None:
    """The (D, G) loss pair for an adversarial objective; None for the direct ``"mmd"`` method."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None


def mode_seeking(fake: Tensor, z: Tensor, eps: float = 1e-5) -> Tensor:
    """MSGAN's term (Mao et al., 2019) for a batch whose two halves are G's images of the same
    inputs (classes, or images for the DAGAN) from other noise: ``mean|z1 - z2| /
    mean|G(·, z1) - G(·, z2)|`` (per pair, then averaged), to minimise: large when G ignores z."""
    half = len(fake) // 2
    image_gap = (fake[:half] - fake[half: 2 * half]).abs().flatten(1).mean(1)
    noise_gap = (z[:half] - z[half: 2 * half]).abs().mean(1)
    return (noise_gap / (image_gap + eps)).mean()
