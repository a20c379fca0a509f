"""Transfer benchmark (issue 18): generators and a classifier pretrained on Omniglot, on new classes.

    python benchmarks/transfer.py --family omniglot --root DIR --split 0      # within Omniglot, one alphabet split
    python benchmarks/transfer.py --family omniglot --root DIR --split 0,1,2  # three splits, one after another
    python benchmarks/transfer.py --family cross --root DIR --dataset mnist5k # Omniglot -> mnist5k, 5/10/20 per class
    python benchmarks/transfer.py --family cross --root DIR --dataset digits
    python benchmarks/transfer.py --table                                     # Markdown tables of the results
    python benchmarks/transfer.py --readme                                    # the README's transfer block

``--root`` is the folder holding Omniglot (its ``images_background_small1/2.zip`` or torchvision's
layout); nothing is downloaded. Within Omniglot, split k holds out two alphabets (`SPLITS`), the
source is the other six, and every target character keeps 5 training images and 15 test images
per seed (a seed's own). Across datasets the source is all of Omniglot (8 alphabets, 242
characters), resized to the target's size. Conditions: the transfer scenario's (`real`,
`classical`, `pretrained-classifier`, the target-only GAN, the DAGAN and the fine-tuned source
GAN, each also on top of `pretrained-classifier`, their CAS, and the gate `transfer-gated`). Each run writes
benchmarks/results/transfer_<name>.json (resumable: benchmarks/grid.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # benchmarks/grid.py, also when loaded by path

import grid  # noqa: E402

from ganaug.evaluation.config import TRANSFER_CONDITIONS, EvalConfig  # noqa: E402
from ganaug.evaluation.scenarios import transfer  # noqa: E402
from ganaug.training.config import GANConfig  # noqa: E402

HERE = Path(__file__).parent
# Within-Omniglot splits: the two target alphabets of each (the other six are the source).
# Fixed pairs, each alphabet a target once at most, so the splits share no target class.
SPLITS = (("Korean", "Tagalog"), ("Balinese", "Japanese_(katakana)"), ("Early_Aramaic", "Sanskrit"),
          ("Greek", "Latin"))


def config_from(args: argparse.Namespace, split: int | None) -> EvalConfig:
    gan = GANConfig.from_dict(GANConfig().to_dict() | json.loads(args.gan) | ({"steps": args.steps} if args.steps else {}))
    common = dict(scenario="transfer", source="omniglot", seeds=args.seed_list or tuple(range(args.seeds)),
                  conditions=tuple(args.conditions.split(",")), classifier_steps=args.classifier_steps,
                  ratio=args.ratio, gan=gan, dagan_diversity=args.dagan_diversity,
                  dagan_head=args.dagan_head, dagan_warp_grid=args.dagan_warp_grid, metrics=not args.no_metrics, device=args.device,
                  source_gan=GANConfig.from_dict(GANConfig().to_dict() | json.loads(args.source_gan)) if args.source_gan else None)
    if split is not None:
        return EvalConfig(dataset="omniglot", root=args.root, target_groups=SPLITS[split],
                          per_class=tuple(int(v) for v in (args.per_class or "5").split(",")), **common)
    return EvalConfig(dataset=args.dataset, source_root=args.root,
                      per_class=tuple(int(v) for v in (args.per_class or "5,10,20").split(",")), **common)


def _cell_file(cell: dict) -> str:
    return f"{transfer.cell_name(cell['per_class'], cell['seed'])}.json"


def run(args: argparse.Namespace) -> None:
    splits = [int(v) for v in args.split.split(",")] if args.family == "omniglot" else [None]
    for split in splits:
        config = config_from(args, split)
        name = f"transfer_omniglot_split{split}" if split is not None else f"transfer_omniglot_to_{args.dataset}"
        name += "" if args.variant == "default" else f"_{args.variant}"
        command = grid.command_line("transfer.py", args, skip=("root",))
        grid.run_grid(config, grid.Places(args.out, name), args, command, _cell_file, table)


def _pct(row: dict | None) -> str:
    if row is None:
        return "—"
    ci = "" if row["ci_low"] is None else f" [{100 * row['ci_low']:+.1f}, {100 * row['ci_high']:+.1f}]"
    return f"{100 * row['mean']:+.1f}{ci}"


def table(results: dict) -> str:
    """Markdown: accuracy per condition, and each condition's paired gain vs the two baselines."""
    s, summary = results["settings"], results["summary"]
    acc = {(r["per_class"], r["condition"]): r for r in summary["accuracy"]}
    sizes = list(dict.fromkeys(r["per_class"] for r in summary["accuracy"]))
    gains = {(g["per_class"], g["condition"], g["baseline"]): g for g in summary["gains"]}
    target = ", ".join(s.get("target_groups") or []) or s["dataset"]
    lines = [f"**{s['source']['name']} → {target}**, {len(s['seeds'])} seeds, {results['machine']}, "
             f"{results['created'][:10]}; accuracy %, and paired gains in points [95 % interval]", "",
             "| n/class | condition | accuracy | vs classical | vs pretrained-classifier |", "|---|---|---|---|---|"]
    for n in sizes:
        for cond in s["conditions"]:
            row = acc.get((n, cond))
            if row is None:
                continue
            lines.append(f"| {n} | {cond} | {100 * row['mean']:.1f} | {_pct(gains.get((n, cond, 'classical')))} | "
                         f"{_pct(gains.get((n, cond, 'pretrained-classifier')))} |")
    return "\n".join(lines)


BEGIN, END = "<!-- transfer:begin -->", "<!-- transfer:end -->"
# The README's columns, each a gain vs classical: the transfer baseline, the run's generator
# (the DAGAN, or the source GAN fine-tuned on the target) alone and on the pretrained
# classifier (that one also vs pretrained-classifier, in parentheses), and the gate.
README_COLUMNS = ("pretrained-classifier", "G+classical", "pretrained-classifier+G", "transfer-gated")


def _generator(settings: dict) -> tuple[str, str]:
    """The run's source generator, as its conditions name it, and how the README labels it."""
    if any("dagan" in c for c in settings["conditions"]):
        grid = settings.get("dagan_warp_grid", 0)
        warp = (", warp" + (f" {grid}×{grid}" if grid else "")) if settings.get("dagan_head") == "warp" else ""
        return "dagan", f"DAGAN w={settings.get('dagan_diversity', 0.0):g}{warp}"
    source = settings.get("source_gan") or settings["gan"]
    tuned = settings["gan"].get("train_layers", "all")
    recipe = "grouped ACGAN source" if source.get("aux_weight") and source.get("sampling") == "grouped" else f"{source['loss']} source"
    return "finetuned", f"fine-tuned, {recipe}{'' if tuned == 'all' else ', ' + tuned}"


def readme_block(files: list[dict]) -> str:
    """The README's transfer table: per run and size, `classical`'s accuracy and the paired gains
    of the source-based conditions over it (and of the stacked generator over pretrained-classifier)."""
    machines = sorted({r["machine"] for r in files})
    cpu = {m: m.rsplit(", ", 1)[-1].split("(R)")[0].strip() or m for m in machines}  # "AMD EPYC", "Intel"
    named = "; ".join(f"{cpu[m]}: {m}" for m in machines)
    lines = ["Transfer (source: the other Omniglot alphabets, or all 8): paired gain in accuracy over `classical`, points,",
             "mean [95 % interval]; G: the run's source generator (the DAGAN, w its mode-seeking weight, or the source GAN",
             "fine-tuned on the target); in parentheses `pretrained-classifier+G` vs `pretrained-classifier`; — not run; "
             f"{named}. `python benchmarks/transfer.py --readme`.", "",
             "| target (G) | n/class | classical | " + " | ".join(README_COLUMNS) + " | seeds | CPU |",
             "|---|---|---|" + "---|" * len(README_COLUMNS) + "---|---|"]
    for results in files:
        s, summary = results["settings"], results["summary"]
        generator, label = _generator(s)
        ratio = f", ratio {s['ratio']:g}" if s.get("ratio", 1.0) != 1.0 else ""
        target = f"{', '.join(s.get('target_groups') or []) or s['dataset']} ({label}{ratio})"
        acc = {(r["per_class"], r["condition"]): r for r in summary["accuracy"]}
        gains = {(g["per_class"], g["condition"], g["baseline"]): g for g in summary["gains"]}
        for n in dict.fromkeys(r["per_class"] for r in summary["accuracy"]):
            conditions = [c.replace("G", generator) for c in README_COLUMNS]
            cells = [_pct(gains.get((n, c, "classical"))) for c in conditions]
            stacked = gains.get((n, conditions[2], "pretrained-classifier"))
            if stacked is not None:
                cells[2] += f" ({_pct(stacked)})"
            base = acc[(n, "classical")]
            lines.append(f"| {target} | {n} | {100 * base['mean']:.1f} % | " + " | ".join(cells) + f" | {base['n']} | {cpu[results['machine']]} |")
    return "\n".join(lines)


# Committed runs the README leaves out, each with the run that supersedes it there (all of them
# stay in headline.json and docs/findings.md).
README_LEAVES_OUT = {
    "transfer_omniglot_split0_warp": "split0_warp-ratio0.25, the same DAGAN at the ratio the gate runs use",
    "transfer_omniglot_split0_warp-ratio0.25": "split0_gate-warp-ratio0.25, the same setting with the gate",
    "transfer_omniglot_to_mnist5k_recipe-norms": "to_mnist5k_recipe: its 5/class only, fine-tuning embeddings and norms",
}


def readme_runs(results_dir: Path) -> list[dict]:
    """The committed transfer runs the README shows: every ``transfer_*.json`` but those
    `README_LEAVES_OUT` names, within Omniglot first."""
    paths = sorted((p for p in results_dir.glob("transfer_*.json") if p.stem not in README_LEAVES_OUT),
                   key=lambda p: ("_to_" in p.stem, p.stem))
    return [json.loads(p.read_text()) for p in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=("omniglot", "cross"), default="cross")
    parser.add_argument("--root", help="the folder holding Omniglot's zips (or torchvision's layout)")
    parser.add_argument("--split", default="0", help="within Omniglot: which alphabet splits (0..3), e.g. 0,1,2")
    parser.add_argument("--dataset", default="mnist5k", help="across datasets: the target")
    parser.add_argument("--per-class", default=None, help="sizes (default: 5 within Omniglot, 5,10,20 across)")
    parser.add_argument("--conditions", default=",".join((*TRANSFER_CONDITIONS, "transfer-gated")))
    parser.add_argument("--classifier-steps", type=int, default=400)
    parser.add_argument("--ratio", type=float, default=1.0)
    parser.add_argument("--steps", type=int, default=None, help="GAN steps (default: sized from the data)")
    parser.add_argument("--gan", default="{}", help="JSON of GANConfig fields to override")
    parser.add_argument("--source-gan", default=None,
                        help="JSON of the source GAN's GANConfig fields (default: --gan's, which then trains both)")
    parser.add_argument("--dagan-diversity", type=float, default=0.0, help="the source DAGAN's mode-seeking weight")
    parser.add_argument("--dagan-head", choices=("image", "warp"), default="image",
                        help="the source DAGAN's output: pixels (image) or a deformation of the input (warp)")
    parser.add_argument("--dagan-warp-grid", type=int, default=0,
                        help="the source DAGAN's warp: control points per side (0: a quarter of the side)")
    parser.add_argument("--variant", default="default")
    grid.add_run_options(parser)
    parser.add_argument("--readme", action="store_true", help="rewrite the README's transfer block from the committed results")
    args = parser.parse_args()
    if args.readme:
        grid.fill_readme_block(BEGIN, END, readme_block(readme_runs(Path(args.out) if args.out else HERE / "results")),
                               "transfer")
        return
    if args.table:
        for path in sorted((Path(args.out) if args.out else HERE / "results").glob("transfer_*.json")):
            print(table(json.loads(path.read_text())), "\n")
        return
    if not args.root:
        parser.error("--root DIR (the folder holding Omniglot) is needed; nothing is downloaded")
    run(args)


if __name__ == "__main__":
    main()
