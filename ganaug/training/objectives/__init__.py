"""Training objectives behind one interface (`Objective`): the adversarial game and the
generative matching network. `make_objective` picks one from ``config.loss``."""

from torch import nn

from ganaug.training.config import GANConfig
from ganaug.training.losses import get_loss
from ganaug.training.objectives.adversarial import AdversarialObjective
from ganaug.training.objectives.base import Batches, Objective
from ganaug.training.objectives.matching import MatchingObjective


def make_objective(config: GANConfig, generator: nn.Module, n_classes: int, image_shape: tuple[int, int, int]) -> Objective:
    """The objective ``config.loss`` names (resolved: not ``"auto"``), training ``generator``."""
    kind = MatchingObjective if get_loss(config.loss) is None else AdversarialObjective
    return kind(generator, config, n_classes, image_shape)


__all__ = ["AdversarialObjective", "Batches", "MatchingObjective", "Objective", "make_objective"]
