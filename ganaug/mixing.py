"""Mix an augmenter's synthetic samples into real training data.

Three entry points, one per level at which users hold their data:

- `SyntheticMixDataset`: a torch ``Dataset`` of real + synthetic items (a synthetic bank that
  can be refreshed between epochs);
- `mix_loader`: wraps an existing ``DataLoader`` and appends freshly generated samples to every
  batch;
- `GANResampler`: ``fit_resample(X, y)`` on arrays, in the style of imbalanced-learn.

``ratio`` always means synthetic items per real item: 0.5 adds one synthetic image for every
two real ones, 2.0 adds two for every real one.
"""

from __future__ import annotations

import numbers
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from numbers import Real
from typing import Any

import numpy as np
import torch
from PIL import Image
from sklearn.base import BaseEstimator, clone
from torch.utils.data import DataLoader, Dataset

from ganaug.augmenter import GANAugmenter
from ganaug.data.datasets import (
    ArrayDataset,
    apply_transform,
    image_to_uint8,
    is_albumentations,
    raw_items,
    shared_transforms,
)
from ganaug.data.pixels import model_to_uint8, to_uint8


def _check_ratio(ratio: float) -> float:
    # bool is an int to Python, and a string would only fail deep inside numpy.
    real = isinstance(ratio, numbers.Real) and not isinstance(ratio, bool | np.bool_)
    if not real or not np.isfinite(ratio) or ratio < 0:
        raise ValueError(
            f"ratio must be a finite real number >= 0 (synthetic items per real item), got {ratio!r}"
        )
    return float(ratio)


def _check_seed(value: int, name: str = "seed") -> int:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _rank() -> int:
    """This process's rank under ``torch.distributed``, 0 outside it."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_rank())
    return 0


def _dataset_targets(dataset: Any) -> np.ndarray:
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return np.asarray(targets.tolist() if isinstance(targets, torch.Tensor) else targets).astype(np.int64)
    with raw_items(dataset):
        return np.array([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


def check_label_mapping(targets: np.ndarray, augmenter: GANAugmenter, class_names: Any = None) -> None:
    """Raise if the data hold labels the augmenter cannot draw; warn if class names differ."""
    unknown = np.setdiff1d(np.unique(targets), augmenter.classes_)
    if len(unknown):
        raise ValueError(
            f"the data hold label(s) {unknown.tolist()[:10]} that the augmenter was not trained on "
            f"(its classes: {augmenter.classes_.tolist()}); retrain it on this label set"
        )
    if class_names is not None and len(class_names) > int(augmenter.classes_.max()):
        theirs = [str(class_names[int(c)]) for c in augmenter.classes_]
        if theirs != [str(n) for n in augmenter.class_names_] and not all(
            t.split(" ")[0] == str(n) for t, n in zip(theirs, augmenter.class_names_, strict=True)
        ):
            warnings.warn(
                f"class names differ between the data {theirs[:5]}… and the augmenter "
                f"{list(augmenter.class_names_)[:5]}…; labels are matched by value",
                stacklevel=3,
            )


class _RawFormat:
    """The container, dtype and layout of a dataset's raw images, to put synthetic ones in."""

    def __init__(self, example: Any) -> None:
        self.example = example
        self.kind = (
            "pil" if isinstance(example, Image.Image)
            else "tensor" if isinstance(example, torch.Tensor)
            else "ndarray"
        )
        self.shape = tuple(np.asarray(example).shape) if self.kind != "tensor" else tuple(example.shape)
        self.dtype = example.dtype if self.kind != "pil" else None
        self.mode = example.mode if self.kind == "pil" else None

    def convert(self, u8: np.ndarray) -> Any:
        """uint8 ``H×W``/``H×W×C`` → an item like ``example`` (float items taken as 0..1)."""
        if self.kind == "pil":
            return Image.fromarray(u8).convert(self.mode)
        if self.kind == "tensor":
            t = torch.from_numpy(np.ascontiguousarray(u8))
            t = t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1)  # (C, H, W)
            t = t.reshape(self.shape)
            return t.to(self.dtype) / 255.0 if self.dtype.is_floating_point else t.to(self.dtype)
        arr = u8.reshape(self.shape)
        return arr.astype(self.dtype) / 255.0 if np.issubdtype(self.dtype, np.floating) else arr.astype(self.dtype)


class SyntheticMixDataset(Dataset):
    """A torch ``Dataset`` of the real items followed by synthetic ones.

    Synthetic items take the form of the real dataset's raw items (PIL, ndarray or tensor, same
    dtype and shape) and go through the same ``transform``, so one pipeline — torchvision v2
    or an albumentations ``Compose`` — serves both.

    Args:
        real: any ``(image, target)`` dataset with integer targets.
        augmenter: a fitted `GANAugmenter` whose classes cover the real targets.
        ratio: synthetic items per real item.
        transform: applied to real and synthetic images. When ``None`` and ``real`` carries a
            ``transform`` of its own, that one is used for synthetic images too.
        target_transform: likewise, for targets.
        seed: seed of the synthetic bank; `refresh` draws a new bank from ``seed + epoch``.
        balance: give synthetic items first to the classes with fewest real items, so the
            mixed set is as balanced as ``ratio`` allows.

    Attributes:
        synthetic_mask: boolean array, True for synthetic items.
        targets: all targets, real then synthetic.
    """

    def __init__(
        self,
        real: Dataset,
        augmenter: GANAugmenter,
        ratio: float = 0.5,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        seed: int = 0,
        balance: bool = False,
    ) -> None:
        augmenter._check_fitted()
        self.real, self.augmenter = real, augmenter
        self.ratio, self.seed, self.balance = _check_ratio(ratio), _check_seed(seed), balance
        own_t, own_tt = shared_transforms(real)  # also the transforms inside a Subset/ConcatDataset
        if transform is not None and own_t is not None:
            raise ValueError(
                "both the real dataset and SyntheticMixDataset have a transform; pass it to one of "
                "them (SyntheticMixDataset reuses the dataset's own transform when given none)"
            )
        self.transform = transform
        self.target_transform = target_transform
        self._synthetic_transform = transform if transform is not None else own_t
        self._synthetic_target_transform = target_transform if target_transform is not None else own_tt
        self.real_targets = _dataset_targets(real)
        check_label_mapping(self.real_targets, augmenter, getattr(real, "classes", None))
        with raw_items(real):
            example = real[0][0]
        self.format = _RawFormat(example)
        shape = image_to_uint8(example).shape
        if tuple(shape) != tuple(augmenter.image_shape_):
            raise ValueError(
                f"real images are {shape}, the augmenter draws {augmenter.image_shape_}; "
                "train the augmenter at the dataset's resolution"
            )
        self.classes = getattr(real, "classes", None)
        self.n_real = len(real)
        self.n_synthetic = int(round(self.ratio * self.n_real))
        self.refresh(epoch=0)

    def _synthetic_labels(self, rng: np.random.Generator) -> np.ndarray:
        present = np.unique(self.real_targets)
        n = self.n_synthetic
        if not self.balance:
            # Same class mix as the real data.
            return rng.choice(self.real_targets, size=n, replace=True) if n else np.zeros(0, np.int64)
        counts = np.array([(self.real_targets == c).sum() for c in present])
        extra = np.zeros(len(present), dtype=np.int64)
        for _ in range(n):  # water-filling: each item to the currently smallest class
            extra[np.argmin(counts + extra)] += 1
        labels = np.repeat(present, extra)
        return rng.permutation(labels)

    def refresh(self, epoch: int | None = None) -> None:
        """Draw a new synthetic bank (seeded by ``seed + epoch``); call between epochs.

        With ``DataLoader(num_workers>0)``, workers copy the dataset at each epoch's start
        unless ``persistent_workers=True``, so a refresh before the epoch reaches them.
        """
        if self.augmenter is None:
            raise RuntimeError("refresh() runs in the main process only (workers hold no augmenter)")
        self.epoch = 0 if epoch is None else int(epoch)
        rng = np.random.default_rng([self.seed, self.epoch])
        labels = self._synthetic_labels(rng)
        if len(labels):
            images, labels = self.augmenter.sample(len(labels), labels=labels, seed=self.seed * 7919 + self.epoch)
            self.bank = to_uint8(images, self.augmenter.value_range_)
        else:
            self.bank = np.zeros((0, *self.augmenter.image_shape_), np.uint8)
        self.bank_targets = np.asarray(labels, dtype=np.int64)

    @property
    def synthetic_mask(self) -> np.ndarray:
        return np.arange(len(self)) >= self.n_real

    @property
    def targets(self) -> np.ndarray:
        return np.concatenate([self.real_targets, self.bank_targets])

    def is_synthetic(self, index: int) -> bool:
        return index >= self.n_real

    def __len__(self) -> int:
        return self.n_real + len(self.bank_targets)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} items")
        if index < 0:
            index += len(self)
        if index < self.n_real:
            image, target = self.real[index]  # the real dataset's own transform, if any, ran
            if self.transform is not None:
                image = apply_transform(self.transform, image)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return image, target
        k = index - self.n_real
        image = self.format.convert(self.bank[k])
        target: Any = int(self.bank_targets[k])
        if self._synthetic_transform is not None:
            image = apply_transform(self._synthetic_transform, image)
        if self._synthetic_target_transform is not None:
            target = self._synthetic_target_transform(target)
        return image, target

    def batch_reader(self) -> Callable[[np.ndarray], tuple[torch.Tensor, torch.Tensor]] | None:
        """A function reading the items at an index array as one ``(images, targets)`` batch,
        the same tensors as reading them one by one and stacking; None unless that can be so.

        It exists when the real dataset is an `ArrayDataset` of uint8 images without
        transforms of its own, there is no ``target_transform``, and ``transform`` has a
        ``batch`` function (uint8 ``(B, H, W[, C])`` → tensor, equal to applying it image by
        image). `TorchClassifier.fit_dataset` reads in-memory sets this way.
        """
        batch = getattr(self.transform, "batch", None)
        real = self.real
        plain = isinstance(real, ArrayDataset) and real.transform is None and real.target_transform is None
        if batch is None or self.target_transform is not None or not plain or real.data.dtype != np.uint8:
            return None

        def read(idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            idx = np.asarray(idx, dtype=np.int64)
            synthetic = idx >= self.n_real
            images = np.empty((len(idx), *real.data.shape[1:]), np.uint8)
            targets = np.empty(len(idx), np.int64)
            images[~synthetic], targets[~synthetic] = real.data[idx[~synthetic]], self.real_targets[idx[~synthetic]]
            k = idx[synthetic] - self.n_real  # no concatenated `targets` per batch
            images[synthetic], targets[synthetic] = self.bank[k].reshape(-1, *real.data.shape[1:]), self.bank_targets[k]
            return batch(images), torch.from_numpy(targets)

        return read

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["augmenter"] = None  # workers need the bank, not the networks
        return state


def _delegate(name: str) -> property:
    """A read-only view of the wrapped loader's attribute ``name`` (never a copy)."""

    def get(self: MixLoader) -> Any:
        return getattr(self.loader, name)

    return property(get, doc=f"The wrapped loader's ``{name}`` (read-only).")


def _stream_seeds(seed: int, epoch: int, rank: int) -> tuple[int, list[int]]:
    """The torch noise seed and numpy entropy of one (seed, epoch, rank) synthetic stream.

    Rank 0 keeps the streams a single process has always drawn; other ranks mix their rank in,
    so DDP ranks draw different synthetic samples and each stays reproducible.
    """
    if rank == 0:
        return seed * 1_000_003 + epoch, [seed, epoch]
    key = [seed, epoch, rank]
    return int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0] >> np.uint64(1)), key


def _check_real_units(x: torch.Tensor) -> None:
    """Raise unless ``x`` holds what ganaug gives synthetic images without a ``transform``:
    uint8 pixels, integers in 0..255 or ``ToTensor``'s 0..1 floats.

    Anything else went through a normalisation (or a scale) that cannot be read back from the
    batch, so guessing it would mix two units in one batch.
    """
    if x.dtype == torch.uint8 or x.numel() == 0:
        return
    if x.dtype == torch.bool or x.is_complex():
        raise ValueError(
            f"the real batches hold {x.dtype} images, which ganaug cannot draw: pass "
            "mix_loader(transform=...) a pipeline that turns uint8 C×H×W images into them"
        )
    lo, hi = (float(v) for v in torch.aminmax(x.detach()))
    high = 1.0 if x.is_floating_point() else 255.0
    if not (0.0 <= lo and hi <= high):  # NaN fails too
        raise ValueError(
            f"the real batches hold {str(x.dtype).removeprefix('torch.')} values in {lo:g}..{hi:g}, "
            f"not 0..{high:g}: they went through a normalisation ganaug cannot reproduce; pass "
            "mix_loader(transform=...) the dataset's own tensor/normalise steps (they receive "
            "uint8 C×H×W images)"
        )


class MixLoader:
    """Wraps ``loader`` so every batch of B real items gains about ``ratio × B`` synthetic ones.

    Synthetic images are generated in one batch on the augmenter's device, then brought to the
    real batch's form: through ``transform`` when given (a per-image pipeline on uint8 ``C×H×W``
    tensors, or ``H×W[×C]`` arrays for albumentations — pass the dataset's tensor/normalise steps),
    otherwise as 0..1 floats (``ToTensor``'s convention) or uint8, like the real batch; real
    batches in other units (normalised ones) are then an error that asks for ``transform``.
    Real and synthetic items are shuffled together. ``len()`` equals the loader's.

    The loader's ``dataset``, ``batch_size``, ``sampler``, ``batch_sampler``, ``num_workers``,
    ``drop_last`` and ``collate_fn`` read through. Each pass draws from a synthetic stream
    seeded by ``(seed, epoch, rank)``: ``epoch`` counts passes, or is what `set_epoch` set;
    ``rank`` is the ``torch.distributed`` rank (0 outside it), so DDP ranks draw different
    synthetic samples, each reproducibly.

    Args:
        labels: ``"batch"`` draws synthetic labels from the real batch's labels (same class
            mix); ``"uniform"`` draws every class equally often.
        return_mask: also yield a boolean tensor, True for synthetic items.
    """

    dataset = _delegate("dataset")
    batch_size = _delegate("batch_size")
    sampler = _delegate("sampler")
    batch_sampler = _delegate("batch_sampler")
    num_workers = _delegate("num_workers")
    drop_last = _delegate("drop_last")
    collate_fn = _delegate("collate_fn")

    def __init__(
        self,
        loader: DataLoader,
        augmenter: GANAugmenter,
        ratio: float = 0.5,
        transform: Callable | None = None,
        seed: int = 0,
        labels: str = "batch",
        return_mask: bool = False,
    ) -> None:
        augmenter._check_fitted()
        if labels not in ("batch", "uniform"):
            raise ValueError(f"labels must be 'batch' or 'uniform', got {labels!r}")
        self.loader, self.augmenter = loader, augmenter
        self.ratio, self.transform, self.seed = _check_ratio(ratio), transform, _check_seed(seed)
        self.labels, self.return_mask = labels, return_mask
        self.epoch = 0
        dataset = getattr(loader, "dataset", None)
        # Checked once here where the dataset lists its labels, else batch by batch.
        self._labels_known = dataset is not None and getattr(dataset, "targets", None) is not None
        if self._labels_known:
            check_label_mapping(_dataset_targets(dataset), augmenter, getattr(dataset, "classes", None))

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        """Seed the next pass's synthetic stream from ``epoch``, and the sampler's shuffle too.

        Calls ``set_epoch`` of the loader's sampler (a ``DistributedSampler``) and batch sampler
        where they have one, as a training loop does for a plain ``DataLoader``.
        """
        self.epoch = _check_seed(epoch, "epoch")
        seen = set()
        for name in ("sampler", "batch_sampler"):
            obj = getattr(self.loader, name, None)
            if obj is not None and id(obj) not in seen and callable(getattr(obj, "set_epoch", None)):
                seen.add(id(obj))
                obj.set_epoch(self.epoch)

    def _synthetic(self, y: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        aug = self.augmenter
        expected = len(y) * self.ratio
        k = int(expected) + int(rng.random() < expected - int(expected))  # unbiased rounding
        if self.labels == "batch":
            values = rng.choice(y.cpu().numpy(), size=k, replace=True)
            idx = np.searchsorted(aug.classes_, values)
        else:
            idx = rng.integers(0, len(aug.classes_), size=k)
        return torch.as_tensor(idx, dtype=torch.long)

    def _format(self, fake: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``(k, C, H, W)`` in [-1, 1] → the real batch's form (via ``transform`` if given)."""
        u8 = model_to_uint8(fake)
        if self.transform is not None:
            if is_albumentations(self.transform):
                items = [
                    apply_transform(self.transform, im.permute(1, 2, 0).squeeze(-1).cpu().numpy())
                    for im in u8
                ]
            else:
                items = [self.transform(im) for im in u8]
            out = torch.stack([torch.as_tensor(np.asarray(t)) if not isinstance(t, torch.Tensor) else t for t in items])
        else:
            out = (fake + 1) / 2 if like.is_floating_point() else u8  # ToTensor's 0..1 convention
            if like.ndim == 3 and out.shape[1] == 1:  # (B, H, W) batches of greyscale arrays
                out = out[:, 0]
            elif like.ndim == 4 and like.shape[-1] == out.shape[1] and like.shape[1] != out.shape[1]:
                out = out.permute(0, 2, 3, 1)  # channel-last batches of arrays
        out = out.to(device=like.device, dtype=like.dtype)
        if tuple(out.shape[1:]) != tuple(like.shape[1:]):
            raise ValueError(
                f"synthetic batch items are {tuple(out.shape[1:])} but real ones are "
                f"{tuple(like.shape[1:])}: pass mix_loader(transform=...) the dataset's own "
                "pipeline so both come out alike"
            )
        return out

    def __iter__(self) -> Iterator:
        aug = self.augmenter
        torch_seed, entropy = _stream_seeds(self.seed, self.epoch, _rank())
        gen = torch.Generator(device=aug.device_).manual_seed(torch_seed)
        rng = np.random.default_rng(entropy)
        self.epoch += 1
        for batch in self.loader:
            x, y = batch[0], batch[1]
            if not self._labels_known:
                check_label_mapping(y.cpu().numpy(), aug)
            if self.transform is None and self.ratio > 0:
                _check_real_units(x)  # one min/max per batch: a loader may change units midway
            idx = self._synthetic(y, rng)
            if len(idx) == 0:
                yield (x, y, torch.zeros(len(y), dtype=torch.bool)) if self.return_mask else (x, y)
                continue
            fake = self._format(aug.sample_tensor(idx, gen), x)
            fake_y = torch.as_tensor(aug.classes_[idx.numpy()], dtype=y.dtype, device=y.device)
            xs, ys = torch.cat([x, fake]), torch.cat([y, fake_y])
            mask = torch.cat([torch.zeros(len(y), dtype=torch.bool), torch.ones(len(idx), dtype=torch.bool)])
            order = torch.from_numpy(rng.permutation(len(ys)))
            out = (xs[order.to(xs.device)], ys[order.to(ys.device)])
            yield (*out, mask[order]) if self.return_mask else out


# The function-style name users reach for; the class carries the signature and docs.
mix_loader = MixLoader


def _layout_text(shape: tuple[int, ...]) -> str:
    return "(N, " + ", ".join(str(s) for s in shape) + ")"


def _check_layout(X: np.ndarray, augmenter: GANAugmenter) -> None:
    """Raise unless ``X``'s items are the augmenter's images, whole or flattened: any other
    layout of the same number of values would be reshaped into scrambled images."""
    shape = tuple(int(s) for s in augmenter.image_shape_)
    size = int(np.prod(shape))
    accepted = [shape, *([(*shape, 1)] if len(shape) == 2 else []), (size,)]
    items = tuple(int(s) for s in X.shape[1:])
    if X.ndim >= 2 and items in accepted:
        return
    options = ", ".join(_layout_text(s) for s in accepted[:-1])
    got = (
        f"X's images are shaped {items} ({int(np.prod(items))} values per image)"
        if X.ndim >= 2 else f"X is shaped {tuple(X.shape)}"
    )
    raise ValueError(
        f"{got}, but the augmenter draws {shape} images: pass X shaped {options} or flattened "
        f"{_layout_text((size,))}"
    )


def _check_units(X: np.ndarray, augmenter: GANAugmenter) -> None:
    """Raise unless ``X`` holds pixels in the units the augmenter trained on: synthetic rows are
    appended to ``X`` as the augmenter draws them, cast to ``X``'s dtype."""
    low, high = augmenter.value_range_
    theirs = np.dtype(augmenter.dtype_)
    units = f"{low:g}..{high:g} {theirs.name} pixels"
    if X.dtype.kind not in "uif":
        raise ValueError(f"X holds {X.dtype} values: pass pixels as integers or floats in {units}")
    if X.dtype.kind in "ui" and theirs.kind == "f":
        raise ValueError(
            f"X holds integers ({X.dtype.name}), but the augmenter was trained on {units}: pass X "
            f"as floats in those units (X.astype(np.{theirs.name})), as casting its synthetic rows "
            "to integers would truncate them"
        )
    if X.dtype.kind in "ui" and not np.iinfo(X.dtype).min <= low <= high <= np.iinfo(X.dtype).max:
        raise ValueError(
            f"X's dtype {X.dtype.name} cannot hold the augmenter's {units}: pass X as {theirs.name}"
        )
    if X.size == 0:
        return
    lo, hi = float(X.min()), float(X.max())
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("X holds NaN or infinite values: pass finite pixel values")
    tolerance = 1e-6 * (high - low)
    outside = lo < low - tolerance or hi > high + tolerance
    # A top far below the augmenter's (0..1 or 0..16 pixels beside an augmenter trained on
    # 0..255 ones) is another scale. 0/1 integers stay accepted: binary images in the
    # augmenter's own integer units.
    scaled_down = hi - low <= (high - low) / 8 and (X.dtype.kind == "f" or hi > 1)
    if outside or scaled_down:
        where = "outside" if outside else "far below"
        raise ValueError(
            f"X's values lie in {lo:g}..{hi:g}, {where} the augmenter's units (it was trained on "
            f"{units}); scale X as its training images were, or the synthetic rows will not match"
        )


class GANResampler(BaseEstimator):
    """Over-sample image arrays with a GAN, as an imbalanced-learn sampler.

    Works where imbalanced-learn's samplers do: ``fit_resample``, ``sampling_strategy_``, and as
    a step of ``imblearn.pipeline.Pipeline`` (the resampling runs in ``fit`` only, so a
    pipeline's ``predict`` and cross-validation scoring see real data alone).

    Args:
        augmenter: a `GANAugmenter` (or a `FilteredAugmenter`); fitted ones are used as they
            are, unfitted ones are cloned and fitted on ``(X, y)``. ``None`` fits a default one.
        sampling_strategy: what to generate, with imbalanced-learn's meaning and errors:
            ``"auto"`` / ``"not majority"`` (every class but the majority up to its count),
            ``"not minority"``, ``"minority"``, ``"all"`` (``"balance"`` is an older ganaug
            name for it); a dict ``{label: final count}``; a callable ``y -> dict``. A float r
            keeps ganaug's meaning, which for two classes is imbalanced-learn's (the minority
            up to int(r × majority), an error if that removes items) and, for more classes,
            where imbalanced-learn refuses a float, brings every class up to ceil(r × majority),
            leaving classes already there as they are.
        image_shape: ``(H, W)`` or ``(H, W, C)`` when ``X`` holds flattened rows.
        random_state: seed of the augmenter (when it is fitted here) and of the draw.
        prefit: the augmenter is fitted and used as it is, never refit: it survives
            ``sklearn.base.clone``, so cross-validation over a pipeline does not train a GAN per
            fold. (A GANAugmenter's own clone drops its fitted state: without ``prefit`` a
            cloned resampler trains a new GAN in every fold.)

    Attributes:
        sampling_strategy_: ``OrderedDict`` ``{label: items generated}``, as imbalanced-learn's.
        augmenter_: the augmenter that drew the samples.
    """

    def __init__(
        self,
        augmenter: GANAugmenter | None = None,
        sampling_strategy: Any = "auto",
        image_shape: tuple[int, ...] | None = None,
        random_state: int = 0,
        prefit: bool = False,
    ) -> None:
        self.augmenter = augmenter
        self.sampling_strategy = sampling_strategy
        self.image_shape = image_shape
        self.random_state = random_state
        self.prefit = prefit

    def __sklearn_clone__(self) -> GANResampler:
        """A prefit resampler's clone keeps the fitted augmenter itself (the other settings are
        cloned as scikit-learn does); any other is cloned as usual."""
        if not self.prefit:
            aug = self.augmenter
            if isinstance(aug, GANAugmenter) and hasattr(aug, "generator_"):
                warnings.warn(
                    "cloning a GANResampler drops its augmenter's fitted state: the clone trains a new GAN in "
                    "fit_resample (in every fold of a cross-validation); pass prefit=True to keep the fitted one",
                    stacklevel=2,
                )
            return super().__sklearn_clone__()
        params = self.get_params(deep=False)
        aug = params.pop("augmenter")
        return type(self)(augmenter=aug, **{k: clone(v, safe=False) for k, v in params.items()})

    def _targets(self, y: np.ndarray) -> OrderedDict:
        """``{label: items to generate}`` for ``y``, as imbalanced-learn's check_sampling_strategy."""
        values, counts = np.unique(y, return_counts=True)
        if len(values) <= 1:
            raise ValueError(f"The target 'y' needs to have more than 1 class. Got {len(values)} class instead")
        have = dict(zip(values.tolist(), counts.tolist(), strict=True))
        s = self.sampling_strategy
        if isinstance(s, str):
            out = _named_strategy(s, have)
        elif isinstance(s, dict):
            out = _dict_strategy(s, have)
        elif isinstance(s, Real) and not isinstance(s, bool):
            out = _float_strategy(float(s), have)
        elif callable(s):
            out = _dict_strategy(s(y), have)
        else:
            raise ValueError(f"sampling_strategy must be a string, float, dict or callable, got {type(s).__name__}")
        return OrderedDict(sorted(out.items()))

    def _fitted_augmenter(self, X: np.ndarray, y: np.ndarray) -> GANAugmenter:
        aug = self.augmenter
        if self.prefit:
            if aug is None or (isinstance(aug, GANAugmenter) and not hasattr(aug, "generator_")):
                raise ValueError("prefit=True needs a fitted augmenter: fit it first, or GANAugmenter.load a checkpoint")
            return aug
        if aug is None:
            aug = GANAugmenter(seed=self.random_state, verbose=False)
        if not hasattr(aug, "generator_"):
            aug = clone(aug).set_params(seed=self.random_state)
            aug.fit(X, y, image_shape=self.image_shape if X.ndim == 2 else None)
        return aug

    def fit(self, X: Any, y: Any) -> GANResampler:
        """Check the strategy and fit the augmenter when it needs it; ``fit_resample`` does this too."""
        X, y = np.asarray(X), np.asarray(y)
        self.sampling_strategy_ = self._targets(y)
        self.augmenter_ = self._fitted_augmenter(X, y)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Return ``X`` and ``y`` with synthetic rows appended, in ``X``'s shape and dtype."""
        X = np.asarray(X)
        y = np.asarray(y)
        need = self._targets(y)  # a bad strategy fails before any GAN trains
        aug = self._fitted_augmenter(X, y)
        self.augmenter_ = aug
        _check_layout(X, aug)
        if y.ndim != 1 or len(y) != len(X):
            raise ValueError(f"X holds {len(X)} images but y is shaped {y.shape}: pass one label per image")
        check_label_mapping(y, aug)
        _check_units(X, aug)
        labels = np.concatenate([np.full(n, c) for c, n in need.items() if n > 0] or [np.zeros(0)])
        self.sampling_strategy_ = need
        if len(labels) == 0:
            return X.copy(), y.copy()
        images, labels = aug.sample(len(labels), labels=labels.astype(y.dtype), seed=self.random_state)
        images = images.reshape(len(images), *X.shape[1:]).astype(X.dtype)
        return np.concatenate([X, images]), np.concatenate([y, labels.astype(y.dtype)])


_NAMED = ("minority", "not minority", "not majority", "all", "auto")


def _named_strategy(name: str, have: dict) -> dict:
    """imbalanced-learn's named over-sampling targets: classes up to the majority's count."""
    top = max(have.values())
    majority, minority = max(have, key=have.get), min(have, key=have.get)
    if name == "majority":
        raise ValueError("'sampling_strategy'='majority' cannot be used with over-sampler.")
    if name not in (*_NAMED, "balance"):
        raise ValueError(
            f"When 'sampling_strategy' is a string, it needs to be one of {list(_NAMED)}. Got '{name}' instead."
        )
    keep = {
        "minority": lambda c: c == minority, "not minority": lambda c: c != minority,
        "not majority": lambda c: c != majority, "auto": lambda c: c != majority,
    }.get(name, lambda c: True)
    return {c: top - n for c, n in have.items() if keep(c)}


def _dict_strategy(wanted: Any, have: dict) -> dict:
    """``{label: final count}`` → ``{label: items to generate}``, with imbalanced-learn's errors."""
    if not isinstance(wanted, dict):
        raise ValueError(f"a sampling_strategy callable must return a dict, got {type(wanted).__name__}")
    missing = set(wanted) - set(have)
    if missing:
        raise ValueError(f"The {missing} target class is/are not present in the data.")
    if any(n < 0 for n in wanted.values()):
        raise ValueError(
            f"The number of samples in a class cannot be negative.'sampling_strategy' contains some negative value: {wanted}"
        )
    out = {}
    for c, n in wanted.items():
        if n < have[c]:
            raise ValueError(
                "With over-sampling methods, the number of samples in a class should be greater or equal to the "
                f"original number of samples. Originally, there is {have[c]} samples and {n} samples are asked."
            )
        out[c] = int(n - have[c])
    return out


def _float_strategy(ratio: float, have: dict) -> dict:
    """Classes up to ``ratio`` × the majority's count: imbalanced-learn's rule for two classes,
    ganaug's (ceil, classes already there untouched) for more."""
    if ratio <= 0 or ratio > 1:
        raise ValueError(f"When 'sampling_strategy' is a float, it should be in the range (0, 1]. Got {ratio} instead.")
    top, majority = max(have.values()), max(have, key=have.get)
    if len(have) == 2:
        out = {c: int(top * ratio - n) for c, n in have.items() if c != majority}
        if any(n <= 0 for n in out.values()):
            raise ValueError(
                "The specified ratio required to remove samples from the minority class while trying to generate "
                "new samples. Please increase the ratio."
            )
        return out
    goal = int(np.ceil(ratio * top))
    return {c: max(0, goal - n) for c, n in have.items() if c != majority}
