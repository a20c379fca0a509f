"""Small shared helpers: devices, threads, standard JSON, memory, environment versions."""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganaug._version import __version__

# The device types ganaug's networks run on; torch knows more (meta, xla, hpu, ...) that it
# cannot train or sample on, and those fail later with errors that blame something else.
DEVICE_TYPES = ("cpu", "cuda", "mps")
DEVICE_HELP = "use auto, cpu, cuda or cuda:N (mps on Apple silicon)"


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; else a device ganaug can run on, checked to exist.

    Raises:
        ValueError: an unknown device, a device type ganaug cannot run on (e.g. ``meta``), or
            one this machine lacks (``cuda`` without CUDA, ``cuda:3`` with one GPU).
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = device if isinstance(device, torch.device) else torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}; {DEVICE_HELP}") from None
    if resolved.type not in DEVICE_TYPES:
        raise ValueError(f"device {str(device)!r} is not one ganaug can run on; {DEVICE_HELP}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} asked for, but CUDA is not available here")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device {str(device)!r} asked for, but this machine has {count} CUDA device(s): "
                             f"cuda:0..cuda:{count - 1}")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {str(device)!r} asked for, but MPS is not available here")
    return resolved


def finite_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON ``null``).

    Standard JSON has no NaN token: Python writes one by default, and strict readers (browsers'
    ``JSON.parse``, jq, most other languages) then refuse the whole file.
    """
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def dump_json(obj: Any, indent: int | None = 1) -> str:
    """Standard JSON text of ``obj`` (non-finite floats written as null, see `finite_json`)."""
    return json.dumps(finite_json(obj), indent=indent, allow_nan=False)


def available_memory() -> int | None:
    """Bytes of memory this process can still get, or None where that cannot be read.

    The machine's MemAvailable (Linux) or free pages, and within a container whose cgroup
    (v2) sets a limit, the room left under it: whichever is smaller.
    """
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return max(0, min(found)) if found else None


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


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def default_jobs(threads: int = 1, cells: int | None = None) -> int:
    """How many cells to run at once: the usable cores over each cell's ``threads``, no more
    than there are ``cells``, at least 1."""
    jobs = max(1, usable_cores() // max(1, threads))
    return max(1, min(jobs, cells)) if cells is not None else jobs


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
