"""Fine-tuning from a pretrained source: the source's weights, new classes' rows, frozen layers.

A class-conditional GAN pretrained on other classes (say, Omniglot's characters) is adapted to
the target's classes, which are new: every weight is the source's except the rows indexed by the
class (G's class embedding and conditional-batch-norm gains and biases, D's projection embedding
and ACGAN head), which start at the mean of the source's rows plus a little seeded noise, so the
new classes begin as the source's "average class" and part from there. `GANConfig.train_layers`
then says which parameters train (`freeze_layers`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganaug.models import Discriminator, build_discriminator, build_generator
from ganaug.training.checkpoint import CheckpointError
from ganaug.training.config import GANConfig

Tensor = torch.Tensor
# The noise on a new class's rows, as a fraction of the source classes' spread: enough to tell
# the new classes apart from the first update, too little to move them off the mean.
NOISE = 0.01
# The settings that fix the networks' layers: a fine-tune inherits them from its source.
INHERITED = ("conditioning", "z_dim", "g_channels", "d_channels")
NORM_LAYERS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(GANConfig)}


@dataclass(frozen=True)
class TransferSource:
    """A pretrained augmenter to fine-tune from, as its checkpoint holds it.

    Attributes:
        generator: the EMA generator's state dict (the one the source samples from).
        discriminator: D's state dict, or None (a matching network, or a checkpoint saved with
            ``training_state=False``): an adversarial fine-tune then starts D afresh.
        config: the source's resolved settings.
        classes, class_names, image_shape, steps: what it was trained on, and how long.
        path: the checkpoint it was read from, when known; sha256: a hash of the weights above.
    """

    generator: dict[str, Tensor]
    discriminator: dict[str, Tensor] | None
    config: GANConfig
    classes: list
    class_names: list[str]
    image_shape: tuple[int, ...]
    steps: int
    path: str | None
    sha256: str

    @classmethod
    def from_checkpoint(cls, tensors: dict[str, Tensor], meta: dict[str, Any], path: str | None = None) -> TransferSource:
        """Read a source from a checkpoint's tensors and metadata (`load_checkpoint`'s output, or a
        fitted augmenter's state and `metadata`).

        Raises:
            CheckpointError: the metadata or tensors are not a ganaug augmenter's.
            ValueError: the source trains one GAN per class, which has no shared weights to adapt.
        """
        where = f"init {path}" if path else "init"
        generator = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
        try:
            config = GANConfig.from_dict(meta["config"])
            fields = (list(meta["classes"]), [str(n) for n in meta["class_names"]],
                      tuple(int(s) for s in meta["image_shape"]), int(meta["summary"]["steps"]))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(f"{where}: not an augmenter's checkpoint ({err!r} in its metadata)") from None
        if not generator:
            raise CheckpointError(f"{where}: the checkpoint holds no generator weights (ema.*)")
        # A matching network trained no D (one written before the redesign carries an unused one).
        trained_d = config.loss != "mmd"
        discriminator = {k[14:]: v for k, v in tensors.items() if trained_d and k.startswith("discriminator.")}
        if config.conditioning != "label":
            raise ValueError(f"{where}: the source trains one GAN per class (conditioning={config.conditioning!r}); "
                             "it has no shared weights to adapt to new classes")
        used = {f"ema.{k}": v for k, v in generator.items()} | {f"discriminator.{k}": v for k, v in discriminator.items()}
        return cls(generator, discriminator or None, config, *fields, path, weights_sha256(used))

    def record(self) -> dict[str, Any]:
        """Where a fine-tune came from, for its checkpoint's metadata (JSON)."""
        return {
            "path": self.path, "sha256": self.sha256, "classes": self.classes, "class_names": self.class_names,
            "image_shape": list(self.image_shape), "steps": self.steps, "loss": self.config.loss,
            "discriminator": self.discriminator is not None,
        }

    def check_shape(self, image_shape: tuple[int, ...]) -> None:
        """Refuse target images of another shape than the source's, in one line."""
        if tuple(image_shape) != self.image_shape:
            show = lambda s: "×".join(map(str, s))  # noqa: E731
            raise ValueError(
                f"init: the images are {show(image_shape)} but the source generator was trained on "
                f"{show(self.image_shape)}; resize them to {show(self.image_shape)} or pretrain a source at this size"
            )

    def inherit(self, config: GANConfig) -> GANConfig:
        """``config`` with the source's layer sizes (see `inherit_architecture`)."""
        return inherit_architecture(config, self.config)


def inherit_architecture(config: GANConfig, source: GANConfig) -> GANConfig:
    """``config`` with ``source``'s `INHERITED` settings. One left at its default (None, or the
    dataclass's) takes the source's; another value that differs is an error, since the source's
    weights fix those sizes."""
    differ = [f"{k}={getattr(config, k)!r} (the source's is {getattr(source, k)!r})" for k in INHERITED
              if getattr(config, k) not in (_DEFAULTS[k], getattr(source, k))]
    if differ:
        raise ValueError(f"init: {', '.join(differ)}: a fine-tune keeps the source's layers; leave these unset")
    return dataclasses.replace(config, **{k: getattr(source, k) for k in INHERITED})


def weights_sha256(tensors: dict[str, Tensor]) -> str:
    """A hash of tensors' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def class_keys(make: Callable[[int], nn.Module]) -> set[str]:
    """The state-dict keys of ``make(n_classes)``'s network whose first axis is the class: the ones
    whose shape changes with the class count. ``make`` does not touch the caller's random state."""
    with torch.random.fork_rng(devices=[]):
        one, two = make(1).state_dict(), make(2).state_dict()
    return {k for k in one if one[k].shape != two[k].shape}


def adapted_state(
    source: dict[str, Tensor], target: dict[str, Tensor], keys: set[str], rng: torch.Generator, name: str
) -> dict[str, Tensor]:
    """``target``'s state dict filled from ``source``: every tensor copied, except the class rows
    (``keys``), which become the mean of the source's rows plus `NOISE` × their spread, and
    spectral norm's left vectors of those, recomputed. A module the source lacks entirely (an ACGAN
    head) keeps its fresh initialisation.

    Raises:
        ValueError: a tensor the source lacks or holds in another shape.
    """
    modules = {k.split(".")[0] for k in source}
    out: dict[str, Tensor] = {}
    for key, mine in target.items():
        theirs = source.get(key)
        if theirs is None and key.split(".")[0] not in modules:
            out[key] = mine
        elif theirs is None or (key not in keys and theirs.shape != mine.shape):
            held = "no such tensor" if theirs is None else f"{tuple(theirs.shape)}, here {tuple(mine.shape)}"
            raise ValueError(f"init: the source's {name} does not fit this one ({key}: {held}); "
                             "settings that change its layers (minibatch_std) must equal the source's")
        elif key in keys and not key.endswith("_u"):
            rows = theirs.detach().float().cpu()
            noise = torch.randn((len(mine), *rows.shape[1:]), generator=rng)
            out[key] = (rows.mean(0) + NOISE * rows.std(0, unbiased=False) * noise).to(mine.dtype)
        else:
            out[key] = theirs.detach().cpu()
    for key in keys & set(out):
        base = key[:-2]
        if key.endswith("_u") and base + "_orig" in out and base + "_v" in out:
            u = out[base + "_orig"].flatten(1).float() @ out[base + "_v"].float()
            out[key] = nn.functional.normalize(u, dim=0, eps=1e-12).to(target[key].dtype)
    return out


def load_source(
    source: TransferSource, networks: dict[str, nn.Module], ema: nn.Module, config: GANConfig,
    image_shape: tuple[int, int, int],
) -> None:
    """Put ``source``'s weights, adapted to ``config``'s classes, into a new trainer's networks
    (``networks()`` of its objective) and its EMA generator. D is the source's when both have one.

    Raises:
        ValueError: the layers do not fit, or ``train_layers="freeze-d"`` with a source that has no D.
    """
    rng = torch.Generator().manual_seed(config.seed)
    n = config.z_dim, config.g_channels
    g_keys = class_keys(lambda k: build_generator(k, image_shape, *n))
    state = adapted_state(source.generator, networks["generator"].state_dict(), g_keys, rng, "generator")
    networks["generator"].load_state_dict(state)
    ema.load_state_dict(state)
    disc = networks.get("discriminator")
    if disc is not None and source.discriminator is not None:
        d_keys = class_keys(lambda k: build_discriminator(
            k, image_shape, config.d_channels, minibatch_std=config.minibatch_std, aux_classifier=config.aux_weight > 0))
        disc.load_state_dict(adapted_state(source.discriminator, disc.state_dict(), d_keys, rng, "discriminator"))
    elif config.train_layers == "freeze-d":
        raise ValueError(
            f"init: train_layers='freeze-d' keeps part of the source's discriminator, but {source.path or 'the source'} "
            "has none (a matching network, or saved with training_state=False)"
        )


def freeze_layers(config: GANConfig, generator: nn.Module, discriminator: nn.Module | None = None) -> GANConfig:
    """Switch off ``requires_grad`` where ``config.train_layers`` says the weights stay fixed.

    ``"embeddings+norms"``: G trains only its embeddings and normalisation layers (the conditional
    batch norm's gains and biases are embeddings); D trains fully. ``"freeze-d"``: the first
    ``freeze_d_blocks`` of ``discriminator.stages()`` (None: half of them, rounded down) stay fixed.

    Returns:
        ``config`` with ``freeze_d_blocks`` filled in for ``"freeze-d"``.
    """
    if config.train_layers == "embeddings+norms":
        generator.requires_grad_(False)
        for module in generator.modules():
            if isinstance(module, (nn.Embedding, *NORM_LAYERS)):
                module.requires_grad_(True)
    if config.train_layers != "freeze-d":
        return config
    if not isinstance(discriminator, Discriminator):
        raise ValueError("train_layers='freeze-d' needs one conditional discriminator (an adversarial loss, "
                         "conditioning='label')")
    stages = discriminator.stages()
    k = len(stages) // 2 if config.freeze_d_blocks is None else config.freeze_d_blocks
    if k > len(stages):
        raise ValueError(f"freeze_d_blocks={k}, but D has {len(stages)} blocks at this image size")
    for stage in stages[:k]:
        stage.requires_grad_(False)
    return dataclasses.replace(config, freeze_d_blocks=k)


def trainable(module: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimiser gets: those that train."""
    return [p for p in module.parameters() if p.requires_grad]
