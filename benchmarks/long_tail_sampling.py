"""The long tail's GAN with batches balanced over classes against uniform draws (issue 19), paired.

    # the runs it reads (benchmarks/long_tail.py; 5 seeds each; only the GAN conditions: the
    # non-generative ones do not depend on the GAN, and the committed default runs have them)
    python benchmarks/long_tail.py --dataset digits --imbalance 10,20 --conditions gan-fill+classical,gan-fill+logit-adjusted \\
        --variant balanced --jobs 2                                   # GANConfig(sampling="auto"): balanced here
    python benchmarks/long_tail.py --dataset digits --imbalance 10,20 --conditions gan-fill+classical,gan-fill+logit-adjusted \\
        --variant uniform --gan '{"sampling": "uniform"}' --jobs 2    # the draw before `sampling` existed
    # the same with --dataset mnist5k --imbalance 10,50
    python benchmarks/long_tail_sampling.py   # writes benchmarks/results/sampling_long_tail.json

Per dataset, ratio and GAN condition, paired over seeds (the same long-tailed training set and
seed in both runs, checked by the cells' subset hashes), in points, mean [95 % interval]:

* ``balanced`` against ``uniform``: balanced accuracy and the rarest three classes' recall; the
  same code, machine and settings but the draw of G's real batches.
* ``balanced`` against the best non-generative condition of the committed default run
  (``long_tail_<dataset>.json``, chosen there by cross-validation on the training set): the
  issue's target, with that run's rerun noise (another machine and day, the same subsets).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from ganaug.evaluation.stats import paired_gain
from ganaug.utils import finite_json

RESULTS = Path(__file__).parent / "results"
DATASETS = ("digits", "mnist5k")
GAN_FILL = ("gan-fill+classical", "gan-fill+logit-adjusted")
METRICS = {"balanced_accuracy": "balanced accuracy", "rare3_recall": "rarest-three recall"}


def _cells(results: dict) -> dict[tuple[float, int], dict]:
    return {(float(c["imbalance"]), int(c["seed"])): c for c in results["cells"]}


def pair(treatment: dict, baseline: dict, conditions: dict[float, tuple[str, str]]) -> list[dict]:
    """Paired gains of ``treatment``'s cells over ``baseline``'s, per ratio: for each ratio the
    (treatment condition, baseline condition) pairs in ``conditions[ratio]``."""
    a, b = _cells(treatment), _cells(baseline)
    rows = []
    for ratio, pairs in conditions.items():
        keys = sorted(k for k in a if k[0] == ratio and k in b)
        for k in keys:
            if a[k]["subset_sha256"] != b[k]["subset_sha256"]:
                raise SystemExit(f"ratio {ratio:g}, seed {k[1]}: the two runs drew other training sets")
        for cond, base in pairs:
            for metric, label in METRICS.items():
                gain = paired_gain([a[k]["results"][cond][metric] for k in keys],
                                   [b[k]["results"][base][metric] for k in keys])
                rows.append({"imbalance": ratio, "condition": cond, "baseline": base, "metric": label,
                             "seeds": [k[1] for k in keys], **gain})
    return rows


def dataset_table(dataset: str) -> dict | None:
    try:
        balanced, uniform, default = (json.loads((RESULTS / f"long_tail_{dataset}{s}.json").read_text())
                                      for s in ("_balanced", "_uniform", ""))
    except FileNotFoundError:
        return None
    ratios = sorted({float(c["imbalance"]) for c in balanced["cells"]})
    best = {float(b["imbalance"]): b["condition"] for b in default["summary"]["best_non_generative"]}
    return {
        "dataset": dataset,
        "runs": {name: {"command": r["command"], "machine": r["machine"], "created": r["created"]}
                 for name, r in (("balanced", balanced), ("uniform", uniform), ("default", default))},
        "balanced_vs_uniform": pair(balanced, uniform, {r: tuple((c, c) for c in GAN_FILL) for r in ratios}),
        "balanced_vs_best_non_generative": pair(balanced, default, {r: tuple((c, best[r]) for c in GAN_FILL)
                                                                    for r in ratios if r in best}),
    }


def _points(row: dict) -> str:
    return f"{100 * row['mean']:+.1f} [{100 * row['ci_low']:+.1f}, {100 * row['ci_high']:+.1f}]"


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    tables = [t for t in map(dataset_table, DATASETS) if t is not None]
    if not tables:
        sys.exit("no pair of long_tail_<dataset>_balanced.json and _uniform.json in benchmarks/results")
    out = {"benchmark": "long_tail_sampling", "command": "python benchmarks/long_tail_sampling.py",
           "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "datasets": tables}
    (RESULTS / "sampling_long_tail.json").write_text(json.dumps(finite_json(out), indent=1) + "\n")
    for t in tables:
        for part in ("balanced_vs_uniform", "balanced_vs_best_non_generative"):
            print(f"\n**{t['dataset']}**, {part.replace('_', ' ')} (points, mean [95 % interval])\n")
            print("| ratio | condition | baseline | " + " | ".join(METRICS.values()) + " |\n|---|---|---|---|---|")
            rows = t[part]  # per (ratio, condition): the METRICS rows in their order
            for row, rare in zip(rows[::2], rows[1::2], strict=True):
                print(f"| {row['imbalance']:g} | {row['condition']} | {row['baseline']} | {_points(row)} | {_points(rare)} |")


if __name__ == "__main__":
    main()
