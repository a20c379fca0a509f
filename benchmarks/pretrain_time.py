"""Wall time of `ganaug pretrain` with default settings, repeated, as JSON.

    python benchmarks/pretrain_time.py --dataset digits --repeats 3 [--keep runs/pretrain_digits]

Runs the real CLI in a subprocess (so imports and file output count) and writes
benchmarks/results/pretrain_time_<dataset>.json with every run and their mean/min/max.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ganaug.utils import machine, versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="keep each run's output in DIR/seed<N> (e.g. for label_consistency.py)")
    args = parser.parse_args()
    ganaug = [sys.executable, "-m", "ganaug.cli"]
    runs = []
    for seed in range(args.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            out = str(Path(args.keep) / f"seed{seed}") if args.keep else scratch
            started = time.perf_counter()
            subprocess.run(
                [*ganaug, "pretrain", "--dataset", args.dataset, "--seed", str(seed), "--device", args.device,
                 "--quiet", "--out", out],
                check=True,
            )
            seconds = time.perf_counter() - started
            meta = json.loads((Path(out) / "augmenter.json").read_text())
        runs.append({"seed": seed, "wall_seconds": round(seconds, 2), "steps": meta["summary"]["steps"],
                     "train_seconds": meta["summary"]["train_seconds"]})
        print(runs[-1], flush=True)
    walls = [r["wall_seconds"] for r in runs]
    result = {
        "benchmark": "pretrain_time",
        "command": f"ganaug pretrain --dataset {args.dataset} --out DIR (defaults)",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(args.device),
        "device": args.device,
        "runs": runs,
        "wall_seconds": {"mean": round(sum(walls) / len(walls), 2), "min": min(walls), "max": max(walls)},
        "versions": versions(),
    }
    out = Path(__file__).parent / "results" / f"pretrain_time_{args.dataset}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["wall_seconds"]))


if __name__ == "__main__":
    main()
