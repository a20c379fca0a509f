"""Sample grids of the shipped pretrained augmenters, for docs/figures/ (issue 18).

    python benchmarks/pretrained_grids.py [--models DIR] [--out docs/figures]
    python benchmarks/pretrained_grids.py --root OMNIGLOT_DIR --heldout CKPT --alphabets Korean,Tagalog

Draws, offline, with the augmenters in ``--models`` (what ``python -m ganaug.pretrained.build
--out DIR`` wrote; default: the ones shipped in the package), each grid only for the models there:
* ``pretrained_gan_omniglot.png``: ``omniglot-28`` samples of its first 12 characters;
* ``pretrained_dagan_digits.png``: ``omniglot-28-dagan`` variants of mnist5k test digits, classes
  it never saw (the first column of each row is the real image the variants come from).

With ``--heldout CKPT`` (a `DAGANAugmenter` trained without ``--alphabets``, e.g. the transfer
benchmark's cached source DAGAN of a within-Omniglot split) and ``--root``, also
``pretrained_dagan_omniglot_unseen.png``: its variants of 12 characters of those alphabets. The
script refuses a checkpoint that saw any of them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import ganaug.pretrained as pretrained
from ganaug import DAGANAugmenter, GANAugmenter, load_dataset
from ganaug.report import plots

HERE = Path(__file__).parent
SIZE = 28


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "figures"))
    parser.add_argument("--models", default=None, help="folder of omniglot-28[-dagan].safetensors (default: the package's)")
    parser.add_argument("--heldout", default=None, help="a DAGAN checkpoint trained without --alphabets")
    parser.add_argument("--alphabets", default="Korean,Tagalog", help="the alphabets --heldout never saw")
    parser.add_argument("--root", default=None, help="the folder holding Omniglot's zips (with --heldout)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = Path(args.models) if args.models else pretrained.FOLDER
    if (models / "omniglot-28.safetensors").is_file():
        gan = GANAugmenter.load(models / "omniglot-28.safetensors", device="cpu")
        classes = gan.classes_[:12]
        images, labels = gan.sample(10 * len(classes), labels=np.repeat(classes, 10), seed=0)
        plots.sample_grid(images, labels, list(gan.class_names_[:12]), classes,
                          path=out / "pretrained_gan_omniglot.png", title="omniglot-28: samples of its first 12 characters")
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
