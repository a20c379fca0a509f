"""`ArrayDataset`, the in-memory image dataset every source returns, and conversions to it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ganaug.data.pixels import to_uint8
from ganaug.data.validation import check_label_range, validate_images, validate_labels


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
            classes = [str(i) for i in range(int(targets.max()) + 1)]
        classes = [str(c) for c in classes]
        check_label_range(targets, len(classes), name=f"{name} targets")
        self.data = data
        self.targets = targets
        self.classes = classes
        self.transform = transform
        self.target_transform = target_transform
        self.name = name
        self.indices = np.arange(len(data)) if indices is None else np.asarray(indices)
        self.source = source or name

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


def image_to_uint8(image: Any) -> np.ndarray:
    """One raw dataset item (PIL, ndarray or tensor) → ``H×W`` or ``H×W×C`` uint8 array.

    Float tensors and arrays are taken as 0..1 (torchvision's ``ToTensor`` convention); tensors as
    ``C×H×W``, arrays as ``H×W×C``.
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
        if np.issubdtype(arr.dtype, np.floating):
            arr = to_uint8(arr, (0.0, 1.0))
        else:
            arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"cannot read an image of shape {tuple(arr.shape)} from the dataset")
    return arr


class raw_items:
    """Context manager that switches a dataset's ``transform``/``target_transform`` off.

    Lets ganaug read the raw ``(image, target)`` items of a torchvision-style dataset that
    already carries its transform, without the user rebuilding it.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.saved: dict[str, Any] = {}

    def __enter__(self) -> Any:
        for attr in ("transform", "target_transform", "transforms"):
            if getattr(self.dataset, attr, None) is not None:
                self.saved[attr] = getattr(self.dataset, attr)
                setattr(self.dataset, attr, None)
        return self.dataset

    def __exit__(self, *exc: object) -> None:
        for attr, value in self.saved.items():
            setattr(self.dataset, attr, value)


def as_array_dataset(dataset: Any, name: str | None = None) -> ArrayDataset:
    """Read any ``(image, target)`` dataset into an `ArrayDataset` (raw items, no transform)."""
    if isinstance(dataset, ArrayDataset):
        return dataset
    classes = getattr(dataset, "classes", None)
    with raw_items(dataset):
        images, targets = [], []
        for i in range(len(dataset)):
            image, target = dataset[i]
            images.append(image_to_uint8(image))
            targets.append(int(target))
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise ValueError(f"dataset images differ in shape: {sorted(shapes)[:4]}")
    return ArrayDataset(
        np.stack(images),
        np.asarray(targets),
        classes,
        name=name or type(dataset).__name__,
    )
