"""`GANAugmenter`: a class-conditional GAN behind the scikit-learn estimator contract."""

from __future__ import annotations

import dataclasses
import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ganaug.data.datasets import as_array_dataset, from_uint8, to_uint8
from ganaug.data.validation import validate_images, validate_labels
from ganaug.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganaug.training.config import GANConfig, resolve
from ganaug.training.loop import GANTrainer
from ganaug.utils import resolve_device, versions

_D = GANConfig()
# Settings a trainer is built from (networks, optimisers, objective, augmentation policy):
# a warm start keeps the checkpoint's. Steps, batch size, EMA decay, penalty weights and
# the monitor may change.
FIXED_ON_RESUME = (
    "loss", "conditioning", "z_dim", "g_channels", "d_channels", "lr_g", "lr_d", "beta1", "beta2",
    "diffaugment", "minibatch_std", "aux_weight", "mmd_feature_weight", "seed",
)


class GANAugmenter(BaseEstimator):
    """Pretrain a class-conditional GAN on labelled images, then draw labelled samples.

    Parameters mirror `GANConfig` (see there), plus ``device`` (``"auto"``: CUDA when present),
    ``verbose`` (progress bar) and ``warm_start`` (a second ``fit`` continues training up to
    ``steps`` instead of starting over).

    Attributes set by `fit`:
        classes_: the label values seen, sorted; ``sample`` returns these.
        class_names_: a readable name per class.
        image_shape_: ``(H, W)`` or ``(H, W, C)`` of the training images.
        value_range_: ``(low, high)`` of the training pixels; samples come back in it.
        dtype_: pixel dtype of the training data; samples come back in it.
        generator_: the EMA generator (``torch.nn.Module``, eval mode) that samples come from.
        config_: the `GANConfig` actually used, with data-sized values filled in and
            ``loss="auto"`` resolved (see `auto_loss`).
        history_: losses over training; ``monitor_``: mode-collapse checks.
        n_steps_: generator updates done.

    Example:
        >>> aug = GANAugmenter(steps=1500, seed=0).fit(load_dataset("digits"))
        >>> images, labels = aug.sample(100)
    """

    def __init__(
        self,
        loss: str = _D.loss,
        conditioning: str = _D.conditioning,
        steps: int | None = _D.steps,
        batch_size: int = _D.batch_size,
        z_dim: int = _D.z_dim,
        g_channels: int = _D.g_channels,
        d_channels: int = _D.d_channels,
        lr_g: float = _D.lr_g,
        lr_d: float = _D.lr_d,
        beta1: float = _D.beta1,
        beta2: float = _D.beta2,
        d_steps: int = _D.d_steps,
        diffaugment: str = _D.diffaugment,
        ema_decay: float = _D.ema_decay,
        minibatch_std: bool = _D.minibatch_std,
        aux_weight: float = _D.aux_weight,
        r1_gamma: float = _D.r1_gamma,
        lecam_weight: float = _D.lecam_weight,
        unrolled_steps: int = _D.unrolled_steps,
        mmd_feature_weight: float = _D.mmd_feature_weight,
        monitor_every: int = _D.monitor_every,
        seed: int = _D.seed,
        device: str = "auto",
        verbose: bool = True,
        warm_start: bool = False,
    ) -> None:
        self.loss = loss
        self.conditioning = conditioning
        self.steps = steps
        self.batch_size = batch_size
        self.z_dim = z_dim
        self.g_channels = g_channels
        self.d_channels = d_channels
        self.lr_g = lr_g
        self.lr_d = lr_d
        self.beta1 = beta1
        self.beta2 = beta2
        self.d_steps = d_steps
        self.diffaugment = diffaugment
        self.ema_decay = ema_decay
        self.minibatch_std = minibatch_std
        self.aux_weight = aux_weight
        self.r1_gamma = r1_gamma
        self.lecam_weight = lecam_weight
        self.unrolled_steps = unrolled_steps
        self.mmd_feature_weight = mmd_feature_weight
        self.monitor_every = monitor_every
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start

    @classmethod
    def from_config(cls, config: GANConfig, **kwargs: Any) -> GANAugmenter:
        return cls(**config.to_dict(), **kwargs)

    def get_config(self) -> GANConfig:
        names = {f.name for f in dataclasses.fields(GANConfig)}
        return GANConfig(**{k: v for k, v in self.get_params().items() if k in names})

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        value_range: tuple[float, float] | None = None,
        image_shape: tuple[int, ...] | None = None,
    ) -> GANAugmenter:
        """Train on labelled images.

        Args:
            X: a dataset of ``(image, target)`` items (``ArrayDataset``, torchvision-style,
                transforms are bypassed), a ``(images, labels)`` tuple, or an image array
                ``N×H×W`` / ``N×H×W×C`` (uint8 or float) with ``y``; flattened ``N×D`` rows
                need ``image_shape``.
            y: integer labels when ``X`` is an array.
            value_range: pixel range of float images (default: 0..1 if they fit, else their
                observed min(0, low)..high).
            image_shape: ``(H, W)`` or ``(H, W, C)`` to unflatten ``N×D`` rows.

        Returns:
            self
        """
        config = self.get_config()
        images, labels, names = _read_training_data(X, y, image_shape)
        classes = np.unique(labels)
        value_range = _value_range(images, value_range)
        x = _to_model_space(images, value_range)  # (N, C, H, W) in [-1, 1]
        index_of = {int(c): i for i, c in enumerate(classes)}
        y_idx = torch.as_tensor([index_of[int(v)] for v in labels], dtype=torch.long)

        smallest = int(np.unique(labels, return_counts=True)[1].min())
        device = resolve_device(self.device)
        resume = self.warm_start and hasattr(self, "trainer_")
        if resume:
            self._check_resume(images, classes)
            config = self._resume_config(resolve(config, len(images), images.shape[1] * images.shape[2], smallest))
            trainer = self.trainer_
            trainer.config = config
        else:
            config = resolve(config, len(images), images.shape[1] * images.shape[2], smallest)
            trainer = GANTrainer(config, len(classes), tuple(x.shape[1:]), device)
        trainer.train(x.to(device), y_idx.to(device), config.steps, progress=self.verbose)
        # A new fit replaces the fitted state only once it finishes: after a failed or
        # interrupted one, sample and save still describe the earlier model.
        self.trainer_, self.config_ = trainer, config

        self.classes_ = classes
        self.class_names_ = names if names is not None else [str(c) for c in classes]
        self.image_shape_ = tuple(int(s) for s in images.shape[1:])
        self.value_range_ = tuple(float(v) for v in value_range)
        self.dtype_ = np.dtype(images.dtype)
        self.n_train_ = len(images)
        self._set_trained_attributes()
        return self

    def _set_trained_attributes(self) -> None:
        self.generator_ = self.trainer_.ema.eval()
        self.history_ = self.trainer_.history
        self.monitor_ = self.trainer_.monitor_history
        self.n_steps_ = self.trainer_.step
        self._sample_calls = 0

    def _resume_config(self, wanted: GANConfig) -> GANConfig:
        """The settings a warm start trains on: the checkpoint's, except those that may change.

        The networks, optimisers, objective and augmentation policy were built from the
        checkpoint's settings, so a different value of one of those would be recorded but not
        used: it is an error. A setting left to ``auto``/None takes the checkpoint's value.
        """
        if not self.trainer_.resumable:
            raise ValueError(
                "warm_start: this checkpoint was saved with training_state=False and holds only the "
                "sampling generator; save with training_state=True to continue training"
            )
        before, params = self.trainer_.config, self.get_params()
        changed = [
            f"{k} ({getattr(before, k)!r} -> {params[k]!r})" for k in FIXED_ON_RESUME
            if params[k] not in (None, "auto") and params[k] != getattr(before, k)
        ]
        if changed:
            raise ValueError(f"warm_start cannot change {', '.join(changed)}: fit a new augmenter instead")
        return dataclasses.replace(wanted, **{k: getattr(before, k) for k in FIXED_ON_RESUME})

    def _check_resume(self, images: np.ndarray, classes: np.ndarray) -> None:
        if tuple(images.shape[1:]) != self.image_shape_ or not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start: the data differ from the checkpoint's "
                f"(image shape {tuple(images.shape[1:])} vs {self.image_shape_}, "
                f"classes {classes.tolist()} vs {self.classes_.tolist()})"
            )

    # -- sampling ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise RuntimeError("this GANAugmenter is not fitted yet: call fit() or GANAugmenter.load()")

    @property
    def device_(self) -> torch.device:
        self._check_fitted()
        return next(self.generator_.parameters()).device

    @property
    def n_channels_(self) -> int:
        return self.image_shape_[2] if len(self.image_shape_) == 3 else 1

    @torch.no_grad()
    def sample_tensor(
        self, class_indices: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw one image per class index, as a float ``(B, C, H, W)`` tensor in [-1, 1].

        The tensor stays on the augmenter's device; loaders use this to skip any copy.

        Args:
            class_indices: positions in ``classes_`` (not label values), shape ``(B,)``.
            generator: torch RNG for the noise (on the augmenter's device), for reproducibility.
        """
        self._check_fitted()
        device = self.device_
        c = class_indices.to(device=device, dtype=torch.long)
        if len(c) and (int(c.min()) < 0 or int(c.max()) >= len(self.classes_)):
            raise ValueError(f"class indices must lie in 0..{len(self.classes_) - 1}")
        z = torch.randn(len(c), self.generator_.z_dim, device=device, generator=generator)
        return self.generator_(z, c)

    def sample(
        self, n: int, labels: Any = None, seed: int | None = None, batch_size: int = 1024
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` labelled images in the form of the training data.

        Args:
            n: number of images.
            labels: ``None`` (classes in equal shares, shuffled), one label value (all of that
                class) or ``n`` label values from ``classes_``.
            seed: the same seed gives the same images; ``None`` draws fresh ones per call
                (still reproducible from the augmenter's ``seed``).

        Returns:
            ``(images, labels)``: images shaped ``(n, *image_shape_)`` in ``dtype_`` and
            ``value_range_``; labels as values of ``classes_``.
        """
        self._check_fitted()
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        n, batch_size = int(n), int(batch_size)
        if seed is None:
            seed = self.seed * 1_000_003 + 7919 * (getattr(self, "_sample_calls", 0) + 1)
            self._sample_calls = getattr(self, "_sample_calls", 0) + 1
        idx = self.label_indices(labels, n, np.random.default_rng(seed))
        gen = torch.Generator(device=self.device_).manual_seed(int(seed))
        chunks = [
            self.to_output(self.sample_tensor(torch.as_tensor(idx[i : i + batch_size]), gen))
            for i in range(0, n, batch_size)
        ]
        images = (
            np.concatenate(chunks) if chunks else np.zeros((0, *self.image_shape_), self.dtype_)
        )
        return images, self.classes_[idx]

    def label_indices(self, labels: Any, n: int, rng: np.random.Generator) -> np.ndarray:
        """Class positions for ``sample``'s ``labels`` argument (see there)."""
        k = len(self.classes_)
        if labels is None:
            return rng.permutation(np.arange(n) % k)
        values = np.asarray(labels)
        if values.ndim == 0:
            values = np.full(n, values.item())
        if len(values) != n:
            raise ValueError(f"got {len(values)} labels for n={n} samples")
        pos = np.searchsorted(self.classes_, values)
        pos = np.clip(pos, 0, k - 1)
        bad = self.classes_[pos] != values
        if bad.any():
            raise ValueError(
                f"label {values[bad][0]!r} is not one of the augmenter's classes "
                f"{self.classes_.tolist()}"
            )
        return pos.astype(np.int64)

    def to_output(self, x: torch.Tensor) -> np.ndarray:
        """``(B, C, H, W)`` in [-1, 1] → numpy in the training data's shape, dtype and range."""
        x01 = ((x.float().clamp(-1, 1) + 1) / 2).cpu()
        u8 = (x01 * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (B, H, W, C)
        if len(self.image_shape_) == 2:
            u8 = u8[..., 0]
        return from_uint8(u8, self.value_range_, self.dtype_)

    # -- persistence -------------------------------------------------------------------------
    def __deepcopy__(self, memo: dict) -> GANAugmenter:
        # After a training step torch's spectral_norm leaves each normalised weight tied to the
        # autograd graph, which deepcopy refuses; pickling copies its values, and D recomputes
        # it at its next forward pass anyway.
        memo[id(self)] = twin = pickle.loads(pickle.dumps(self))
        return twin

    def metadata(self) -> dict[str, Any]:
        """Everything about this augmenter except its weights (JSON-serialisable)."""
        self._check_fitted()
        last = {k: (v[-1] if v else None) for k, v in self.history_.items() if k != "step"}
        return {
            "config": self.config_.to_dict(),
            "classes": self.classes_.tolist(),
            "class_names": list(self.class_names_),
            "image_shape": list(self.image_shape_),
            "value_range": list(self.value_range_),
            "dtype": self.dtype_.name,
            "n_train": int(self.n_train_),
            "versions": versions(),
            "summary": {
                "steps": int(self.n_steps_),
                "train_seconds": round(self.trainer_.train_seconds, 2),
                "final_losses": last,
                "collapsed_classes": self.monitor_[-1]["collapsed"] if self.monitor_ else [],
            },
        }

    def save(self, path: str | Path, training_state: bool = True) -> Path:
        """Write ``path`` (``.safetensors``; a directory gets ``augmenter.safetensors``) and a
        readable ``.json`` twin beside it.

        Args:
            training_state: also keep D and the optimisers, so training can resume.
        """
        self._check_fitted()
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path / "augmenter.safetensors"
        tensors, state_meta = self.trainer_.state_tensors()
        if not training_state:
            tensors = {k: v for k, v in tensors.items() if k.startswith("ema.")}
        meta = self.metadata() | {"training_state": training_state, "trainer": state_meta}
        save_checkpoint(path, tensors, meta)
        readable = {k: v for k, v in meta.items() if k != "trainer"}
        readable["history"] = state_meta["history"]
        readable["monitor"] = state_meta["monitor"]
        path.with_suffix(".json").write_text(json.dumps(readable, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", verbose: bool = True) -> GANAugmenter:
        """Read a checkpoint written by `save`. Never unpickles.

        Raises:
            FileNotFoundError, CheckpointError: see `ganaug.training.load_checkpoint`.
        """
        tensors, meta = load_checkpoint(path)
        target = resolve_device(device)  # outside the try: a bad device is not a bad checkpoint
        try:
            config = GANConfig.from_dict(meta["config"])
            aug = cls.from_config(config, device=device, verbose=verbose)
            image_shape = tuple(meta["image_shape"])
            chw = (image_shape[2] if len(image_shape) == 3 else 1, *image_shape[:2])
            aug.trainer_ = GANTrainer(config, len(meta["classes"]), chw, target)
            trainer_meta = meta["trainer"]
            if meta.get("training_state", False):
                aug.trainer_.load_state(tensors, trainer_meta)
            else:
                aug.trainer_.resumable = False
                ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
                aug.trainer_.ema.load_state_dict(ema)
                aug.trainer_.step = int(trainer_meta["step"])
                aug.trainer_.history = trainer_meta["history"]
                aug.trainer_.monitor_history = trainer_meta.get("monitor", [])
                aug.trainer_.train_seconds = float(trainer_meta.get("train_seconds", 0.0))
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"{path}: checkpoint contents do not match ganaug's layout ({err})") from None
        aug.classes_ = np.asarray(meta["classes"])
        aug.class_names_ = list(meta["class_names"])
        aug.image_shape_ = image_shape
        aug.value_range_ = tuple(meta["value_range"])
        aug.dtype_ = np.dtype(meta["dtype"])
        aug.n_train_ = int(meta["n_train"])
        aug.config_ = config
        aug._set_trained_attributes()
        return aug


# -- input handling ------------------------------------------------------------------------------
def _read_training_data(
    X: Any, y: Any, image_shape: tuple[int, ...] | None
) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Return ``(images N×H×W[×C], labels, class names or None)`` from any accepted input."""
    if isinstance(X, tuple) and len(X) == 2 and y is None:
        X, y = X
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    if not isinstance(X, np.ndarray) and hasattr(X, "__getitem__") and hasattr(X, "__len__"):
        if y is not None:
            raise ValueError("pass labels either inside the dataset or as y, not both")
        ds = as_array_dataset(X)
        present = np.unique(ds.targets)
        return ds.data, ds.targets, [ds.classes[int(c)] for c in present]
    if y is None:
        raise ValueError("labels are missing: pass y, an (images, labels) tuple, or a dataset")
    X = np.asarray(X)
    if X.ndim == 2:
        if image_shape is None:
            raise ValueError(
                f"images are flattened ({X.shape[0]}×{X.shape[1]}): pass image_shape=(H, W) or (H, W, C)"
            )
        if int(np.prod(image_shape)) != X.shape[1]:
            raise ValueError(f"image_shape {tuple(image_shape)} does not hold {X.shape[1]} values per row")
        X = X.reshape(len(X), *image_shape)
    X = validate_images(X, name="images")
    if X.ndim == 4 and X.shape[-1] == 1:
        X = X[..., 0]
    labels = validate_labels(np.asarray(y), len(X), name="labels")
    return X, labels, None


def _value_range(images: np.ndarray, given: tuple[float, float] | None) -> tuple[float, float]:
    if given is not None:
        lo, hi = float(given[0]), float(given[1])
        if not hi > lo:
            raise ValueError(f"value_range must satisfy low < high, got {given}")
        if images.min() < lo or images.max() > hi:
            raise ValueError(
                f"pixels span {images.min()}..{images.max()}, outside value_range {given}"
            )
        return lo, hi
    if images.dtype == np.uint8:
        return 0.0, 255.0
    lo, hi = float(images.min()), float(images.max())
    if lo >= 0 and hi <= 1:
        return 0.0, 1.0
    return min(0.0, lo), hi


def _to_model_space(images: np.ndarray, value_range: tuple[float, float]) -> torch.Tensor:
    u8 = images if images.dtype == np.uint8 and value_range == (0.0, 255.0) else to_uint8(images, value_range)
    t = torch.from_numpy(np.ascontiguousarray(u8)).float().div(127.5).sub(1.0)
    if t.ndim == 3:
        t = t.unsqueeze(-1)
    return t.permute(0, 3, 1, 2).contiguous()  # (N, C, H, W)
