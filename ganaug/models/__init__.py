"""Networks only: ``Generator(z, c)`` and ``Discriminator(x, c)``; no training code here."""

from ganaug.models.discriminator import Discriminator, minibatch_stddev
from ganaug.models.generator import ConditionalBatchNorm2d, Generator
from ganaug.models.layout import plan_resolution
from ganaug.models.per_class import PerClass

__all__ = ["ConditionalBatchNorm2d", "Discriminator", "Generator", "PerClass", "minibatch_stddev", "plan_resolution"]
