"""Accuracy benchmark: the evaluation protocol on digits and mnist5k, as committed JSON.

    python benchmarks/accuracy.py --dataset digits  --per-class 5,10,20,50 --seeds 5
    python benchmarks/accuracy.py --dataset mnist5k --per-class 5,10,20,50 --seeds 5
    python benchmarks/accuracy.py --table            # Markdown tables of every results file

Each run works in benchmarks/runs/<dataset>_<variant>/ (not committed; rerunning resumes from
the cells already there) and writes benchmarks/results/accuracy_<dataset>_<variant>.json: the
settings, every cell's accuracies and generative metrics, and the summary statistics.
Until the run is complete every finished cell is also copied to
benchmarks/results/partial/<dataset>_<variant>/, which is committed: a run longer than one
working session resumes there in a fresh clone, on another machine if need be (each cell
records the machine that made it), and the folder is removed when the run is complete. Its
settings.json lets benchmarks/variants.py show the cells so far, marked "partial".
Several workers can share a run: each takes some sizes (``--per-class 50 --share``) or seeds
(``--seed-list 3,4``) and saves only its cells; the full command then reads them all and writes
the results file.
``--variant NAME --gan '{"loss": "minimax"}'`` runs a GAN variant under its own name (the
``default`` variant is today's ``GANConfig()``); a variant may skip ``real`` and ``classical``
(``--conditions gan,gan+classical,synthetic``) and benchmarks/variants.py pairs it with the
baseline run's cells.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # benchmarks/grid.py, also when loaded by path

import grid  # noqa: E402

from ganaug.evaluation.config import CONDITIONS, EvalConfig  # noqa: E402
from ganaug.evaluation.runner import run_evaluation  # noqa: E402
from ganaug.training.config import GANConfig  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "results"
PARTIAL = RESULTS / "partial"


def _compact(results: dict) -> dict:
    """Drop training curves (they live in the run folder) to keep the committed JSON small."""
    cells = []
    for cell in results["cells"]:
        slim = {k: v for k, v in cell.items() if k not in ("gan", "samples", "samples_png", "key")}
        if "gan" in cell:
            slim["gan"] = {k: cell["gan"][k] for k in ("loss", "steps", "train_seconds", "collapsed") if k in cell["gan"]}
        cells.append(slim)
    return {k: v for k, v in results.items() if k != "cells"} | {"cells": cells}


def _partial_file(name: str, cell: dict) -> Path:
    return PARTIAL / name / f"n{cell['per_class']}_seed{cell['seed']}.json"


def save_partial(name: str, cell: dict, settings: dict) -> None:
    """Keep a finished cell of an unfinished run where git can carry it to the next session, and
    beside it what it was run with (``settings.json``), so benchmarks/variants.py can show the
    cells so far; both go when the run is complete."""
    path = _partial_file(name, cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cell, indent=1) + "\n")
    (path.parent / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")


def resume_partial(name: str, run_dir: Path) -> int:
    """Copy the committed cells of an unfinished run into its working folder; how many were new.

    The protocol reuses a cell only when its settings key matches, so a cell made with other
    settings is recomputed, never mixed in.
    """
    copied = 0
    for src in sorted((PARTIAL / name).glob("n*_seed*.json")):
        dst = run_dir / "cells" / src.name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            copied += 1
    return copied


def _drop_partial(name: str, cells: list[dict]) -> None:
    """Remove the committed cells of a run once a finished run holds every one of them.

    Workers' shares (``--share``, ``--seed-list``) never get here. A run over another grid leaves
    the folder whole while it holds cells the run does not: only the folder keeps them.
    """
    folder = PARTIAL / name
    committed = {f.name for f in folder.glob("n*_seed*.json")}
    if committed <= {_partial_file(name, cell).name for cell in cells}:
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    gan = GANConfig.from_dict(GANConfig().to_dict() | json.loads(args.gan))
    config = EvalConfig(
        dataset=args.dataset,
        per_class=tuple(int(v) for v in args.per_class.split(",")),
        seeds=args.seed_list or tuple(range(args.seeds)),
        conditions=tuple(args.conditions.split(",")),
        classifier=args.classifier,
        classifier_steps=args.classifier_steps,
        ratio=args.ratio,
        gan=gan,
        metrics=not args.no_metrics,
        device=args.device,
    )
    name = f"{args.dataset}_{args.variant}"
    # The command as it can be rerun: --seeds and --seed-list exclude each other.
    command = grid.command_line("accuracy.py", args, skip=("overwrite",))
    run_dir = HERE / "runs" / name
    settings = {"created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "command": command,
                "settings": config.to_dict() | {"gan": config.gan.to_dict()}}
    if copied := resume_partial(name, run_dir):
        print(f"resuming with {copied} cell(s) from {PARTIAL / name}")
    results = run_evaluation(
        config, run_dir, progress=not args.quiet, command=command, overwrite=args.overwrite, jobs=args.jobs,
        on_cell_done=lambda cell: save_partial(name, cell, settings),
    )
    if args.share or args.seed_list:
        # One worker's share: its cells are saved; the results file and the removal of the saved
        # cells wait for the full command, which reads every worker's cells.
        print(f"share done: {len(results['cells'])} cell(s) in {PARTIAL / name}; the full command writes the results")
        return
    machines = sorted({c.get("machine", "machine unrecorded") for c in results["cells"]})
    results["machine"] = " + ".join(machines)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"accuracy_{name}.json"
    out.write_text(json.dumps(_compact(results), indent=1) + "\n")
    print(f"wrote {out}")
    _drop_partial(name, results["cells"])
    print(table(results))


def _pct(row: dict | None) -> str:
    if row is None:
        return "—"
    if row["ci_low"] is None:
        return f"{100 * row['mean']:.1f}"
    return f"{100 * row['mean']:.1f} ± {100 * row['std']:.1f} [{100 * row['ci_low']:.1f}, {100 * row['ci_high']:.1f}]"


def table(results: dict) -> str:
    """Markdown: accuracy per condition and the paired gain of the best GAN condition vs classical."""
    s = results["settings"]
    conditions = s["conditions"]
    lines = [
        f"**{s['dataset']}**, classifier `{s['classifier']}` ({s['classifier_steps']} steps), "
        f"{len(s['seeds'])} seeds, ratio {s['ratio']}, {results['machine']}, {results['created'][:10]}, "
        f"{results.get('cell_seconds', results['wall_seconds']) / 60:.0f} min",
        "",
        "| real/class | " + " | ".join(conditions) + " |",
        "|---|" + "---|" * len(conditions),
    ]
    acc = {(r["per_class"], r["condition"]): r for r in results["summary"]["accuracy"]}
    for n in s["per_class"]:
        lines.append(f"| {n} | " + " | ".join(_pct(acc.get((n, c))) for c in conditions) + " |")
    gains = [g for g in results["summary"]["gains"] if g["baseline"] == "classical" and g["condition"] in ("gan", "gan+classical")]
    if gains:
        lines += ["", "Paired gain vs `classical`, points (mean [95 % interval], p):", ""]
        lines += ["| real/class | condition | gain | p |", "|---|---|---|---|"]
        for g in gains:
            ci = "—" if g["ci_low"] is None else f"[{100 * g['ci_low']:+.1f}, {100 * g['ci_high']:+.1f}]"
            p = "—" if g["p_value"] is None else f"{g['p_value']:.3g}"
            lines.append(f"| {g['per_class']} | {g['condition']} | {100 * g['mean']:+.1f} {ci} | {p} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--per-class", default="5,10,20,50")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    seeds.add_argument("--seed-list", type=grid.seed_list, help="only these seeds, e.g. 3,4: one worker's share of a run (implies --share)")
    parser.add_argument("--share", action="store_true",
                        help="one worker's share of a run (e.g. some --per-class sizes): save its cells, write no results file")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--classifier", default="cnn")
    parser.add_argument("--classifier-steps", type=int, default=400)
    parser.add_argument("--ratio", type=float, default=1.0)
    parser.add_argument("--gan", default="{}", help="JSON of GANConfig fields to override")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--no-metrics", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="cells at once, one process each (the numbers do not change)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run folder's cells made with other settings or data (refused otherwise)")
    parser.add_argument("--table", action="store_true", help="print tables of the committed results and exit")
    args = parser.parse_args()
    if args.table:
        for path in sorted(RESULTS.glob("accuracy_*.json")):
            print(table(json.loads(path.read_text())), "\n")
        return
    run(args)


if __name__ == "__main__":
    main()
