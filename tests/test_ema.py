"""The EMA copy of the generator."""

from __future__ import annotations

import torch

from ganaug.training.ema import make_ema, update_ema


def test_ema_tracks_the_model():
    model = torch.nn.Linear(2, 2)
    ema = make_ema(model)
    with torch.no_grad():
        model.weight.add_(1.0)
    update_ema(ema, model, decay=0.999, step=0)  # early steps follow closely
    assert torch.allclose(ema.weight, model.weight, atol=0.2)
    assert not any(p.requires_grad for p in ema.parameters())
