"""Wall time of a ganaug CLI job with default settings, repeated, as JSON.

    python benchmarks/job_time.py --job pretrain --dataset digits --repeats 3 [--keep runs/pretrain_digits]
    python benchmarks/job_time.py --job demo --repeats 2     # `make demo`: ganaug evaluate --dataset digits

Runs the real CLI in a subprocess (so imports, metrics, reports and file output count) and writes
benchmarks/results/<job>_time_<dataset>.json with every run and their mean/min/max. ``pretrain``
uses seed r for repeat r; ``demo`` repeats the demo's exact command (its seeds 0–2 included).
Time it on an otherwise idle machine: anything else running shares the cores.
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


def _pretrain(dataset: str, seed: int, device: str, out: str) -> list[str]:
    return ["pretrain", "--dataset", dataset, "--seed", str(seed), "--device", device, "--quiet", "--out", out]


def _demo(dataset: str, seed: int, device: str, out: str) -> list[str]:
    return ["evaluate", "--dataset", dataset, "--device", device, "--quiet", "--out", out]


def _pretrain_facts(out: Path) -> dict:
    summary = json.loads((out / "augmenter.json").read_text())["summary"]
    return {"steps": summary["steps"], "train_seconds": summary["train_seconds"]}


def _demo_facts(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    cells = sorted(c["wall_seconds"] for c in results["cells"])
    return {"cells": len(cells), "evaluation_seconds": round(results["wall_seconds"], 2),
            "cell_seconds": {"min": cells[0], "median": cells[len(cells) // 2], "max": cells[-1]}}


JOBS = {"pretrain": (_pretrain, _pretrain_facts), "demo": (_demo, _demo_facts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", choices=sorted(JOBS), default="pretrain")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--keep", default=None, metavar="DIR",
                        help="keep each run's output in DIR/run<N> (e.g. for label_consistency.py)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    arguments, facts = JOBS[args.job]
    runs = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(args.keep) / f"run{repeat}" if args.keep else Path(scratch)
            command = arguments(args.dataset, repeat, args.device, str(out))
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "ganaug.cli", *command], check=True)
            seconds = time.perf_counter() - started
            runs.append({"repeat": repeat, "wall_seconds": round(seconds, 2), **facts(out)})
        print(runs[-1], flush=True)
    walls = [r["wall_seconds"] for r in runs]
    result = {
        "benchmark": f"{args.job}_time",
        "command": "ganaug " + " ".join(arguments(args.dataset, 0, args.device, "DIR")),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": machine(args.device),
        "device": args.device,
        "runs": runs,
        "wall_seconds": {"mean": round(sum(walls) / len(walls), 2), "min": min(walls), "max": max(walls)},
        "versions": versions(),
    }
    path = Path(__file__).parent / "results" / f"{args.job}_time_{args.dataset}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["wall_seconds"]))


if __name__ == "__main__":
    main()
