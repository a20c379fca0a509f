"""`ArrayDataset`, the in-memory image dataset every source returns, and conversions to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, Subset

from ganaug.data.pixels import to_uint8
from ganaug.data.validation import check_label_range, index_names, validate_images, validate_labels


class ArrayDataset(Dataset):
    """Labelled uint8 images held in memory, shaped like torchvision's datasets.

    Items are ``(image, target)`` where ``image`` is an ``H×W`` or ``H×W×C`` uint8 numpy array
    (before ``transform``), so torchvision v2 and albumentations pipelines both accept it.

    Attributes:
        data: uint8 array, ``N×H×W`` or ``N×H×W×C``.
        targets: int64 array of class indices in ``0..len(classes)-1``.
        classes: class names, indexed by target.
        indices: position of each item in the source it was drawn from (for overlap checks).
        name: where the data came from, e.g. ``"digits"``.
        source: the array ``indices`` point into; two datasets with the same ``source`` can be
            checked for overlap by index.
        class_groups: the group of each class, indexed like ``classes`` (Omniglot's alphabet of
            each character), or None for sets without groups.
    """

    def __init__(
        self,
        data: np.ndarray,
        targets: Sequence[int] | np.ndarray,
        classes: Sequence[str] | None = None,
        *,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        name: str = "arrays",
        indices: np.ndarray | None = None,
        source: str | None = None,
        class_groups: Sequence[str] | None = None,
    ) -> None:
        data = validate_images(np.asarray(data), name=f"{name} data")
        if data.dtype != np.uint8:
            raise ValueError(
                f"{name} data: ArrayDataset holds uint8 pixels, got {data.dtype}; "
                "use ganaug.data.to_uint8() to rescale"
            )
        if data.ndim == 4 and data.shape[-1] == 1:
            data = data[..., 0]
        targets = validate_labels(np.asarray(targets), len(data), name=f"{name} targets")
        if classes is None:
            classes = index_names(targets, name=f"{name} targets")
        classes = [str(c) for c in classes]
        check_label_range(targets, len(classes), name=f"{name} targets")
        if class_groups is not None:
            class_groups = [str(g) for g in class_groups]
            if len(class_groups) != len(classes):
                raise ValueError(
                    f"{name}: class_groups names {len(class_groups)} group(s) for {len(classes)} "
                    "classes; give one group per class, in the order of `classes`"
                )
        self.data = data
        self.targets = targets
        self.classes = classes
        self.transform = transform
        self.target_transform = target_transform
        self.name = name
        self.indices = np.arange(len(data)) if indices is None else np.asarray(indices)
        self.source = source or name
        self.class_groups = class_groups

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image: Any = self.data[index]
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = apply_transform(self.transform, image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    @property
    def image_shape(self) -> tuple[int, ...]:
        """``(H, W)`` or ``(H, W, C)``."""
        return tuple(self.data.shape[1:])

    def subset(self, positions: np.ndarray, name: str | None = None) -> ArrayDataset:
        """A new dataset of the items at ``positions``, keeping their source indices."""
        positions = np.asarray(positions, dtype=np.int64)
        return ArrayDataset(
            self.data[positions],
            self.targets[positions],
            self.classes,
            transform=self.transform,
            target_transform=self.target_transform,
            name=name or self.name,
            indices=self.indices[positions],
            source=self.source,
            class_groups=self.class_groups,
        )

    def __repr__(self) -> str:
        return (
            f"ArrayDataset(name={self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
            f"classes={len(self.classes)})"
        )


def is_albumentations(transform: Any) -> bool:
    """True for albumentations transforms, which take ``image=`` and return a dict."""
    return type(transform).__module__.split(".")[0] == "albumentations"


def apply_transform(transform: Callable, image: Any) -> Any:
    """Apply a torchvision-style or albumentations transform to one image."""
    if is_albumentations(transform):
        return transform(image=np.asarray(image))["image"]
    return transform(image)


def image_to_uint8(image: Any, *, where: str = "image") -> np.ndarray:
    """One raw dataset item (PIL, ndarray or tensor) → ``H×W`` or ``H×W×C`` uint8 array.

    Float tensors and arrays are taken as 0..1 (torchvision's ``ToTensor`` convention); tensors as
    ``C×H×W``, arrays as ``H×W×C``.

    Raises:
        ValueError: the pixels are not 0..1 floats or 0..255 integers (a normalised image, say):
            scaling them to uint8 would clip them, so ganaug refuses rather than guess.
    """
    if isinstance(image, Image.Image):
        arr = np.asarray(image)
    elif isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3:
            t = t.permute(1, 2, 0)
        arr = t.numpy()
    else:
        arr = np.asarray(image)
    if arr.dtype != np.uint8:
        _check_raw_range(arr, where)
        arr = to_uint8(arr, (0.0, 1.0)) if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"{where}: cannot read an image of shape {tuple(arr.shape)} from the dataset")
    return arr


def _check_raw_range(arr: np.ndarray, where: str) -> None:
    floating = np.issubdtype(arr.dtype, np.floating)
    if arr.dtype == np.bool_ or not (floating or np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"{where}: expected image pixels, got dtype {arr.dtype}")
    if arr.size == 0:
        return
    if floating and not np.isfinite(arr).all():
        raise ValueError(f"{where}: the image holds NaN/inf pixels")
    lo, hi = arr.min().item(), arr.max().item()
    if (floating and (lo < 0 or hi > 1)) or (not floating and (lo < 0 or hi > 255)):
        allowed = "0..1 for float pixels" if floating else "0..255 for integer pixels"
        raise ValueError(
            f"{where}: pixels span {lo:.4g}..{hi:.4g}, not {allowed} — the dataset still hands out "
            "transformed images with its transform switched off (one applied inside __getitem__?); "
            "give it its transform as a `transform` attribute, or pass the images as an array: "
            "fit(X, y, value_range=(low, high))"
        )


def dataset_layers(dataset: Any) -> list[Any]:
    """``dataset`` and every dataset a ``Subset``/``ConcatDataset`` inside it reads from, once each."""
    layers, seen, todo = [], set(), [dataset]
    while todo:
        ds = todo.pop(0)
        if id(ds) in seen:
            continue
        seen.add(id(ds))
        layers.append(ds)
        if isinstance(ds, Subset):
            todo.append(ds.dataset)
        elif isinstance(ds, ConcatDataset):
            todo.extend(ds.datasets)
    return layers


def leaf_datasets(dataset: Any) -> list[Any]:
    """The datasets that hold the items of ``dataset`` (itself unless it is a Subset/Concat)."""
    return [ds for ds in dataset_layers(dataset) if not isinstance(ds, (Subset, ConcatDataset))]


_TRANSFORM_ATTRS = ("transform", "target_transform", "transforms")


def shared_transforms(dataset: Any) -> tuple[Callable | None, Callable | None]:
    """``(transform, target_transform)`` its items go through, looking inside Subset/Concat.

    Raises:
        ValueError: the parts of a ``ConcatDataset`` carry different transforms.
    """
    found = []
    for attr in ("transform", "target_transform"):
        values = {id(v): v for ds in dataset_layers(dataset) if (v := getattr(ds, attr, None)) is not None}
        if len(values) > 1:
            raise ValueError(
                f"the datasets inside this {type(dataset).__name__} carry {len(values)} different "
                f"{attr}s; pass the one to use for synthetic items explicitly"
            )
        found.append(next(iter(values.values()), None))
    return found[0], found[1]


class raw_items:
    """Context manager that switches a dataset's ``transform``/``target_transform`` off.

    Lets ganaug read the raw ``(image, target)`` items of a torchvision-style dataset that
    already carries its transform, without the user rebuilding it. ``Subset`` and
    ``ConcatDataset`` (nested too) read their items from other datasets, so those datasets'
    transforms are switched off as well. Every transform is put back on exit, error or not.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Any:
        try:
            for layer in dataset_layers(self.dataset):
                for attr in _TRANSFORM_ATTRS:
                    value = getattr(layer, attr, None)
                    if value is None:
                        continue
                    try:
                        setattr(layer, attr, None)
                    except AttributeError:
                        raise ValueError(
                            f"cannot switch off {type(layer).__name__}.{attr} (read-only) to read raw "
                            "images; pass the dataset without its transform, or the images as arrays"
                        ) from None
                    self.saved.append((layer, attr, value))
        except BaseException:
            self.__exit__()
            raise
        return self.dataset

    def __exit__(self, *exc: object) -> None:
        while self.saved:
            layer, attr, value = self.saved.pop()
            setattr(layer, attr, value)


def _array_view(dataset: Any) -> ArrayDataset | None:
    """A (nested) plain ``Subset`` of an `ArrayDataset` as one, keeping its source indices."""
    if isinstance(dataset, ArrayDataset):
        return dataset
    if type(dataset) is Subset and (base := _array_view(dataset.dataset)) is not None:
        return base.subset(np.asarray(dataset.indices, dtype=np.int64))
    return None


def _dataset_classes(dataset: Any) -> list[str] | None:
    """The class names of ``dataset`` or of the datasets a Subset/Concat reads from."""
    own = getattr(dataset, "classes", None)
    if own is not None or not isinstance(dataset, (Subset, ConcatDataset)):
        return own
    named = [list(c) for ds in leaf_datasets(dataset) if (c := getattr(ds, "classes", None)) is not None]
    if any(c != named[0] for c in named):
        raise ValueError(
            f"the datasets inside this {type(dataset).__name__} name their classes differently "
            f"({named[0][:4]}… vs {next(c for c in named if c != named[0])[:4]}…), so one target "
            "would mean two classes; give them one class list"
        )
    return named[0] if named else None


def as_array_dataset(dataset: Any, name: str | None = None) -> ArrayDataset:
    """Read any ``(image, target)`` dataset into an `ArrayDataset` (raw items, no transform).

    ``Subset`` and ``ConcatDataset`` wrappers are read through, with the transforms of the
    datasets inside them switched off too.

    Raises:
        ValueError: an item is no image ganaug can read (normalised pixels, say) or its target
            is no integer; the message says what to pass instead.
    """
    view = _array_view(dataset)
    if view is not None:
        return view
    classes = _dataset_classes(dataset)
    with raw_items(dataset):
        images, targets = [], []
        for i in range(len(dataset)):
            item = dataset[i]
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise ValueError(
                    f"dataset item {i} is a {type(item).__name__}"
                    f"{f' of {len(item)}' if isinstance(item, (tuple, list)) else ''}, not an "
                    "(image, target) pair; give the dataset its labels, or pass fit(X, y) arrays"
                )
            image, target = item
            images.append(image_to_uint8(image, where=f"dataset item {i}"))
            targets.append(_target_index(target, i))
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise ValueError(f"dataset images differ in shape: {sorted(shapes)[:4]}")
    return ArrayDataset(
        np.stack(images),
        np.asarray(targets),
        classes,
        name=name or type(dataset).__name__,
    )


def _target_index(target: Any, i: int) -> int:
    try:
        value = target.item() if isinstance(target, (torch.Tensor, np.ndarray)) else target
        if isinstance(value, (str, bytes)) or int(value) != value:
            raise TypeError
        return int(value)
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(
            f"dataset item {i}: target {target!r} is not an integer class index; map the labels "
            "to 0..K-1 (a target_transform) and name them in the dataset's `classes`"
        ) from None
