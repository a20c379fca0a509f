"""Sample grids of the shipped pretrained augmenters, for docs/figures/ (issue 18).

    python benchmarks/pretrained_grids.py [--models DIR] [--out docs/figures]
    python benchmarks/pretrained_grids.py --root OMNIGLOT_DIR --heldout CKPT --alphabets Korean,Tagalog

Draws, offline, with the augmenters in ``--models`` (what ``python -m ganaug.pretrained.build
--out DIR`` wrote; default: the ones shipped in the package), each grid only for the models there:
* ``pretrained_gan_omniglot.png``: ``omniglot-28`` samples of 12 of its characters, spread over
  its alphabets (with ``--root``, three real drawings of each before them);
* ``pretrained_dagan_digits.png``: ``omniglot-28-dagan`` variants of mnist5k test digits, classes
  it never saw (the first column of each row is the real image the variants come from).

With ``--heldout CKPT`` (a `DAGANAugmenter` trained without ``--alphabets``, e.g. the transfer
benchmark's cached source DAGAN of a within-Omniglot split) and ``--root``, also
``pretrained_dagan_omniglot_unseen.png``: its variants of 12 characters of those alphabets. The
script refuses a checkpoint that saw any of them.

With ``--root``, also ``benchmarks/results/pretrained_quality.json``: does ``omniglot-28`` draw
the character it is asked for, and in more than one way? A judge CNN trained on 15 of each
character's 20 drawings (its accuracy on the other 5 is the ceiling) labels 10 samples of every
character (label consistency, chance 1/242); and the within-character pixel spread of samples
against that of the real drawings (a G that ignores its noise has spread 0).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import ganaug.pretrained as pretrained
from ganaug import DAGANAugmenter, GANAugmenter, load_dataset
from ganaug.report import plots
from ganaug.training.classifier import TorchClassifier
from ganaug.utils import machine, versions

HERE = Path(__file__).parent
SIZE = 28
JUDGE_STEPS = 1500  # the judge's optimiser steps (batch 64): about 26 passes over 3,630 drawings


def _variants_grid(dagan: DAGANAugmenter, images: np.ndarray, names: list[str], path: Path, title: str,
                   per_class: int = 9) -> None:
    """Row i: the real image ``images[i]``, then ``per_class`` variants of it."""
    rows, labels = [], []
    for i, real in enumerate(images):
        rows += [real[None], dagan.augment(np.repeat(real[None], per_class, axis=0), seed=i)]
        labels += [i] * (per_class + 1)
    plots.sample_grid(np.concatenate(rows), np.array(labels), names, np.arange(len(images)),
                      per_class=per_class + 1, path=path, title=title)


def _one_per_class(data, classes: list[int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    targets = np.asarray(data.targets)
    return np.stack([data.data[rng.choice(np.flatnonzero(targets == c))] for c in classes])


def _unseen_grid(checkpoint: str, root: str, alphabets: list[str], out: Path) -> None:
    dagan = DAGANAugmenter.load(checkpoint, device="cpu")
    seen = sorted({name.split("/")[0] for name in dagan.class_names_} & set(alphabets))
    if seen:
        raise SystemExit(f"{checkpoint} was trained on {', '.join(seen)}: pick a DAGAN that never saw the alphabets drawn")
    data = load_dataset("omniglot", root=root, train=None, image_size=SIZE)
    chosen = [c for c, name in enumerate(data.classes) if name.split("/")[0] in alphabets]
    chosen = [chosen[i] for i in np.linspace(0, len(chosen) - 1, 12).astype(int)]
    _variants_grid(dagan, _one_per_class(data, chosen), [data.classes[c] for c in chosen],
                   out / "pretrained_dagan_omniglot_unseen.png",
                   f"DAGAN ({dagan.config_.head} head) on {' + '.join(alphabets)} (never seen): real, then variants")


def _spread(images: np.ndarray, labels: np.ndarray) -> float:
    """Mean over classes of the per-pixel standard deviation within a class (0-255 scale)."""
    return float(np.mean([images[labels == c].astype(np.float64).std(axis=0).mean() for c in np.unique(labels)]))


def _gan_quality(gan: GANAugmenter, data, seed: int = 0) -> dict:
    images, targets = np.asarray(data.data), np.asarray(data.targets)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(images), dtype=bool)
    for c in np.unique(targets):
        held[rng.choice(np.flatnonzero(targets == c), 5, replace=False)] = True
    judge = TorchClassifier("cnn", steps=JUDGE_STEPS, seed=seed, device="cpu").fit(images[~held], targets[~held])
    samples, labels = gan.sample(10 * len(gan.classes_), labels=np.repeat(gan.classes_, 10), seed=seed)
    return {
        "benchmark": "pretrained_quality", "model": "omniglot-28", "provenance": getattr(gan, "provenance_", None),
        "judge": {"network": "cnn", "steps": JUDGE_STEPS, "seed": seed, "trained_on": "15 of 20 drawings per character",
                  "accuracy_on_held_out_real": round(judge.score(images[held], targets[held]), 4)},
        "label_consistency": round(judge.score(samples, labels), 4), "chance": round(1 / len(gan.classes_), 4),
        "samples_per_class": 10,
        "within_class_spread": {"samples": round(_spread(samples, labels), 2), "real": round(_spread(images, targets), 2)},
        "machine": machine("cpu"), "versions": versions(),
    }


def _gan_grid(gan: GANAugmenter, data, path: Path) -> None:
    """12 characters spread over the model's classes: three real drawings (with data), then samples."""
    classes = gan.classes_[np.linspace(0, len(gan.classes_) - 1, 12).astype(int)]
    per_class, real_n = 10, (3 if data is not None else 0)
    images, labels = [], []
    for c in classes:
        if data is not None:
            images.append(np.asarray(data.data)[np.asarray(data.targets) == c][:real_n])
        images.append(gan.sample(per_class - real_n, labels=c, seed=int(c))[0])
        labels += [c] * per_class
    full = [gan.class_names_[list(gan.classes_).index(c)] for c in classes]  # "Alphabet/characterNN"
    names = [f"{n.split('/')[0][:12]} {n.rsplit('character', 1)[-1]}" for n in full]
    title = "omniglot-28: " + ("3 real drawings, then samples" if data is not None else "samples") + ", 12 characters"
    plots.sample_grid(np.concatenate(images), np.array(labels), names, classes, per_class=per_class, path=path, title=title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "figures"))
    parser.add_argument("--models", default=None, help="folder of omniglot-28[-dagan].safetensors (default: the package's)")
    parser.add_argument("--heldout", default=None, help="a DAGAN checkpoint trained without --alphabets")
    parser.add_argument("--alphabets", default="Korean,Tagalog", help="the alphabets --heldout never saw")
    parser.add_argument("--root", default=None,
                        help="the folder holding Omniglot's zips: real drawings beside omniglot-28's samples, its "
                             "quality JSON, and --heldout's characters")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = Path(args.models) if args.models else pretrained.FOLDER
    if (models / "omniglot-28.safetensors").is_file():
        gan = GANAugmenter.load(models / "omniglot-28.safetensors", device="cpu")
        data = load_dataset("omniglot", root=args.root, train=None, image_size=SIZE) if args.root else None
        _gan_grid(gan, data, out / "pretrained_gan_omniglot.png")
        if data is not None:
            quality = _gan_quality(gan, data)
            path = HERE / "results" / "pretrained_quality.json"
            path.write_text(json.dumps(quality, indent=2) + "\n")
            print(f"omniglot-28: label consistency {quality['label_consistency']} (judge on real "
                  f"{quality['judge']['accuracy_on_held_out_real']}), spread {quality['within_class_spread']}; wrote {path}")
    if (models / "omniglot-28-dagan.safetensors").is_file():
        dagan = DAGANAugmenter.load(models / "omniglot-28-dagan.safetensors", device="cpu")
        mnist = load_dataset("mnist5k", train=False)
        _variants_grid(dagan, _one_per_class(mnist, list(range(10))), list(mnist.classes),
                       out / "pretrained_dagan_digits.png",
                       f"omniglot-28-dagan ({dagan.config_.head} head) on mnist5k digits (never seen): real, then variants")
    if args.heldout:
        if not args.root:
            parser.error("--heldout draws Omniglot characters: give --root")
        _unseen_grid(args.heldout, args.root, args.alphabets.split(","), out)
    print(f"wrote the grids to {out}")


if __name__ == "__main__":
    main()
