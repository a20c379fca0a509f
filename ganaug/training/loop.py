"""`GANTrainer`: the alternating D/G loop, with its optimisers, EMA, monitor and loss history."""

from __future__ import annotations

import copy
import time
import warnings
from typing import Any

import torch
from torch import nn
from torch.nn.functional import cross_entropy
from tqdm.auto import tqdm

from ganaug.models import Discriminator, Generator, PerClass
from ganaug.training.checkpoint import flatten_optimizer, restore_optimizer
from ganaug.training.config import GANConfig
from ganaug.training.diffaugment import diff_augment, parse_policy
from ganaug.training.ema import make_ema, update_ema
from ganaug.training.features import fit_feature_net
from ganaug.training.losses import conditional_mmd2, get_loss, lecam_penalty
from ganaug.training.monitor import CollapseMonitor

Tensor = torch.Tensor
LECAM_DECAY = 0.99  # the moving-average decay of the LeCam anchors, as in the paper


class GANTrainer:
    """Owns the networks' training state for one conditional GAN.

    Args:
        config: the settings.
        n_classes: number of classes.
        image_shape: ``(C, H, W)``.
        device: torch device for everything.
    """

    def __init__(
        self, config: GANConfig, n_classes: int, image_shape: tuple[int, int, int], device: torch.device
    ) -> None:
        self.config, self.device = config, device
        losses = get_loss(config.loss)
        self.direct = losses is None  # moment matching: no discriminator step
        self.d_loss_fn, self.g_loss_fn = losses or (None, None)
        self.policy = parse_policy(config.diffaugment)
        torch.manual_seed(config.seed)  # network initialisation
        self.generator, self.discriminator = _networks(config, n_classes, image_shape)
        self.generator.to(device)
        self.discriminator.to(device)
        self.ema = make_ema(self.generator)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=config.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=config.lr_d, betas=betas)
        self.rng = torch.Generator(device=device).manual_seed(config.seed + 1)
        self.rng_restored = True  # False after loading a noise stream saved on another kind of device
        self.resumable = True  # False when loaded from a checkpoint without D and the optimisers
        self.step = 0
        self.lecam_anchors = [0.0, 0.0]  # moving averages of D on real, on fake
        self.n_classes = n_classes
        self.feature_net: nn.Module | None = None  # built from the data at the first `train`
        self.history: dict[str, list] = {"step": [], "d_loss": [], "g_loss": [], "d_real": [], "d_fake": []}
        self.monitor_history: list[dict] = []
        self.train_seconds = 0.0

    # -- one step of each player ---------------------------------------------------------
    def _batch(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        idx = torch.randint(len(x), (self.config.batch_size,), device=self.device, generator=self.rng)
        return x[idx], y[idx]

    def _noise(self, n: int) -> Tensor:
        return torch.randn(n, self.config.z_dim, device=self.device, generator=self.rng)

    def _d_step(self, x: Tensor, y: Tensor) -> tuple[float, float, float]:
        cfg = self.config
        real, c = self._batch(x, y)
        with torch.no_grad():
            fake = self.generator(self._noise(len(c)), c)
        real_in = diff_augment(real, self.policy, self.rng)
        fake_in = diff_augment(fake, self.policy, self.rng)
        if cfg.r1_gamma > 0:
            real_in = real_in.detach().requires_grad_(True)
        if cfg.minibatch_std:  # separate passes: minibatch groups must not mix real and fake
            d_real, aux_real = self.discriminator(real_in, c, return_aux=True)
            d_fake = self.discriminator(fake_in, c)
        else:  # one pass over both halves is cheaper on small CPUs
            both, aux_both = self.discriminator(
                torch.cat([real_in, fake_in]), torch.cat([c, c]), return_aux=True
            )
            d_real, d_fake = both.split(len(c))
            aux_real = aux_both[: len(c)] if aux_both is not None else None
        loss = self.d_loss_fn(d_real, d_fake)
        if aux_real is not None:
            loss = loss + cfg.aux_weight * cross_entropy(aux_real, c)
        if cfg.r1_gamma > 0:
            (grad,) = torch.autograd.grad(d_real.sum(), real_in, create_graph=True)
            loss = loss + 0.5 * cfg.r1_gamma * grad.pow(2).sum(dim=(1, 2, 3)).mean()
        if cfg.lecam_weight > 0:
            loss = loss + cfg.lecam_weight * lecam_penalty(d_real, d_fake, *self.lecam_anchors)
            means = (float(d_real.detach().mean()), float(d_fake.detach().mean()))
            self.lecam_anchors = [
                LECAM_DECAY * anchor + (1 - LECAM_DECAY) * mean
                for anchor, mean in zip(self.lecam_anchors, means, strict=True)
            ]
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return float(loss.detach()), float(d_real.detach().mean()), float(d_fake.detach().mean())

    def _g_step(self, x: Tensor, y: Tensor) -> float:
        cfg = self.config
        if self.direct:
            real, c = self._batch(x, y)
            fake = self.generator(self._noise(len(c)), c)
            loss = conditional_mmd2(fake, c, real, c)
            if self.feature_net is not None:
                f = self.feature_net.features
                loss = loss + cfg.mmd_feature_weight * conditional_mmd2(f(fake), c, f(real), c)
        else:
            saved = self._unroll(x, y) if cfg.unrolled_steps > 0 else None
            c = y[torch.randint(len(y), (cfg.batch_size,), device=self.device, generator=self.rng)]
            fake = self.generator(self._noise(len(c)), c)
            d_fake, aux = self.discriminator(diff_augment(fake, self.policy, self.rng), c, return_aux=True)
            loss = self.g_loss_fn(d_fake)
            if aux is not None:
                loss = loss + cfg.aux_weight * cross_entropy(aux, c)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        if not self.direct and saved is not None:
            self.discriminator.load_state_dict(saved[0])
            self.opt_d.load_state_dict(saved[1])
            self.lecam_anchors = saved[2]
        update_ema(self.ema, self.generator, cfg.ema_decay, self.step)
        return float(loss.detach())

    def _unroll(self, x: Tensor, y: Tensor) -> tuple[dict, dict, list[float]]:
        """Take ``unrolled_steps`` extra D updates, returning the state to restore afterwards.

        G's loss is then computed against this look-ahead D, so G is rewarded for moves D
        cannot immediately punish — such as collapsing onto one mode. This is the first-order
        variant: gradients do not flow back through D's updates.
        """
        saved = (
            {k: v.clone() for k, v in self.discriminator.state_dict().items()},
            copy.deepcopy(self.opt_d.state_dict()),
            list(self.lecam_anchors),
        )
        for _ in range(self.config.unrolled_steps):
            self._d_step(x, y)
        return saved

    # -- the loop --------------------------------------------------------------------------
    def train(self, x: Tensor, y: Tensor, total_steps: int, progress: bool = True) -> None:
        """Run alternating updates until ``self.step == total_steps``.

        Args:
            x: real images ``(N, C, H, W)`` in [-1, 1] on the trainer's device.
            y: class indices ``(N,)``.
            total_steps: generator updates to reach (counted from the first fit, so a resumed
                trainer continues where it stopped).
            progress: show a progress bar.
        """
        cfg = self.config
        if not self.rng_restored and self.step < total_steps:
            warnings.warn(
                f"the checkpoint's noise stream was saved on another kind of device than {self.device}; "
                "training goes on with a fresh stream, so it will not repeat the original run step for step",
                stacklevel=3,
            )
            self.rng_restored = True  # said once; from here the stream is this run's own
        monitor = CollapseMonitor.from_data(x, y)
        log_every = max(1, total_steps // 200)
        started = time.perf_counter()
        if self.direct and cfg.mmd_feature_weight > 0 and self.feature_net is None:
            self.feature_net = fit_feature_net(x, y, self.n_classes, cfg.seed)
        bar = tqdm(
            total=total_steps, initial=self.step, disable=not progress, desc="GAN", unit="step",
            dynamic_ncols=True, leave=False, mininterval=1.0,
        )
        self.generator.train()
        self.discriminator.train()
        while self.step < total_steps:
            d_loss = d_real = d_fake = 0.0
            for _ in range(0 if self.direct else cfg.d_steps):
                d_loss, d_real, d_fake = self._d_step(x, y)
            g_loss = self._g_step(x, y)
            self.step += 1
            bar.update(1)
            if self.step % log_every == 0 or self.step == total_steps:
                for key, value in zip(
                    ("step", "d_loss", "g_loss", "d_real", "d_fake"),
                    (self.step, d_loss, g_loss, d_real, d_fake),
                    strict=True,
                ):
                    self.history[key].append(value)
                bar.set_postfix(d=f"{d_loss:.3f}", g=f"{g_loss:.3f}")
            if self.step % cfg.monitor_every == 0 or self.step == total_steps:
                self._monitor(monitor, y)
        bar.close()
        self.train_seconds += time.perf_counter() - started

    @torch.no_grad()
    def _monitor(self, monitor: CollapseMonitor, y: Tensor, per_class: int = 32) -> None:
        gen = torch.Generator(device=self.device).manual_seed(12345)
        samples = {}
        for c in torch.unique(y).tolist():
            labels = torch.full((per_class,), c, device=self.device, dtype=torch.long)
            z = torch.randn(per_class, self.config.z_dim, device=self.device, generator=gen)
            samples[c] = self.ema(z, labels)
        record = monitor.check(self.step, samples)
        self.monitor_history.append(
            {
                "step": record["step"],
                "ratios": {str(k): round(v, 4) for k, v in record["ratios"].items()},
                "collapsed": record["collapsed"],
            }
        )

    # -- state for checkpoints -------------------------------------------------------------
    def state_tensors(self) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Everything needed to resume training, as tensors plus JSON metadata."""
        tensors = {f"ema.{k}": v for k, v in self.ema.state_dict().items()}
        tensors |= {f"generator.{k}": v for k, v in self.generator.state_dict().items()}
        tensors |= {f"discriminator.{k}": v for k, v in self.discriminator.state_dict().items()}
        g_t, g_meta = flatten_optimizer(self.opt_g, "opt_g")
        d_t, d_meta = flatten_optimizer(self.opt_d, "opt_d")
        tensors |= g_t | d_t
        tensors["rng_state"] = self.rng.get_state()
        meta = {
            "step": self.step,
            "rng_device": self.rng.device.type,
            "opt_g": g_meta,
            "opt_d": d_meta,
            "history": self.history,
            "monitor": self.monitor_history,
            "train_seconds": self.train_seconds,
            "lecam_anchors": self.lecam_anchors,
        }
        return tensors, meta

    def load_state(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        def part(prefix: str) -> dict[str, Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.ema.load_state_dict(part("ema."))
        self.generator.load_state_dict(part("generator."))
        self.discriminator.load_state_dict(part("discriminator."))
        restore_optimizer(self.opt_g, tensors, meta["opt_g"], "opt_g")
        restore_optimizer(self.opt_d, tensors, meta["opt_d"], "opt_d")
        if "rng_state" in tensors:
            state = tensors["rng_state"].to(torch.uint8).cpu()
            # A CUDA generator's state means nothing to a CPU one and the other way round: such a
            # checkpoint samples the same, and resumed training says it goes on with a new stream.
            # Checkpoints before "rng_device" are told apart by the state's size.
            saved_on = meta.get("rng_device")
            here = self.rng.device.type
            self.rng_restored = saved_on == here if saved_on else state.numel() == self.rng.get_state().numel()
            if self.rng_restored:
                self.rng.set_state(state)  # a damaged state of the right kind raises: CheckpointError
        self.step = int(meta["step"])
        self.history = {k: list(v) for k, v in meta["history"].items()}
        self.monitor_history = list(meta.get("monitor", []))
        self.train_seconds = float(meta.get("train_seconds", 0.0))
        self.lecam_anchors = [float(a) for a in meta.get("lecam_anchors", [0.0, 0.0])]


def _networks(
    config: GANConfig, n_classes: int, image_shape: tuple[int, int, int]
) -> tuple[nn.Module, nn.Module]:
    """G and D for ``config.conditioning``: one conditional pair, or one pair per class."""

    def generator(k: int) -> Generator:
        return Generator(k, image_shape, config.z_dim, config.g_channels)

    def discriminator(k: int) -> Discriminator:
        return Discriminator(
            k, image_shape, config.d_channels, minibatch_std=config.minibatch_std,
            aux_classifier=config.aux_weight > 0,
        )

    if config.conditioning == "per-class":
        return PerClass(lambda: generator(1), n_classes), PerClass(lambda: discriminator(1), n_classes)
    return generator(n_classes), discriminator(n_classes)
