"""TorchClassifier's transfer start: a network pretrained on other classes, with a new head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug.training.classifier import TorchClassifier


@pytest.fixture
def source(toy_arrays):
    x, y = toy_arrays
    return TorchClassifier("cnn", steps=8, batch_size=8, seed=0, device="cpu").fit(x, y)


def test_a_classifier_starts_from_the_pretrained_body_with_a_new_head(source, toy_arrays):
    x, y = toy_arrays
    target_y = y % 3  # 3 new classes
    still = TorchClassifier("cnn", steps=1, batch_size=8, lr=0.0, seed=1, device="cpu", init=source).fit(x, target_y)
    body, pretrained = still.model_.body.state_dict(), source.model_.body.state_dict()
    for name, tensor in pretrained.items():
        if "running" not in name and "num_batches" not in name:  # BatchNorm statistics move in train mode
            assert torch.equal(body[name], tensor), name
    assert still.model_.head.out_features == 3 and still.predict_proba(x).shape == (len(x), 3)
    tuned = TorchClassifier("cnn", steps=5, batch_size=8, seed=1, device="cpu", init=source).fit(x, target_y)
    assert not torch.equal(tuned.model_.body[0].weight, source.model_.body[0].weight)  # every layer trains
    assert torch.equal(source.model_.body[0].weight, pretrained["0.weight"])  # the source is left as it was


def test_a_pretrained_start_is_refused_for_other_images_or_unfitted(source, toy_arrays):
    x, y = toy_arrays
    bigger = np.zeros((len(x), 12, 12), np.uint8)
    with pytest.raises(ValueError, match=r"trained on \(8, 8\) images; these are \(12, 12\)"):
        TorchClassifier("cnn", steps=1, device="cpu", init=source).fit(bigger, y)
    with pytest.raises(ValueError, match="fitted TorchClassifier"):
        TorchClassifier("cnn", steps=1, device="cpu", init=TorchClassifier()).fit(x, y)
