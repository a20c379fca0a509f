"""Checkpoint I/O: tensors in safetensors, metadata as JSON in its header. Nothing is unpickled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

FORMAT = "ganaug-checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file that is not a readable ganaug checkpoint."""


def save_checkpoint(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict) -> Path:
    """Write ``tensors`` and ``metadata`` to ``path`` (a ``.safetensors`` file) atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata}
    tmp = path.with_name(path.name + ".tmp")
    contiguous = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(contiguous, str(tmp), metadata={"ganaug": json.dumps(header)})
    tmp.replace(path)
    return path


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
        CheckpointError: the file is a pickle, truncated, corrupt, or not ganaug's.
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
    if header.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file, but not a ganaug checkpoint")
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer ganaug (format {header['format_version']}); upgrade ganaug"
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
