"""The one conversion between uint8 images and the networks' [-1, 1] space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug.data.pixels import from_uint8, model_to_images, model_to_uint8, to_model, to_uint8


@pytest.mark.parametrize("shape", [(5, 8, 8), (5, 8, 8, 3)])
def test_uint8_images_survive_the_round_trip_through_model_space(shape):
    images = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    x = to_model(images)
    assert x.shape == (5, 1 if len(shape) == 3 else 3, 8, 8) and x.dtype == torch.float32
    assert float(x.min()) >= -1 and float(x.max()) <= 1
    np.testing.assert_array_equal(model_to_images(x), images)


def test_model_outputs_outside_the_range_are_clipped_not_wrapped():
    x = torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0]).view(1, 1, 1, 5)
    assert model_to_uint8(x).flatten().tolist() == [0, 0, 128, 255, 255]


def test_value_ranges_map_to_uint8_and_back():
    x = np.array([0.0, 4.0, 16.0])
    u8 = to_uint8(x, (0.0, 16.0))
    assert u8.tolist() == [0, 64, 255]
    np.testing.assert_allclose(from_uint8(u8, (0.0, 16.0), np.float64), [0.0, 64 * 16 / 255, 16.0])
    with pytest.raises(ValueError, match="low < high"):
        to_uint8(x, (1.0, 1.0))
