"""The ``ganaug`` command line: thin wrappers over the Python API.

Examples:
    ganaug pretrain --dataset digits --out runs/digits
    ganaug sample runs/digits/augmenter.safetensors --n 100 --out samples.png
    ganaug info runs/digits/augmenter.safetensors
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

from ganaug.training.losses import LOSSES

USER_ERRORS = (ValueError, FileNotFoundError, ImportError, RuntimeError, OSError)


def user_errors(fn: Callable) -> Callable:
    """Turn the API's user-facing exceptions into a one-line message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except USER_ERRORS as err:
            raise click.ClickException(str(err).splitlines()[0] if str(err) else type(err).__name__) from None

    return wrapper


def _echo(quiet: bool, message: str) -> None:
    if not quiet:
        click.echo(message)


seed_option = click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
device_option = click.option(
    "--device", default="auto", show_default=True, metavar="DEVICE",
    help="auto (CUDA when present), cpu, cuda, cuda:1, …",
)
quiet_option = click.option("--quiet", is_flag=True, help="No progress bars or summaries.")
dataset_options = [
    click.option("--dataset", default="digits", show_default=True, metavar="NAME",
                 help="digits, mnist5k, mnist, emnist-<split>, kmnist, qmnist, fashion-mnist, usps, npz:PATH, folder:PATH."),
    click.option("--root", type=click.Path(file_okay=False), default=None, metavar="DIR",
                 help="Folder of torchvision datasets (default $GANAUG_DATA or ~/.cache/ganaug/data)."),
    click.option("--download", is_flag=True, help="Let torchvision download missing files."),
]


def with_dataset_options(fn: Callable) -> Callable:
    for option in reversed(dataset_options):
        fn = option(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganaug")
def main() -> None:
    """ganaug: pretrain class-conditional GAN augmenters, sample them, measure their gain."""


@main.command()
@with_dataset_options
@click.option("--per-class", type=click.IntRange(min=1), default=None, metavar="N",
              help="Train on a stratified subset of N images per class (default: the whole train split).")
@click.option("--steps", type=click.IntRange(min=1), default=None, metavar="N",
              help="Generator updates (default: sized from the data).")
@click.option("--loss", type=click.Choice(sorted(LOSSES)), default=None, help="GAN objective [default: hinge].")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
              help="GANConfig JSON (e.g. a run's config.json); flags given override it.")
@click.option("--resume", type=click.Path(exists=True), default=None, metavar="CKPT",
              help="Continue training this checkpoint up to --steps.")
@seed_option
@device_option
@click.option("--out", type=click.Path(file_okay=False), required=True, metavar="DIR", help="Output folder.")
@quiet_option
@user_errors
def pretrain(dataset: str, root: str | None, download: bool, per_class: int | None, steps: int | None,
             loss: str | None, config_path: str | None, resume: str | None, seed: int, device: str,
             out: str, quiet: bool) -> None:
    """Pretrain a conditional GAN augmenter on a dataset's train split.

    Writes DIR/augmenter.safetensors (+ .json), DIR/config.json, DIR/samples.png,
    DIR/losses.png and DIR/diversity.png.

    \b
    Examples:
      ganaug pretrain --dataset digits --out runs/digits
      ganaug pretrain --dataset mnist5k --per-class 10 --steps 3000 --out runs/m10
      ganaug pretrain --dataset digits --resume runs/digits --steps 4000 --out runs/digits
    """
    from ganaug.augmenter import GANAugmenter
    from ganaug.data import few_shot, load_dataset
    from ganaug.report.plots import diversity_curves, loss_curves, sample_grid
    from ganaug.training.config import GANConfig
    from ganaug.training.monitor import CollapseMonitor

    data = load_dataset(dataset, root=root, train=True, download=download)
    if per_class is not None:
        data, _ = few_shot(data, per_class, seed=seed)
    if resume:
        aug = GANAugmenter.load(resume, device=device, verbose=not quiet)
        if steps is None:
            raise click.UsageError("--resume needs --steps (the total to reach)")
        aug.set_params(steps=steps, warm_start=True)
    else:
        config = GANConfig.from_json(config_path) if config_path else GANConfig()
        overrides = {k: v for k, v in {"steps": steps, "loss": loss, "seed": seed}.items() if v is not None}
        aug = GANAugmenter.from_config(config, device=device, verbose=not quiet).set_params(**overrides)
    _echo(quiet, f"training on {data.name}: {len(data)} images {data.image_shape}, {len(np.unique(data.targets))} classes")
    started = time.perf_counter()
    aug.fit(data)
    seconds = time.perf_counter() - started
    out_dir = Path(out)
    ckpt = aug.save(out_dir / "augmenter.safetensors")
    aug.get_config().to_json(out_dir / "config.json")
    images, labels = aug.sample(10 * len(aug.classes_), seed=seed)
    sample_grid(images, labels, aug.class_names_, aug.classes_, path=out_dir / "samples.png",
                title=f"{data.name} — {aug.n_steps_} steps")
    loss_curves(aug.history_, path=out_dir / "losses.png")
    diversity_curves(aug.monitor_, CollapseMonitor.threshold, path=out_dir / "diversity.png")
    collapsed = aug.monitor_[-1]["collapsed"] if aug.monitor_ else []
    _echo(quiet, f"done in {seconds:.0f} s ({aug.n_steps_} steps on {aug.device_}); checkpoint: {ckpt}")
    if collapsed:
        names = [aug.class_names_[int(c)] for c in collapsed]
        click.echo(f"warning: mode-collapse alarm for class(es) {', '.join(names)} (see {out_dir / 'diversity.png'})", err=True)


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True))
@click.option("--n", "n", type=click.IntRange(min=1), default=100, show_default=True, help="How many samples.")
@click.option("--labels", default=None, metavar="L1,L2,…",
              help="Only these classes (label values), in equal shares.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, metavar="FILE",
              help="FILE.png (a grid per class) or FILE.npz (arrays x, y).")
@seed_option
@device_option
@user_errors
def sample(checkpoint: str, n: int, labels: str | None, out: str, seed: int, device: str) -> None:
    """Draw samples from a checkpoint into a PNG grid or an NPZ file.

    \b
    Example:
      ganaug sample runs/digits/augmenter.safetensors --n 500 --out synth.npz
    """
    from ganaug.augmenter import GANAugmenter
    from ganaug.report.plots import sample_grid

    suffix = Path(out).suffix.lower()
    if suffix not in (".png", ".npz"):
        raise click.UsageError(f"--out must end in .png or .npz, got {out!r}")
    aug = GANAugmenter.load(checkpoint, device=device, verbose=False)
    label_values = None
    if labels:
        wanted = np.array([aug.classes_.dtype.type(v.strip()) for v in labels.split(",") if v.strip()])
        label_values = wanted[np.arange(n) % len(wanted)]
    images, y = aug.sample(n, labels=label_values, seed=seed)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".npz":
        np.savez_compressed(out, x=images, y=y, classes=np.array(aug.class_names_))
    else:
        present = np.unique(y)
        names = [aug.class_names_[int(np.searchsorted(aug.classes_, c))] for c in present]
        sample_grid(images, y, names, present, per_class=max(1, min(20, int(np.ceil(n / len(present))))), path=out)
    click.echo(f"wrote {n} samples to {out}")


@main.command()
@click.argument("checkpoint", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help="Print the metadata as JSON.")
@user_errors
def info(checkpoint: str, as_json: bool) -> None:
    """Describe a checkpoint: classes, image shape, config, training summary, versions."""
    from ganaug.training.checkpoint import load_checkpoint

    tensors, meta = load_checkpoint(checkpoint)
    meta = {k: v for k, v in meta.items() if k != "trainer"}
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    summary = meta.get("summary", {})
    n_params = sum(int(np.prod(t.shape)) for k, t in tensors.items() if k.startswith("ema."))
    lines = [
        f"checkpoint     {checkpoint}",
        f"classes        {len(meta['classes'])}: {', '.join(map(str, meta['class_names']))}",
        f"image shape    {tuple(meta['image_shape'])}  dtype {meta['dtype']}  range {tuple(meta['value_range'])}",
        f"trained on     {meta['n_train']} images, {summary.get('steps')} steps, {summary.get('train_seconds')} s",
        f"generator      {n_params:,} parameters; training state {'kept' if meta.get('training_state') else 'dropped'}",
        f"collapse alarm {summary.get('collapsed_classes') or 'none'}",
        "config         " + ", ".join(f"{k}={v}" for k, v in meta["config"].items()),
        "versions       " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items() if k != "platform"),
    ]
    click.echo("\n".join(lines))


if __name__ == "__main__":
    main()
