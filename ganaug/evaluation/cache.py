"""A content-keyed cache of the metrics' feature network, across runs.

The feature network depends only on the pool's images and labels, its step budget, seed and
thread count, and the torch that trained it; every run of the same data trained it again
(13.9 s on 2 cores for mnist5k, the cost of a classifier condition). It is now trained once
and kept as safetensors (never pickled) under ``$GANAUG_CACHE`` (default
``~/.cache/ganaug``)/``features/``, named by a hash of all of the above; ``GANAUG_CACHE=off``
turns the cache off. A loaded network has the trained one's weights to the bit, so its
features and every metric are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganaug._version import __version__
from ganaug.models.classifier import build_network
from ganaug.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganaug.training.classifier import LAYOUT, TorchClassifier
from ganaug.utils import resolve_device


def cache_dir() -> Path | None:
    """Where cached pieces go; None when ``GANAUG_CACHE`` is ``off``."""
    value = os.environ.get("GANAUG_CACHE", "")
    if value.lower() == "off":
        return None
    return Path(value) if value else Path.home() / ".cache" / "ganaug"


def dataset_digest(*datasets: Any) -> str:
    """SHA-256 (hex) of the datasets' pixels and labels, with their dtypes and shapes, in order."""
    digest = hashlib.sha256()
    for part in datasets:
        for array in (part.data, part.targets):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape};".encode())
            digest.update(array.data)
    return digest.hexdigest()


def content_key(parts: dict[str, Any], device: str) -> str:
    """A cache key: ``parts`` (what the cached thing was made from) and what else changes its
    bits — the device type, the thread count, the torch and ganaug versions, the classifier's
    tensor layout (`ganaug.training.classifier.LAYOUT`)."""
    parts = parts | {"device": resolve_device(device).type, "threads": torch.get_num_threads(),
                     "torch": torch.__version__, "ganaug": __version__, "layout": LAYOUT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def feature_key(fingerprint: str, image_shape: tuple[int, ...], n_classes: int, steps: int, seed: int, device: str) -> str:
    parts = {"data": fingerprint, "shape": list(image_shape), "classes": n_classes, "steps": steps, "seed": seed}
    return content_key(parts, device)


def cache_path(kind: str, key: str) -> Path | None:
    """Where the cached ``kind`` (a sub-folder: features, source) under ``key`` lives; None when off."""
    folder = cache_dir()
    return None if folder is None else folder / kind / f"{key}.safetensors"


def cached_extractor(key: str, fit: Callable[[], TorchClassifier], device: str, kind: str = "features") -> TorchClassifier:
    """The classifier network under ``key``: loaded when cached, else ``fit()`` and stored.

    A cache that cannot be read or written is passed by (with a warning): it only saves time.
    """
    path = cache_path(kind, key)
    if path is not None and path.is_file():
        try:
            return _load(path, device)
        except (CheckpointError, OSError, KeyError, RuntimeError) as err:
            warnings.warn(f"ignoring the cached network {path}: {err}", stacklevel=2)
    extractor = fit()
    if path is not None:
        meta = {"arch": extractor.arch, "image_shape": list(extractor.image_shape_), "n_classes": len(extractor.classes_),
                "steps": extractor.steps, "seed": extractor.seed}
        try:
            save_checkpoint(path, extractor.model_.state_dict(), {"feature_network": meta})
        except (OSError, ValueError) as err:
            warnings.warn(f"could not cache the {kind} network: {err}", stacklevel=2)
    return extractor


def _load(path: Path, device: str) -> TorchClassifier:
    tensors, header = load_checkpoint(path)
    meta = header["feature_network"]
    clf = TorchClassifier(meta["arch"], steps=meta["steps"], seed=meta["seed"], device=device)
    image_shape = tuple(meta["image_shape"])
    clf.model_ = build_network(meta["arch"], image_shape, meta["n_classes"]).to(resolve_device(device))
    clf.model_.load_state_dict(tensors)
    clf.model_.eval()
    clf.classes_, clf.image_shape_ = torch.arange(meta["n_classes"]).numpy(), image_shape
    return clf
