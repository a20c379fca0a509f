"""Long-tail benchmark (issue 19): the long-tail scenario on digits and mnist5k, as committed JSON.

    python benchmarks/long_tail.py --dataset mnist5k --imbalance 10,50 --seeds 5
    python benchmarks/long_tail.py --dataset digits  --imbalance 10,20 --seeds 5
    python benchmarks/long_tail.py --table          # Markdown tables of every results file

For every (imbalance ratio, seed): a long-tailed training set drawn from the pool (exponential
profile), a GAN trained on all of it, and the same CNN under every long-tail condition, scored on
a balanced test set no model saw; the headline metric is balanced accuracy, the baseline to beat
the best non-generative condition (chosen on cross-validation of the training set, not the test
set). Writes benchmarks/results/long_tail_<dataset>.json: the settings, every cell, the summary
and the machine. The bookkeeping is benchmarks/accuracy.py's: each run works in
benchmarks/runs/long_tail_<dataset>[_<variant>]/ (not committed; a rerun resumes from the cells
there), every finished cell is also copied to benchmarks/results/partial/<same name>/ (committed,
so a run longer than a session resumes in a fresh clone), which goes when the run is complete.
Workers share a run with ``--seed-list 3,4`` (or ``--imbalance 50 --share``); the full command
then reads every cell and writes the results file. ``--out DIR`` puts results, partial cells and
the run folder under DIR instead (for trial runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from ganaug.evaluation.config import LONG_TAIL_CONDITIONS, LONG_TAIL_OPTIONAL, EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.evaluation.scenarios import long_tail
from ganaug.training.config import GANConfig

HERE = Path(__file__).parent
CONDITIONS = (*LONG_TAIL_CONDITIONS, *LONG_TAIL_OPTIONAL)


class Places:
    """Where a run's results, committed partial cells and working folder go."""

    def __init__(self, out: str | None, name: str) -> None:
        self.results = Path(out) if out else HERE / "results"
        self.partial = self.results / "partial" / name
        self.run = (Path(out) / "runs" if out else HERE / "runs") / name


def _compact(results: dict) -> dict:
    """Drop training curves (they live in the run folder) to keep the committed JSON small."""
    cells = []
    for cell in results["cells"]:
        slim = {k: v for k, v in cell.items() if k not in ("gan", "samples", "key")}
        if "gan" in cell:
            slim["gan"] = {k: cell["gan"][k] for k in ("loss", "steps", "train_seconds", "collapsed") if k in cell["gan"]}
        cells.append(slim)
    return {k: v for k, v in results.items() if k != "cells"} | {"cells": cells}


def _cell_file(cell: dict) -> str:
    return f"{long_tail.cell_name(cell['imbalance'], cell['seed'])}.json"


def save_partial(places: Places, cell: dict, settings: dict) -> None:
    places.partial.mkdir(parents=True, exist_ok=True)
    (places.partial / _cell_file(cell)).write_text(json.dumps(cell, indent=1) + "\n")
    (places.partial / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")


def resume_partial(places: Places) -> int:
    """Copy the committed cells of an unfinished run into its working folder; how many were new
    (the runner reuses a cell only when its settings key matches)."""
    copied = 0
    for src in sorted(places.partial.glob("*_seed*.json")):
        dst = places.run / "cells" / src.name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            copied += 1
    return copied


def _drop_partial(places: Places, cells: list[dict]) -> None:
    """Remove the committed cells once a finished run holds every one of them."""
    committed = {f.name for f in places.partial.glob("*_seed*.json")}
    if committed <= {_cell_file(c) for c in cells}:
        shutil.rmtree(places.partial, ignore_errors=True)


def config_from(args: argparse.Namespace) -> EvalConfig:
    gan = GANConfig.from_dict(GANConfig().to_dict() | json.loads(args.gan) | ({"steps": args.steps} if args.steps else {}))
    return EvalConfig(
        dataset=args.dataset, scenario="long-tail",
        imbalance=tuple(float(v) for v in args.imbalance.split(",")) if args.imbalance != "natural" else (),
        seeds=args.seed_list or tuple(range(args.seeds)), conditions=tuple(args.conditions.split(",")),
        classifier=args.classifier, classifier_steps=args.classifier_steps, ratio=args.ratio, gan=gan,
        metrics=not args.no_metrics, device=args.device,
    )


def run(args: argparse.Namespace) -> None:
    config = config_from(args)
    name = f"long_tail_{args.dataset}" + ("" if args.variant == "default" else f"_{args.variant}")
    places = Places(args.out, name)
    given = {k: v for k, v in vars(args).items() if v not in (False, None) and k not in ("table", "jobs") and not (k == "seeds" and args.seed_list)}
    command = "python benchmarks/long_tail.py " + " ".join(
        f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} " + (",".join(map(str, v)) if isinstance(v, tuple) else repr(v))
        for k, v in given.items()
    )
    settings = {"created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "command": command,
                "settings": config.to_dict() | {"gan": config.gan.to_dict()}}
    if copied := resume_partial(places):
        print(f"resuming with {copied} cell(s) from {places.partial}")
    results = run_evaluation(config, places.run, progress=not args.quiet, command=command, jobs=args.jobs,
                             on_cell_done=lambda cell: save_partial(places, cell, settings))
    if args.share or args.seed_list:
        print(f"share done: {len(results['cells'])} cell(s) in {places.partial}; the full command writes the results")
        return
    results["machine"] = " + ".join(sorted({c.get("machine", "machine unrecorded") for c in results["cells"]}))
    places.results.mkdir(parents=True, exist_ok=True)
    out = places.results / f"{name}.json"
    out.write_text(json.dumps(_compact(results), indent=1) + "\n")
    print(f"wrote {out}")
    _drop_partial(places, results["cells"])
    print(table(results))


def _pct(row: dict | None) -> str:
    if row is None:
        return "—"
    if row["ci_low"] is None:
        return f"{100 * row['mean']:.1f}"
    return f"{100 * row['mean']:.1f} [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"


def table(results: dict) -> str:
    """Markdown: balanced accuracy per condition, and the paired gains vs the best non-generative one."""
    s, summary = results["settings"], results["summary"]
    rows = summary["balanced_accuracy"]
    conditions = [c for c in s["conditions"] if any(r["condition"] == c for r in rows)]
    ratios = list(dict.fromkeys(r["imbalance"] for r in rows))
    acc = {(r["imbalance"], r["condition"]): r for r in rows}
    lines = [
        f"**{s['dataset']}**, long-tailed, classifier `{s['classifier']}` ({s['classifier_steps']} steps), "
        f"{len(s['seeds'])} seeds, {results['machine']}, {results['created'][:10]}, "
        f"{results.get('cell_seconds', results['wall_seconds']) / 60:.0f} min; balanced accuracy %, mean [95 % interval]",
        "", "| ratio | " + " | ".join(conditions) + " |", "|---|" + "---|" * len(conditions),
    ]
    lines += [f"| {r} | " + " | ".join(_pct(acc.get((r, c))) for c in conditions) + " |" for r in ratios]
    best = {b["imbalance"]: b["condition"] for b in summary.get("best_non_generative", [])}
    gains = [g for g in summary["gains"] if g["baseline"] == "best-non-generative"]
    if gains:
        lines += ["", "Paired gain in balanced accuracy vs the best non-generative condition (chosen by CV), points:", "",
                  "| ratio | baseline | condition | gain [95 % interval] | rarest-three recall gain |", "|---|---|---|---|---|"]
        rare = {(g["imbalance"], g["condition"]): g for g in summary.get("rare3_gains", [])}
        for g in gains:
            r3 = rare.get((g["imbalance"], g["condition"]))
            lines.append(f"| {g['imbalance']} | {best.get(g['imbalance'])} | {g['condition']} | {_points(g)} | {_points(r3)} |")
    return "\n".join(lines)


def _points(g: dict | None) -> str:
    if g is None:
        return "—"
    ci = "" if g["ci_low"] is None else f" [{100 * g['ci_low']:+.1f}, {100 * g['ci_high']:+.1f}]"
    return f"{100 * g['mean']:+.1f}{ci}"


def _seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = sorted({int(v) for v in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 3,4; got {text!r}") from None
    if seeds[0] < 0:
        raise argparse.ArgumentTypeError(f"seeds must be >= 0; got {text!r}")
    return tuple(seeds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--imbalance", default="10,50", help="imbalance ratios (largest class / smallest), or 'natural'")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    seeds.add_argument("--seed-list", type=_seed_list, help="only these seeds, e.g. 3,4: one worker's share (implies --share)")
    parser.add_argument("--share", action="store_true", help="one worker's share of a run: save its cells, write no results file")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--classifier", default="cnn")
    parser.add_argument("--classifier-steps", type=int, default=400)
    parser.add_argument("--ratio", type=float, default=1.0, help="synthetic per real item (only gan conditions use it)")
    parser.add_argument("--steps", type=int, default=None, help="GAN steps (default: sized from the data)")
    parser.add_argument("--gan", default="{}", help="JSON of GANConfig fields to override")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--out", default=None, help="folder for results, partial cells and runs (default: benchmarks/)")
    parser.add_argument("--no-metrics", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="cells at once, one process each (the numbers do not change)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--table", action="store_true", help="print tables of the committed results and exit")
    args = parser.parse_args()
    if args.table:
        for path in sorted((Path(args.out) if args.out else HERE / "results").glob("long_tail_*.json")):
            print(table(json.loads(path.read_text())), "\n")
        return
    run(args)


if __name__ == "__main__":
    main()
