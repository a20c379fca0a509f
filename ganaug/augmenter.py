"""`GANAugmenter`: a class-conditional GAN behind the scikit-learn estimator contract."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import numbers
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, clone

from ganaug.data.datasets import as_array_dataset
from ganaug.data.pixels import from_uint8, model_to_images, to_model, to_uint8
from ganaug.data.validation import validate_images, validate_labels
from ganaug.models import Sampler, build_generator
from ganaug.pretrained import Pretrained
from ganaug.training.checkpoint import (
    CHECKPOINT_EVERY,
    CHECKPOINT_SECONDS,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    write_atomic,
)
from ganaug.training.config import GANConfig, resolve
from ganaug.training.distributed import is_main
from ganaug.training.trainer import Trainer, trainable_device
from ganaug.training.transfer import TransferSource, inherit_architecture
from ganaug.utils import dump_json, versions

# Parameters beside GANConfig's fields: how the estimator runs, and what it starts from (init: a
# pretrained source, a path or a fitted augmenter, which no JSON config can hold). verbose is off
# by default, as in scikit-learn (verbose=0); the CLI turns it on unless --quiet.
RUN_PARAMS = {"device": "auto", "verbose": False, "warm_start": False, "init": None}
# Settings a trainer is built from (networks, optimisers, objective, augmentation policy):
# a warm start keeps the checkpoint's. Steps, batch size, EMA decay, penalty weights and
# the monitor may change.
FIXED_ON_RESUME = (
    "loss", "conditioning", "z_dim", "g_channels", "d_channels", "lr_g", "lr_d", "beta1", "beta2",
    "diffaugment", "minibatch_std", "aux_weight", "mmd_feature_weight", "seed", "train_layers", "freeze_d_blocks",
    "sampling",
)


class GANAugmenter(Pretrained, BaseEstimator):
    """Pretrain a class-conditional GAN on labelled images, then draw labelled samples.

    Parameters mirror `GANConfig` (see there), plus ``device`` (``"auto"``: CUDA when present),
    ``verbose`` (progress bar), ``warm_start`` (a second ``fit`` continues training up to
    ``steps`` instead of starting over) and ``init`` (fine-tune a generator pretrained on other
    classes: a checkpoint path or a fitted ``GANAugmenter``; its layer sizes are inherited and
    ``train_layers`` says what trains; see `ganaug.training.transfer`).

    Attributes set by `fit`:
        classes_: the label values seen, sorted; ``sample`` returns these.
        class_names_: a readable name per class.
        image_shape_: ``(H, W)`` or ``(H, W, C)`` of the training images.
        value_range_: ``(low, high)`` of the training pixels; samples come back in it.
        dtype_: pixel dtype of the training data; samples come back in it.
        generator_: the EMA generator (``torch.nn.Module``, eval mode) that samples come from.
        sampler_: the `ganaug.models.Sampler` around it; no trainer is kept.
        config_: the `GANConfig` actually used, with data-sized values filled in and
            ``loss="auto"`` resolved (see `auto_loss`).
        history_: losses over training; ``monitor_``: mode-collapse checks.
        n_steps_: generator updates done; ``train_seconds_``: time spent training.
        init_source_: where a fine-tune started (the source's path, weights hash, classes,
            steps), or None.

    Example:
        >>> aug = GANAugmenter(steps=1500, seed=0).fit(load_dataset("digits"))
        >>> images, labels = aug.sample(100)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The signature (below the class) is GANConfig's fields plus RUN_PARAMS, so a setting is
        # added once, in GANConfig; scikit-learn's get_params/set_params/clone read it.
        if args:  # keyword-only, as scikit-learn's estimators: a positional GANConfig would pass as `loss`
            hint = " (for a GANConfig: GANAugmenter.from_config(config))" if isinstance(args[0], GANConfig) else ""
            raise TypeError(f"GANAugmenter takes its settings as keywords, e.g. GANAugmenter(steps=1500){hint}")
        bound = _SIGNATURE.bind(self, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    @classmethod
    def from_config(cls, config: GANConfig, **kwargs: Any) -> GANAugmenter:
        return cls(**config.to_dict(), **kwargs)

    def get_config(self) -> GANConfig:
        names = {f.name for f in dataclasses.fields(GANConfig)}
        return GANConfig(**{k: v for k, v in self.get_params(deep=False).items() if k in names})

    def __sklearn_clone__(self) -> GANAugmenter:
        # As scikit-learn clones, except that ``init`` stays the very object: a fitted source
        # augmenter would otherwise come back unfitted, and a clone must fine-tune the same source.
        params = self.get_params(deep=False)
        return type(self)(**{k: v if k == "init" else clone(v, safe=False) for k, v in params.items()})

    # -- fitting -----------------------------------------------------------------------------
    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        value_range: tuple[float, float] | None = None,
        image_shape: tuple[int, ...] | None = None,
        checkpoint: str | Path | None = None,
        checkpoint_every: int = CHECKPOINT_EVERY,
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
            checkpoint: a path as `save` takes it; the training state is written there every
                ``checkpoint_every`` steps (and at least every `CHECKPOINT_SECONDS`) and the
                fitted model when the fit ends. After a crash or a kill,
                ``GANAugmenter.load(checkpoint).set_params(warm_start=True, steps=N).fit(X, y)``
                continues to the same model as an uninterrupted fit.
            checkpoint_every: steps between checkpoints; 0 writes only the fitted model.

        Returns:
            self

        Raises:
            TrainingDiverged: a loss or a weight went NaN or inf (lower the learning rate); the
                augmenter, and the file at ``checkpoint``, keep their last finite state.
        """
        target = None if checkpoint is None else checkpoint_path(checkpoint)
        every = checkpoint_every
        if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 0:
            raise ValueError(f"checkpoint_every must be an integer >= 0, got {every!r}")
        x, y_idx, fitted, counts = _prepare(X, y, value_range, image_shape)
        source, given, fitted["init_source_"] = self._transfer(self.get_config(), fitted["image_shape_"])
        fitted["_given_config"] = given
        config = resolve(given, len(x), x.shape[2] * x.shape[3], class_counts=counts)
        device = trainable_device(self.device)
        trainer = self._trainer(config, fitted, tuple(x.shape[1:]), device)
        if source is not None:
            trainer.start_from(source)
        saver = [_PeriodicSave(self, fitted, target, every)] if target and every else []
        trainer.train(x.to(device), y_idx.to(device), trainer.config.steps, progress=self.verbose, callbacks=saver)
        # The trainer is a fresh object, so a fit replaces the fitted state only once it
        # finishes: after a failed, diverged or interrupted one (warm or cold), sample and save
        # still describe the earlier model, with its own config_ and n_steps_.
        self._take(fitted, trainer)
        if target is not None and is_main():  # under torchrun, one checkpoint: rank 0's
            self.save(target)
        return self

    def _transfer(
        self, given: GANConfig, image_shape: tuple[int, ...]
    ) -> tuple[TransferSource | None, GANConfig, dict[str, Any] | None]:
        """For this fit: the source a cold fit with ``init`` starts from (or None), the settings
        with the layer sizes a fine-tune inherits, and the record of the source."""
        if self.warm_start and hasattr(self, "generator_"):
            record = getattr(self, "init_source_", None)  # a fine-tune goes on with its own layers
            return None, inherit_architecture(given, self.config_) if record else given, record
        if self.init is None:
            if given.train_layers != "all":
                raise ValueError(f"train_layers={given.train_layers!r} keeps pretrained layers fixed: it needs "
                                 "init= (a pretrained augmenter or its checkpoint)")
            return None, given, None
        source = _transfer_source(self.init)
        source.check_shape(image_shape)
        return source, source.inherit(given), source.record()

    def _trainer(
        self, config: GANConfig, fitted: dict[str, Any], chw: tuple[int, int, int], device: torch.device
    ) -> Trainer:
        """A new trainer, or for a warm start one holding a copy of the fitted training state."""
        if not (self.warm_start and hasattr(self, "generator_")):
            return Trainer(config, len(fitted["classes_"]), chw, device)
        self._check_resume(fitted["image_shape_"], fitted["classes_"])
        config = self._resume_config(config, fitted["_given_config"])
        if config.steps < self.n_steps_:
            raise ValueError(
                f"warm_start: steps={config.steps} is below the {self.n_steps_} steps already done; "
                f"steps is the total to reach, so pass steps >= {self.n_steps_}"
            )
        return self._trainer_from_state(config, device)

    def _take(self, fitted: dict[str, Any], trainer: Trainer) -> None:
        """Become the model ``trainer`` holds, fitted on the data ``fitted`` describes."""
        self.__dict__.update(fitted)
        self._adopt(trainer.sampler(), trainer.config, *trainer.state_tensors())

    def _adopt(self, sampler: Sampler, config: GANConfig, tensors: dict[str, torch.Tensor] | None, meta: dict) -> None:
        """Take a trained model: the sampler, and (``tensors``) what a warm start resumes from."""
        self.sampler_, self.config_ = sampler, config
        self.generator_ = sampler.generator
        self._training_state = (tensors, meta) if tensors is not None else None
        self.history_ = meta["history"]
        self.monitor_ = meta.get("monitor", [])
        self.n_steps_ = int(meta["step"])
        self.train_seconds_ = float(meta.get("train_seconds", 0.0))
        self._sample_calls = 0

    def _trainer_from_state(self, config: GANConfig, device: torch.device) -> Trainer:
        """A new trainer holding a copy of the fitted training state, to train on from there."""
        tensors, meta = self._training_state
        chw = (self.n_channels_, *self.image_shape_[:2])
        trainer = Trainer(config, len(self.classes_), chw, device)
        try:
            trainer.load_state({k: v.clone() for k, v in tensors.items()}, copy.deepcopy(meta))
        except (KeyError, TypeError, ValueError, RuntimeError) as err:
            raise CheckpointError(f"warm_start: the training state does not match ganaug's layout ({err})") from None
        return trainer

    def _resume_config(self, wanted: GANConfig, given: GANConfig) -> GANConfig:
        """The settings a warm start trains on: the checkpoint's, except those that may change.

        The networks, optimisers, objective and augmentation policy were built from the
        checkpoint's settings, so a different value of one of those would be recorded but not
        used: it is an error. A setting left to ``auto``/None takes the checkpoint's value.
        """
        if self._training_state is None:
            raise ValueError(
                "warm_start: this checkpoint was saved with training_state=False and holds only the "
                "sampling generator; save with training_state=True to continue training"
            )
        before, params = self.config_, given.to_dict()
        changed = [
            f"{k} ({getattr(before, k)!r} -> {params[k]!r})" for k in FIXED_ON_RESUME
            if params[k] not in (None, "auto") and params[k] != getattr(before, k)
        ]
        if changed:
            raise ValueError(f"warm_start cannot change {', '.join(changed)}: fit a new augmenter instead")
        kept = {k: getattr(before, k) for k in FIXED_ON_RESUME}
        if params["batch_size"] is None:  # the batch size shapes the random stream: keep the checkpoint's
            kept["batch_size"] = before.batch_size
        return dataclasses.replace(wanted, **kept)

    def _check_resume(self, image_shape: tuple[int, ...], classes: np.ndarray) -> None:
        if tuple(image_shape) != self.image_shape_ or not np.array_equal(classes, self.classes_):
            raise ValueError(
                "warm_start: the data differ from the checkpoint's "
                f"(image shape {tuple(image_shape)} vs {self.image_shape_}, "
                f"classes {classes.tolist()} vs {self.classes_.tolist()})"
            )

    # -- sampling ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "generator_"):
            raise RuntimeError("this GANAugmenter is not fitted yet: call fit() or GANAugmenter.load()")

    @property
    def device_(self) -> torch.device:
        self._check_fitted()
        return self.sampler_.device

    @property
    def n_channels_(self) -> int:
        return self.image_shape_[2] if len(self.image_shape_) == 3 else 1

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
        return self.sampler_.sample(class_indices, generator)

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
        return from_uint8(model_to_images(x), self.value_range_, self.dtype_)

    # -- persistence -------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        """Everything about this augmenter except its weights (JSON-serialisable)."""
        self._check_fitted()
        last = {k: (v[-1] if v else None) for k, v in self.history_.items() if k != "step"}
        given = getattr(self, "_given_config", None)
        init = getattr(self, "init_source_", None)
        # "params": the settings as given to fit (loss="auto", steps=None…), which `load` sets
        # so that clone() re-resolves them on new data; "config": what they resolved to.
        provenance = getattr(self, "provenance_", None)  # how a shipped pretrained augmenter was made
        return ({"params": given.to_dict()} if given is not None else {}) | ({"init": init} if init else {}) | (
            {"provenance": provenance} if provenance else {}) | {
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
                "train_seconds": round(self.train_seconds_, 2),
                "final_losses": last,
                "collapsed_classes": self.monitor_[-1]["collapsed"] if self.monitor_ else [],
            },
        }

    def save(self, path: str | Path, training_state: bool = True) -> Path:
        """Write ``path`` and a readable ``.json`` twin beside it, each atomically (a kill or a
        full disk leaves the earlier file), with the permissions the umask gives.

        Args:
            path: a ``.safetensors`` file, or a folder (no suffix, or one that exists), which
                gets ``augmenter.safetensors``. Another suffix (``model.pt``) is an error:
                ganaug writes safetensors, never ``torch.save`` pickles.
            training_state: also keep D and the optimisers, so training can resume (an
                augmenter loaded without them has none to keep).

        Returns:
            the checkpoint's path.
        """
        self._check_fitted()
        path = checkpoint_path(path)
        keep = training_state and self._training_state is not None
        if keep:
            tensors, state_meta = self._training_state
        else:
            tensors = {f"ema.{k}": v for k, v in self.generator_.state_dict().items()}
            state_meta = {"step": self.n_steps_, "history": self.history_, "monitor": self.monitor_,
                          "train_seconds": self.train_seconds_}
        meta = self.metadata() | {"training_state": keep, "trainer": state_meta}
        save_checkpoint(path, tensors, meta)
        readable = {k: v for k, v in meta.items() if k != "trainer"}
        readable["history"] = state_meta["history"]
        readable["monitor"] = state_meta["monitor"]
        write_atomic(path.with_suffix(".json"), (dump_json(readable, indent=2) + "\n").encode())
        return path

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", verbose: bool = False) -> GANAugmenter:
        """Read a checkpoint written by `save`. Never unpickles; builds only the generator.

        Its parameters are the ones the model was fitted with as given (``loss="auto"``…; a
        checkpoint older than ganaug recording them gives the resolved ones), ``config_`` the
        resolved settings.

        Raises:
            FileNotFoundError, CheckpointError: see `ganaug.training.load_checkpoint`; also
                metadata missing an entry or holding a wrong one, and another estimator's
                checkpoint (a `DAGANAugmenter`'s).
            ValueError: ``device`` cannot be used here.
        """
        tensors, meta = load_checkpoint(path)
        other = meta.get("estimator", "GANAugmenter")  # only other estimators write this entry
        if other != "GANAugmenter":
            raise CheckpointError(f"{path} is a {other} checkpoint, not a GANAugmenter's: load it with {other}.load")
        target = trainable_device(device)  # outside the try: a bad device is not a bad checkpoint
        try:
            aug = cls._from_checkpoint(tensors, meta, device, verbose, target)
            aug._loaded_from = str(path)  # named as a fine-tune's source
            return aug
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
            raise CheckpointError(f"{path}: {_layout_error(err)}") from None

    @classmethod
    def _from_checkpoint(
        cls, tensors: dict[str, torch.Tensor], meta: dict[str, Any], device: str, verbose: bool, target: torch.device
    ) -> GANAugmenter:
        # A checkpoint from before `sampling` existed trained on uniform draws.
        config = GANConfig.from_dict({"sampling": "uniform"} | meta["config"])
        given = GANConfig.from_dict(meta["params"]) if "params" in meta else config
        # A fine-tune's init parameter is its source's path, when it was given as one.
        init_source = meta.get("init")
        aug = cls.from_config(given, device=device, verbose=verbose, init=init_source["path"] if init_source else None)
        aug._given_config, aug.init_source_ = given, init_source
        if meta.get("provenance"):
            aug.provenance_ = meta["provenance"]
        aug.image_shape_ = tuple(int(s) for s in meta["image_shape"])
        aug.classes_ = np.asarray(meta["classes"])
        aug.class_names_ = list(meta["class_names"])
        aug.value_range_ = tuple(float(v) for v in meta["value_range"])
        aug.dtype_ = np.dtype(meta["dtype"])
        if aug.dtype_.kind not in "uif":
            raise ValueError(f"pixel dtype {aug.dtype_.name!r} is not a number type")
        aug.n_train_ = int(meta["n_train"])
        generator = _load_generator(config, len(aug.classes_), (aug.n_channels_, *aug.image_shape_[:2]), tensors, target)
        training = tensors if meta.get("training_state", False) else None
        aug._adopt(Sampler(generator, len(aug.classes_)), config, training, meta["trainer"])
        return aug


class _PeriodicSave:
    """A `Trainer` callback of ``fit(checkpoint=...)``: the state so far, written as `save` writes
    it (so `load` and a warm start resume it), every ``every`` steps and at least every
    `CHECKPOINT_SECONDS`. The augmenter itself is untouched: a stand-in holds the state."""

    def __init__(self, owner: GANAugmenter, fitted: dict[str, Any], path: Path, every: int) -> None:
        self.owner, self.fitted, self.path, self.every = owner, fitted, path, every
        self.last = time.monotonic()

    def __call__(self, trainer: Trainer) -> None:
        if trainer.step >= trainer.config.steps:
            return  # fit saves the finished model itself
        if trainer.step % self.every and time.monotonic() - self.last < CHECKPOINT_SECONDS:
            return
        trainer.check_finite()  # a diverged state never replaces the last finite checkpoint
        stand_in = type(self.owner)(**self.owner.get_params(deep=False))
        stand_in._take(self.fitted, trainer)
        stand_in.save(self.path)
        self.last = time.monotonic()


def checkpoint_path(path: str | Path) -> Path:
    """The file `GANAugmenter.save` writes for ``path``: itself when it ends in ``.safetensors``,
    ``path/augmenter.safetensors`` for a folder (a name without a suffix, or an existing folder).

    Raises:
        ValueError: another suffix (``model.pt``): a torch user would expect a file there, and
            ganaug writes only safetensors files.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        return path
    if path.suffix and not path.is_dir():
        raise ValueError(
            f"cannot save to {path}: ganaug writes safetensors files, never torch.save pickles; name the file "
            f"{path.with_suffix('.safetensors')}, or pass a folder (without a suffix, or one that exists)"
        )
    return path / "augmenter.safetensors"


def _transfer_source(init: Any) -> TransferSource:
    """``init`` (a checkpoint path or a fitted augmenter) as a source to fine-tune from."""
    if isinstance(init, GANAugmenter):
        if not hasattr(init, "generator_"):
            raise ValueError("init: the GANAugmenter given is not fitted; fit or load it first")
        state = init._training_state
        tensors = state[0] if state is not None else {f"ema.{k}": v for k, v in init.generator_.state_dict().items()}
        return TransferSource.from_checkpoint(tensors, init.metadata(), getattr(init, "_loaded_from", None))
    if isinstance(init, (str, os.PathLike)):
        try:
            tensors, meta = load_checkpoint(init)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"init: {err}") from None
        return TransferSource.from_checkpoint(tensors, meta, str(init))
    raise TypeError(f"init must be a checkpoint path or a fitted GANAugmenter, got {type(init).__name__}")


def _layout_error(err: Exception) -> str:
    """One line for a checkpoint whose metadata or tensors do not fit."""
    if isinstance(err, KeyError):
        return f"the checkpoint's metadata has no {err} entry; it was not written by GANAugmenter.save"
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), type(err).__name__)
    return f"checkpoint contents do not match ganaug's layout ({first})"


_SIGNATURE = inspect.Signature(
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
        for f in dataclasses.fields(GANConfig)
    ]
    + [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in RUN_PARAMS.items()]
)
GANAugmenter.__init__.__signature__ = _SIGNATURE


def _load_generator(
    config: GANConfig, n_classes: int, chw: tuple[int, int, int], tensors: dict[str, torch.Tensor], device: torch.device
) -> torch.nn.Module:
    """The EMA generator of a checkpoint, in eval mode, without touching the caller's RNG."""
    with torch.random.fork_rng(devices=[]):
        generator = build_generator(n_classes, chw, config.z_dim, config.g_channels, per_class=config.conditioning == "per-class")
    generator.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    return generator.to(device).requires_grad_(False).eval()


# -- input handling ------------------------------------------------------------------------------
def _prepare(
    X: Any, y: Any, value_range: tuple[float, float] | None, image_shape: tuple[int, ...] | None
) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any], list[int]]:
    """``fit``'s input as model tensors ``(N, C, H, W)`` and class indices ``(N,)``, the fitted
    attributes that describe the data, and the image count of every class."""
    images, labels, names = _read_training_data(X, y, image_shape)
    classes = np.unique(labels)
    value_range = _value_range(images, value_range)
    x = to_model(_as_uint8(images, value_range))  # (N, C, H, W) in [-1, 1]
    index_of = {int(c): i for i, c in enumerate(classes)}
    y_idx = torch.as_tensor([index_of[int(v)] for v in labels], dtype=torch.long)
    fitted = {
        "classes_": classes,
        "class_names_": names if names is not None else [str(c) for c in classes],
        "image_shape_": tuple(int(s) for s in images.shape[1:]),
        "value_range_": tuple(float(v) for v in value_range),
        "dtype_": np.dtype(images.dtype),
        "n_train_": len(images),
    }
    return x, y_idx, fitted, [int(n) for n in np.unique(labels, return_counts=True)[1]]


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
    if y is not None and not isinstance(X, (np.ndarray, torch.utils.data.Dataset)):
        # With y, a list (or DataFrame, or other array-like) holds the images themselves.
        try:
            X = np.asarray([np.asarray(im) for im in X]) if isinstance(X, (list, tuple)) else np.asarray(X)
        except ValueError:
            shapes = sorted({np.shape(im) for im in X})
            raise ValueError(f"images differ in shape ({shapes[:4]}); pass images of one size") from None
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


def _as_uint8(images: np.ndarray, value_range: tuple[float, float]) -> np.ndarray:
    if images.dtype == np.uint8 and value_range == (0.0, 255.0):
        return images
    return to_uint8(images, value_range)
