"""Label consistency of a checkpoint: does a real-data classifier agree with the conditioning label?

The judge is an RBF SVM trained on the dataset's *test* split, which the GAN never saw
(`ganaug pretrain` trains on the train split). It labels N samples drawn from the checkpoint;
we report the share it labels with the class they were conditioned on, overall and per class.

    python benchmarks/label_consistency.py runs/digits/augmenter.safetensors --dataset digits

Writes benchmarks/results/label_consistency_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from ganaug import GANAugmenter, load_dataset
from ganaug.utils import versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    judge_data = load_dataset(args.dataset, train=False)
    judge = SVC(gamma="scale").fit(judge_data.data.reshape(len(judge_data), -1) / 255.0, judge_data.targets)
    aug = GANAugmenter.load(args.checkpoint, verbose=False)
    images, labels = aug.sample(args.n, seed=args.seed)
    u8 = images.reshape(len(images), -1).astype(np.float64) / 255.0
    predicted = judge.predict(u8)
    per_class = {
        aug.class_names_[i]: round(float((predicted[labels == c] == c).mean()), 4)
        for i, c in enumerate(aug.classes_)
    }
    result = {
        "checkpoint": str(args.checkpoint),
        "dataset": args.dataset,
        "judge": "SVC(rbf) trained on the test split (unseen by the GAN)",
        "n_samples": args.n,
        "seed": args.seed,
        "label_consistency": round(float((predicted == labels).mean()), 4),
        "per_class": per_class,
        "gan_train_seconds": aug.metadata()["summary"]["train_seconds"],
        "machine": f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores",
        "versions": versions(),
    }
    out = Path(args.out or Path(__file__).parent / "results" / f"label_consistency_{args.dataset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("label_consistency", "per_class")}, indent=2))


if __name__ == "__main__":
    main()
