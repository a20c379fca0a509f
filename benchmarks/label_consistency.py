"""Label consistency of a checkpoint: does a real-data classifier agree with the conditioning label?

The judge is an RBF SVM trained on the dataset's *test* split, which the GAN never saw
(`ganaug pretrain` trains on the train split). It labels N samples drawn from the checkpoint;
we report the share it labels with the class they were conditioned on, overall and per class,
for each checkpoint given and its spread over them.

    python benchmarks/label_consistency.py runs/digits/augmenter.safetensors --dataset digits
    python benchmarks/job_time.py --job pretrain --dataset digits --repeats 3 --keep runs/pretrain_digits
    python benchmarks/label_consistency.py runs/pretrain_digits/run*/augmenter.safetensors

Writes benchmarks/results/label_consistency_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from ganaug import GANAugmenter, load_dataset
from ganaug.utils import machine, versions


def consistency(checkpoint: str, judge: SVC, n: int, seed: int) -> dict:
    aug = GANAugmenter.load(checkpoint, verbose=False)
    images, labels = aug.sample(n, seed=seed)
    predicted = judge.predict(images.reshape(len(images), -1).astype(np.float64) / 255.0)
    return {
        "checkpoint": str(checkpoint),
        "gan_seed": aug.config_.seed,
        "gan_steps": aug.n_steps_,
        "gan_train_seconds": aug.metadata()["summary"]["train_seconds"],
        "label_consistency": round(float((predicted == labels).mean()), 4),
        "per_class": {
            aug.class_names_[i]: round(float((predicted[labels == c] == c).mean()), 4)
            for i, c in enumerate(aug.classes_)
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="one or more checkpoints (e.g. one per GAN seed)")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    judge_data = load_dataset(args.dataset, train=False)
    judge = SVC(gamma="scale").fit(judge_data.data.reshape(len(judge_data), -1) / 255.0, judge_data.targets)
    runs = [consistency(path, judge, args.n, args.seed) for path in args.checkpoints]
    overall = [r["label_consistency"] for r in runs]
    classes = list(runs[0]["per_class"])
    result = {
        "dataset": args.dataset,
        "judge": "SVC(rbf) trained on the test split (unseen by the GAN)",
        "n_samples": args.n,
        "seed": args.seed,
        "label_consistency": {
            "mean": round(float(np.mean(overall)), 4), "min": min(overall), "max": max(overall),
        },
        "per_class_min": {c: min(r["per_class"][c] for r in runs) for c in classes},
        "runs": runs,
        "machine": machine(),
        "versions": versions(),
    }
    out = Path(args.out or Path(__file__).parent / "results" / f"label_consistency_{args.dataset}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("label_consistency", "per_class_min")}, indent=2))


if __name__ == "__main__":
    main()
