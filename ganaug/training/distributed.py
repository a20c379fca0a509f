"""What the trainer needs to run unchanged under ``torchrun``: the rank, the process group torchrun
describes, and `DistributedDataParallel` around the trained networks. torch.distributed only; no
distribution code of our own.

Outside a process group every function answers as a single process would (rank 0 of 1).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganaug.utils import resolve_device


def initialised() -> bool:
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    return dist.get_world_size() if initialised() else 1


def rank() -> int:
    return dist.get_rank() if initialised() else 0


def is_main() -> bool:
    """True on the process that writes files and shows progress (rank 0, or the only one)."""
    return rank() == 0


def init_from_env(device: str | torch.device = "auto") -> bool:
    """Join the process group ``torchrun`` describes (``WORLD_SIZE`` > 1 and its ``RANK``,
    ``MASTER_ADDR``… variables), unless one exists already: NCCL for CUDA, gloo on the CPU. On CUDA
    each process takes the GPU its ``LOCAL_RANK`` names, so ``"cuda"`` and ``"auto"`` mean it.

    Returns:
        True when this call started the group (so the caller ends it, see `close`).
    """
    if initialised() or int(os.environ.get("WORLD_SIZE", "1")) < 2 or not dist.is_available():
        return False
    cuda = resolve_device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    return True


def close(started: bool) -> None:
    """End the process group if `init_from_env` started it."""
    if started and initialised():
        dist.destroy_process_group()


def wrap(module: nn.Module, device: torch.device, find_unused_parameters: bool = False) -> nn.Module:
    """``module`` in `DistributedDataParallel` (gradients averaged over ranks; rank 0's buffers
    broadcast before each forward pass); the module itself outside a process group."""
    if world_size() < 2:
        return module
    ids = None
    if device.type == "cuda":
        ids = [device.index if device.index is not None else torch.cuda.current_device()]
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=find_unused_parameters)


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a `DistributedDataParallel` wrapper (its state dict has no ``module.``)."""
    return module.module if isinstance(module, DistributedDataParallel) else module
