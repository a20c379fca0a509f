"""Networks only: ``Generator(z, c)``, ``Discriminator(x, c)``, the image-conditional DAGAN pair
``DAGANGenerator(x, z)`` / ``PairDiscriminator(x, x2)``, the downstream classifiers and the
`Sampler` that draws from a generator; no training code here."""

from ganaug.models.build import build_discriminator, build_generator
from ganaug.models.classifier import MLP, SmallCNN, build_network
from ganaug.models.dagan import DAGANGenerator, PairDiscriminator
from ganaug.models.discriminator import Discriminator, minibatch_stddev
from ganaug.models.generator import ConditionalBatchNorm2d, Generator
from ganaug.models.layout import plan_resolution
from ganaug.models.per_class import PerClass
from ganaug.models.sampler import Sampler

__all__ = [
    "MLP",
    "ConditionalBatchNorm2d",
    "DAGANGenerator",
    "Discriminator",
    "Generator",
    "PairDiscriminator",
    "PerClass",
    "Sampler",
    "SmallCNN",
    "build_discriminator",
    "build_generator",
    "build_network",
    "minibatch_stddev",
    "plan_resolution",
]
