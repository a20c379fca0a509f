"""The headline numbers of every scenario in one file: benchmarks/results/headline.json.

    python benchmarks/headline.py

A JSON list of rows, one per (scenario, dataset, setting, condition, baseline, metric):

    {"scenario": "few-shot" | "long-tail" | "transfer", "dataset": "mnist5k", "setting": "5/class" | "ratio 50",
     "condition": "gan-gated", "baseline": "classical" | "best-non-generative" | "real" | "pretrained-classifier",
     "metric": "accuracy" | "balanced accuracy" | "rarest-three recall",
     "gain": +0.4, "ci": [-0.3, 1.1], "seeds": 5, "source": "accuracy_mnist5k_gate-filter.json"}

``gain`` and ``ci`` are paired gains in percentage points (mean over seeds and its 95 % t-interval;
``ci`` is null with one seed). Few-shot rows (gan+classical and gan-gated) come from the runs the
README's results table shows (benchmarks/variants.py's ``_headline_run``: today's default's run
of the condition, else the newest former default's), paired with classical by variants.py's
rules (the variant's own classical cells when it ran them, else the baseline run's, same subsets). Long-tail rows come from
``long_tail_<dataset>.json`` when present: every condition vs the best non-generative condition
(rows carry ``baseline_condition``, the one chosen by cross-validation, not by the test set) in
balanced accuracy and in the rarest three classes' recall, and vs ``real`` (plain training).
Transfer rows come from ``transfer_*.json``: every condition vs ``classical`` and vs
``pretrained-classifier`` (the same CNN pretrained on the source); within Omniglot the dataset
names its target alphabets, e.g. ``omniglot[Korean,Tagalog]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

HERE = Path(__file__).parent
FEW_SHOT = ("gan+classical", "gan-gated")  # the few-shot headline conditions, as in the README


def _variants():
    spec = importlib.util.spec_from_file_location("variants", HERE / "variants.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _points(gain: dict) -> tuple[float, list[float] | None]:
    ci = None if gain.get("ci_low") is None else [round(100 * gain["ci_low"], 2), round(100 * gain["ci_high"], 2)]
    return round(100 * gain["mean"], 2), ci


def few_shot_rows(results: Path) -> list[dict]:
    variants = _variants()
    variants.RESULTS = results
    datasets = sorted({p.name.split("_")[1] for p in results.glob("accuracy_*_*.json")})
    rows = []
    for dataset in datasets:
        collected = variants.collect(dataset)
        runs = {cond: variants._headline_run(collected, cond) for cond in FEW_SHOT}
        for row in collected["rows"]:
            if runs.get(row["condition"]) != row["variant"]:
                continue
            gain, ci = _points(row["vs_classical"])
            rows.append({
                "scenario": "few-shot", "dataset": dataset, "setting": f"{row['per_class']}/class",
                "condition": row["condition"], "baseline": "classical", "metric": "accuracy",
                "gain": gain, "ci": ci, "seeds": len(row["seeds"]),
                "source": f"accuracy_{dataset}_{row['variant']}.json",
            })
    return rows


def long_tail_rows(results: Path) -> list[dict]:
    rows = []
    for path in sorted(results.glob("long_tail_*.json")):
        data = json.loads(path.read_text())
        dataset, summary = data["settings"]["dataset"], data["summary"]
        for key, metric in (("gains", "balanced accuracy"), ("rare3_gains", "rarest-three recall")):
            for g in summary.get(key, []):
                setting = "natural" if g["imbalance"] == "natural" else f"ratio {g['imbalance']:g}"
                gain, ci = _points(g)
                rows.append({
                    "scenario": "long-tail", "dataset": dataset, "setting": setting, "condition": g["condition"],
                    "baseline": g["baseline"], "baseline_condition": g["baseline_condition"], "metric": metric,
                    "gain": gain, "ci": ci, "seeds": g["n"], "source": path.name,
                })
    return rows


# The transfer rows: every condition that uses the source, against the two honest baselines.
TRANSFER_BASELINES = ("classical", "pretrained-classifier")


def transfer_rows(results: Path) -> list[dict]:
    rows = []
    for path in sorted(results.glob("transfer_*.json")):
        data = json.loads(path.read_text())
        s = data["settings"]
        groups = s.get("target_groups") or []
        dataset = f"{s['dataset']}[{','.join(groups)}]" if groups else s["dataset"]
        for g in data["summary"]["gains"]:
            if g["baseline"] not in TRANSFER_BASELINES:
                continue
            gain, ci = _points(g)
            rows.append({
                "scenario": "transfer", "dataset": dataset, "source": path.name, "source_dataset": s["source"]["name"],
                "setting": f"{g['per_class']}/class", "condition": g["condition"], "baseline": g["baseline"],
                "metric": "accuracy", "gain": gain, "ci": ci, "seeds": g["n"],
            })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=str(HERE / "results"), help="folder the results files are read from")
    parser.add_argument("--out", default=None, help="file to write [default: RESULTS/headline.json]")
    args = parser.parse_args()
    results = Path(args.results)
    rows = few_shot_rows(results) + long_tail_rows(results) + transfer_rows(results)
    out = Path(args.out) if args.out else results / "headline.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {len(rows)} rows to {out}")


if __name__ == "__main__":
    main()
