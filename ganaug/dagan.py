"""`DAGANAugmenter`: an image-conditional GAN (DAGAN, Antoniou et al., 2017) behind the
estimator contract.

It is fitted on labelled images of *source* classes and learns how an image of a class may vary;
it then turns any image, also one of a class it never saw, into a new image meant to be of the
same class, without retraining: `augment(images)` draws one variant per image, and
`condition_on(images, labels)` gives a `ConditionedDAGAN`, a sampler that `SyntheticMixDataset`
and `mix_loader` take like a `GANAugmenter`, drawing variants of the reference images of the
classes asked for.
"""

from __future__ import annotations

import dataclasses
import numbers
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ganaug.augmenter import GANAugmenter, _read_training_data, checkpoint_path
from ganaug.data.pixels import model_to_images, to_model
from ganaug.models import DAGANGenerator
from ganaug.pretrained import Pretrained
from ganaug.training.checkpoint import (
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    write_atomic,
)
from ganaug.training.objectives.pairs import ClassGroups, DAGANConfig, PairObjective
from ganaug.training.trainer import Trainer, trainable_device
from ganaug.utils import dump_json, versions

ESTIMATOR = "DAGANAugmenter"  # the checkpoint's "estimator" entry, which `load` checks


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _require_uint8(arr: np.ndarray, what: str) -> None:
    if arr.dtype != np.uint8:
        raise ValueError(
            f"{what} must be uint8 pixels (0..255), got {arr.dtype}; rescale them with ganaug.data.to_uint8"
        )


def _as_image_batch(images: Any, image_shape: tuple[int, ...], what: str = "images") -> tuple[np.ndarray, bool]:
    """``images`` as a uint8 ``N×(image_shape)`` array, and whether it was one image.

    A grey image may carry a trailing channel of 1 (``H×W×1``), and keeps it.
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    _require_uint8(arr, what)
    if not arr.flags.writeable:  # a PIL image's array, say: torch warns on those
        arr = arr.copy()
    shape = tuple(int(s) for s in image_shape)
    accepted = [shape, *([(*shape, 1)] if len(shape) == 2 else [])]
    if arr.shape in accepted:
        return arr[None], True
    if arr.shape[1:] in accepted:
        return arr, False
    raise ValueError(
        f"{what} are shaped {tuple(arr.shape)}; the augmenter draws {shape} images: pass one image of "
        f"that shape or a batch N×{'×'.join(str(s) for s in shape)}"
    )


class DAGANAugmenter(Pretrained, BaseEstimator):
    """Learn, from labelled images of source classes, to draw new images of an image's class.

    ``G(x, z)`` is a U-Net-style encoder-decoder of a real image ``x`` with noise ``z`` at its
    bottleneck; a pair discriminator learns to tell two real images of one class from a real
    image and its variant (hinge loss, DiffAugment on both images of a pair, EMA of G). Neither
    network sees a class index, so the fitted generator works on classes it never saw.

    Args:
        steps, batch_size, z_dim, channels, d_channels, lr, diffaugment, ema_decay,
            monitor_every, seed, diversity_weight: see `ganaug.training.DAGANConfig`
            (``diversity_weight`` > 0 charges G for drawing the same variant from other noise).
        head, warp_limit, warp_grid: ``"image"`` (G draws the variant's pixels, DAGAN's own) or
            ``"warp"`` (G deforms the input by at most ``warp_limit`` of the side, smoothly
            between ``warp_grid`` control points per side, 0: a quarter of the side; the variant
            keeps the input's strokes); see `ganaug.models.DAGANGenerator`.
        device: torch device; ``"auto"`` takes CUDA when present.
        verbose: show a progress bar while fitting.

    Attributes set by `fit` (and `load`):
        classes_: the source label values, sorted; class_names_: a name per class.
        image_shape_: ``(H, W)`` or ``(H, W, C)`` of the training images.
        generator_: the EMA generator ``G(x, z)`` (eval mode) that variants come from.
        config_: the `DAGANConfig` used; history_: losses over training; monitor_: the
            collapse monitor's checks; n_steps_, train_seconds_, n_train_.

    Example:
        >>> dagan = DAGANAugmenter(steps=2000, seed=0).fit(source)      # source classes
        >>> new = dagan.augment(few_images)                              # other classes
        >>> mixed = SyntheticMixDataset(few, dagan.condition_on(few), ratio=1.0)
    """

    def __init__(
        self,
        steps: int = 2000,
        batch_size: int = 32,
        z_dim: int = 32,
        channels: int = 32,
        d_channels: int = 32,
        lr: float = 2e-4,
        diffaugment: str = "translation,cutout",
        ema_decay: float = 0.999,
        monitor_every: int = 250,
        seed: int = 0,
        diversity_weight: float = 0.0,
        head: str = "image",
        warp_limit: float = 0.1,
        warp_grid: int = 0,
        device: str = "auto",
        verbose: bool = False,
    ) -> None:
        self.diversity_weight, self.head, self.warp_limit, self.warp_grid = diversity_weight, head, warp_limit, warp_grid
        self.steps, self.batch_size, self.z_dim = steps, batch_size, z_dim
        self.channels, self.d_channels, self.lr = channels, d_channels, lr
        self.diffaugment, self.ema_decay, self.monitor_every = diffaugment, ema_decay, monitor_every
        self.seed, self.device, self.verbose = seed, device, verbose

    def get_config(self) -> DAGANConfig:
        """The parameters as a `DAGANConfig` (which checks their types and ranges)."""
        return DAGANConfig(**{f.name: getattr(self, f.name) for f in dataclasses.fields(DAGANConfig)})

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> DAGANAugmenter:
        """Train on labelled images of the source classes.

        Args:
            X: a dataset of ``(image, target)`` items (an ``ArrayDataset``; transforms are
                bypassed), an ``(images, labels)`` tuple, or a uint8 ``N×H×W`` / ``N×H×W×C``
                array with ``y``.
            y: integer labels when ``X`` is an array.

        Returns:
            self

        Raises:
            ValueError: pixels that are not uint8, or a class with fewer than 2 images (a real
                pair is two different images of one class).
            TrainingDiverged: a loss or a weight went NaN or inf; the augmenter keeps its
                earlier state.
        """
        config = self.get_config()
        images, labels, names = _read_training_data(X, y, None)
        _require_uint8(images, "training images")
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            lonely = [str(names[i]) if names else str(c) for i, c in enumerate(classes) if counts[i] < 2]
            raise ValueError(
                f"DAGANAugmenter trains on pairs of two different images of one class; class(es) "
                f"{', '.join(lonely[:10])} have 1 image: give every class at least 2 images, or leave those out"
            )
        x = to_model(images)  # (N, C, H, W) in [-1, 1]
        y_idx = torch.as_tensor(np.searchsorted(classes, labels), dtype=torch.long)
        device = trainable_device(self.device)
        chw = tuple(int(s) for s in x.shape[1:])

        def objective() -> PairObjective:
            generator = DAGANGenerator(chw, config.z_dim, config.channels, config.head, config.warp_limit,
                                       config.warp_grid).to(device)
            return PairObjective(generator, config, len(classes), chw)

        trainer = Trainer(config, len(classes), chw, device, objective=objective)
        trainer.train(x.to(device), y_idx.to(device), config.steps, progress=bool(self.verbose))
        self.classes_ = classes
        self.class_names_ = list(names) if names is not None else [str(c) for c in classes]
        self.image_shape_ = tuple(int(s) for s in images.shape[1:])
        self.n_train_ = len(images)
        self.config_, self.generator_ = config, trainer.ema.eval()
        self.history_, self.monitor_ = trainer.history, trainer.monitor_history
        self.n_steps_, self.train_seconds_ = trainer.step, trainer.train_seconds
        self._augment_calls = 0
        return self

    # -- drawing -----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise RuntimeError("this DAGANAugmenter is not fitted yet: call fit() or DAGANAugmenter.load()")

    @property
    def device_(self) -> torch.device:
        self._check_fitted()
        return next(self.generator_.parameters()).device

    @property
    def n_channels_(self) -> int:
        return self.image_shape_[2] if len(self.image_shape_) == 3 else 1

    def _next_seed(self) -> int:
        """A fresh seed per call without one, reproducible from the augmenter's ``seed``."""
        self._augment_calls = getattr(self, "_augment_calls", 0) + 1
        return int(self.seed) * 1_000_003 + 7919 * self._augment_calls

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` noise vectors ``(n, z_dim)`` on the augmenter's device, drawn from ``generator``."""
        self._check_fitted()
        return torch.randn(n, self.config_.z_dim, device=self.device_, generator=generator)

    @torch.no_grad()
    def variants_tensor(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``G(x, z)`` for model-space images ``x`` ``(B, C, H, W)`` in [-1, 1] on the augmenter's
        device, with ``z`` drawn from ``generator``; returns the same shape, same device."""
        z = self.noise(len(x), generator)
        return self.generator_(x, z) if len(x) else x.clone()

    def augment(self, images: Any, seed: int | None = None, batch_size: int = 256) -> np.ndarray:
        """One new variant of each image, meant to be of the image's class.

        Args:
            images: uint8, one image shaped like ``image_shape_`` or a batch ``N×(image_shape_)``
                (a grey one may carry a trailing channel of 1); numpy or a CPU tensor.
            seed: the same seed gives the same bytes; ``None`` draws fresh variants per call
                (still reproducible from the augmenter's ``seed``).
            batch_size: images per forward pass (does not change the result).

        Returns:
            uint8 numpy array of the input's shape.
        """
        self._check_fitted()
        batch, single = _as_image_batch(images, self.image_shape_)
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        seed = self._next_seed() if seed is None else _check_seed(seed)
        # All the noise in one draw: torch draws a normal tensor by another method from 16
        # values on, so drawing it chunk by chunk would tie the result to the batch size.
        z = self.noise(len(batch), torch.Generator(device=self.device_).manual_seed(seed))
        step = int(batch_size)
        with torch.no_grad():
            chunks = [
                model_to_images(self.generator_(to_model(batch[i : i + step]).to(self.device_), z[i : i + step]))
                for i in range(0, len(batch), step)
            ]
        out = np.concatenate(chunks).reshape(batch.shape) if chunks else batch.copy()
        return out[0] if single else out

    def condition_on(
        self, images: Any, labels: Any = None, classes: Any = None, seed: int | None = None
    ) -> ConditionedDAGAN:
        """A sampler that draws labelled variants of these reference images, by class.

        Args:
            images: a dataset of ``(image, target)`` items (e.g. the few-shot subset of new
                classes) or a uint8 image batch with ``labels``.
            labels: the label values of ``images`` when it is an array.
            classes: class names indexed by label value (a dataset's ``classes``); default: the
                dataset's, or the label values as text.
            seed: seed of its draws without a seed; default the augmenter's.
        """
        self._check_fitted()
        data, targets, names = _read_training_data(images, labels, None)
        present = np.unique(targets)
        if classes is not None:
            if len(classes) <= int(present.max()) or int(present.min()) < 0:
                raise ValueError(f"classes holds {len(classes)} names; the labels run to {int(present.max())}")
            names = [str(classes[int(c)]) for c in present]
        seed = int(self.seed) if seed is None else _check_seed(seed)
        return ConditionedDAGAN(self, data, targets, names, seed=seed)

    # -- persistence -------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Everything about this augmenter except its weights (JSON-serialisable)."""
        self._check_fitted()
        last = {k: (v[-1] if v else None) for k, v in self.history_.items() if k != "step"}
        return {
            "estimator": ESTIMATOR,
            "config": self.config_.to_dict(),
            "classes": self.classes_.tolist(),
            "class_names": list(self.class_names_),
            "image_shape": list(self.image_shape_),
            "n_train": int(self.n_train_),
            "versions": versions(),
            "summary": {"steps": int(self.n_steps_), "train_seconds": round(self.train_seconds_, 2),
                        "final_losses": last},
            "history": self.history_,
            "monitor": self.monitor_,
        } | ({"provenance": self.provenance_} if getattr(self, "provenance_", None) else {})

    def save(self, path: str | Path) -> Path:
        """Write the EMA generator to ``path`` (safetensors, metadata in its header) and a
        readable ``.json`` twin beside it, each atomically; never a pickle. D and the
        optimisers are not kept: a loaded DAGAN draws, it does not resume training.

        Args:
            path: a ``.safetensors`` file, or a folder, which gets ``augmenter.safetensors``.

        Returns:
            the checkpoint's path.
        """
        self._check_fitted()
        path = checkpoint_path(path)
        meta = self.metadata()
        save_checkpoint(path, {f"ema.{k}": v for k, v in self.generator_.state_dict().items()}, meta)
        write_atomic(path.with_suffix(".json"), (dump_json(meta, indent=2) + "\n").encode())
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", verbose: bool = False) -> DAGANAugmenter:
        """Read a checkpoint written by `save`; never unpickles, leaves the global RNG alone.

        Raises:
            FileNotFoundError, CheckpointError: no file, not a DAGAN checkpoint (a
                `GANAugmenter`'s, say) or one whose contents do not fit.
            ValueError: ``device`` cannot be used here.
        """
        tensors, meta = load_checkpoint(path)
        target = trainable_device(device)
        if meta.get("estimator") != ESTIMATOR:
            raise CheckpointError(f"{path} is not a DAGANAugmenter checkpoint; a GANAugmenter's loads with GANAugmenter.load")
        try:
            return cls._from_checkpoint(tensors, meta, device, verbose, target)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError) as err:
            first = next((ln.strip() for ln in str(err).splitlines() if ln.strip()), type(err).__name__)
            raise CheckpointError(f"{path}: checkpoint contents do not match a DAGANAugmenter's ({first})") from None

    @classmethod
    def _from_checkpoint(
        cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any], device: str, verbose: bool, target: torch.device
    ) -> DAGANAugmenter:
        config = DAGANConfig.from_dict(meta["config"])
        aug = cls(**config.to_dict(), device=device, verbose=verbose)
        aug.classes_ = np.asarray(meta["classes"])
        aug.class_names_ = [str(n) for n in meta["class_names"]]
        aug.image_shape_ = tuple(int(s) for s in meta["image_shape"])
        aug.n_train_ = int(meta["n_train"])
        with torch.random.fork_rng(devices=[]):  # building G draws initial weights
            generator = DAGANGenerator((aug.n_channels_, *aug.image_shape_[:2]), config.z_dim, config.channels,
                                       config.head, config.warp_limit, config.warp_grid)
        generator.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
        aug.config_, aug.generator_ = config, generator.to(target).requires_grad_(False).eval()
        aug.history_ = {k: list(v) for k, v in meta["history"].items()}
        aug.monitor_ = list(meta.get("monitor", []))
        aug.n_steps_ = int(meta["summary"]["steps"])
        aug.train_seconds_ = float(meta["summary"]["train_seconds"])
        aug._augment_calls = 0
        if meta.get("provenance"):
            aug.provenance_ = meta["provenance"]
        return aug


class ConditionedDAGAN:
    """A fitted DAGAN and reference images: for each class asked for, a variant of one of that
    class's references, drawn at random. It offers what `SyntheticMixDataset` and `mix_loader`
    use of a `GANAugmenter` (``sample``, ``sample_tensor``, ``classes_``, ``class_names_``,
    ``image_shape_``, ``value_range_``, ``dtype_``, ``device_``), so they take it unchanged.

    Build it with `DAGANAugmenter.condition_on`. The classes are those of the references and need
    not be among the classes the DAGAN was fitted on.

    Attributes:
        classes_: the reference label values, sorted; class_names_: a name per class.
        references: the references in model space, ``(N, C, H, W)`` on the augmenter's device.
    """

    def __init__(
        self, augmenter: DAGANAugmenter, images: np.ndarray, labels: np.ndarray, class_names: list[str] | None, seed: int = 0
    ) -> None:
        augmenter._check_fitted()
        batch, _ = _as_image_batch(images, augmenter.image_shape_, "reference images")
        if len(batch) == 0 or len(batch) != len(labels):
            raise ValueError(f"need one label per reference image and at least one image; got {len(batch)} images, {len(labels)} labels")
        self.augmenter, self.seed = augmenter, seed
        self.classes_ = np.unique(labels)
        self.class_names_ = list(class_names) if class_names is not None else [str(c) for c in self.classes_]
        self.image_shape_ = augmenter.image_shape_
        self.value_range_ = (0.0, 255.0)
        self.dtype_ = np.dtype(np.uint8)
        device = augmenter.device_
        self.references = to_model(batch).to(device)  # (N, C, H, W)
        self._groups = ClassGroups(torch.as_tensor(np.searchsorted(self.classes_, labels), device=device))
        self._sample_calls = 0

    def _check_fitted(self) -> None:
        self.augmenter._check_fitted()

    @property
    def device_(self) -> torch.device:
        return self.augmenter.device_

    @property
    def generator_(self) -> torch.nn.Module:
        """The DAGAN's ``G(x, z)``; its presence marks the sampler as fitted (`GANResampler`)."""
        return self.augmenter.generator_

    @property
    def n_channels_(self) -> int:
        return self.augmenter.n_channels_

    def sample_tensor(self, class_indices: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One variant per class index (positions in ``classes_``), float ``(B, C, H, W)`` in
        [-1, 1] on the augmenter's device; references and noise are drawn from ``generator``."""
        c = class_indices.to(self.device_, dtype=torch.long)
        if len(c) and (int(c.min()) < 0 or int(c.max()) >= len(self.classes_)):
            raise ValueError(f"class indices must lie in 0..{len(self.classes_) - 1}")
        refs = self.references[self._groups.pick(c, generator)]
        return self.augmenter.variants_tensor(refs, generator)

    def to_output(self, x: torch.Tensor) -> np.ndarray:
        """``(B, C, H, W)`` in [-1, 1] → uint8 numpy ``B×H×W`` or ``B×H×W×C``."""
        return model_to_images(x)

    # The augmenter's label handling and batching, running on this class's sample_tensor.
    sample = GANAugmenter.sample
    label_indices = GANAugmenter.label_indices
