"""`Trainer`: runs an objective on the data — the random stream, EMA, monitor, progress,
history and the state a checkpoint needs to resume."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm

from ganaug.models import Sampler, build_generator
from ganaug.training import distributed
from ganaug.training.checkpoint import flatten_optimizer, restore_optimizer
from ganaug.training.config import GANConfig
from ganaug.training.ema import make_ema, update_ema
from ganaug.training.monitor import CollapseMonitor
from ganaug.training.objectives import Batches, Objective, make_objective
from ganaug.training.transfer import TransferSource, load_source
from ganaug.utils import resolve_device

Tensor = torch.Tensor
HISTORY_KEYS = ("step", "d_loss", "g_loss", "d_real", "d_fake")
# Under DDP, rank r draws its batches, noise and augmentations from seed + 1 + r × this.
RANK_SEED_STRIDE = 1_000_003


class TrainingDiverged(RuntimeError):
    """Training went to NaN or inf (losses or weights); the run is stopped and nothing of it kept."""


def trainable_device(device: str | torch.device = "auto") -> torch.device:
    """`resolve_device`, then a probe that ganaug can train and sample there.

    Raises:
        ValueError: naming the device, e.g. ``meta`` (tensors without data) or a backend this
            torch was built without.
    """
    resolved = resolve_device(device)
    try:
        torch.Generator(device=resolved)  # the noise stream lives on the device
        torch.zeros(1, device=resolved).cpu()  # samples come back to the host
    except (RuntimeError, NotImplementedError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"device {str(device)!r} cannot train or sample ganaug's networks ({first}); use cpu or cuda"
        ) from None
    return resolved


class Trainer:
    """Trains one conditional generator with the objective ``config.loss`` names.

    Under ``torchrun`` (``WORLD_SIZE`` > 1, or a process group already initialised) it runs data
    parallel, unchanged: G and D train in `DistributedDataParallel`; each rank draws its own
    minibatches of ``config.batch_size`` (a step sees world size × batch size images) from a
    stream seeded by its rank; progress and callbacks (checkpoints) run on rank 0 only.

    Args:
        config: the resolved settings (no ``"auto"``, no None sizes).
        n_classes: number of classes.
        image_shape: ``(C, H, W)``.
        device: torch device for everything.
        objective: builds the objective, and the generator it trains, on ``device`` (e.g. the DAGAN
            pair game, whose config is not a `GANConfig`); called after torch is seeded from
            ``config.seed``. Default: ``config.loss``'s objective on a ``G(z, c)``.
    """

    def __init__(
        self, config: GANConfig, n_classes: int, image_shape: tuple[int, int, int], device: torch.device,
        objective: Callable[[], Objective] | None = None,
    ) -> None:
        self.device, self.n_classes, self.image_shape = device, n_classes, tuple(image_shape)
        distributed.init_from_env(device)
        torch.manual_seed(config.seed)  # network initialisation: the same on every rank
        if objective is None:
            generator = build_generator(
                n_classes, image_shape, config.z_dim, config.g_channels, per_class=config.conditioning == "per-class"
            ).to(device)
            self.objective: Objective = make_objective(config, generator, n_classes, image_shape)
        else:
            self.objective = objective()
        self.config = self.objective.config  # with what the objective sized from its networks
        self.ema = make_ema(self.objective.generator)
        self.rng = torch.Generator(device=device).manual_seed(self._stream_seed())
        self._wrapped = False
        self.rng_restored = True  # False after loading a noise stream saved on another kind of device
        self.step = 0
        self.history: dict[str, list] = {k: [] for k in HISTORY_KEYS}
        self.monitor_history: list[dict] = []
        self.train_seconds = 0.0

    @property
    def generator(self) -> torch.nn.Module:
        return self.objective.generator

    def _stream_seed(self, step: int = 0) -> int:
        return self.config.seed + 1 + RANK_SEED_STRIDE * distributed.rank() + step

    def start_from(self, source: TransferSource) -> None:
        """Fine-tune ``source`` (a new trainer, before `train`): its weights in G, the EMA copy and
        D, the new classes' rows at the mean of the source's (see `ganaug.training.transfer`)."""
        nets = {name: distributed.unwrap(net) for name, net in self.objective.networks().items()}
        load_source(source, nets, self.ema, self.config, self.image_shape)

    def _distribute(self) -> None:
        """Wrap the trained networks in DDP once, when there is more than one rank."""
        if self._wrapped or distributed.world_size() < 2:
            return
        find_unused = self.config.conditioning == "per-class"  # a class absent from a batch leaves its nets unused
        self.objective.wrap_networks(lambda net: distributed.wrap(net, self.device, find_unused))
        self._wrapped = True

    def sampler(self) -> Sampler:
        """What a fitted augmenter keeps: the EMA generator, ready to sample."""
        return Sampler(self.ema, self.n_classes)

    def train(
        self, x: Tensor, y: Tensor, total_steps: int, progress: bool = True,
        callbacks: Sequence[Callable[[Trainer], None]] = (),
    ) -> None:
        """Run updates until ``self.step == total_steps``.

        Args:
            x: real images ``(N, C, H, W)`` in [-1, 1] on the trainer's device.
            y: class indices ``(N,)``.
            total_steps: generator updates to reach (counted from the first fit, so a resumed
                trainer continues where it stopped).
            progress: show a progress bar (rank 0 only).
            callbacks: each called with the trainer after every update (a periodic checkpoint:
                `check_finite` first, then save `state_tensors`), on rank 0 only.

        Raises:
            TrainingDiverged: a loss or a weight of G or its EMA went NaN or inf; the error
                names the step.
        """
        self._warn_if_new_stream(total_steps)
        monitor = CollapseMonitor.from_data(x, y)
        log_every = max(1, total_steps // 200)
        started = time.perf_counter()
        self.objective.prepare(x, y)
        self._distribute()
        main = distributed.is_main()
        callbacks = callbacks if main else ()
        batches = Batches(x, y, self.config.batch_size, self.config.z_dim, self.rng,
                          sampling=getattr(self.config, "sampling", "uniform"))
        bar = tqdm(
            total=total_steps, initial=self.step, disable=not (progress and main), desc="GAN", unit="step",
            dynamic_ncols=True, leave=False, mininterval=1.0,
        )
        self.objective.train()
        try:
            while self.step < total_steps:
                losses = self.objective.step(batches)
                update_ema(self.ema, self.generator, self.config.ema_decay, self.step)
                self.step += 1
                bar.update(1)
                self._check_losses(losses)
                if self.step % log_every == 0 or self.step == total_steps:
                    self.check_finite()  # weights: a few times per run, and at the end
                    self._log(losses, bar)
                if self.step % self.config.monitor_every == 0 or self.step == total_steps:
                    self._monitor(monitor, y)
                for callback in callbacks:
                    callback(self)
        finally:
            bar.close()
            self.train_seconds += time.perf_counter() - started

    def _check_losses(self, losses: dict[str, float]) -> None:
        bad = [f"{k}={v}" for k, v in losses.items() if not math.isfinite(v)]
        if bad:
            raise self._diverged(", ".join(bad))

    def check_finite(self) -> None:
        """Raise `TrainingDiverged` when a weight of G or of its EMA copy is NaN or inf."""
        for name, net in (("generator", self.generator), ("EMA generator", self.ema)):
            for key, value in net.state_dict().items():
                if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                    raise self._diverged(f"{name} weight {key}")

    def _diverged(self, what: str) -> TrainingDiverged:
        lrs = f"lr_g={self.config.lr_g:g}" + ("" if self.config.loss == "mmd" else f", lr_d={self.config.lr_d:g}")
        return TrainingDiverged(
            f"training diverged at step {self.step}: {what} went NaN or inf; the run was stopped and "
            f"not kept: lower the learning rate ({lrs}) and train again"
        )

    def _warn_if_new_stream(self, total_steps: int) -> None:
        if not self.rng_restored and self.step < total_steps:
            warnings.warn(
                f"the checkpoint's noise stream was saved on another kind of device than {self.device}; "
                "training goes on with a fresh stream, so it will not repeat the original run step for step",
                stacklevel=4,
            )
            self.rng_restored = True  # said once; from here the stream is this run's own

    def _log(self, losses: dict[str, float], bar: tqdm) -> None:
        self.history["step"].append(self.step)
        for key in HISTORY_KEYS[1:]:
            self.history[key].append(losses[key])
        bar.set_postfix(d=f"{losses['d_loss']:.3f}", g=f"{losses['g_loss']:.3f}")

    @torch.no_grad()
    def _monitor(self, monitor: CollapseMonitor, y: Tensor, per_class: int = 32) -> None:
        gen = torch.Generator(device=self.device).manual_seed(12345)
        samples = {}
        for c in torch.unique(y).tolist():
            labels = torch.full((per_class,), c, device=self.device, dtype=torch.long)
            z = torch.randn(per_class, self.config.z_dim, device=self.device, generator=gen)
            samples[c] = self.objective.draw(self.ema, labels, z, gen)
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
        for name, net in self.objective.networks().items():
            tensors |= {f"{name}.{k}": v for k, v in distributed.unwrap(net).state_dict().items()}
        meta: dict[str, Any] = {"step": self.step, "rng_device": self.rng.device.type}
        if distributed.world_size() > 1:
            meta["world_size"] = distributed.world_size()  # the stream saved is rank 0's
        for name, opt in self.objective.optimizers().items():
            opt_tensors, meta[name] = flatten_optimizer(opt, name)
            tensors |= opt_tensors
        tensors["rng_state"] = self.rng.get_state()
        meta |= {"history": self.history, "monitor": self.monitor_history, "train_seconds": self.train_seconds}
        return tensors, meta | self.objective.extra_state()

    def load_state(self, tensors: dict[str, Tensor], meta: dict[str, Any]) -> None:
        """Restore `state_tensors`' output (also a checkpoint written before the redesign, whose
        matching networks carried an unused discriminator: those tensors are ignored)."""

        def part(prefix: str) -> dict[str, Tensor]:
            return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}

        self.ema.load_state_dict(part("ema."))
        for name, net in self.objective.networks().items():
            distributed.unwrap(net).load_state_dict(part(f"{name}."))
        for name, opt in self.objective.optimizers().items():
            restore_optimizer(opt, tensors, meta[name], name)
        self.step = int(meta["step"])
        if distributed.rank() > 0:
            # The checkpoint holds rank 0's stream; another rank goes on with one of its own,
            # seeded by its rank and the step (a resumed DDP run is reproducible, but only rank 0
            # repeats the uninterrupted run's draws).
            self.rng.manual_seed(self._stream_seed(self.step))
        elif "rng_state" in tensors:
            self._restore_rng(tensors["rng_state"].to(torch.uint8).cpu(), meta.get("rng_device"))
        self.history = {k: list(v) for k, v in meta["history"].items()}
        self.monitor_history = list(meta.get("monitor", []))
        self.train_seconds = float(meta.get("train_seconds", 0.0))
        self.objective.load_extra_state(meta)

    def _restore_rng(self, state: Tensor, saved_on: str | None) -> None:
        # A CUDA generator's state means nothing to a CPU one and the other way round: such a
        # checkpoint samples the same, and resumed training says it goes on with a new stream.
        # Checkpoints before "rng_device" are told apart by the state's size.
        here = self.rng.device.type
        self.rng_restored = saved_on == here if saved_on else state.numel() == self.rng.get_state().numel()
        if self.rng_restored:
            self.rng.set_state(state)  # a damaged state of the right kind raises: CheckpointError
