"""The ``ganaug`` command line: thin wrappers over the Python API.

Examples:
    ganaug pretrain --dataset digits --out runs/digits
    ganaug sample runs/digits/augmenter.safetensors --n 100 --out samples.png
    ganaug info runs/digits/augmenter.safetensors
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np
from click.core import ParameterSource

from ganaug.evaluation.classifiers import CLASSIFIERS
from ganaug.evaluation.config import (
    CONDITIONS,
    LONG_TAIL_CONDITIONS,
    LONG_TAIL_OPTIONAL,
    OPTIONAL_CONDITIONS,
)
from ganaug.training.config import CONDITIONING, GANConfig
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


def _gan_config(config_path: str | None, **flags: Any) -> GANConfig:
    """The GANConfig file (or the defaults) with the flags that were given on top; checked here,
    before any data loads."""
    config = GANConfig.from_json(config_path) if config_path else GANConfig()
    return dataclasses.replace(config, **{k: v for k, v in flags.items() if v is not None})


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


gan_options = [
    click.option("--loss", type=click.Choice(["auto", *sorted(LOSSES)]), default=None,
                 help="GAN objective [default: auto = mmd (generative matching network, no D) when the "
                      "smallest class has < 100 images, else hinge]."),
    click.option("--conditioning", type=click.Choice(CONDITIONING), default=None,
                 help="One conditional GAN (label) or an independent GAN per class [default: label]."),
    click.option("--config", "config_path", type=click.Path(dir_okay=False, exists=True), default=None,
                 help="GANConfig JSON: pretrain's DIR/config.json, a checkpoint's .json twin or "
                      "evaluate's DIR/eval_config.json (its gan part); flags given override it."),
]


def _with(options: list[Callable]) -> Callable:
    def decorate(fn: Callable) -> Callable:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


with_dataset_options = _with(dataset_options)
with_gan_options = _with(gan_options)


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
@with_gan_options
@click.option("--resume", type=click.Path(exists=True), default=None, metavar="CKPT",
              help="Continue training this checkpoint up to --steps.")
@seed_option
@device_option
@click.option("--out", type=click.Path(file_okay=False), required=True, metavar="DIR", help="Output folder.")
@quiet_option
@user_errors
def pretrain(dataset: str, root: str | None, download: bool, per_class: int | None, steps: int | None,
             loss: str | None, conditioning: str | None, config_path: str | None, resume: str | None,
             seed: int, device: str,
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
    from ganaug.training.monitor import COLLAPSE_THRESHOLD

    # The run's seed (the subset drawn, the GAN's streams) is the checkpoint's or the config
    # file's unless --seed is given.
    seed_given = click.get_current_context().get_parameter_source("seed") is not ParameterSource.DEFAULT
    if resume:
        if steps is None:
            raise click.UsageError("--resume needs --steps (the total to reach)")
        ignored = [flag for flag, value in (("--loss", loss), ("--conditioning", conditioning), ("--config", config_path))
                   if value is not None]
        if ignored:
            raise click.UsageError(f"--resume continues the checkpoint's own configuration; drop {', '.join(ignored)}")
        aug = GANAugmenter.load(resume, device=device, verbose=not quiet).set_params(steps=steps, warm_start=True)
        seed = seed if seed_given else aug.seed
    else:
        config = _gan_config(config_path, steps=steps, loss=loss, conditioning=conditioning,
                             seed=seed if seed_given else None)
        aug = GANAugmenter.from_config(config, device=device, verbose=not quiet)
        seed = config.seed
    data = load_dataset(dataset, root=root, train=True, download=download)
    if per_class is not None:
        data, _ = few_shot(data, per_class, seed=seed)
    _echo(quiet, f"training on {data.name}: {len(data)} images {data.image_shape}, {len(np.unique(data.targets))} classes")
    started = time.perf_counter()
    aug.fit(data)
    seconds = time.perf_counter() - started
    out_dir = Path(out)
    ckpt = aug.save(out_dir / "augmenter.safetensors")
    aug.config_.to_json(out_dir / "config.json")
    images, labels = aug.sample(10 * len(aug.classes_), seed=seed)
    sample_grid(images, labels, aug.class_names_, aug.classes_, path=out_dir / "samples.png",
                title=f"{data.name} — {aug.n_steps_} steps")
    loss_curves(aug.history_, path=out_dir / "losses.png")
    diversity_curves(aug.monitor_, COLLAPSE_THRESHOLD, path=out_dir / "diversity.png")
    collapsed = aug.monitor_[-1]["collapsed"] if aug.monitor_ else []
    objective = f"{aug.loss} → {aug.config_.loss}" if aug.loss != aug.config_.loss else aug.config_.loss
    _echo(quiet, f"done in {seconds:.0f} s ({aug.n_steps_} steps of {objective} on {aug.device_}); checkpoint: {ckpt}")
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


def _int_list(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        items = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not items or min(items) < 1:
        raise click.BadParameter(f"expected positive integers, got {value!r}")
    return items


def _ratio_list(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[float, ...] | None:
    if value is None:
        return None
    if value.strip().lower() == "natural":
        return ()
    try:
        items = tuple(float(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"expected comma-separated ratios like 10,50 or 'natural', got {value!r}") from None
    if not items or min(items) < 1:
        raise click.BadParameter(f"imbalance ratios (largest class / smallest) must be >= 1, got {value!r}")
    return items


QUICK = {"per_class": (10,), "seeds": 2, "steps": 500, "classifier_steps": 300}
# Sources that may be long-tailed as they are: without --imbalance the scenario takes them whole.
OWN_IMBALANCE = ("folder:", "npz:")


@main.command()
@with_dataset_options
@click.option("--scenario", type=click.Choice(["few-shot", "long-tail"]), default="few-shot", show_default=True,
              help="few-shot: n images per class train the GAN and the classifier; long-tail: both train on a "
                   "long-tailed set, scored on a balanced test set by balanced accuracy.")
@click.option("--per-class", default="5,10,20", show_default=True, callback=_int_list, metavar="N1,N2,…",
              help="Few-shot: real training images per class (one grid row each).")
@click.option("--imbalance", default=None, callback=_ratio_list, metavar="R1,R2,…|natural",
              help="Long-tail: imbalance ratios (largest class / smallest) of the long-tailed training sets, one "
                   "grid row each; 'natural' takes the data with their own imbalance, whole. Not --ratio, which "
                   "is synthetic items per real item. [default: 10,50; natural for folder: and npz: data]")
@click.option("--seeds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Number of seeds; each redraws the subset, the GAN and the classifier init.")
@click.option("--first-seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seeds run are FIRST..FIRST+N-1, so another set of seeds can be added to a study.")
@click.option("--conditions", default=None, metavar="C1,C2,…",
              help="Few-shot: any of " + ", ".join(CONDITIONS) + "; opt-in: " + ", ".join(OPTIONAL_CONDITIONS)
                   + " (gan-gated: gan+classical at a ratio chosen by cross-validation, 0 = classical; slower; "
                     "gan-filtered: judge + copy screening). Long-tail: any of " + ", ".join(LONG_TAIL_CONDITIONS)
                   + "; opt-in: " + ", ".join(LONG_TAIL_OPTIONAL) + " (needs imbalanced-learn). "
                   "[default: the scenario's, all but the opt-in ones]")
@click.option("--classifier", type=click.Choice(CLASSIFIERS), default="cnn", show_default=True)
@click.option("--classifier-steps", type=click.IntRange(min=1), default=400, show_default=True,
              help="Optimiser steps per classifier (the same budget in every condition).")
@click.option("--ratio", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Synthetic items per real item in the GAN conditions.")
@click.option("--steps", type=click.IntRange(min=1), default=None, metavar="N",
              help="GAN steps per cell (default: sized from the subset).")
@with_gan_options
@click.option("--no-metrics", is_flag=True, help="Skip the generative metrics (FID, KID, precision/recall…).")
@click.option("--quick", is_flag=True, help="A smoke run: 10/class, 2 seeds, short training.")
@click.option("--no-report", is_flag=True, help="Write results.json only.")
@device_option
@click.option("--out", type=click.Path(file_okay=False), required=True, metavar="DIR", help="Output folder.")
@quiet_option
@click.pass_context
@user_errors
def evaluate(ctx: click.Context, dataset: str, root: str | None, download: bool, scenario: str,
             per_class: tuple[int, ...], imbalance: tuple[float, ...] | None,
             seeds: int, first_seed: int, conditions: str | None, classifier: str, classifier_steps: int, ratio: float,
             steps: int | None, loss: str | None, conditioning: str | None, config_path: str | None,
             no_metrics: bool, quick: bool,
             no_report: bool, device: str, out: str, quiet: bool) -> None:
    """Measure the accuracy gain of GAN augmentation, honestly, and write a report.

    For every (real images per class, seed): draw the few-shot subset, pretrain a GAN on it
    alone, train the same classifier under each condition, and test on held-out real data
    that neither saw. With --scenario long-tail: for every (imbalance ratio, seed) draw a
    long-tailed training set, pretrain the GAN on all of it and compare the GAN conditions with
    random oversampling, class re-weighting and logit adjustment by balanced accuracy on a
    balanced test set. Writes DIR/eval_config.json, DIR/results.json, DIR/report.md and
    DIR/report.html. A rerun
    with the same settings skips the cells already in DIR/cells.

    \b
    Examples:
      ganaug evaluate --dataset digits --out runs/eval
      ganaug evaluate --quick --out runs/smoke
      ganaug evaluate --dataset mnist5k --per-class 5,10,20,50 --seeds 5 --out runs/m5k
      ganaug evaluate --scenario long-tail --imbalance 10,50 --dataset mnist5k --out runs/lt
      ganaug evaluate --scenario long-tail --dataset folder:my_images --out runs/mine
    """
    import sys

    from ganaug.evaluation.config import EvalConfig
    from ganaug.evaluation.runner import run_evaluation

    source = ctx.get_parameter_source
    if quick:
        if source("per_class").name == "DEFAULT":
            per_class = QUICK["per_class"]
        if source("seeds").name == "DEFAULT":
            seeds = QUICK["seeds"]
        if steps is None:
            steps = QUICK["steps"]
        if source("classifier_steps").name == "DEFAULT":
            classifier_steps = QUICK["classifier_steps"]
    gan = _gan_config(config_path, steps=steps, loss=loss, conditioning=conditioning)
    imbalance = _scenario_grid(scenario, dataset, imbalance, source("per_class").name != "DEFAULT")
    config = EvalConfig(
        dataset=dataset, root=root, download=download, per_class=per_class,
        seeds=tuple(range(first_seed, first_seed + seeds)),
        conditions=tuple(c.strip() for c in conditions.split(",") if c.strip()) if conditions else None,
        classifier=classifier, classifier_steps=classifier_steps, ratio=ratio, gan=gan,
        metrics=not no_metrics, device=device, scenario=scenario, imbalance=imbalance,
    )
    started = time.perf_counter()
    results = run_evaluation(config, out, progress=not quiet, command="ganaug " + " ".join(sys.argv[1:]))
    _echo(quiet, f"results: {Path(out) / 'results.json'} ({time.perf_counter() - started:.0f} s)")
    if not quiet:
        _print_summary(results)
    if not no_report:
        from ganaug.report import write_report

        md, html = write_report(Path(out) / "results.json", out)
        _echo(quiet, f"report: {md} and {html}")


def _scenario_grid(scenario: str, dataset: str, imbalance: tuple[float, ...] | None,
                   per_class_given: bool) -> tuple[float, ...]:
    """The long-tail grid's ratios (() = the data's own imbalance); refuses the other scenario's flag."""
    if scenario == "few-shot":
        if imbalance is not None:
            raise click.UsageError("--imbalance belongs to --scenario long-tail (few-shot runs over --per-class)")
        return (10.0, 50.0)
    if per_class_given:
        raise click.UsageError("--per-class belongs to --scenario few-shot (long-tail runs over --imbalance)")
    if imbalance is None:
        return () if dataset.lower().startswith(OWN_IMBALANCE) else (10.0, 50.0)
    return imbalance


def _print_summary(results: dict) -> None:
    long_tail = results.get("scenario") == "long-tail"
    key, label = ("imbalance", "ratio") if long_tail else ("per_class", "n/class")
    rows = results["summary"]["balanced_accuracy" if long_tail else "accuracy"]
    conditions = [c for c in results["settings"]["conditions"] if any(r["condition"] == c for r in rows)]
    settings = results["settings"]["per_class"] if not long_tail else list(dict.fromkeys(r[key] for r in rows))
    width = {c: max(16, len(c) + 2) for c in conditions}
    click.echo(f"{'balanced accuracy' if long_tail else 'accuracy'} % (mean ± std over seeds)")
    click.echo(f"{label:<7}  " + "".join(f"{c:>{width[c]}}" for c in conditions))
    for n in settings:
        cells = {r["condition"]: r for r in rows if r[key] == n}
        line = "".join(f"{_mean_std(cells[c]):>{width[c]}}" for c in conditions)
        click.echo(f"{f'{n:g}' if isinstance(n, float) else n:>7}  {line}")


def _mean_std(row: dict) -> str:
    return f"{100 * row['mean']:.1f} ± {100 * (row['std'] or 0):4.1f}"


@main.command()
@click.argument("results", type=click.Path(exists=True, dir_okay=True))
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Output folder [default: beside results.json].")
@user_errors
def report(results: str, out: str | None) -> None:
    """Render results.json (from `ganaug evaluate`) as report.md and a self-contained report.html."""
    from ganaug.report import write_report

    path = Path(results)
    if path.is_dir():
        path = path / "results.json"
    md, html = write_report(path, out or path.parent)
    click.echo(f"wrote {md} and {html}")


if __name__ == "__main__":
    main()
