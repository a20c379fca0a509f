"""Long-tail benchmark (issue 19): the long-tail scenario on digits and mnist5k, as committed JSON.

    python benchmarks/long_tail.py --dataset mnist5k --imbalance 10,50 --seeds 5
    python benchmarks/long_tail.py --dataset digits  --imbalance 10,20 --seeds 5
    python benchmarks/long_tail.py --table          # Markdown tables of every results file

For every (imbalance ratio, seed): a long-tailed training set drawn from the pool (exponential
profile), a GAN trained on all of it, and the same CNN under every long-tail condition, scored on
a balanced test set no model saw; the headline metric is balanced accuracy, the baseline to beat
the best non-generative condition (chosen on cross-validation of the training set, not the test
set). Writes benchmarks/results/long_tail_<dataset>.json: the settings, every cell, the summary
and the machine. The bookkeeping is benchmarks/grid.py's: each run works in
benchmarks/runs/long_tail_<dataset>[_<variant>]/ (not committed; a rerun resumes from the cells
there), every finished cell is also copied to benchmarks/results/partial/<same name>/ (committed,
so a run longer than a session resumes in a fresh clone), which goes when the run is complete.
Workers share a run with ``--seed-list 3,4`` (or ``--imbalance 50 --share``); the full command
then reads every cell and writes the results file. ``--out DIR`` puts results, partial cells and
the run folder under DIR instead (for trial runs). The plumbing is benchmarks/grid.py's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # benchmarks/grid.py, also when loaded by path

import grid  # noqa: E402

from ganaug.evaluation.config import LONG_TAIL_CONDITIONS, EvalConfig  # noqa: E402
from ganaug.evaluation.scenarios import long_tail  # noqa: E402
from ganaug.training.config import GANConfig  # noqa: E402

HERE = Path(__file__).parent
# The committed runs' conditions, fixed here (a condition added to the scenario later must not
# make their cells incomplete); later ones run as variants (--conditions, --variant).
CONDITIONS = (*LONG_TAIL_CONDITIONS, "smote+classical")


def _cell_file(cell: dict) -> str:
    return f"{long_tail.cell_name(cell['imbalance'], cell['seed'])}.json"


def config_from(args: argparse.Namespace) -> EvalConfig:
    gan = GANConfig.from_dict(GANConfig().to_dict() | json.loads(args.gan) | ({"steps": args.steps} if args.steps else {}))
    return EvalConfig(
        dataset=args.dataset, scenario="long-tail",
        imbalance=tuple(float(v) for v in args.imbalance.split(",")) if args.imbalance != "natural" else (),
        seeds=args.seed_list or tuple(range(args.seeds)), conditions=tuple(args.conditions.split(",")),
        classifier=args.classifier, classifier_steps=args.classifier_steps, ratio=args.ratio, gan=gan,
        metrics=not args.no_metrics, device=args.device, dagan_diversity=args.dagan_diversity, dagan_head=args.dagan_head,
        dagan_warp_grid=args.dagan_warp_grid,
    )


def run(args: argparse.Namespace) -> None:
    config = config_from(args)
    name = f"long_tail_{args.dataset}" + ("" if args.variant == "default" else f"_{args.variant}")
    grid.run_grid(config, grid.Places(args.out, name), args, grid.command_line("long_tail.py", args), _cell_file, table)


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
    return "\n".join(lines + _stacked(results, conditions))


# A GAN condition stacked on a non-generative one, and that one: their paired difference is what
# the GAN's samples add to it.
STACKED = {"ros+gan-fill+classical": "ros+classical", "ros+dagan-fill+classical": "ros+classical",
           "ros+gan-mix+classical": "ros+classical", "ros+dagan-mix+classical": "ros+classical",
           "gan-fill+logit-adjusted": "logit-adjusted+classical"}
# A fill that balances the set as random oversampling does, with samples in place of every repeat.
REPLACES = {"dagan-fill+classical": "ros+classical"}


def _stacked_gains(results: dict, conditions: list[str]) -> list[tuple[float, str, str, dict]]:
    """``(ratio, stacked condition, the one it stacks on, paired gains)`` per ratio and pair; the
    gains (balanced accuracy, rarest-three recall) are paired over the cells holding both."""
    from ganaug.evaluation.stats import paired_gain

    pairs = [(c, b) for c, b in (STACKED | REPLACES).items() if c in conditions and b in conditions]
    out = []
    for ratio in dict.fromkeys(c["imbalance"] for c in results["cells"]):
        group = [c["results"] for c in results["cells"] if c["imbalance"] == ratio]
        for cond, base in pairs:
            rows = [r for r in group if cond in r and base in r]
            out.append((ratio, cond, base, {m: paired_gain([r[cond][m] for r in rows], [r[base][m] for r in rows])
                                            for m in ("balanced_accuracy", "rare3_recall")}))
    return out


def _stacked(results: dict, conditions: list[str]) -> list[str]:
    """Markdown rows: each stacked GAN condition's paired gain over the condition it stacks on."""
    gains = _stacked_gains(results, conditions)
    if not gains:
        return []
    lines = ["", "What the samples add to the condition they stack on, or whose repeats they replace (paired, points):", "",
             "| ratio | condition | over | balanced accuracy [95 % interval] | rarest-three recall |", "|---|---|---|---|---|"]
    lines += [f"| {ratio} | {cond} | {base} | {_points(g['balanced_accuracy'])} | {_points(g['rare3_recall'])} |"
              for ratio, cond, base, g in gains]
    return lines


def _against_ros(variants: list[dict], conds: Iterable[str]) -> dict[str, list[str]]:
    """Per generator (the DAGAN named by its warp grid), the paired gains of ``conds`` over
    `ros+classical` at each variant run's largest ratio, once per dataset and ratio (a run that
    repeats a DAGAN reproduces its numbers)."""
    said: dict[str, list[str]] = {}
    seen = set()
    for results in variants:
        settings = results["settings"]
        top = max(c["imbalance"] for c in results["cells"])
        for ratio, cond, base, g in _stacked_gains(results, settings["conditions"]):
            grid = settings.get("dagan_warp_grid", 0)
            generator = (f"a DAGAN (warp on {f'{grid}×{grid}' if grid else 'side/4'} points)" if "dagan" in cond
                         else "the GAN")
            key = (generator, cond, settings["dataset"], ratio)
            if ratio == top and base == "ros+classical" and cond in conds and key not in seen:
                seen.add(key)
                share = f", {settings['ratio']:g} per item" if "mix" in cond else ""
                said.setdefault(generator, []).append(f"{_points(g['balanced_accuracy'])} ({_points(g['rare3_recall'])}; "
                                                      f"{settings['dataset']}, ratio {ratio:g}{share})")
    return said


# The sentences of the README's long-tail block on the fills measured against random oversampling:
# the conditions each one covers, and how it opens.
ROS_NOTES = (
    (("ros+gan-fill+classical", "ros+dagan-fill+classical"),
     "Capped at one synthetic image per real one and stacked on random oversampling (opt-in `ros+gan-fill+classical`, "
     "`ros+dagan-fill+classical`), the samples add to `ros+classical`"),
    (tuple(REPLACES), "In place of every repeat (opt-in `dagan-fill+classical`), the variants change `ros+classical` by"),
    (("ros+gan-mix+classical", "ros+dagan-mix+classical"),
     "Added to every class alike (opt-in `ros+gan-mix+classical`, `ros+dagan-mix+classical`), the samples add to "
     "`ros+classical`"),
)


def _oversampling_note(variants: list[dict]) -> list[str]:
    """Sentences: what each kind of fill measured against random oversampling adds to it (see
    ``ROS_NOTES``), per variant run at its largest ratio (balanced accuracy; in parentheses the
    rarest three's recall)."""
    out = []
    for conds, opening in ROS_NOTES:
        said = _against_ros(variants, conds)
        if said:
            out.append(f"{opening}: " + "; ".join(f"{generator} {' and '.join(text)}" for generator, text in said.items()) + ".")
    return [" ".join(out)] if out else []  # one paragraph line: the README's length is budgeted


BEGIN, END = "<!-- long-tail:begin -->", "<!-- long-tail:end -->"


def readme_block(files: list[dict], sampling: dict | None = None, variants: list[dict] | None = None) -> str:
    """The README's long-tail table: per dataset and ratio, the best non-generative condition
    (chosen by CV), and the paired gains of the GAN conditions and the gate against it; with
    ``sampling`` (benchmarks/long_tail_sampling.py's JSON) what balanced GAN batches changed; with
    ``variants`` (other committed runs) what their fills stacked on oversampling add to it."""
    machines = "; ".join(f"{r['settings']['dataset']}: {r['machine']}, {r['created'][:10]}" for r in files)
    lines = ["Long tail: paired gain in balanced accuracy over the best non-generative condition (chosen by",
             "cross-validation on the training set), points, mean [95 % interval]; in parentheses the same for",
             f"the rarest three classes' recall. {machines}. `python benchmarks/long_tail.py --readme` writes it.",
             *_sampling_note(files, sampling), *_oversampling_note(variants or []), "",
             "| dataset | ratio | best non-generative | gan-fill+classical | gan-fill+logit-adjusted | lt-gated | seeds |",
             "|---|---|---|---|---|---|---|"]
    for results in files:
        summary, dataset = results["summary"], results["settings"]["dataset"]
        acc = {(r["imbalance"], r["condition"]): r for r in summary["balanced_accuracy"]}
        best = {b["imbalance"]: b["condition"] for b in summary.get("best_non_generative", [])}
        gains = {(g["imbalance"], g["condition"]): g for g in summary["gains"] if g["baseline"] == "best-non-generative"}
        rare = {(g["imbalance"], g["condition"]): g for g in summary.get("rare3_gains", [])}
        for ratio, base in best.items():
            cells = [f"{_points(gains.get((ratio, c)))} ({_points(rare.get((ratio, c)))})"
                     for c in ("gan-fill+classical", "gan-fill+logit-adjusted", "lt-gated")]
            row = acc[(ratio, base)]
            lines.append(f"| {dataset} | {ratio:g} | {base} ({100 * row['mean']:.1f} %) | " + " | ".join(cells)
                         + f" | {row['n']} |")
    return "\n".join(lines)


def _sampling_note(files: list[dict], sampling: dict | None) -> list[str]:
    """One sentence: which runs' GAN drew its batches uniformly (the default before
    `GANConfig.sampling`), and what the balanced draw measured for ``gan-fill+classical`` at each
    dataset's largest ratio."""
    uniform = [r["settings"]["dataset"] for r in files
               if {(c.get("gan") or {}).get("sampling", "uniform") for c in r["cells"]} == {"uniform"}]
    if sampling is None or not uniform:
        return []
    gains, below = [], []
    for t in sampling["datasets"]:
        def at_largest_ratio(rows: list[dict]) -> dict:
            fill = [r for r in rows if r["condition"] == "gan-fill+classical" and r["metric"] == "balanced accuracy"]
            return max(fill, key=lambda r: r["imbalance"])

        vs_uniform, vs_best = map(at_largest_ratio, (t["balanced_vs_uniform"], t["balanced_vs_best_non_generative"]))
        top = vs_uniform["imbalance"]
        gains.append(f"{_points(vs_uniform)} ({t['dataset']}, ratio {top:g})")
        below.append(f"{_points(vs_best)} against `{vs_best['baseline']}`")
    runs = " and ".join(uniform) + (" runs' GANs drew their" if len(uniform) > 1 else " run's GAN drew its")
    return [f"The {runs} batches uniformly over images. Drawn balanced over classes (the default since "
            f"2026-12-06; `benchmarks/long_tail_sampling.py`), `gan-fill+classical` gains {' and '.join(gains)} and "
            f"stays below the best non-generative condition ({'; '.join(below)})."]


def readme_text(results_dir: Path) -> str:
    """`readme_block` of the committed default runs, the sampling pairs when committed, and the
    variant runs' fills stacked on oversampling."""
    sampling = results_dir / "sampling_long_tail.json"
    variants = [json.loads(p.read_text()) for p in sorted(results_dir.glob("long_tail_*_*.json")) if p.stem.count("_") > 2]
    return readme_block(default_runs(results_dir), json.loads(sampling.read_text()) if sampling.is_file() else None, variants)


def default_runs(results_dir: Path) -> list[dict]:
    """The committed default runs (``long_tail_<dataset>.json``; variants have a longer name)."""
    return [json.loads(p.read_text()) for p in sorted(results_dir.glob("long_tail_*.json")) if p.stem.count("_") == 2]


def _points(g: dict | None) -> str:
    if g is None:
        return "—"
    ci = "" if g["ci_low"] is None else f" [{100 * g['ci_low']:+.1f}, {100 * g['ci_high']:+.1f}]"
    return f"{100 * g['mean']:+.1f}{ci}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--imbalance", default="10,50", help="imbalance ratios (largest class / smallest), or 'natural'")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--classifier", default="cnn")
    parser.add_argument("--classifier-steps", type=int, default=400)
    parser.add_argument("--ratio", type=float, default=1.0, help="synthetic per real item (only gan conditions use it)")
    parser.add_argument("--steps", type=int, default=None, help="GAN steps (default: sized from the data)")
    parser.add_argument("--gan", default="{}", help="JSON of GANConfig fields to override")
    parser.add_argument("--dagan-diversity", type=float, default=0.0, help="the DAGAN fills: the DAGAN's mode-seeking weight")
    parser.add_argument("--dagan-head", choices=("image", "warp"), default="image",
                        help="the DAGAN fills: the DAGAN's output, its pixels (image) or a deformation of the input (warp)")
    parser.add_argument("--dagan-warp-grid", type=int, default=0,
                        help="the DAGAN fills: the warp's control points per side (0: a quarter of the side)")
    parser.add_argument("--variant", default="default")
    grid.add_run_options(parser)
    parser.add_argument("--readme", action="store_true", help="rewrite the README's long-tail block from the committed results")
    args = parser.parse_args()
    if args.readme:
        grid.fill_readme_block(BEGIN, END, readme_text(Path(args.out) if args.out else HERE / "results"), "long-tail")
        return
    if args.table:
        for path in sorted((Path(args.out) if args.out else HERE / "results").glob("long_tail_*.json")):
            print(table(json.loads(path.read_text())), "\n")
        return
    run(args)


if __name__ == "__main__":
    main()
