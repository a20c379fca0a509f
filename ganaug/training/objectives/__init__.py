"""Training objectives behind one interface (`Objective`): the adversarial game, the
generative matching network and the DAGAN pair game. `make_objective` picks one of the first two
from ``config.loss``; the pair game trains a ``G(x, z)`` and is built by `ganaug.dagan`."""

from torch import nn

from ganaug.training.config import GANConfig
from ganaug.training.losses import get_loss
from ganaug.training.objectives.adversarial import AdversarialObjective
from ganaug.training.objectives.base import Batches, Objective
from ganaug.training.objectives.matching import MatchingObjective
from ganaug.training.objectives.pairs import ClassGroups, DAGANConfig, PairObjective, SamePairs


def make_objective(config: GANConfig, generator: nn.Module, n_classes: int, image_shape: tuple[int, int, int]) -> Objective:
    """The objective ``config.loss`` names (resolved: not ``"auto"``), training ``generator``."""
    kind = MatchingObjective if get_loss(config.loss) is None else AdversarialObjective
    return kind(generator, config, n_classes, image_shape)


__all__ = [
    "AdversarialObjective", "Batches", "ClassGroups", "DAGANConfig", "MatchingObjective", "Objective", "PairObjective",
    "SamePairs", "make_objective",
]
