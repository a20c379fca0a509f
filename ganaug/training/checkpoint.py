"""Checkpoint I/O: tensors in safetensors, metadata as JSON in its header. Nothing is unpickled."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as serialize

from ganaug.utils import dump_json

FORMAT = "ganaug-checkpoint"
FORMAT_VERSION = 1
# GANAugmenter.fit(checkpoint=...) and `ganaug pretrain`: steps between checkpoints of a run,
# and the longest wait between two whatever the step count (a slow step on a large image set).
CHECKPOINT_EVERY = 250
CHECKPOINT_SECONDS = 600.0


class CheckpointError(ValueError):
    """A file that is not a readable ganaug checkpoint."""


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict) -> Path:
    """Write ``tensors`` and ``metadata`` to ``path`` (a ``.safetensors`` file) atomically.

    Non-finite floats in ``metadata`` (a diverged loss in a history) are written as null, so the
    header is standard JSON.

    Raises:
        ValueError: a floating tensor holds NaN or inf (a diverged model is never saved).
        OSError: the file cannot be written (full disk, no permission); the message names the
            path, and a file already there is left as it was.
    """
    path = Path(path)
    bad = non_finite(tensors)
    if bad is not None:
        raise ValueError(f"refusing to save {path}: tensor {bad!r} holds NaN or inf (training diverged)")
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    write_atomic(path, serialize(contiguous, metadata={"ganaug": dump_json(header, indent=None)}))
    return path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and ``os.replace``: a reader,
    a crash or a kill -9 sees the old file or the new one, never half of one.

    The file gets the permissions the umask gives (as ``torch.save`` and ``open`` do). The
    temporary file has a fixed name, so one left by a killed writer is replaced by the next write.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.unlink(missing_ok=True)  # a fresh file, so it takes the umask's mode, not an old one's
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the error being raised says more than this one would
        failure = OSError(f"cannot write {path}: {err.strerror or err}; a file already there is unchanged")
        failure.errno = err.errno  # kept for callers that test it (ENOSPC, EACCES)
        raise failure from None


def non_finite(tensors: dict[str, torch.Tensor]) -> str | None:
    """The name of the first floating tensor holding NaN or inf, or None."""
    for name, tensor in tensors.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return name
    return None


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """A safetensors file opens with its JSON header's length (u64, little-endian), then ``{``."""
    if len(head) < 9:
        return False
    header_len = int.from_bytes(head[:8], "little")
    return head[8:9] == b"{" and 8 + header_len <= size


def _sniff(path: Path) -> str | None:
    """Name the format of a file that is clearly not safetensors, from its first bytes."""
    size = path.stat().st_size
    if not size:
        return "an empty file"
    with path.open("rb") as fh:
        head = fh.read(9)
    if _looks_like_safetensors(head, size):
        return None
    if head[:1] == b"\x80":
        return "a Python pickle"
    if head[:2] == b"PK":
        return "a zip archive (torch.save writes these; they hold pickles)"
    return None


def load_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint`.

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: the file is a pickle, truncated, corrupt, not ganaug's, or holds NaN or
            inf weights.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "augmenter.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    kind = _sniff(path)
    if kind is not None:
        raise CheckpointError(
            f"{path} is {kind}, not a ganaug checkpoint. ganaug reads only safetensors files "
            "and never unpickles, since a pickle can run code; re-save it with GANAugmenter.save()."
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no iterator
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is truncated or corrupt ({err}); save it again") from None
    try:
        header = json.loads(meta["ganaug"])
    except (KeyError, json.JSONDecodeError):
        raise CheckpointError(f"{path} is a safetensors file, but not a ganaug checkpoint") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file, but not a ganaug checkpoint")
    version = header.get("format_version", 0)
    if not isinstance(version, int):
        raise CheckpointError(f"{path}: format_version must be an integer, got {version!r}; save it again")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} was written by a newer ganaug (format {version}); upgrade ganaug")
    bad = non_finite(tensors)
    if bad is not None:
        raise CheckpointError(
            f"{path}: tensor {bad!r} holds NaN or inf: the run that wrote it diverged; "
            "train again with a lower learning rate"
        )
    return tensors, header


def flatten_optimizer(opt: torch.optim.Optimizer, prefix: str) -> tuple[dict[str, torch.Tensor], dict]:
    """Split an optimizer's state into tensors (for safetensors) and JSON (hyper-parameters)."""
    state = opt.state_dict()
    tensors, scalars = {}, {}
    for idx, slot in state["state"].items():
        for key, value in slot.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict, prefix: str
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
