"""`GANConfig`: every setting that shapes a trained augmenter, frozen and JSON-serialisable."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GANConfig:
    """Settings of the conditional GAN and its training.

    ``steps=None`` sizes training from the data (see `auto_steps`). ``conditioning`` is
    ``"label"`` (one conditional GAN). ``aux_weight`` > 0 adds an ACGAN class loss to both
    players; ``r1_gamma`` > 0 adds the R1 gradient penalty on real images.
    """

    loss: str = "hinge"
    steps: int | None = None
    batch_size: int = 64
    z_dim: int = 64
    g_channels: int = 64
    d_channels: int = 64
    lr_g: float = 1e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    diffaugment: str = "translation,cutout"
    ema_decay: float = 0.999
    minibatch_std: bool = False
    aux_weight: float = 0.0
    r1_gamma: float = 0.0
    monitor_every: int = 250
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GANConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown GANConfig field(s): {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> GANConfig:
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot read config {path}: {err}") from None
        return cls.from_dict(values.get("config", values))


def auto_steps(n_images: int, image_pixels: int) -> int:
    """Training length when ``steps`` is None.

    Fewer images need fewer steps before D memorises them; larger images need more. Sized so
    sklearn digits (8×8) trains in about a minute and MNIST-size subsets in a few on 2 CPU cores.
    """
    base = 1500 if image_pixels <= 16 * 16 else 2500
    return int(base * min(2.0, max(0.6, (n_images / 500) ** 0.25)))
