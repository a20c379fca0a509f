"""`GANConfig`: every setting that shapes a trained augmenter, frozen and JSON-serialisable."""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganaug.training.diffaugment import parse_policy
from ganaug.training.losses import get_loss

CONDITIONING = ("label", "per-class")
# Which parameters a fine-tune from a pretrained source (GANAugmenter(init=...)) trains: all of
# them; only G's class embeddings and normalisation parameters (D fully); or all but a prefix of
# D's convolutions (FreezeD, Mo et al. 2020).
TRAIN_LAYERS = ("all", "embeddings+norms", "freeze-d")
# How the trainer draws real batches: over images, or a class first and then one of its images.
SAMPLING = ("auto", "uniform", "balanced", "grouped")


@dataclass(frozen=True)
class GANConfig:
    """Settings of the conditional GAN and its training.

    ``steps=None`` sizes training from the data (see `auto_steps`) and ``lr_g=None`` takes the
    objective's learning rate (see `auto_lr_g`); ``batch_size``,
    ``g_channels`` and ``d_channels`` left at None are sized from the resolution (see `auto_size`)
    so that a step costs about the same on 8×8 digits and 28×28 MNIST. ``conditioning`` is
    ``"label"`` (one conditional GAN shares its weights across classes) or ``"per-class"`` (an
    independent G and D for every class, trained side by side on the same steps). ``aux_weight`` > 0 adds an ACGAN class loss to both
    players; ``r1_gamma`` > 0 adds the R1 gradient penalty on real images;
    ``lecam_weight`` > 0 adds LeCam regularisation (Tseng et al., 2021: D's outputs are pulled
    towards moving averages of each other, which steadies D when data are few);
    ``diversity_weight`` > 0 adds MSGAN's mode-seeking term to an adversarial G's loss (two
    noises per class, charged when they give the same image: the remedy for a G that ignores
    its noise, as ACGAN's does on many classes of few images);
    ``unrolled_steps`` = k > 0 lets G answer a discriminator looked k updates ahead
    (Metz et al., a remedy for mode collapse). ``loss="mmd"`` trains G alone by moment
    matching (a generative matching network) and ignores every D setting;
    ``mmd_feature_weight`` > 0 adds a second MMD term, in the feature space of a small classifier
    trained on the same real images (see `ganaug.training.features`), weighted by it; it needs
    the matching network, so with ``loss="auto"`` it selects ``"mmd"``. ``loss="auto"``
    (the default) is resolved from the data by `auto_loss`. ``train_layers`` says which
    parameters train when fine-tuning a pretrained source (``GANAugmenter(init=...)``): ``"all"``,
    ``"embeddings+norms"`` (G's class embeddings and normalisation parameters only; D fully) or
    ``"freeze-d"`` (the first ``freeze_d_blocks`` of D's convolutions fixed; None: half of them).
    ``sampling`` is how real batches are drawn: ``"uniform"`` over the images (each class as
    often as the data hold it), ``"balanced"`` a class uniformly, then one of its images, so
    every class trains G alike; ``"grouped"`` draws ``batch_size // 4`` distinct classes, then
    4 images of each (with hundreds of classes a uniform batch seldom holds two images of one class,
    which the class-conditional MMD needs to see a class's spread); ``"auto"`` resolves to ``"balanced"`` when the class counts
    differ and to ``"uniform"`` when they are equal (see `auto_sampling`).
    """

    loss: str = "auto"
    conditioning: str = "label"
    steps: int | None = None
    batch_size: int | None = None
    z_dim: int = 64
    g_channels: int | None = None
    d_channels: int | None = None
    lr_g: float | None = None
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    diffaugment: str = "translation,cutout"
    ema_decay: float = 0.999
    minibatch_std: bool = False
    aux_weight: float = 0.0
    r1_gamma: float = 0.0
    lecam_weight: float = 0.0
    unrolled_steps: int = 0
    mmd_feature_weight: float = 0.0
    diversity_weight: float = 0.0
    monitor_every: int = 250
    seed: int = 0
    train_layers: str = "all"
    freeze_d_blocks: int | None = None
    sampling: str = "auto"

    def __post_init__(self) -> None:
        _check_ranges(self)
        if self.loss != "auto":
            get_loss(self.loss)  # raises on an unknown name
        parse_policy(self.diffaugment)  # raises on an unknown op
        if self.conditioning not in CONDITIONING:
            raise ValueError(f"unknown conditioning {self.conditioning!r}; choose one of {', '.join(CONDITIONING)}")
        if self.conditioning == "per-class" and self.aux_weight > 0:
            raise ValueError("aux_weight needs conditioning='label': a per-class D sees one class")
        if self.mmd_feature_weight > 0 and self.loss not in ("auto", "mmd"):
            raise ValueError(f"mmd_feature_weight needs loss='mmd' (or 'auto'); got loss={self.loss!r}")
        if self.mmd_feature_weight > 0 and self.loss == "auto" and _wants_d(self):
            raise ValueError("mmd_feature_weight asks for the matching network and a D-side option for an adversarial GAN: set only one")
        if self.diversity_weight > 0 and self.loss == "mmd":
            raise ValueError("diversity_weight is a term of an adversarial G's loss; loss='mmd' has none")
        _check_train_layers(self)
        if self.sampling not in SAMPLING:
            raise ValueError(f"unknown sampling {self.sampling!r}; choose one of {', '.join(SAMPLING)}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n")

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
        if isinstance(values, dict):
            # A checkpoint's .json twin holds the config under "config"; an evaluation's
            # eval_config.json holds it under "gan", beside the dataset.
            values = values["gan"] if "gan" in values and "dataset" in values else values.get("config", values)
        if not isinstance(values, dict):
            raise ValueError(f"config {path} must hold a JSON object of GANConfig fields, got {type(values).__name__}")
        return cls.from_dict(values)


# The smallest value each integer setting takes. None (sized from the data) is allowed
# where it is the default.
_INT_MIN = {"steps": 1, "batch_size": 2, "z_dim": 1, "g_channels": 1, "d_channels": 1, "d_steps": 1,
            "unrolled_steps": 0, "monitor_every": 1, "seed": 0, "freeze_d_blocks": 0}
_POSITIVE = ("lr_g", "lr_d")
_FRACTION = ("beta1", "beta2", "ema_decay")  # in [0, 1)
_WEIGHT = ("aux_weight", "r1_gamma", "lecam_weight", "mmd_feature_weight", "diversity_weight")  # >= 0


def _check_ranges(config: GANConfig) -> None:
    """A clear error for a setting of the wrong type or out of range, before anything trains."""

    def fail(name: str, rule: str) -> None:
        raise ValueError(f"{name} must be {rule}, got {getattr(config, name)!r}")

    def number(value: Any, kind: type) -> bool:
        return isinstance(value, kind) and not isinstance(value, bool)

    for name, low in _INT_MIN.items():
        value = getattr(config, name)
        if value is None and _FIELD_DEFAULTS[name] is None:
            continue
        if not number(value, numbers.Integral) or value < low:
            fail(name, f"an integer >= {low}")
    for name in _POSITIVE + _FRACTION + _WEIGHT:
        value = getattr(config, name)
        if value is None and _FIELD_DEFAULTS[name] is None:
            continue
        # inf passes every range test below (and NaN fails them with a misleading rule):
        # an lr of inf trains to NaN weights, so a non-finite number is refused by name.
        if not number(value, numbers.Real) or not math.isfinite(value):
            fail(name, "a finite number")
        if name in _POSITIVE and not value > 0:
            fail(name, "> 0")
        if name in _FRACTION and not 0 <= value < 1:
            fail(name, "in [0, 1)")
        if name in _WEIGHT and not value >= 0:
            fail(name, ">= 0")
    if not isinstance(config.minibatch_std, bool):
        fail("minibatch_std", "true or false")


def _check_train_layers(config: GANConfig) -> None:
    if config.train_layers not in TRAIN_LAYERS:
        raise ValueError(f"unknown train_layers {config.train_layers!r}; choose one of {', '.join(TRAIN_LAYERS)}")
    if config.freeze_d_blocks is not None and config.train_layers != "freeze-d":
        raise ValueError(f"freeze_d_blocks needs train_layers='freeze-d'; got train_layers={config.train_layers!r}")
    if config.train_layers == "freeze-d" and config.loss == "mmd":
        raise ValueError("train_layers='freeze-d' freezes part of a discriminator; loss='mmd' has none")


_FIELD_DEFAULTS = {f.name: f.default for f in dataclasses.fields(GANConfig)}

# Training length and generator learning rate of the generative matching network when
# ``steps`` and ``lr_g`` are None; an adversarial G's learning rate.
MMD_STEPS = 800
MMD_STEPS_MANY = 1200  # for more than MMD_MANY_IMAGES images
MMD_MANY_IMAGES = 200
MMD_LR_G = 3e-4
ADVERSARIAL_LR_G = 1e-4


def auto_lr_g(loss: str) -> float:
    """G's Adam learning rate when ``lr_g`` is None, given the objective ``loss`` resolves to.

    The adversarial objectives keep the two-time-scale 1e-4 (D at 4e-4). The matching network
    has no D to keep pace with: G follows a smooth kernel loss, so larger steps hold. Measured
    (benchmarks/training_length.py, digits, 5 seeds at 5–50 images per class, paired with
    2,400 steps at 1e-4): 800 steps at 3e-4 kept ``gan`` and ``gan+classical`` within
    ±0.3 points (every interval spans 0) and CAS within 0.2–0.8 points, a third of the
    cost (at 50/class, CAS −0.8 [−1.4, −0.2]; 1,200 steps there: +0.2 [−0.4, +0.8]); at 1e-4,
    600 and 1,200 steps lost 2.8 and 1.5 points of CAS.
    """
    return MMD_LR_G if loss == "mmd" else ADVERSARIAL_LR_G


def auto_steps(n_images: int, loss: str = "hinge") -> int:
    """Training length when ``steps`` is None, given the objective ``loss`` resolves to.

    An adversarial GAN: 1,200 steps at 500 images, fewer for fewer (the factor bounded to
    0.6–2×), since few images are memorised by D sooner and extra steps buy it little; sized so
    a few-shot subset trains in minutes on 2 CPU cores. The matching network has no D to
    overfit: `MMD_STEPS` for up to `MMD_MANY_IMAGES` images, `MMD_STEPS_MANY` for more, at
    `auto_lr_g`'s rate (see there for the measurement). Measured (benchmarks/variants.py,
    the ``long`` runs, 5 seeds at 5–50 images per class): at G's learning rate of 1e-4, 2,400
    steps instead of the adversarial schedule's 720–1,200 raised CAS on digits at every size
    (+1.2 to +3.2 points, every interval above 0) and the ``gan`` condition on mnist5k at
    5/class (+1.6 points).
    """
    if loss == "mmd":
        return MMD_STEPS if n_images <= MMD_MANY_IMAGES else MMD_STEPS_MANY
    return int(1200 * min(2.0, max(0.6, (n_images / 500) ** 0.25)))


# Fewer real images than this in the smallest class: "auto" trains the matching network.
AUTO_MMD_BELOW = 100


def auto_loss(config: GANConfig, smallest_class: int) -> str:
    """The objective ``loss="auto"`` stands for, given the image count of the smallest class.

    Measured (benchmarks/variants.py, 5 seeds): with 5–50 images per class the adversarial
    hinge GAN mode-collapsed at 28×28 (alarm in 16 of 40 cells) and lost more to classical
    augmentation than the generative matching network (``"mmd"``), which never collapsed; with
    a full pool (digits, 1,347 images, over 100 per class) the hinge GAN's samples carry their
    label 97 % of the time. Hence ``"mmd"`` below `AUTO_MMD_BELOW` images in the smallest
    class and ``"hinge"`` from there on. A discriminator-side option (``minibatch_std``,
    ``aux_weight``, ``r1_gamma``, ``lecam_weight``, ``unrolled_steps``) asks for a D, so it
    selects ``"hinge"`` whatever the data, as does ``train_layers="freeze-d"``;
    ``mmd_feature_weight`` > 0 selects ``"mmd"``.
    """
    if config.loss != "auto":
        return config.loss
    if config.mmd_feature_weight > 0:
        return "mmd"
    return "hinge" if _wants_d(config) or smallest_class >= AUTO_MMD_BELOW else "mmd"


def _wants_d(config: GANConfig) -> bool:
    """Is any discriminator-side option set?"""
    return (
        config.minibatch_std or config.aux_weight > 0 or config.r1_gamma > 0
        or config.lecam_weight > 0 or config.unrolled_steps > 0 or config.train_layers == "freeze-d"
        or config.diversity_weight > 0
    )


def auto_size(image_pixels: int) -> dict[str, int]:
    """Batch size and network widths for an image area, when left at None.

    D's cost grows with width² × area; halving its width for MNIST-size images made a step
    about 4× cheaper on 2 CPU cores, at no visible cost in sample quality.
    """
    if image_pixels <= 16 * 16:
        return {"batch_size": 64, "g_channels": 64, "d_channels": 64}
    if image_pixels <= 32 * 32:
        return {"batch_size": 32, "g_channels": 64, "d_channels": 32}
    return {"batch_size": 32, "g_channels": 64, "d_channels": 16}


def auto_sampling(config: GANConfig, class_counts: list[int] | None) -> str:
    """The draw of real batches ``sampling="auto"`` stands for, given the images per class.

    A uniform draw over images weights class c in the class-conditional MMD (the product
    kernel counts same-class pairs) by about p(c)², and shows it to an adversarial D and G as
    often as p(c): on a long-tailed set of imbalance ratio 50 the rarest class weighs 1/2,500
    of the largest in G's loss. Drawing the class first gives every class the same weight.
    Measured (benchmarks/long_tail_sampling.py, 5 seeds, the long tail's ``gan-fill+classical``,
    balanced against uniform draws, paired): +7.2 points of balanced accuracy [+5.1, +9.4] and
    +26.1 of the rarest three classes' recall on mnist5k at ratio 50; on digits +2.5 [+1.0, +3.9]
    at ratio 20 and +1.5 [+0.1, +2.9] at 10; mnist5k at ratio 10 −0.8 [−2.1, +0.4]. With equal
    counts both draws have the same distribution; ``"uniform"`` is kept there, the stream the
    runs before this setting drew.
    """
    if config.sampling != "auto":
        return config.sampling
    return "balanced" if class_counts is not None and len(set(class_counts)) > 1 else "uniform"


def resolve(config: GANConfig, n_images: int, image_pixels: int, smallest_class: int | None = None,
            class_counts: list[int] | None = None) -> GANConfig:
    """``config`` with every None replaced by its data-sized value and ``loss="auto"`` and
    ``sampling="auto"`` resolved.

    ``smallest_class`` (images in the smallest class) defaults to ``n_images``, or to the
    smallest of ``class_counts`` (images per class) when those are given.
    """
    if smallest_class is None:
        smallest_class = min(class_counts) if class_counts else n_images
    loss = auto_loss(config, smallest_class)
    sized = auto_size(image_pixels) | {"steps": auto_steps(n_images, loss), "lr_g": auto_lr_g(loss)}
    sized = {k: v for k, v in sized.items() if getattr(config, k) is None}
    return dataclasses.replace(config, loss=loss, sampling=auto_sampling(config, class_counts), **sized)
