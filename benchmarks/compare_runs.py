"""Compare two accuracy-benchmark results files cell by cell, timing and machine aside.

    python benchmarks/compare_runs.py BEFORE.json AFTER.json --out benchmarks/results/NAME.json

Used to show that a change of code that must not change behaviour (a refactor) gives the same
numbers to the last digit: every accuracy, per-class accuracy and generative metric of every
cell, and the summary statistics. Writes both files and the verdict as JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# What may differ between two runs of the same cells: time, host, and the settings hash (which
# changes when a settings file gains a field, not the numbers).
VOLATILE = ("wall_seconds", "machine", "key", "threads")


def _numbers(cell: dict) -> dict:
    kept = {k: v for k, v in cell.items() if k not in VOLATILE and k != "gan"}
    kept["results"] = {c: {k: v for k, v in r.items() if k != "seconds"} for c, r in cell["results"].items()}
    kept["gan"] = {k: v for k, v in cell.get("gan", {}).items() if k in ("loss", "steps", "collapsed")}
    return kept


def compare(before: dict, after: dict) -> dict:
    pairs = {(c["per_class"], c["seed"]): [c] for c in before["cells"]}
    for c in after["cells"]:
        pairs.setdefault((c["per_class"], c["seed"]), []).append(c)
    cells = [
        {"per_class": n, "seed": s, "identical": len(both) == 2 and _numbers(both[0]) == _numbers(both[1])}
        for (n, s), both in sorted(pairs.items())
    ]
    same = before["summary"] == after["summary"] and all(c["identical"] for c in cells)
    return {"identical": same, "identical_summary": before["summary"] == after["summary"], "cells": cells}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--note", default="", help="what the two runs are, recorded in the output")
    args = parser.parse_args()
    before, after = json.loads(args.before.read_text()), json.loads(args.after.read_text())
    verdict = compare(before, after)
    args.out.write_text(json.dumps({"note": args.note, **verdict, "before": before, "after": after}, indent=1) + "\n")
    print(f"identical: {verdict['identical']} ({sum(c['identical'] for c in verdict['cells'])} of {len(verdict['cells'])} cells)")


if __name__ == "__main__":
    main()
