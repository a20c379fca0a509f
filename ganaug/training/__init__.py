"""GAN training: objectives (adversarial, matching, DAGAN pairs), the trainer, losses,
DiffAugment, EMA, the collapse monitor, checkpoint I/O and the classifier trainer."""

from ganaug.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ganaug.training.config import (
    AUTO_MMD_BELOW,
    MMD_STEPS,
    GANConfig,
    auto_loss,
    auto_size,
    auto_steps,
    resolve,
)
from ganaug.training.diffaugment import POLICIES, diff_augment, parse_policy
from ganaug.training.losses import LOSSES, get_loss
from ganaug.training.monitor import CollapseMonitor
from ganaug.training.objectives import (
    AdversarialObjective,
    DAGANConfig,
    MatchingObjective,
    Objective,
    PairObjective,
    make_objective,
)
from ganaug.training.trainer import Trainer, TrainingDiverged, trainable_device

__all__ = [
    "AUTO_MMD_BELOW",
    "LOSSES",
    "MMD_STEPS",
    "POLICIES",
    "AdversarialObjective",
    "CheckpointError",
    "CollapseMonitor",
    "DAGANConfig",
    "GANConfig",
    "MatchingObjective",
    "Objective",
    "PairObjective",
    "Trainer",
    "TrainingDiverged",
    "auto_loss",
    "auto_size",
    "auto_steps",
    "diff_augment",
    "get_loss",
    "load_checkpoint",
    "make_objective",
    "parse_policy",
    "resolve",
    "save_checkpoint",
    "trainable_device",
]
