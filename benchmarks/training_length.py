"""Training lengths by measurement (issue 20): accuracy and CAS against GAN and classifier steps,
and the rerun-noise check of the speed work, from committed accuracy runs on digits.

    # the runs it reads (benchmarks/accuracy.py; 5 seeds × 5/10/20/50 per class each)
    python benchmarks/accuracy.py --dataset digits --variant rerun-speed --gan '{"loss": "mmd"}' --jobs 2
    python benchmarks/accuracy.py --dataset digits --variant mmd-steps1200 --gan '{"loss": "mmd", "steps": 1200}' \\
        --conditions gan,gan+classical,synthetic --jobs 2                      # likewise 600, 1800
    python benchmarks/accuracy.py --dataset digits --variant classifier-steps300 --classifier-steps 300 \\
        --conditions real,classical --no-metrics --jobs 2
    python benchmarks/accuracy.py --dataset digits --variant classifier-steps200 --classifier-steps 200 \\
        --gan '{"loss": "mmd"}' --jobs 2                                       # every condition
    python benchmarks/accuracy.py --dataset digits --variant rerun-layout --gan '{"loss": "mmd"}' --jobs 2
    python benchmarks/accuracy.py --dataset digits --variant mmd-lr3e-4-steps800 \
        --gan '{"loss": "mmd", "steps": 800, "lr_g": 3e-4}' --conditions gan,gan+classical,synthetic --jobs 2
                                                 # likewise lr 5e-4 × 600 steps, and 3e-4 × 1200 at 50/class
    python benchmarks/accuracy.py --dataset digits --variant rerun-lr --gan '{"loss": "mmd"}' --jobs 2
    # the tables
    python benchmarks/training_length.py          # writes benchmarks/results/training_length_digits.json
    # mnist5k: today's defaults against the runs before the speed work (its only table)
    python benchmarks/accuracy.py --dataset mnist5k --per-class 5,10,20,50 --seeds 5 --variant rerun-lr \
        --conditions real,classical,gan,gan+classical,synthetic --gan '{"loss": "mmd"}' --jobs 2
    python benchmarks/training_length.py --dataset mnist5k  # writes training_length_mnist5k.json

Two questions, each answered with paired differences (same subset, same seed) and their 95 %
intervals, in accuracy points:

* **learning curves**: each shorter run against the reference length of today's code
  (``rerun-speed``: the matching network's 2,400 steps, the classifier's 400), per condition and
  size; for the GAN also CAS (``synthetic``) and the label consistency of its samples.
* **rerun noise**: ``rerun-speed`` (today's code: batch-wise classical augmentation, one thread
  per cell) against the same settings run before the speed work (``real`` and ``classical`` from
  ``mmd``, the GAN conditions from ``long``, which has today's 2,400 matching-network steps), every
  condition and size: is each condition's mean within the before-run's 95 % interval, and what is
  the paired difference.
* **the channels-last classifier** (``rerun-layout``: ``rerun-speed``'s settings, the classifier's
  CNN in the channels-last layout) against ``rerun-speed``, every condition, in the same terms.
* **the matching network's learning rate**: fewer steps at a larger rate (``mmd-lr*``) against
  ``rerun-layout`` (2,400 steps at 1e-4; the same GAN code on the same machine), and today's
  defaults (``rerun-lr``: 800 steps at 3e-4) against it in the rerun-noise terms, every condition.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ganaug import load_dataset
from ganaug.evaluation.config import auto_classifier_steps
from ganaug.evaluation.stats import paired_gain, summarize
from ganaug.utils import finite_json

RESULTS = Path(__file__).parent / "results"
REFERENCE = "rerun-speed"
# The runs before the speed work at today's settings: the baselines from ``mmd``, the GAN
# conditions from ``long`` (the matching network's 2,400 steps; ``mmd`` predates that default).
BEFORE = {"real": "mmd", "classical": "mmd", "gan": "long", "gan+classical": "long", "synthetic": "long"}
GAN_RUNS = {600: "mmd-steps600", 1200: "mmd-steps1200", 1800: "mmd-steps1800"}
CLASSIFIER_RUNS = {200: "classifier-steps200", 300: "classifier-steps300"}
LAYOUT_RUN = "rerun-layout"  # rerun-speed's settings, the classifier channels-last (`ganaug.training.classifier.LAYOUT`)
GAN_CONDITIONS = ("gan", "gan+classical", "synthetic")
# Fewer matching-network steps at a larger learning rate, and today's defaults (800 at 3e-4).
LR_RUNS = {"3e-4 x 800": "mmd-lr3e-4-steps800", "5e-4 x 600": "mmd-lr5e-4-steps600", "3e-4 x 1200": "mmd-lr3e-4-steps1200"}
LR_DEFAULTS_RUN = "rerun-lr"


def load(dataset: str, variant: str) -> dict:
    path = RESULTS / f"accuracy_{dataset}_{variant}.json"
    if not path.exists():
        raise SystemExit(f"training_length.py: {path} is missing; its command is in this script's docstring")
    return json.loads(path.read_text())


def _cells(results: dict) -> dict[tuple[int, int], dict]:
    return {(c["per_class"], c["seed"]): c for c in results["cells"]}


def _value(cell: dict, what: str) -> float:
    """Accuracy of a condition, or ``label_consistency`` of the cell's GAN samples."""
    if what == "label_consistency":
        return float(cell["metrics"]["label_consistency"])
    return float(cell["results"][what]["accuracy"])


def compare(treatment: dict, baseline: dict, what: tuple[str, ...]) -> list[dict]:
    """Paired rows per (size, quantity): the two means and the difference, in points."""
    a, b = _cells(treatment), _cells(baseline)
    rows = []
    for n in sorted({k[0] for k in a}):
        keys = sorted(k for k in a if k[0] == n and k in b)
        for k in keys:
            # Runs from before the subset's digest was recorded pair by (size, seed) alone.
            digests = {a[k].get("subset_sha256"), b[k].get("subset_sha256")} - {None}
            if len(digests) > 1:
                raise SystemExit(f"cell {k} trained on other images in the two runs")
        for q in what:
            x, y = [100 * _value(a[k], q) for k in keys], [100 * _value(b[k], q) for k in keys]
            gain = paired_gain(x, y)
            rows.append({"per_class": n, "quantity": q, "seeds": len(keys), "mean": float(np.mean(x)),
                         "baseline_mean": float(np.mean(y)), "difference": gain["mean"],
                         "ci": [gain["ci_low"], gain["ci_high"]], "p_value": gain["p_value"]})
    return rows


def rerun_noise(after: dict, before: dict, conditions: tuple[str, ...]) -> list[dict]:
    """Each condition's mean after, beside the before-run's mean and 95 % interval (over seeds)."""
    rows = compare(after, before, conditions)
    b = _cells(before)
    for row in rows:
        values = [100 * _value(c, row["quantity"]) for k, c in b.items() if k[0] == row["per_class"]]
        s = summarize(values)
        row["before_ci"] = [s["ci_low"], s["ci_high"]]
        row["within_before_ci"] = bool(s["ci_low"] <= row["mean"] <= s["ci_high"])
    return rows


def defaults_run(reference: dict, short: dict, image_shape: tuple[int, ...]) -> dict:
    """Today's defaults cell by cell: the budget `auto_classifier_steps` gives each cell, its cell
    taken from ``short`` (run at that budget) where it sizes to the short one, else from ``reference``."""
    steps = {s["settings"]["classifier_steps"]: _cells(s) for s in (reference, short)}
    return reference | {"cells": [steps[auto_classifier_steps(image_shape, c["n_train"])][c["per_class"], c["seed"]]
                                  for c in reference["cells"]]}


def noise_table(after: dict, before: dict[str, dict]) -> list[dict]:
    """`rerun_noise` of every condition against the before-run `BEFORE` names for it."""
    return [row | {"before_run": BEFORE[row["quantity"]]} for v, r in before.items()
            for row in rerun_noise(after, r, tuple(c for c, b in BEFORE.items() if b == v))]


def change_table(dataset: str, after_run: str, before_run: str) -> dict:
    """`rerun_noise` of ``after_run`` against ``before_run`` (its settings before one change), every condition."""
    after, before = load(dataset, after_run), load(dataset, before_run)
    conditions = tuple(after["settings"]["conditions"])
    return {"after": after_run, "before": before_run,
            "machines": {"after": after.get("machine"), "before": before.get("machine")},
            "seconds_per_cell": {"after": seconds(after), "before": seconds(before)},
            "rows": [row | {"before_run": before_run} for row in rerun_noise(after, before, conditions)]}


def learning_rate_table(dataset: str) -> dict:
    """Each `LR_RUNS` run against `LAYOUT_RUN` (2,400 steps at 1e-4), the GAN conditions and label consistency."""
    layout = load(dataset, LAYOUT_RUN)
    runs = {name: load(dataset, v) for name, v in LR_RUNS.items()}
    return {"reference": {"variant": LAYOUT_RUN, "gan_steps": 2400, "lr_g": 1e-4, "machine": layout.get("machine")},
            "runs": {name: {"variant": LR_RUNS[name], "machine": r.get("machine"), "seconds_per_cell": seconds(r),
                            "rows": compare(r, layout, (*GAN_CONDITIONS, "label_consistency"))}
                     for name, r in runs.items()}}


def seconds(results: dict) -> dict[str, float]:
    """Median seconds per cell of the GAN's training and of each condition (one-thread cells, as the
    run shared the machine: a cost ratio between runs, not a speed benchmark)."""
    cells = results["cells"]
    out = {"gan_training": float(np.median([c["gan"]["train_seconds"] for c in cells]))} if "gan" in cells[0] else {}
    for cond in results["settings"]["conditions"]:
        out[cond] = float(np.median([c["results"][cond]["seconds"] for c in cells]))
    return out


def _fmt(row: dict) -> str:
    lo, hi = row["ci"]
    return f"{row['difference']:+.1f} [{lo:+.1f}, {hi:+.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    args = parser.parse_args()
    if args.dataset != "digits":
        return defaults_only(args.dataset)
    reference = load(args.dataset, REFERENCE)
    before = {v: load(args.dataset, v) for v in sorted(set(BEFORE.values()))}
    gan = {steps: load(args.dataset, v) for steps, v in GAN_RUNS.items()}
    clf = {steps: load(args.dataset, v) for steps, v in CLASSIFIER_RUNS.items()}
    out = {
        "benchmark": "training_length", "dataset": args.dataset,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "command": "python " + " ".join(sys.argv),
        "machine": reference["machine"], "reference": {"variant": REFERENCE, "gan_steps": 2400, "classifier_steps": 400},
        "how": "paired differences (same subset and seed) against the reference run, accuracy points, "
               "mean and 95 % t-interval over seeds; label_consistency: % of GAN samples a classifier trained on "
               "the full pool labels as their class",
        "gan_steps": {str(s): compare(r, reference, (*GAN_CONDITIONS, "label_consistency")) for s, r in gan.items()},
        "classifier_steps": {str(s): compare(r, reference, tuple(r["settings"]["conditions"])) for s, r in clf.items()},
        "seconds_per_cell": {REFERENCE: seconds(reference), **{GAN_RUNS[s]: seconds(r) for s, r in gan.items()},
                             **{CLASSIFIER_RUNS[s]: seconds(r) for s, r in clf.items()}},
        "rerun_noise_defaults": {
            "after": f"today's defaults: {CLASSIFIER_RUNS[200]} where a cell's budget sizes to 200 steps, else {REFERENCE}",
            "rows": noise_table(defaults_run(reference, clf[200], load_dataset(args.dataset).image_shape), before)},
        "rerun_noise_layout": change_table(args.dataset, LAYOUT_RUN, REFERENCE),
        "gan_learning_rate": learning_rate_table(args.dataset),
        "rerun_noise_lr": change_table(args.dataset, LR_DEFAULTS_RUN, LAYOUT_RUN),
        "rerun_noise": {"after": REFERENCE, "before": BEFORE,
                        "before_machines": {v: r.get("machine") for v, r in before.items()},
                        "rows": noise_table(reference, before)},
    }
    path = RESULTS / f"training_length_{args.dataset}.json"
    path.write_text(json.dumps(finite_json(out), indent=2) + "\n")
    for title, table in (("GAN steps", out["gan_steps"]), ("classifier steps", out["classifier_steps"])):
        print(f"\n{title} vs the reference (points, paired 95 % interval)")
        for steps, rows in table.items():
            for row in rows:
                print(f"  {steps:>5} {row['quantity']:<18} {row['per_class']:>3}/class  {_fmt(row)}")
    print(f"\nmatching network: steps at a larger learning rate vs {LAYOUT_RUN} (points, paired 95 % interval)")
    for name, run in out["gan_learning_rate"]["runs"].items():
        for row in run["rows"]:
            print(f"  {name:>11} {row['quantity']:<18} {row['per_class']:>3}/class  {_fmt(row)}")
    for name in ("rerun_noise", "rerun_noise_defaults", "rerun_noise_layout", "rerun_noise_lr"):
        print(f"\n{name}: after ({out[name]['after']}) vs before")
        for row in out[name]["rows"]:
            _print_noise(row)
    print(f"\nwritten: {path}")


def defaults_only(dataset: str) -> None:
    """A dataset with no learning-curve runs: today's defaults (`LR_DEFAULTS_RUN`) against the
    runs before the speed work (`BEFORE`), every condition, in the rerun-noise terms."""
    after = load(dataset, LR_DEFAULTS_RUN)
    before = {v: load(dataset, v) for v in sorted(set(BEFORE.values()))}
    out = {
        "benchmark": "training_length", "dataset": dataset,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"), "command": "python " + " ".join(sys.argv),
        "machine": after["machine"],
        "rerun_noise_defaults": {
            "after": f"{LR_DEFAULTS_RUN}: today's defaults (the matching network's 800 or 1,200 steps at 3e-4, "
                     "one thread per cell, classical augmentation on the batch, the channels-last classifier)",
            "before": BEFORE, "before_machines": {v: r.get("machine") for v, r in before.items()},
            "wall_seconds": {"after": after.get("wall_seconds"), "cells": len(after["cells"])},
            "seconds_per_cell": {"after": seconds(after), **{v: seconds(r) for v, r in before.items()}},
            "rows": noise_table(after, before)},
    }
    path = RESULTS / f"training_length_{dataset}.json"
    path.write_text(json.dumps(finite_json(out), indent=2) + "\n")
    print(f"rerun_noise_defaults: after ({LR_DEFAULTS_RUN}) vs before")
    for row in out["rerun_noise_defaults"]["rows"]:
        _print_noise(row)
    print(f"\nwritten: {path}")


def _print_noise(row: dict) -> None:
    flag = "within" if row["within_before_ci"] else "OUTSIDE"
    print(f"  {row['quantity']:<14} {row['per_class']:>3}/class  ({row['before_run']}) after {row['mean']:.1f}, before "
          f"{row['baseline_mean']:.1f} [{row['before_ci'][0]:.1f}, {row['before_ci'][1]:.1f}] {flag}; {_fmt(row)}")


if __name__ == "__main__":
    main()
