"""Build the generator and discriminator for a conditioning mode: one conditional network, or
one independent copy per class behind the same ``(input, c)`` interface."""

from __future__ import annotations

from torch import nn

from ganaug.models.discriminator import Discriminator
from ganaug.models.generator import Generator
from ganaug.models.per_class import PerClass


def build_generator(
    n_classes: int, image_shape: tuple[int, int, int], z_dim: int, channels: int, per_class: bool = False
) -> nn.Module:
    """``G(z, c)`` for ``image_shape`` ``(C, H, W)``; ``per_class`` gives one G per class."""
    if per_class:
        return PerClass(lambda: Generator(1, image_shape, z_dim, channels), n_classes)
    return Generator(n_classes, image_shape, z_dim, channels)


def build_discriminator(
    n_classes: int,
    image_shape: tuple[int, int, int],
    channels: int,
    minibatch_std: bool = False,
    aux_classifier: bool = False,
    per_class: bool = False,
) -> nn.Module:
    """``D(x, c)`` for ``image_shape`` ``(C, H, W)``; ``per_class`` gives one D per class."""

    def make(k: int) -> Discriminator:
        return Discriminator(k, image_shape, channels, minibatch_std=minibatch_std, aux_classifier=aux_classifier)

    return PerClass(lambda: make(1), n_classes) if per_class else make(n_classes)
