"""Input validation of images and labels."""

from __future__ import annotations

import numpy as np
import pytest

from ganaug.data import ArrayDataset
from ganaug.data.validation import validate_images, validate_labels


# -- validation: each bad input gets a clear ValueError naming the problem ------------------
@pytest.mark.parametrize(
    ("images", "match"),
    [
        (np.zeros((4, 8), np.uint8), "image_shape"),  # flattened / wrong rank
        (np.zeros((2, 3, 8, 8, 1), np.uint8), "dimension"),  # rank 5
        (np.zeros((4, 8, 8, 5), np.uint8), "channels"),
        (np.zeros((4, 8, 8), np.complex64), "dtype"),
        (np.zeros((4, 8, 8), np.bool_), "dtype"),
        (np.array([[[0.0, np.nan]] * 2] * 3), "NaN/inf value.*image 0"),
        (np.full((2, 4, 4), np.inf), "NaN/inf"),
        (np.full((2, 4, 4), 300, np.int32), "0..255"),
        (np.zeros((0, 8, 8), np.uint8), "no images"),
    ],
)
def test_bad_images(images, match):
    with pytest.raises(ValueError, match=match):
        validate_images(images)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0, 1, 1.5, 2]), "non-integer label 1.5 at index 2"),
        (np.array(["a", "b", "a", "b"]), "integer"),
        (np.array([0, 1, -1, 1]), "negative label -1 at index 2"),
        (np.array([3, 3, 3, 3]), "at least 2 classes"),
        (np.array([0, 1, 0]), "3 labels for 4 images"),
        (np.array([[0, 1], [0, 1]]), "1-D"),
        (np.array([0, 1, np.nan, 1]), "NaN"),
    ],
)
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        validate_labels(labels, 4)


def test_label_out_of_range_for_named_classes():
    with pytest.raises(ValueError, match="out of range for 2 classes"):
        ArrayDataset(np.zeros((3, 8, 8), np.uint8), [0, 1, 2], classes=["a", "b"])


def test_float_pixels_need_rescaling_before_arraydataset():
    with pytest.raises(ValueError, match="to_uint8"):
        ArrayDataset(np.zeros((3, 8, 8), np.float32), [0, 1, 1])
