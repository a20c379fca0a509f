"""Probe a class-conditional GAN setting on all of Omniglot (242 characters, 20 drawings each, 28x28).

    python benchmarks/omniglot_gan_probe.py --root DIR --name acgan \\
        --gan '{"loss": "hinge", "sampling": "grouped", "steps": 6000, "aux_weight": 1.0}'

Fits `GANAugmenter(seed=0, **GAN)` on the union of the two small background sets (one torch
thread; run two probes side by side on 2 cores), then draws 10 samples of every character and
measures two things a class-conditional augmenter needs before any accuracy run:

* ``nn_agree``: the share of samples whose nearest real drawing (pixels) is of the character they
  were asked for (chance 1/242): does G draw the class?
* ``sample_spread`` against ``real_spread``: the mean per-pixel standard deviation within a
  character (0-255), over the first 50 characters: 0 when G ignores its noise.

Each probe is a row of benchmarks/results/omniglot_gan_probes.json (a row of the same name is
replaced) and a grid, ``--figures``/omniglot_probe_<name>.png: 12 characters, 3 real drawings then
7 samples each. How to read them: docs/findings.md.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from ganaug import GANAugmenter, load_dataset
from ganaug.report import plots
from ganaug.utils import machine

HERE = Path(__file__).parent


def probe(root: str, options: dict, figure: Path) -> dict:
    data = load_dataset("omniglot", root=root, train=None, image_size=28)
    started = time.perf_counter()
    aug = GANAugmenter(seed=0, device="cpu", verbose=False, **options).fit(data)
    seconds = time.perf_counter() - started
    real, targets = np.asarray(data.data).astype(np.float32), np.asarray(data.targets)
    classes = np.arange(len(data.classes))
    samples, labels = aug.sample(len(classes) * 10, labels=np.repeat(aug.classes_, 10), seed=1)
    samples, labels = samples.astype(np.float32), np.asarray(labels)
    nearest = targets[torch.cdist(torch.from_numpy(samples.reshape(len(samples), -1)),
                                  torch.from_numpy(real.reshape(len(real), -1))).argmin(1).numpy()]
    picked = classes[np.linspace(0, len(classes) - 1, 12).astype(int)]
    images, rows = [], []
    for c in picked:
        images += [real[targets == c][:3], samples[labels == c][:7]]
        rows += [c] * 10
    plots.sample_grid(np.concatenate(images), np.array(rows), [data.classes[c][:14] for c in picked], picked,
                      per_class=10, path=figure, title=f"{figure.stem}: 3 real, 7 samples")
    return {
        "gan": options, "steps": aug.n_steps_, "loss": aug.config_.loss, "seconds": round(seconds),
        "nn_agree": round(float((nearest == labels).mean()), 4), "chance": round(1 / len(classes), 4),
        "sample_spread": round(float(np.mean([samples[labels == c].std(0).mean() for c in classes[:50]])), 2),
        "real_spread": round(float(np.mean([real[targets == c].std(0).mean() for c in classes[:50]])), 2),
        "machine": machine("cpu"), "torch_threads": torch.get_num_threads(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="the folder holding Omniglot's zips")
    parser.add_argument("--name", required=True, help="the probe's name (its row and figure)")
    parser.add_argument("--gan", type=json.loads, required=True, help="GANAugmenter's keywords as JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--figures", default=str(HERE.parent / "docs" / "figures" / "probes"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    row = {"name": args.name} | probe(args.root, args.gan, figures / f"omniglot_probe_{args.name}.png")
    path = HERE / "results" / "omniglot_gan_probes.json"
    rows = json.loads(path.read_text())["probes"] if path.is_file() else []
    rows = [r for r in rows if r["name"] != args.name] + [row]
    path.write_text(json.dumps({"benchmark": "omniglot_gan_probe", "probes": rows}, indent=2) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
