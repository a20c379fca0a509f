"""How fast ganaug's loops run, against the machine's achievable FLOP/s and a plain PyTorch loop.

    python benchmarks/speed.py                                   # every section, 3 repeats each
    python benchmarks/speed.py --only gan_loop,classifier_step --repeats 5   # replaces those sections
    python benchmarks/speed.py --quick --out /tmp/speed.json     # a smoke run: seconds, numbers meaningless

Sections (every rate with min/median/max over the repeats, and the repeats themselves):

  peak_gflops      float32 GFLOP/s of a matmul and of a conv2d forward+backward (64×64ch, 14×14, 3×3)
  gan_loop         steps/s of GANAugmenter.fit (hinge, no DiffAugment, ema_decay=0) at 8×8 (digits)
                   and 28×28 (500 random images), beside a hand-written eager loop of the same
                   networks in the same process; their ratio; % of peak; the matching network (mmd)
  classifier_step  TorchClassifier("cnn") steps/s at 8×8 and 28×28, without and with BatchAugment
  compile_step     the classifier's and the matching network G's training step at 28×28, eager vs
                   torch.compile: steps/s, the first step's seconds, the steps that repay compiling
  inference        sampling G and the classifier's predictions at 28×28, torch.no_grad vs
                   torch.inference_mode: items/s and their ratio
  cell             one digits evaluation cell at 10/class through run_evaluation: its stage times
  mix_overhead     an epoch of the examples/ CNN over 2,000 real items, plain vs mix_loader vs
                   SyntheticMixDataset (ratio 1)
  rss              peak memory of `ganaug pretrain` and of the demo (`ganaug evaluate --dataset digits`)
  demo             the demo's wall time, and that of `evaluate --quick` (same runs as rss)

FLOPs are what torch.utils.flop_counter.FlopCounterMode counts (matmuls and convolutions, forward and
backward; no elementwise op, no optimiser update), so "% of peak" = counted FLOPs per step × steps/s
÷ the median conv2d GFLOP/s: how much of what the cores reach on a typical conv the loop uses.

``--readme`` rewrites the README's timing sentence (between ``<!-- speed:begin -->`` and
``<!-- speed:end -->``) from the committed speed.json and runs nothing.

Writes benchmarks/results/speed.json; with --only, into the one there, whose other sections keep
their own "measured" (date, machine, command, repeats) (--quick: a temporary file unless --out is given, and the JSON
says "quick": true). Time it on an otherwise idle machine: anything else running shares the cores.
rss and demo run the real CLI in subprocesses: on 2 cores about 17 minutes per repeat.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.functional import cross_entropy, relu
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode

from ganaug import ArrayDataset, GANAugmenter, SyntheticMixDataset, load_dataset, mix_loader
from ganaug.data.pixels import to_model
from ganaug.evaluation.batch_augment import BatchAugment
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.models import build_discriminator, build_generator
from ganaug.models.classifier import build_network
from ganaug.training.classifier import TorchClassifier, channels_last
from ganaug.training.config import GANConfig
from ganaug.training.losses import conditional_mmd2
from ganaug.training.objectives import Batches
from ganaug.training.trainer import Trainer
from ganaug.utils import finite_json, machine, resolve_device, versions

RESULTS = Path(__file__).parent / "results"
SECTIONS = ("peak_gflops", "gan_loop", "classifier_step", "compile_step", "inference", "cell", "mix_overhead", "rss", "demo")
NEEDS_PEAK = ("gan_loop", "classifier_step")  # their "% of peak" divides by peak_gflops
QUICK_SKIPS = ("compile_step", "rss", "demo")  # run in --quick only when --only names them
RESOLUTIONS = ("8x8", "28x28")
FULL = {"peak_seconds": 0.5, "gan_steps": 200, "warm_steps": 10, "classifier_steps": 200, "mix_items": 2000,
        "mix_gan_steps": 20, "inference_items": 8192, "cell_eval": {}}
QUICK = {"peak_seconds": 0.05, "gan_steps": 5, "warm_steps": 1, "classifier_steps": 5, "mix_items": 256,
         "mix_gan_steps": 2, "inference_items": 1024, "cell_eval": {"classifier_steps": 10, "feature_steps": 10, "metric_samples": 100}}
# The adversarial loop with nothing beside D and G: no DiffAugment; ema_decay=0 (update_ema still
# runs, as a copy of G's weights: GANConfig has no way to switch the EMA off).
HINGE = {"loss": "hinge", "diffaugment": "", "ema_decay": 0.0}
NEVER = 10**9  # monitor_every: the collapse monitor then runs once, at the last step


@dataclass
class Bench:
    """What every section shares: the device, the sizes, and measurements reused across sections."""

    device: torch.device
    repeats: int
    quick: bool
    size: dict[str, Any]
    peak: dict[str, Any] | None = None
    processes: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def conv_peak(self) -> float:
        """The median conv2d forward+backward GFLOP/s, the denominator of every "% of peak"."""
        return self.peak["conv2d_fwd_bwd"]["gflops"]["median"]

    def percent(self, flops_per_step: int, steps_per_s: float) -> float:
        return round(100 * flops_per_step * steps_per_s / (self.conv_peak * 1e9), 2)


# -- helpers ----------------------------------------------------------------------------------
def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _stats(values: list[float], digits: int = 3) -> dict[str, Any]:
    ordered = sorted(values)
    return {"min": round(ordered[0], digits), "median": round(statistics.median(ordered), digits),
            "max": round(ordered[-1], digits), "repeats": [round(v, digits) for v in values]}


def _flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` as FlopCounterMode counts them."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def _images(resolution: str) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images and class indices: sklearn digits (8×8) or 500 random 28×28 images, 10 classes."""
    if resolution == "8x8":
        digits = load_dataset("digits")
        return digits.data, digits.targets
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(500, 28, 28), dtype=np.uint8), np.arange(500) % 10


@contextmanager
def _environment(**values: str):
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# -- 1. peak ----------------------------------------------------------------------------------
def _gflops(bench: Bench, fn: Callable[[], Any]) -> dict[str, Any]:
    """GFLOP/s of ``fn`` over the repeats, each long enough for ``peak_seconds`` after a warm-up."""
    flops = _flops(fn)
    for _ in range(3):
        fn()
    _sync(bench.device)
    started = time.perf_counter()
    fn()
    _sync(bench.device)
    iterations = max(3, math.ceil(bench.size["peak_seconds"] / max(time.perf_counter() - started, 1e-6)))
    rates = []
    for _ in range(bench.repeats):
        _sync(bench.device)
        started = time.perf_counter()
        for _ in range(iterations):
            fn()
        _sync(bench.device)
        rates.append(flops * iterations / (time.perf_counter() - started) / 1e9)
    return {"flops": flops, "iterations": iterations, "gflops": _stats(rates, 1)}


def peak_gflops(bench: Bench) -> dict[str, Any]:
    """The float32 GFLOP/s a large matmul and a typical conv2d forward+backward reach."""
    device, n = bench.device, 4096 if bench.device.type == "cuda" else 1024
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randn(n, n, generator=gen).to(device) for _ in range(2))
    conv = nn.Conv2d(64, 64, 3, padding=1).to(device)
    x = torch.randn(64, 64, 14, 14, generator=gen).to(device).requires_grad_(True)  # (B, C, H, W)
    grad = torch.ones(64, 64, 14, 14, device=device)
    out = {
        "matmul": {"shape": f"{n}x{n} @ {n}x{n}"} | _gflops(bench, lambda: a @ b),
        "conv2d_fwd_bwd": {"shape": "x (64, 64, 14, 14), 64->64 channels, 3x3, padding 1; grads of input and weights"}
        | _gflops(bench, lambda: conv(x).backward(grad)),
        "note": "every '% of peak' divides by conv2d_fwd_bwd's median",
    }
    if device.type == "cuda":
        out["tf32"] = {"matmul": torch.backends.cuda.matmul.allow_tf32, "cudnn": torch.backends.cudnn.allow_tf32}
    return out


# -- 2. the GAN loop --------------------------------------------------------------------------
class PlainGAN:
    """The fitted augmenter's G and D (same sizes), freshly initialised, trained by a hand-written
    eager hinge loop: Adam with the same lrs and betas, the same batch size, random minibatches
    drawn from an in-memory tensor, no EMA, no checks, no logging."""

    def __init__(self, aug: GANAugmenter, images: np.ndarray, labels: np.ndarray, device: torch.device,
                 seed: int) -> None:
        cfg, chw, k = aug.config_, (aug.n_channels_, *aug.image_shape_[:2]), len(aug.classes_)
        torch.manual_seed(seed)
        self.g = build_generator(k, chw, cfg.z_dim, cfg.g_channels).to(device).train()
        self.d = build_discriminator(k, chw, cfg.d_channels).to(device).train()
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=cfg.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=cfg.lr_d, betas=betas)
        self.x = to_model(images).to(device)  # (N, C, H, W) in [-1, 1]
        self.y = torch.as_tensor(np.searchsorted(aug.classes_, labels), dtype=torch.long, device=device)
        self.batch, self.z_dim, self.device = cfg.batch_size, cfg.z_dim, device

    def step(self) -> None:
        """One D update, then one G update."""
        b, device = self.batch, self.device
        idx = torch.randint(len(self.x), (b,), device=device)
        real, c = self.x[idx], self.y[idx]
        with torch.no_grad():
            fake = self.g(torch.randn(b, self.z_dim, device=device), c)
        # One D pass over both halves, as ganaug's D step does without minibatch_std.
        d_real, d_fake = self.d(torch.cat([real, fake]), torch.cat([c, c])).split(b)
        d_loss = relu(1.0 - d_real).mean() + relu(1.0 + d_fake).mean()
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        c = self.y[torch.randint(len(self.y), (b,), device=device)]
        g_loss = -self.d(self.g(torch.randn(b, self.z_dim, device=device), c), c).mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()

    def rate(self, steps: int) -> float:
        _sync(self.device)
        started = time.perf_counter()
        for _ in range(steps):
            self.step()
        _sync(self.device)
        return steps / (time.perf_counter() - started)


def _fit(bench: Bench, images: np.ndarray, labels: np.ndarray, steps: int, seed: int,
         settings: dict[str, Any]) -> tuple[GANAugmenter, float, float]:
    """A fitted augmenter, its steps/s over the trainer's own clock and over fit()'s wall time."""
    aug = GANAugmenter(steps=steps, seed=seed, device=str(bench.device), verbose=False, monitor_every=NEVER,
                       **settings)
    started = time.perf_counter()
    aug.fit(images, labels)
    _sync(bench.device)
    return aug, steps / aug.train_seconds_, steps / (time.perf_counter() - started)


def _objective_flops(aug: GANAugmenter, images: np.ndarray, labels: np.ndarray, device: torch.device) -> int:
    """FLOPs of one update of ganaug's own objective, built from the augmenter's config."""
    cfg = aug.config_
    trainer = Trainer(cfg, len(aug.classes_), (aug.n_channels_, *aug.image_shape_[:2]), device)
    x = to_model(images).to(device)
    y = torch.as_tensor(np.searchsorted(aug.classes_, labels), dtype=torch.long, device=device)
    trainer.objective.prepare(x, y)
    trainer.objective.train()
    batches = Batches(x, y, cfg.batch_size, cfg.z_dim, trainer.rng)
    return _flops(lambda: trainer.objective.step(batches))


def _gan_pair(bench: Bench, resolution: str) -> dict[str, Any]:
    """ganaug's adversarial loop and the plain one, alternated repeat by repeat."""
    images, labels = _images(resolution)
    steps, warm = bench.size["gan_steps"], bench.size["warm_steps"]
    aug, _, _ = _fit(bench, images, labels, warm, 0, HINGE)  # warm-up of both
    PlainGAN(aug, images, labels, bench.device, 0).rate(warm)
    ours, ours_fit, plain = [], [], []
    for repeat in range(bench.repeats):
        # Which loop goes first alternates, so a machine that speeds up or slows down over the
        # run (turbo, a neighbour) favours neither.
        if repeat % 2:
            plain.append(PlainGAN(aug, images, labels, bench.device, repeat).rate(steps))
        aug, rate, fit_rate = _fit(bench, images, labels, steps, repeat, HINGE)
        ours.append(rate)
        ours_fit.append(fit_rate)
        if not repeat % 2:
            plain.append(PlainGAN(aug, images, labels, bench.device, repeat).rate(steps))
    flops = _flops(PlainGAN(aug, images, labels, bench.device, 0).step)
    ours_flops = _objective_flops(aug, images, labels, bench.device)
    ratios = [a / b for a, b in zip(ours, plain, strict=True)]
    cfg = aug.config_
    return {
        "image_shape": list(aug.image_shape_), "n_images": len(images), "steps": steps,
        "config": {k: getattr(cfg, k) for k in ("batch_size", "z_dim", "g_channels", "d_channels", "lr_g", "lr_d",
                                                "beta1", "beta2", "diffaugment", "ema_decay")},
        "weights_checked_every": max(1, steps // 200),
        "ganaug_steps_per_s": _stats(ours), "ganaug_fit_steps_per_s": _stats(ours_fit),
        "plain_steps_per_s": _stats(plain), "ratio": _stats(ratios),
        "flops_per_step": flops,
        "flops_per_step_ganaug_objective": ours_flops,
        "percent_of_peak": {"ganaug": bench.percent(ours_flops, statistics.median(ours)),
                            "plain": bench.percent(flops, statistics.median(plain))},
    }


def _mmd(bench: Bench) -> dict[str, Any]:
    """The generative matching network (loss="mmd") at 8×8: steps/s and % of peak."""
    images, labels = _images("8x8")
    settings = {"loss": "mmd", "ema_decay": 0.0}
    aug, _, _ = _fit(bench, images, labels, bench.size["warm_steps"], 0, settings)
    runs = [_fit(bench, images, labels, bench.size["gan_steps"], r, settings) for r in range(bench.repeats)]
    rates = [r[1] for r in runs]
    flops = _objective_flops(runs[-1][0], images, labels, bench.device)
    return {"image_shape": [8, 8], "steps": bench.size["gan_steps"], "batch_size": runs[-1][0].config_.batch_size,
            "steps_per_s": _stats(rates), "fit_steps_per_s": _stats([r[2] for r in runs]),
            "flops_per_step": flops, "percent_of_peak": bench.percent(flops, statistics.median(rates))}


def gan_loop(bench: Bench) -> dict[str, Any]:
    """Section 2: ganaug's training loop against a plain one of the same networks."""
    return {
        "how": "ganaug_steps_per_s = steps / GANAugmenter.train_seconds_ (the trainer's own clock: the loop, "
               "update_ema, loss and weight checks, the one monitor pass at the end); ganaug_fit_steps_per_s = "
               "steps / fit() wall time (data checks, network construction too); plain_steps_per_s: PlainGAN, the "
               "same G and D sizes, hinge, Adam, batch size, no EMA (ganaug's ema_decay=0 still runs update_ema, "
               "as a copy of G's weights every step), D's weight gradients computed in G's update as a naive loop "
               "does (ganaug's G update leaves them out); ratio = ganaug / plain, paired per repeat, which of the "
               "two runs first alternating; "
               "flops_per_step counted on the plain step (D step + G step, forward and backward), and "
               "flops_per_step_ganaug_objective on ganaug's own objective step (fewer: its G update skips D's weight "
               "gradients); each loop's % of peak counts its own FLOPs; weights_checked_every: the trainer checks G's weights for NaN every steps // 200 steps "
               "(every step at 200 steps; every ~7 in a default-length digits run)",
        **{resolution: _gan_pair(bench, resolution) for resolution in RESOLUTIONS},
        "mmd_8x8": _mmd(bench),
    }


# -- 3. the classifier step -------------------------------------------------------------------
def _classifier_rate(bench: Bench, images: np.ndarray, labels: np.ndarray, steps: int, seed: int,
                     augment: BatchAugment | None) -> float:
    clf = TorchClassifier("cnn", steps=steps, batch_size=64, seed=seed, device=str(bench.device), augment=augment)
    started = time.perf_counter()
    clf.fit(images, labels)
    _sync(bench.device)
    return steps / (time.perf_counter() - started)


def _classifier_flops(images: np.ndarray, labels: np.ndarray, device: torch.device) -> int:
    net = build_network("cnn", tuple(images.shape[1:]), int(labels.max()) + 1).to(device).train()
    x = to_model(images[:64]).to(device)
    y = torch.as_tensor(labels[:64], dtype=torch.long, device=device)
    return _flops(lambda: cross_entropy(net(x), y).backward())


def classifier_step(bench: Bench) -> dict[str, Any]:
    """Section 3: TorchClassifier("cnn") steps/s, without and with BatchAugment, alternated."""
    steps, out = bench.size["classifier_steps"], {}
    variants = {"plain": lambda: None, "batch_augment": lambda: BatchAugment(0, seed=0)}
    for resolution in RESOLUTIONS:
        images, labels = _images(resolution)
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for make in variants.values():  # warm-up
            _classifier_rate(bench, images, labels, bench.size["warm_steps"], 0, make())
        for repeat in range(bench.repeats):
            for name, make in variants.items():
                rates[name].append(_classifier_rate(bench, images, labels, steps, repeat, make()))
        flops = _classifier_flops(images, labels, bench.device)
        row: dict[str, Any] = {"image_shape": list(images.shape[1:]), "n_images": len(images), "steps": steps,
                               "batch_size": 64, "flops_per_step": flops}
        for name, values in rates.items():
            row[name] = {"steps_per_s": _stats(values), "percent_of_peak": bench.percent(flops, statistics.median(values))}
        row["augment_cost_percent"] = round(100 * (statistics.median(rates["plain"])
                                                   / statistics.median(rates["batch_augment"]) - 1), 1)
        out[resolution] = row
    out["how"] = ("steps / TorchClassifier.fit() wall time (uint8 -> tensors, network construction, DataLoader "
                  "epochs of the in-memory set); flops_per_step: the CNN's forward + cross-entropy + backward on one "
                  "batch (BatchAugment's grid_sample adds none FlopCounterMode counts); augment_cost_percent = "
                  "median plain rate / median augmented rate - 1")
    return out


# -- 3b. torch.compile -----------------------------------------------------------------------
def _compile_pair(bench: Bench, build: Callable[[], nn.Module], loss: Callable[[nn.Module], torch.Tensor]) -> dict[str, Any]:
    """One network's training step (``loss(net)``, backward, Adam) eager and under torch.compile:
    the first step's seconds (compilation included), then steps/s, the two alternating by repeat."""
    runs = {}
    for mode in ("eager", "compiled"):
        torch.manual_seed(0)
        net = build().to(bench.device).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        model = torch.compile(net) if mode == "compiled" else net

        def step(model: nn.Module = model, opt: torch.optim.Optimizer = opt) -> None:
            value = loss(model)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()

        started = time.perf_counter()
        step()
        _sync(bench.device)
        runs[mode] = {"step": step, "first_step_seconds": time.perf_counter() - started, "rates": []}
        for _ in range(bench.size["warm_steps"]):
            step()
    steps = bench.size["classifier_steps"]
    for repeat in range(bench.repeats):
        for mode in (("eager", "compiled") if repeat % 2 == 0 else ("compiled", "eager")):
            _sync(bench.device)
            started = time.perf_counter()
            for _ in range(steps):
                runs[mode]["step"]()
            _sync(bench.device)
            runs[mode]["rates"].append(steps / (time.perf_counter() - started))
    eager, compiled = (statistics.median(runs[m]["rates"]) for m in ("eager", "compiled"))
    saved = 1 / eager - 1 / compiled  # seconds a compiled step saves
    overhead = runs["compiled"]["first_step_seconds"] - runs["eager"]["first_step_seconds"]
    return {
        **{f"{m}_steps_per_s": _stats(runs[m]["rates"]) for m in runs},
        **{f"{m}_first_step_seconds": round(runs[m]["first_step_seconds"], 2) for m in runs},
        "speedup": round(compiled / eager, 3),
        "break_even_steps": math.ceil(overhead / saved) if saved > 0 else None,
    }


def compile_step(bench: Bench) -> dict[str, Any]:
    """Section 3b: does torch.compile pay for ganaug's networks at a cell's sizes? The classifier
    (channels-last, as TorchClassifier runs it) and the matching network's G (its MMD loss), 28×28."""
    images, labels = _images("28x28")
    x = to_model(images[:64]).to(bench.device)
    y = torch.as_tensor(labels[:64], dtype=torch.long, device=bench.device)
    z = torch.randn(64, 64, device=bench.device)

    def classifier() -> nn.Module:
        return channels_last(build_network("cnn", (28, 28), 10))

    x_last = x.contiguous(memory_format=torch.channels_last)  # the classifier's layout

    def classifier_loss(net: nn.Module) -> torch.Tensor:
        return cross_entropy(net(x_last), y)

    def generator() -> nn.Module:
        return build_generator(10, (1, 28, 28), 64, 64)

    def generator_loss(net: nn.Module) -> torch.Tensor:
        return conditional_mmd2(net(z, y), y, x, y)

    # A cold start, as a fresh machine or a new cell's worker would have it: inductor's on-disk
    # cache of compiled kernels is empty (a warm one cut the first compiled step 10-fold).
    with tempfile.TemporaryDirectory() as cache, _environment(TORCHINDUCTOR_CACHE_DIR=cache):
        torch._dynamo.reset()
        return {
            "how": "one training step (forward, loss, backward, Adam) of a freshly built network, eager and "
                   "torch.compile(network) (default mode, inductor, an empty kernel cache), batch 64; "
                   "first_step_seconds include compilation; steps/s after warm-up, the two alternating which "
                   "runs first; break_even_steps: steps after which the compiled network has made up its "
                   "compilation time (null: it never does)",
            "classifier_28x28": _compile_pair(bench, classifier, classifier_loss),
            "mmd_generator_28x28": _compile_pair(bench, generator, generator_loss),
        }


# -- 3c. inference_mode ----------------------------------------------------------------------
def _grad_mode_pair(bench: Bench, work: Callable[[], Any], items: int) -> dict[str, Any]:
    """``work()`` under torch.no_grad (as ganaug runs it) and under torch.inference_mode:
    items/s of each, alternating which runs first."""
    modes = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    for mode in modes.values():  # warm-up
        with mode():
            work()
    for repeat in range(bench.repeats):
        for name in (list(modes) if repeat % 2 == 0 else list(modes)[::-1]):
            _sync(bench.device)
            started = time.perf_counter()
            with modes[name]():
                work()
            _sync(bench.device)
            rates[name].append(items / (time.perf_counter() - started))
    return {**{f"{m}_items_per_s": _stats(rates[m], 1) for m in modes},
            "speedup": round(statistics.median(rates["inference_mode"]) / statistics.median(rates["no_grad"]), 3)}


def inference(bench: Bench) -> dict[str, Any]:
    """Section 3c: does torch.inference_mode pay over torch.no_grad where ganaug draws samples
    and predicts? The generator at 28x28 (a sampler's batches of 1,024) and the classifier's
    forward over 28x28 images (TorchClassifier's batches of 1,024, channels-last)."""
    n = bench.size["inference_items"]
    torch.manual_seed(0)
    generator = build_generator(10, (1, 28, 28), 64, 64).to(bench.device).eval()
    classifier = channels_last(build_network("cnn", (28, 28), 10)).to(bench.device).eval()
    z = torch.randn(n, 64, device=bench.device)
    c = torch.arange(n, device=bench.device) % 10
    x = torch.randn(n, 1, 28, 28, device=bench.device).contiguous(memory_format=torch.channels_last)

    def sample() -> None:
        for i in range(0, n, 1024):
            generator(z[i : i + 1024], c[i : i + 1024])

    def predict() -> None:
        for i in range(0, n, 1024):
            classifier(x[i : i + 1024]).softmax(dim=1)

    return {"how": f"{n} items in batches of 1,024, the same work under torch.no_grad and torch.inference_mode, "
                   "alternating which runs first; speedup = median inference_mode rate / median no_grad rate",
            "generator_sample_28x28": _grad_mode_pair(bench, sample, n),
            "classifier_predict_28x28": _grad_mode_pair(bench, predict, n)}


# -- 4. one evaluation cell -------------------------------------------------------------------
def _cell_breakdown(record: dict[str, Any], wall: float) -> dict[str, Any]:
    gan = float(record["gan"]["train_seconds"])
    conditions = {c: float(v["seconds"]) for c, v in record["results"].items()}
    cell_wall = float(record["wall_seconds"])
    return {"run_evaluation_seconds": wall, "cell_wall_seconds": cell_wall, "gan_train_seconds": gan,
            "gan_steps": record["gan"]["steps"], "classifier_steps": record["classifier_steps"],
            "conditions_seconds": conditions,
            "metrics_and_other_seconds": cell_wall - gan - sum(conditions.values())}


def cell(bench: Bench) -> dict[str, Any]:
    """Section 4: the stage times of one digits cell at 10/class, read from its cell record."""
    extra = dict(bench.size["cell_eval"])
    gan = GANConfig(steps=10) if bench.quick else GANConfig()
    config = EvalConfig(dataset="digits", per_class=(10,), seeds=(0,), device=str(bench.device), gan=gan, **extra)
    runs = []
    for _ in range(bench.repeats):
        with tempfile.TemporaryDirectory() as scratch, _environment(GANAUG_CACHE=str(Path(scratch) / "cache")):
            started = time.perf_counter()
            run_evaluation(config, Path(scratch) / "eval", progress=False, jobs=1)
            wall = time.perf_counter() - started
            (path,) = sorted((Path(scratch) / "eval" / "cells").glob("*.json"))
            runs.append(_cell_breakdown(json.loads(path.read_text()), wall))
    scalars = [k for k, v in runs[0].items() if isinstance(v, float)]
    return {
        "how": "run_evaluation(EvalConfig(dataset='digits', per_class=(10,), seeds=(0,)), jobs=1) into a temporary "
               "folder, with a fresh GANAUG_CACHE (so the metrics' feature network is trained, as on a first run); "
               "from out/cells/*.json: gan.train_seconds, each condition's seconds, and metrics_and_other = the "
               "cell's wall_seconds - those (generative metrics with the feature network, saving the checkpoint "
               "and samples, drawing the subset); run_evaluation_seconds adds the data preparation around the cell",
        "settings": {"classifier_steps": runs[0]["classifier_steps"], "feature_steps": config.feature_steps,
                     "metric_samples": config.metric_samples, "threads": config.threads,
                     "gan_steps": runs[0]["gan_steps"]},
        **{k: _stats([r[k] for r in runs], 2) for k in scalars},
        "conditions_seconds": {c: _stats([r["conditions_seconds"][c] for r in runs], 2)
                               for c in runs[0]["conditions_seconds"]},
    }


# -- 5. mixing overhead -----------------------------------------------------------------------
def _example_cnn() -> nn.Module:
    """The CNN of examples/wrap_dataloader.py (a script, so it cannot be imported), for 8×8 digits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 2 * 2, 10),
    )


def _epoch(loader: Any, device: torch.device, seed: int, before: Callable[[], Any] = lambda: None) -> tuple[float, int]:
    """Seconds of one training epoch of the example CNN over ``loader`` (``before`` timed with it), items seen."""
    torch.manual_seed(seed)
    model = _example_cnn().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    _sync(device)
    started, items = time.perf_counter(), 0
    before()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        cross_entropy(model(x), y).backward()
        optimizer.step()
        items += len(y)
    _sync(device)
    return time.perf_counter() - started, items


def _mix_setup(bench: Bench) -> tuple[dict[str, Callable[[int], tuple[float, int]]], int]:
    """The three epochs to compare, each a function of the repeat, and the real items per epoch."""
    from torchvision.transforms import v2

    to_input = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    digits, n = load_dataset("digits"), bench.size["mix_items"]
    pick = np.arange(n) % len(digits)  # digits holds 1,347: tiled to n items
    real = ArrayDataset(digits.data[pick], digits.targets[pick], digits.classes, transform=to_input, name="digits")
    aug = GANAugmenter(loss="hinge", steps=bench.size["mix_gan_steps"], seed=0, device=str(bench.device),
                       verbose=False).fit(digits)
    mixed = SyntheticMixDataset(real, aug, ratio=1.0)

    def loader(dataset: Any, seed: int) -> DataLoader:
        return DataLoader(dataset, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed))

    epochs = {
        "plain": lambda r: _epoch(loader(real, r), bench.device, r),
        "mix_loader": lambda r: _epoch(mix_loader(loader(real, r), aug, ratio=1.0, transform=to_input, seed=r),
                                       bench.device, r),
        "synthetic_mix_dataset": lambda r: _epoch(loader(mixed, r), bench.device, r, lambda: mixed.refresh(r + 1)),
    }
    return epochs, n


def mix_overhead(bench: Bench) -> dict[str, Any]:
    """Section 5: what mixing synthetic items in costs per epoch over the same real items."""
    epochs, n = _mix_setup(bench)
    epochs["plain"](0)  # warm-up
    runs = {name: [] for name in epochs}
    for repeat in range(bench.repeats):
        for name, epoch in epochs.items():
            runs[name].append(epoch(repeat))
    out: dict[str, Any] = {"real_items": n, "ratio": 1.0, "gan_steps": bench.size["mix_gan_steps"]}
    plain = runs["plain"]
    for name, values in runs.items():
        row: dict[str, Any] = {"epoch_seconds": _stats([s for s, _ in values]), "items_seen": values[0][1]}
        if name != "plain":
            row["overhead_percent_per_real_item"] = _stats(
                [100 * (s - p) / p for (s, _), (p, _) in zip(values, plain, strict=True)], 1)
            row["overhead_percent_per_item_seen"] = _stats(
                [100 * ((s / k) / (p / q) - 1) for (s, k), (p, q) in zip(values, plain, strict=True)], 1)
        out[name] = row
    out["how"] = (
        "one epoch (DataLoader, batch 32, shuffled, num_workers=0) of examples/wrap_dataloader.py's CNN with Adam, "
        f"over {n} real digits items (the 1,347 tiled) with the example's v2 transform; mix_loader(ratio=1) adds 32 "
        "synthetic items to each batch of 32 real ones; SyntheticMixDataset(ratio=1) holds the real items and as many "
        "synthetic ones, in batches of 32, its refresh() (the epoch's new bank) timed with the epoch. "
        "overhead_percent_per_real_item = (mixed - plain) / plain, both epochs covering the same real items (the "
        "mixed one also trains on as many synthetic ones); overhead_percent_per_item_seen compares seconds per item "
        "the CNN saw, so the doubled classifier work drops out and what is left is drawing and formatting samples"
    )
    return out


# -- 6 and 7. memory and wall time of the CLI -------------------------------------------------
def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _memory_kib(pid: int) -> tuple[int, int] | None:
    """``(VmHWM, VmRSS)`` of a live process, in KiB."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    values = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in lines) if k in ("VmHWM", "VmRSS")}
    return (values["VmHWM"], values["VmRSS"]) if len(values) == 2 else None


class TreePoller(threading.Thread):
    """Polls /proc every ``every`` seconds for the peak memory of a process's descendants (not of
    the process itself: the wrapper interpreter `_measure` starts)."""

    def __init__(self, root: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.peaks: dict[int, int] = {}
        self.concurrent = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            now = 0
            for pid in _process_tree(self.root)[1:]:
                memory = _memory_kib(pid)
                if memory is not None:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), memory[0])
                    now += memory[1]
            self.concurrent = max(self.concurrent, now)
            self._done.wait(self.every)

    def stop(self) -> dict[str, float]:
        self._done.set()
        self.join()
        return {"tree_sum_of_peaks_mib": sum(self.peaks.values()) / 1024,
                "tree_max_concurrent_rss_mib": self.concurrent / 1024, "tree_processes": float(len(self.peaks))}


# The CLI runs under a small interpreter of its own, which reports RUSAGE_CHILDREN: a child forked
# straight from this benchmark would carry the benchmark's own high-water mark into its ru_maxrss
# (Linux keeps the pre-exec mark), and this process's RUSAGE_CHILDREN spans every earlier run.
_WRAPPER = (
    "import json, resource, subprocess, sys, time\n"
    "started = time.perf_counter()\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "seconds = time.perf_counter() - started\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(json.dumps({'wall_seconds': seconds, 'maxrss_kib': peak}))\n"
    "sys.exit(code)\n"
)


def _measure(arguments: list[str]) -> dict[str, float]:
    """Wall time and peak memory of ``python -m ganaug.cli ARGUMENTS --out TMP``, cold feature cache."""
    with tempfile.TemporaryDirectory() as scratch, open(Path(scratch) / "stderr", "w+") as err:
        env = os.environ | {"GANAUG_CACHE": str(Path(scratch) / "cache")}
        report = Path(scratch) / "usage.json"
        command = [sys.executable, "-m", "ganaug.cli", *arguments, "--out", str(Path(scratch) / "out")]
        proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, str(report), *command],
                                stdout=subprocess.DEVNULL, stderr=err, env=env)
        poller = TreePoller(proc.pid) if Path("/proc/self/status").exists() else None
        if poller is not None:
            poller.start()
        code = proc.wait()
        tree = poller.stop() if poller is not None else {}
        if code:
            err.seek(0)
            raise RuntimeError(f"{' '.join(command)} exited with {code}:\n{err.read()[-2000:]}")
        usage = json.loads(report.read_text())
    return {"wall_seconds": usage["wall_seconds"], "maxrss_mib": usage["maxrss_kib"] / 1024, **tree}


def _commands(bench: Bench) -> dict[str, list[str]]:
    device = ["--device", str(bench.device)]
    if bench.quick:  # shrunk to seconds: these are not the real jobs
        tiny = ["--seeds", "1", "--steps", "20", "--classifier-steps", "20"]
        return {"pretrain": ["pretrain", "--dataset", "digits", "--quiet", "--steps", "20", *device],
                "demo_quick": ["evaluate", "--dataset", "digits", "--quick", "--quiet", *tiny, *device]}
    return {"pretrain": ["pretrain", "--dataset", "digits", "--quiet", *device],
            "demo": ["evaluate", "--dataset", "digits", "--quiet", *device],
            "demo_quick": ["evaluate", "--dataset", "digits", "--quick", "--quiet", *device]}


def _runs(bench: Bench, name: str) -> list[dict[str, float]]:
    """The repeats of one command, measured once and shared by rss and demo."""
    if name not in bench.processes:
        bench.processes[name] = [_measure(_commands(bench)[name]) for _ in range(bench.repeats)]
    return bench.processes[name]


def rss(bench: Bench) -> dict[str, Any]:
    """Section 6: peak memory of pretrain and of the demo."""
    out: dict[str, Any] = {"how": (
        "maxrss_mib: resource.getrusage(RUSAGE_CHILDREN).ru_maxrss in a small wrapper interpreter that runs the CLI "
        "and nothing else (as /usr/bin/time -v does): the largest single process of the CLI's tree, --jobs workers "
        "included once waited for, never a sum. tree_sum_of_peaks_mib: the sum over the tree's processes (parent, spawned "
        "--jobs auto workers, multiprocessing's resource tracker) of each one's VmHWM, polled from /proc every "
        "0.2 s (an upper bound of the concurrent peak); tree_max_concurrent_rss_mib: the largest sum of VmRSS "
        "seen in one poll (a lower bound). Each run has a fresh GANAUG_CACHE, as a first run")}
    for name, arguments in _commands(bench).items():
        runs = _runs(bench, name)
        out[name] = {"command": "ganaug " + " ".join(arguments) + " --out TMP",
                     **{k: _stats([r[k] for r in runs], 1) for k in runs[0] if k != "wall_seconds"}}
    return out


def demo(bench: Bench) -> dict[str, Any]:
    """Section 7: wall time of the demo and of its --quick form (the runs rss measures)."""
    out: dict[str, Any] = {"how": "wall seconds of the CLI subprocess, timed by the wrapper interpreter around it, "
                                  "with a fresh GANAUG_CACHE (a first run); the same runs rss measures"}
    for name, arguments in _commands(bench).items():
        if name != "pretrain" or name in bench.processes:
            out[name] = {"command": "ganaug " + " ".join(arguments) + " --out TMP",
                         "wall_seconds": _stats([r["wall_seconds"] for r in _runs(bench, name)], 2)}
    return out


# -- the README's timing sentence ---------------------------------------------------------------
README = Path(__file__).parent.parent / "README.md"
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"


def readme_sentence(result: dict[str, Any]) -> str:
    """The README's timing sentence, from a full (not --quick) speed.json with the demo and rss sections."""
    if result.get("quick"):
        raise ValueError("a --quick speed.json holds no real timings")
    demo_s, memory = result["sections"]["demo"], result["sections"]["rss"]
    result = result | demo_s.get("measured", {})  # the demo's own run, when a later --only run added sections
    wall, quick, peak = demo_s["demo"]["wall_seconds"], demo_s["demo_quick"]["wall_seconds"], memory["demo"]
    return (f"`make demo` took {wall['median']:.0f} s (median of {result['repeats']}, {wall['min']:.0f}–{wall['max']:.0f} s; "
            f"`make quick` {quick['median']:.0f} s) after install on {result['machine']}, {result['date']}, the largest "
            f"process peaking at {peak['maxrss_mib']['median']:.0f} MiB "
            f"(`benchmarks/results/speed.json`, `python benchmarks/speed.py`)")


def write_readme(path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    start, stop = text.index(BEGIN), text.index(END)
    sentence = readme_sentence(json.loads(path.read_text()))
    README.write_text(text[: start + len(BEGIN)] + sentence + text[stop:], encoding="utf-8")
    print(f"wrote the timing sentence of {README}")


# -- the script -------------------------------------------------------------------------------
MEASURE = {"peak_gflops": peak_gflops, "gan_loop": gan_loop, "classifier_step": classifier_step,
           "compile_step": compile_step, "inference": inference, "cell": cell,
           "mix_overhead": mix_overhead, "rss": rss, "demo": demo}


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="repeats of every measurement [3; --quick: 1]")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto [auto]")
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds (skips rss and demo)")
    parser.add_argument("--only", default=None, metavar="SECTION,...", help=f"any of {','.join(SECTIONS)}")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's timing sentence from speed.json, run nothing")
    parser.add_argument("--out", default=None, metavar="JSON",
                        help="[benchmarks/results/speed.json; --quick: a file in the temporary folder]")
    args = parser.parse_args()
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    asked = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    unknown = sorted(set(asked or ()) - set(SECTIONS))
    if unknown or asked == []:
        parser.error(f"--only takes sections among {', '.join(SECTIONS)}; got {args.only!r}")
    if asked is None:
        asked = [s for s in SECTIONS if not (args.quick and s in QUICK_SKIPS)]
    if any(s in asked for s in NEEDS_PEAK) and "peak_gflops" not in asked:
        asked.append("peak_gflops")  # "% of peak" needs it
    args.sections = [s for s in SECTIONS if s in asked]
    if args.out is None:
        args.out = Path(tempfile.gettempdir()) / "ganaug_speed_quick.json" if args.quick else RESULTS / "speed.json"
    return args


def _summary(result: dict[str, Any]) -> list[str]:
    s, lines = result["sections"], []
    if "peak_gflops" in s:
        lines.append(f"peak: matmul {s['peak_gflops']['matmul']['gflops']['median']} GFLOP/s, conv2d fwd+bwd "
                     f"{s['peak_gflops']['conv2d_fwd_bwd']['gflops']['median']} GFLOP/s (medians)")
    for res in RESOLUTIONS:
        if "gan_loop" in s:
            g = s["gan_loop"][res]
            lines.append(f"GAN {res}: ganaug {g['ganaug_steps_per_s']['median']} steps/s, plain "
                         f"{g['plain_steps_per_s']['median']}, ratio {g['ratio']['median']}; % of peak "
                         f"{g['percent_of_peak']['ganaug']} vs {g['percent_of_peak']['plain']}")
        if "classifier_step" in s:
            c = s["classifier_step"][res]
            lines.append(f"classifier {res}: {c['plain']['steps_per_s']['median']} steps/s "
                         f"({c['plain']['percent_of_peak']} % of peak), with BatchAugment "
                         f"{c['batch_augment']['steps_per_s']['median']} (+{c['augment_cost_percent']} % time)")
    if "gan_loop" in s:
        m = s["gan_loop"]["mmd_8x8"]
        lines.append(f"MMD 8x8: {m['steps_per_s']['median']} steps/s ({m['percent_of_peak']} % of peak)")
    for name, row in s.get("inference", {}).items():
        if name.endswith("28x28"):
            lines.append(f"inference_mode, {name}: {row['speedup']}x items/s over no_grad "
                         f"({row['no_grad_items_per_s']['median']} -> {row['inference_mode_items_per_s']['median']})")
    for name, row in s.get("compile_step", {}).items():
        if name.endswith("28x28"):
            lines.append(f"torch.compile, {name}: {row['speedup']}x steps/s (eager {row['eager_steps_per_s']['median']}), "
                         f"first step {row['compiled_first_step_seconds']} s vs {row['eager_first_step_seconds']} s, "
                         f"repaid after {row['break_even_steps']} steps")
    if "cell" in s:
        c = s["cell"]
        parts = ", ".join(f"{k} {v['median']}" for k, v in c["conditions_seconds"].items())
        lines.append(f"cell: {c['cell_wall_seconds']['median']} s = GAN {c['gan_train_seconds']['median']} + "
                     f"{parts} + metrics/other {c['metrics_and_other_seconds']['median']}")
    if "mix_overhead" in s:
        m = s["mix_overhead"]
        lines.append("mixing overhead per real item: " + ", ".join(
            f"{k} {m[k]['overhead_percent_per_real_item']['median']} %" for k in ("mix_loader", "synthetic_mix_dataset")))
    for name, row in s.get("rss", {}).items():
        if isinstance(row, dict) and name != "measured":
            lines.append(f"rss {name}: maxrss {row['maxrss_mib']['median']} MiB, tree sum of peaks "
                         f"{row.get('tree_sum_of_peaks_mib', {}).get('median')} MiB")
    for name, row in s.get("demo", {}).items():
        if isinstance(row, dict) and name != "measured":
            lines.append(f"{name}: {row['wall_seconds']['median']} s")
    return lines


STAMP = ("date", "machine", "command", "repeats", "torch_threads")


def merge(before: dict[str, Any], now: dict[str, Any]) -> dict[str, Any]:
    """``before`` (a speed.json) with the sections of ``now`` (an ``--only`` run) replacing its own.

    Sections from before keep when and where they were measured, under ``measured``; the file's
    top-level stamp is the latest run's. Timings from two runs compare only where both
    ``measured`` name the same machine, and the same day is safer still.
    """
    if before.get("quick"):
        return now
    sections = {}
    for name in SECTIONS:
        if name in now["sections"]:
            sections[name] = now["sections"][name]
        elif name in before.get("sections", {}):
            old = before["sections"][name]
            sections[name] = old if "measured" in old else old | {"measured": {k: before.get(k) for k in STAMP}}
    return now | {"sections": sections}


def main() -> None:
    args = _arguments()
    if args.readme:
        write_readme(RESULTS / "speed.json")
        return
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        sys.exit(f"speed.py: {err}")
    repeats = args.repeats or (1 if args.quick else 3)
    bench = Bench(device, repeats, args.quick, QUICK if args.quick else FULL)
    result: dict[str, Any] = {
        "benchmark": "speed", "quick": args.quick, "command": "python " + " ".join(sys.argv),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(device), "device": str(device),
        "torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads(),
        "repeats": repeats, "sizes": bench.size, "versions": versions(), "sections": {},
    }
    for name in args.sections:
        print(f"{name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        section = MEASURE[name](bench)
        if name == "peak_gflops":
            bench.peak = section
        result["sections"][name] = section | {"section_seconds": round(time.perf_counter() - started, 1)}
    for name in args.sections:  # each section says when and where it was measured
        result["sections"][name]["measured"] = {k: result[k] for k in STAMP}
    path = Path(args.out)
    if args.only and not args.quick and path.exists():
        result = merge(json.loads(path.read_text()), result)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(finite_json(result), indent=2) + "\n")
    print("\n".join([*_summary(result), f"written: {path}" + (" (quick: numbers meaningless)" if args.quick else "")]))


if __name__ == "__main__":
    main()
