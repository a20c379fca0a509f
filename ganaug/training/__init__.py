"""GAN training: losses, DiffAugment, EMA, the alternating loop, monitor and checkpoint I/O."""

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
from ganaug.training.loop import GANTrainer
from ganaug.training.losses import LOSSES, get_loss
from ganaug.training.monitor import CollapseMonitor

__all__ = [
    "LOSSES",
    "POLICIES",
    "CheckpointError",
    "CollapseMonitor",
    "GANConfig",
    "GANTrainer",
    "auto_size",
    "auto_steps",
    "resolve",
    "auto_loss",
    "AUTO_MMD_BELOW",
    "MMD_STEPS",
    "diff_augment",
    "get_loss",
    "load_checkpoint",
    "parse_policy",
    "save_checkpoint",
]
