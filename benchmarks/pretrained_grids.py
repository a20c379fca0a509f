"""Sample grids of the shipped pretrained augmenters, for docs/figures/ (issue 18).

    python benchmarks/pretrained_grids.py [--models DIR] [--out docs/figures]

Draws, offline, with the augmenters in ``--models`` (what ``python -m ganaug.pretrained.build
--out DIR`` wrote; default: the ones shipped in the package):
* ``pretrained_gan_omniglot.png``: ``omniglot-28`` samples of its first 12 characters;
* ``pretrained_dagan_digits.png``: ``omniglot-28-dagan`` variants of mnist5k test digits, classes
  it never saw (the first column of each row is the real image the variants come from).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import ganaug.pretrained as pretrained
from ganaug import DAGANAugmenter, GANAugmenter, load_dataset
from ganaug.report import plots

HERE = Path(__file__).parent


def _variants_grid(dagan: DAGANAugmenter, data, path: Path, title: str, per_class: int = 9) -> None:
    """Row c: one real image of class c, then ``per_class`` variants of it."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for c in range(len(data.classes)):
        real = data.data[rng.choice(np.flatnonzero(data.targets == c))]
        variants = dagan.augment(np.repeat(real[None], per_class, axis=0), seed=c)
        images += [real[None], variants]
        labels += [c] * (per_class + 1)
    plots.sample_grid(np.concatenate(images), np.array(labels), list(data.classes), np.arange(len(data.classes)),
                      per_class=per_class + 1, path=path, title=title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(HERE.parent / "docs" / "figures"))
    parser.add_argument("--models", default=None, help="folder of omniglot-28[-dagan].safetensors (default: the package's)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    models = Path(args.models) if args.models else pretrained.FOLDER
    gan = GANAugmenter.load(models / "omniglot-28.safetensors", device="cpu")
    classes = gan.classes_[:12]
    images, labels = gan.sample(10 * len(classes), labels=np.repeat(classes, 10), seed=0)
    plots.sample_grid(images, labels, list(gan.class_names_[:12]), classes, path=out / "pretrained_gan_omniglot.png",
                      title="omniglot-28: samples of its first 12 characters")
    dagan = DAGANAugmenter.load(models / "omniglot-28-dagan.safetensors", device="cpu")
    mnist = load_dataset("mnist5k", train=False)
    _variants_grid(dagan, mnist, out / "pretrained_dagan_digits.png",
                   "omniglot-28-dagan on mnist5k digits (never seen): real, then variants")
    print(f"wrote the grids to {out}")


if __name__ == "__main__":
    main()
