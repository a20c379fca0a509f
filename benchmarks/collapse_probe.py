"""Mode-collapse probe: per-class diversity of one GAN per variant, on one few-shot subset.

    python benchmarks/collapse_probe.py --dataset mnist5k --per-class 10 --seed 0

For each variant (a GANConfig override), pretrains through the real CLI on the same few-shot
subset and records the collapse monitor's last reading: per class, the diversity of samples
over the diversity of the real images (near 1 = spread like the data; the alarm is < 0.35),
which classes raised the alarm, and the training time. One seed: a screen, not a benchmark of
accuracy. Writes benchmarks/results/collapse_probe_<dataset>_<n>.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from ganaug.utils import machine, versions

VARIANTS = {
    "default": {},
    "minibatch_std": {"minibatch_std": True},
    "lecam": {"lecam_weight": 0.3},
    "per-class": {"conditioning": "per-class"},
    "mmd": {"loss": "mmd"},
}


def probe(name: str, override: dict, args: argparse.Namespace, scratch: Path) -> dict:
    config = scratch / f"{name}.json"
    config.write_text(json.dumps(override))
    out = scratch / name
    subprocess.run(
        [sys.executable, "-m", "ganaug.cli", "pretrain", "--dataset", args.dataset, "--per-class",
         str(args.per_class), "--seed", str(args.seed), "--config", str(config), "--quiet", "--out", str(out)],
        check=True,
    )
    meta = json.loads((out / "augmenter.json").read_text())
    last = meta["monitor"][-1]
    ratios = list(last["ratios"].values())
    return {
        "variant": name,
        "override": override,
        "steps": meta["summary"]["steps"],
        "train_seconds": meta["summary"]["train_seconds"],
        "diversity_ratio": {"mean": round(sum(ratios) / len(ratios), 3), "min": round(min(ratios), 3),
                            "max": round(max(ratios), 3)},
        "per_class": last["ratios"],
        "collapsed": last["collapsed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--per-class", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.variants.split(","):
            results.append(probe(name, VARIANTS[name], args, Path(scratch)))
            row = results[-1]
            print(f"{name:>14}: diversity {row['diversity_ratio']}  collapsed {row['collapsed']}", flush=True)
    out = Path(__file__).parent / "results" / f"collapse_probe_{args.dataset}_{args.per_class}.json"
    out.write_text(json.dumps({
        "benchmark": "collapse_probe", "dataset": args.dataset, "per_class": args.per_class,
        "seed": args.seed, "machine": machine(),
        "versions": versions(), "variants": results,
    }, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
