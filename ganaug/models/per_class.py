"""`PerClass`: one independent network per class behind the conditional networks' interface."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class PerClass(nn.Module):
    """K separate copies of a conditional network, one per class, sharing no weights.

    ``forward(inputs, c, **kwargs)`` sends each row to the copy for its class ``c`` (which sees
    class index 0), so training code written for one conditional network trains K per-class
    GANs unchanged. Outputs, and every tensor in a tuple of outputs, come back in row order.
    """

    def __init__(self, make: Callable[[], nn.Module], n_classes: int) -> None:
        super().__init__()
        self.nets = nn.ModuleList(make() for _ in range(n_classes))

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:  # sizes such as z_dim are the same in every copy
            return getattr(self._modules["nets"][0], name)

    def forward(self, inputs: torch.Tensor, c: torch.Tensor, **kwargs):
        if len(c) == 0:
            return self.nets[0](inputs, c, **kwargs)
        gathered: list[torch.Tensor | None] | None = None
        is_tuple = False
        for k in torch.unique(c).tolist():
            rows = (c == k).nonzero(as_tuple=True)[0]
            out = self.nets[k](inputs[rows], torch.zeros_like(rows), **kwargs)
            is_tuple = isinstance(out, tuple)
            parts = out if is_tuple else (out,)
            if gathered is None:
                gathered = [None if p is None else p.new_empty((len(c), *p.shape[1:])) for p in parts]
            for slot, part in zip(gathered, parts, strict=True):
                if part is not None:
                    slot[rows] = part
        return tuple(gathered) if is_tuple else gathered[0]
