"""Small shared helpers: devices, seeds, environment versions."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np
import torch

from ganaug._version import __version__


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; anything else as torch reads it."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: {err}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return resolved


def versions() -> dict[str, str]:
    """Versions of the stack, recorded beside every artefact."""
    import sklearn
    import torchvision

    return {
        "ganaug": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "cuda": torch.version.cuda or "none",
    }


def machine(device: str | torch.device = "cpu") -> str:
    """Architecture, core count, CPU model and, for a CUDA ``device``, the GPU's name.

    E.g. ``"x86_64, 2 cores, AMD EPYC"`` or ``"x86_64, 16 cores, Intel Xeon, NVIDIA H200"``.

    The model is part of it because the same "2 cores" ran the same GAN steps several times
    slower on one machine than on another: a time means little without it.
    """
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    model = (model or platform.processor()).replace(",", " ")
    if model == platform.machine():
        model = ""
    cores = os.cpu_count()
    device = resolve_device(device)
    gpu = torch.cuda.get_device_name(device).replace(",", " ") if device.type == "cuda" else ""
    return ", ".join(part for part in (platform.machine(), f"{cores} cores" if cores else "", model, gpu) if part)
