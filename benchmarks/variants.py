"""Every GAN variant beside the baselines: one table per dataset, gains paired by seed.

    python benchmarks/variants.py                  # every dataset with results
    python benchmarks/variants.py --dataset mnist5k

Reads benchmarks/results/accuracy_<dataset>_*.json (written by accuracy.py), and the cells so
far of unfinished runs in benchmarks/results/partial/ as "<variant> (partial)". Variant runs may
skip the baseline conditions to save time (``--conditions gan,gan+classical,synthetic``): the
``real`` and ``classical`` classifiers do not depend on the GAN, so for every (real/class,
seed) cell they are taken from the baseline run (``hinge``, else ``default``: the first that
trained them) and paired with the variant's cell of the same subset and seed. A run that
trained a baseline itself is paired with its own (same process, same thread count), and how far
they lie from the baseline run's is reported: the same classifier on the same images, so that
is rerun noise. Where both cells record which images they trained on and those differ, the
script stops: the pairing would be broken. The row of the configuration ``GANConfig()``
trains at these sizes (``loss="auto"`` resolved) is marked "default".

Writes benchmarks/results/variants_<dataset>.json and prints Markdown tables: the paired gain
of every GAN condition over ``classical`` (mean [95 % interval], points), the CAS
(``synthetic``: a classifier trained on GAN samples alone) beside ``real``, each variant's
``gan+classical`` and CAS minus the default's (is the default the best measured?), and each
variant against the run it changes one setting of (one lever at a time).

Run over every dataset (no ``--dataset``), it also writes those tables to docs/results.md and
the default GAN's headline table into README.md between ``<!-- results:begin -->`` and
``<!-- results:end -->``, so the numbers a reader sees are the committed JSON's, never typed
by hand. With ``--dataset`` it only prints: a partial docs/results.md would drop the others.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganaug.evaluation.stats import paired_gain, summarize
from ganaug.training.config import GANConfig, auto_loss, auto_steps

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS_DOC = ROOT / "docs" / "results.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# The README's one table: the default GAN with classical augmentation, always on and gated.
HEADLINE = ("gan+classical", "gan-gated")
BASELINES = ("real", "classical")
GAINED = ("gan", "gan+classical", "gan-gated", "gan-filtered")


def _cells(results: dict) -> dict[tuple[int, int], dict]:
    return {(c["per_class"], c["seed"]): c["results"] for c in results["cells"]}


# The defaults before a change to GANConfig's, newest first: (what the README calls them, the
# fields that differed, the steps schedule then). The headline shows a former default's run
# where today's has not measured a condition yet, and says so.
FORMER_DEFAULTS = (
    ("2,400 matching-network steps at lr_g 1e-4, the default until 2026-12-03", {"lr_g": 1e-4},
     lambda n, loss: 2400 if loss == "mmd" else auto_steps(n, loss)),
)


def _gan_changes(results: dict, overrides: dict | None = None, schedule=auto_steps) -> dict:
    """GAN settings that differ from today's defaults, or from ``GANConfig(**overrides)`` with the
    steps ``schedule`` (``loss`` always shown, ``"auto"`` with the objective its cells resolved it
    to; ``steps`` left to the schedule shown with the steps its cells trained when the schedule
    would train others)."""
    defaults = GANConfig(**(overrides or {})).to_dict()
    changes = {k: v for k, v in results["settings"]["gan"].items() if k == "loss" or (k != "seed" and defaults.get(k) != v)}
    if changes["loss"] == "auto":
        trained = sorted({c["gan"]["loss"] for c in results["cells"] if c.get("gan", {}).get("loss")})
        changes["loss"] = "auto → " + "/".join(trained) if trained else "auto"
    trained = _cell_steps(results)
    settings = GANConfig.from_dict(results["settings"]["gan"])
    if settings.steps is None and any(steps != schedule(c["n_train"], _cell_loss(settings, c)) for c, steps in trained):
        changes["steps"] = "auto → " + "/".join(str(v) for v in sorted({steps for _, steps in trained}))
    return changes


def _cell_steps(results: dict) -> list[tuple[dict, int]]:
    """(cell, GAN steps it trained) for every cell that recorded them."""
    return [(c, c["gan"]["steps"]) for c in results["cells"] if c.get("gan", {}).get("steps")]


def _cell_loss(settings: GANConfig, cell: dict) -> str:
    """The objective a cell trained (``loss="auto"`` resolved at its size)."""
    return cell.get("gan", {}).get("loss") or auto_loss(settings, cell["per_class"])


def _is_default(results: dict, overrides: dict | None = None, schedule=auto_steps) -> bool:
    """Does the run train what ``GANConfig()`` (or a former default: ``overrides``, ``schedule``)
    resolves to at each of its sizes, steps included, with the standing classifier budget (the
    training-length runs change only the classifier's)?"""
    if results["settings"].get("classifier_steps", 400) not in (400, None):
        return False
    changes = _gan_changes(results, overrides, schedule)
    default_loss = {auto_loss(GANConfig(), n) for n in results["settings"]["per_class"]}
    if set(changes) - {"loss", "steps"} or not (changes["loss"].startswith("auto") or default_loss == {changes["loss"]}):
        return False
    return all(steps == schedule(c["n_train"], auto_loss(GANConfig(), c["per_class"])) for c, steps in _cell_steps(results))


def _former_default(results: dict) -> str | None:
    """Which former default the run trained (`FORMER_DEFAULTS`), if it is not today's."""
    if _is_default(results):
        return None
    return next((label for label, overrides, schedule in FORMER_DEFAULTS if _is_default(results, overrides, schedule)), None)


def collect(dataset: str) -> dict:
    """Pair every variant of ``dataset`` with the default run's baselines; gains and CAS."""
    runs = {p.stem.removeprefix(f"accuracy_{dataset}_"): json.loads(p.read_text()) for p in sorted(RESULTS.glob(f"accuracy_{dataset}_*.json"))}
    runs |= _partial_runs(dataset)
    with_baselines = [v for v in ("hinge", "default", *runs) if v in runs and set(BASELINES) <= set(runs[v]["settings"]["conditions"])]
    if not with_baselines:
        raise SystemExit(f"no run of {dataset} in {RESULTS} trained the baselines {BASELINES}")
    source = with_baselines[0]
    base = _cells(runs[source])
    rows, reruns = [], []
    for variant, results in runs.items():
        cells = _cells(results)
        missing = sorted(set(cells) - set(base))
        if missing:
            raise SystemExit(f"{variant}: cells {missing} have no baseline in the {source} run")
        _check_subsets(variant, results, runs[source])
        own = [b for b in BASELINES if b in results["settings"]["conditions"]]
        if own and variant != source:
            reruns += _reruns(variant, results, runs[source], own)
        for cond in [c for c in results["settings"]["conditions"] if c in (*GAINED, "synthetic")]:
            for n in sorted({k[0] for k in cells}):
                keys = sorted(k for k in cells if k[0] == n)
                seeds, acc = [k[1] for k in keys], [cells[k][cond]["accuracy"] for k in keys]
                against = "real" if cond == "synthetic" else "classical"
                paired = cells if against in own else base
                row = {
                    "variant": variant, "condition": cond, "per_class": n, "seeds": seeds,
                    "accuracy": summarize(acc), "by_seed": dict(zip(seeds, acc, strict=True)),
                    f"vs_{against}": paired_gain(acc, [paired[k][against]["accuracy"] for k in keys]),
                    "baseline_from": variant if against in own else source,
                }
                rows.append(row)
    _vs_default(rows, {v for v, r in runs.items() if _is_default(r)})
    return {
        "one_setting_apart": _one_setting_apart(runs),
        "dataset": dataset,
        "machine": " + ".join(sorted({m for r in runs.values() for m in r["machine"].split(" + ")})),
        "baseline_run": source,
        "baseline_reruns": reruns,
        "variants": {v: {"gan_changes": _gan_changes(r), "default": _is_default(r), "former_default": _former_default(r),
                         "command": r["command"],
                         "machine": r["machine"], "wall_seconds": r.get("cell_seconds", r["wall_seconds"]), "created": r["created"],
                         "classifier": {k: r["settings"].get(k) for k in ("classifier", "classifier_steps", "ratio")}, **_gan_health(r)}
                     for v, r in runs.items()},
        "baselines": [
            {"condition": b, "per_class": n, "accuracy": summarize([base[k][b]["accuracy"] for k in sorted(base) if k[0] == n])}
            for b in BASELINES for n in sorted({k[0] for k in base})
        ],
        "rows": rows,
    }


def _partial_runs(dataset: str) -> dict[str, dict]:
    """Unfinished runs (``results/partial/<dataset>_<variant>/``, written by accuracy.py) as
    results files of the cells finished so far, named ``<variant> (partial)``."""
    runs = {}
    for folder in sorted((RESULTS / "partial").glob(f"{dataset}_*")):
        cells = [json.loads(p.read_text()) for p in sorted(folder.glob("n*_seed*.json"))]
        if not cells or not (folder / "settings.json").exists():
            continue
        meta = json.loads((folder / "settings.json").read_text())
        seconds = round(sum(c["wall_seconds"] for c in cells), 2)
        runs[folder.name.removeprefix(f"{dataset}_") + " (partial)"] = meta | {
            "machine": " + ".join(sorted({c.get("machine", "machine unrecorded") for c in cells})),
            "wall_seconds": seconds, "cell_seconds": seconds, "cells": cells,
            "settings": meta["settings"] | {"per_class": sorted({c["per_class"] for c in cells}), "seeds": sorted({c["seed"] for c in cells})},
        }
    return runs


def _check_subsets(variant: str, results: dict, baseline: dict) -> None:
    """Stop where a cell trained on other images than the baseline run's cell of the same size
    and seed (both record ``subset_sha256``; older cells do not): pairing them would be wrong."""
    theirs = {(c["per_class"], c["seed"]): c.get("subset_sha256") for c in baseline["cells"]}
    for c in results["cells"]:
        mine, other = c.get("subset_sha256"), theirs[(c["per_class"], c["seed"])]
        if mine and other and mine != other:
            raise SystemExit(f"{variant}: cell ({c['per_class']}, {c['seed']}) trained on other images than the baseline run's")


def _reruns(variant: str, results: dict, baseline: dict, own: list[str]) -> list[dict]:
    """The baselines a run trained itself (``own``) next to the baseline run's: the same
    classifiers on the same images, so any difference is rerun noise (float summation order
    follows the thread count). The run's gains are paired with its own, made in the same process."""
    mine, theirs = _cells(results), _cells(baseline)
    keys = sorted(mine)
    threads = {name: sorted({c.get("threads", "unrecorded") for c in r["cells"]}, key=str) for name, r in (("run", results), ("baseline_run", baseline))}
    out = []
    for b in own:
        a, z = [mine[k][b]["accuracy"] for k in keys], [theirs[k][b]["accuracy"] for k in keys]
        diffs = [x - y for x, y in zip(a, z, strict=True)]
        out.append({
            "variant": variant, "condition": b, "cells": len(keys), "differing": sum(abs(d) > 1e-9 for d in diffs),
            "max_abs": max(abs(d) for d in diffs), "difference": paired_gain(a, z), "threads": threads,
        })
    return out


def _vs_default(rows: list[dict], defaults: set[str]) -> None:
    """Add to each non-default variant's row its paired gain over the default's, same condition
    (every condition the default run has; the tables show ``gan+classical`` and CAS)."""
    reference = {(r["condition"], r["per_class"]): r["by_seed"] for r in rows if r["variant"] in defaults}
    for row in rows:
        ref = reference.get((row["condition"], row["per_class"]))
        if row["variant"] not in defaults and ref and set(row["by_seed"]) <= set(ref):
            seeds = sorted(row["by_seed"])
            row["vs_default"] = paired_gain([row["by_seed"][s] for s in seeds], [ref[s] for s in seeds])


def _one_setting_apart(runs: dict[str, dict]) -> list[dict]:
    """Pair each variant with the run that differs from it in one GAN setting only.

    This isolates a lever: ``hinge`` + ``diffaugment="none"`` against ``hinge``, a D-side
    remedy against the plain hinge GAN it was added to, ``ema_decay=0`` against the EMA'd
    default. ``loss="auto → X"`` counts as ``loss="X"``. Where both runs set the one setting
    they differ in (``steps=2400`` against an older schedule), the later run is the variant. Each
    common GAN condition and size gets the paired gain (variant minus parent) over the shared seeds.
    """
    def settings(results: dict) -> dict:
        changes = _gan_changes(results)
        return changes | {"loss": changes["loss"].removeprefix("auto → ")}

    conds = ("gan", "gan+classical", "synthetic")
    pairs = []
    for variant, results in runs.items():
        mine = settings(results)
        parents = []
        for parent, other in runs.items():
            theirs = settings(other)
            common = [c for c in conds if c in results["settings"]["conditions"] and c in other["settings"]["conditions"]]
            if common and (_one_more(mine, theirs) or (_one_other(mine, theirs) and results["created"] > other["created"])):
                parents.append((len(common), parent, common))
        if not parents:
            continue
        _, parent, common = max(parents)
        theirs = settings(runs[parent])
        (changed,) = {k for k, v in mine.items() if theirs.get(k) != v}
        mine_cells, theirs_cells = _cells(results), _cells(runs[parent])
        gains = {}
        for cond in common:
            for n in sorted({k[0] for k in mine_cells}):
                keys = sorted(k for k in mine_cells if k[0] == n and k in theirs_cells)
                if len(keys) > 1:
                    gains.setdefault(cond, {})[n] = paired_gain(
                        [mine_cells[k][cond]["accuracy"] for k in keys], [theirs_cells[k][cond]["accuracy"] for k in keys]
                    )
        pairs.append({"variant": variant, "parent": parent, "changed": {changed: mine[changed]}, "gain": gains})
    return pairs


def _one_more(mine: dict, theirs: dict) -> bool:
    """Does ``mine`` add exactly one setting to ``theirs``?"""
    return len(mine) == len(theirs) + 1 and theirs.items() <= mine.items()


def _one_other(mine: dict, theirs: dict) -> bool:
    """Do both set the same settings, with one value apart other than the loss (every run sets
    a loss; the losses are compared in the main table)?"""
    if set(mine) != set(theirs):
        return False
    apart = [k for k in mine if mine[k] != theirs[k]]
    return len(apart) == 1 and apart != ["loss"]


def _gan_health(results: dict) -> dict:
    """Collapse alarms and GAN training time over a run's cells."""
    gans = [c["gan"] for c in results["cells"] if c.get("gan")]
    seconds = sorted(g["train_seconds"] for g in gans)
    return {
        "cells": len(gans),
        "cells_alarmed": sum(bool(g["collapsed"]) for g in gans),
        "classes_alarmed": sum(len(g["collapsed"]) for g in gans),
        "gan_seconds": {"min": seconds[0], "median": seconds[len(seconds) // 2], "max": seconds[-1]} if seconds else None,
    }


def _interval(g: dict) -> str:
    if g["ci_low"] is None:
        return f"{100 * g['mean']:+.1f}"
    return f"{100 * g['mean']:+.1f} [{100 * g['ci_low']:+.1f}, {100 * g['ci_high']:+.1f}]"


def _fewer(row: dict, seeds: int) -> str:
    """Say how many seeds a row has where it has fewer than the others (an unfinished run)."""
    return f" (n={len(row['seeds'])})" if len(row["seeds"]) < seeds else ""


def _label(variant: str, info: dict) -> str:
    changes = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in info["gan_changes"].items())
    return ("**default** " if info["default"] else "") + f"{variant}" + (f" (`{changes}`)" if changes else "")


def table(collected: dict) -> str:
    rows, variants = collected["rows"], collected["variants"]
    sizes = sorted({r["per_class"] for r in rows})
    head = "| variant | condition | " + " | ".join(f"{n}/class" for n in sizes) + " |"
    rule = "|---|---|" + "---|" * len(sizes)
    by = {(r["variant"], r["condition"], r["per_class"]): r for r in rows}
    seeds = max(len(r["seeds"]) for r in rows)
    order = {"gan": 0, "gan+classical": 1, "gan-gated": 2, "gan-filtered": 3, "synthetic": 4}
    pairs = sorted({(r["variant"], r["condition"]) for r in rows}, key=lambda p: (not variants[p[0]]["default"], p[0], order[p[1]]))
    lines = [f"**{collected['dataset']}** — paired gain over `classical`, points, mean [95 % interval] over the seeds ({collected['machine']})", "", head, rule]
    for v, c in pairs:
        if c == "synthetic":
            continue
        cells = [_interval(by[(v, c, n)]["vs_classical"]) + _fewer(by[(v, c, n)], seeds) if (v, c, n) in by else "—" for n in sizes]
        lines.append(f"| {_label(v, variants[v])} | {c} | " + " | ".join(cells) + " |")
    lines += ["", f"**{collected['dataset']}** — CAS: accuracy % of a classifier trained on GAN samples only (`synthetic`), and its gap to `real`", "", head.replace("condition", "CAS (gap to real)"), rule]
    real = {b["per_class"]: b["accuracy"]["mean"] for b in collected["baselines"] if b["condition"] == "real"}
    lines.append("| real data | — | " + " | ".join(f"{100 * real[n]:.1f}" for n in sizes) + " |")
    for v, c in pairs:
        if c != "synthetic":
            continue
        cells = [
            f"{100 * by[(v, c, n)]['accuracy']['mean']:.1f} ({100 * by[(v, c, n)]['vs_real']['mean']:+.1f})" if (v, c, n) in by else "—"
            for n in sizes
        ]
        lines.append(f"| {_label(v, variants[v])} | synthetic | " + " | ".join(cells) + " |")
    versus = [(v, c) for v, c in pairs if c in ("gan+classical", "synthetic") and any("vs_default" in by.get((v, c, n), {}) for n in sizes)]
    if versus:
        lines += ["", f"**{collected['dataset']}** — each variant minus the default, same condition (`gan+classical`; `synthetic` is CAS), paired by subset and seed, points [95 % interval]", "",
                  head.replace("condition", "vs default"), rule]
        for v, c in sorted(versus, key=lambda p: (order[p[1]], p[0])):
            cells = [_interval(by[(v, c, n)]["vs_default"]) if "vs_default" in by.get((v, c, n), {}) else "—" for n in sizes]
            lines.append(f"| {_label(v, variants[v])} | {c} | " + " | ".join(cells) + " |")
    apart = collected["one_setting_apart"]
    if apart:
        lines += ["", f"**{collected['dataset']}** — one lever at a time: a variant minus the run it changes one setting of, paired by subset and seed, points [95 % interval]", "",
                  head.replace("| variant | condition |", "| variant | minus | condition |"), rule + "---|"]
        for pair in sorted(apart, key=lambda p: (p["parent"], p["variant"])):
            changed = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in pair["changed"].items())
            for cond in sorted(pair["gain"], key=order.get):
                cells = [_interval(pair["gain"][cond][n]) if n in pair["gain"][cond] else "—" for n in sizes]
                lines.append(f"| {pair['variant']} (`{changed}`) | {pair['parent']} | {cond} | " + " | ".join(cells) + " |")
    if collected["baseline_reruns"]:
        lines += ["", f"**{collected['dataset']}** — rerun noise: a baseline a run trained itself (its gains are paired with it) minus the `{collected['baseline_run']}` run's, the same classifiers on the same images", "",
                  "| run | baseline | cells | cells that differ | largest difference, points | mean [95 % interval], points | threads (run / baseline run) |", "|---|---|---|---|---|---|---|"]
        for r in collected["baseline_reruns"]:
            threads = " / ".join(",".join(str(t) for t in r["threads"][k]) for k in ("run", "baseline_run"))
            lines.append(f"| {r['variant']} | {r['condition']} | {r['cells']} | {r['differing']} | {100 * r['max_abs']:.1f} | {_interval(r['difference'])} | {threads} |")
    lines += ["", f"**{collected['dataset']}** — GAN health over all cells: collapse alarms and training time (times compare only on one machine)", "",
              "| variant | cells with an alarm | class alarms | GAN training s (min / median / max) | machine |", "|---|---|---|---|---|"]
    for v, info in sorted(variants.items(), key=lambda kv: (not kv[1]["default"], kv[0])):
        t = info["gan_seconds"]
        span = f"{t['min']:.0f} / {t['median']:.0f} / {t['max']:.0f}" if t else "—"
        lines.append(f"| {_label(v, info)} | {info['cells_alarmed']} of {info['cells']} | {info['classes_alarmed']} | {span} | {info['machine']} |")
    return "\n".join(lines)


def _headline_run(collected: dict, condition: str) -> str | None:
    """The default run that measured ``condition``: the finished one with the most cells, then
    the latest (a partial run counts only when no finished one exists); without one, the run
    of the newest former default that measured it."""
    info = collected["variants"]
    measured = {r["variant"] for r in collected["rows"] if r["condition"] == condition}
    for label in (None, *(f[0] for f in FORMER_DEFAULTS)):
        runs = {v for v in measured if (info[v]["default"] if label is None else info[v].get("former_default") == label)}
        if runs:
            return max(runs, key=lambda v: (not v.endswith("(partial)"), info[v]["cells"], info[v]["created"]))
    return None


def headline(collected: dict[str, dict]) -> str:
    """The README's results block: the default GAN's ``gan+classical`` and ``gan-gated`` gain over
    ``classical`` per dataset and size, with the seeds, machine and date of the runs behind them."""
    sizes = sorted({r["per_class"] for c in collected.values() for r in c["rows"]})
    lines = [
        "Paired gain over `classical` (classical augmentation alone), accuracy points, mean [95 % interval]",
        "over seeds; each seed draws its own few-shot subset, GAN and classifier initialisation. Generated by",
        "`python benchmarks/variants.py` from the committed JSON in `benchmarks/results/`; every variant and",
        "condition is in [docs/results.md](docs/results.md).",
        "",
        "| dataset | condition | " + " | ".join(f"{n}/class" for n in sizes) + " | seeds | run: machine, date | `classical` from |",
        "|---|---|" + "---|" * len(sizes) + "---|---|---|",
    ]
    classifiers = set()
    for dataset, c in collected.items():
        for cond in HEADLINE:
            run = _headline_run(c, cond)
            if run is None:
                continue
            rows = {r["per_class"]: r for r in c["rows"] if r["variant"] == run and r["condition"] == cond}
            seeds = sorted({len(r["seeds"]) for r in rows.values()})
            info = c["variants"][run]
            classifiers.add(json.dumps(info["classifier"], sort_keys=True))
            sources = sorted({r["baseline_from"] for r in rows.values()})
            source = "same run" if sources == [run] else "; ".join(
                f"`{s}`: {c['variants'][s]['machine']}, {c['variants'][s]['created'][:10]}" for s in sources)
            cells = [_interval(rows[n]["vs_classical"]) if n in rows else "—" for n in sizes]
            former = f" ({info['former_default']})" if info.get("former_default") else ""
            lines.append(f"| {dataset} | {cond} | " + " | ".join(cells) + f" | {'–'.join(map(str, seeds))} | "
                         f"`{run}`{former}: {info['machine']}, {info['created'][:10]} | {source} |")
    gains = [(r["condition"], r["vs_classical"]) for c in collected.values() for r in c["rows"] if "vs_classical" in r]
    above = sum(g["ci_low"] is not None and g["ci_low"] > 0 for _, g in gains)
    gated = [g for cond, g in gains if cond == "gan-gated"]
    gated_below = sum(g["ci_high"] is not None and g["ci_high"] < 0 for g in gated)
    setup = [json.loads(k) for k in sorted(classifiers)]
    lines += [
        "",
        "Classifier: " + "; ".join(f"`{s['classifier']}`, {s['classifier_steps']} steps, synthetic ratio {s['ratio']}" for s in setup)
        + ". The default GAN is `GANConfig()` as it resolves",
        "at these sizes. A `classical` from another run pairs the same images and seeds, but carries that",
        "run's rerun noise (docs/results.md measures it).",
        f"Across every variant, condition and size measured ({len(gains)} paired gains over `classical`),",
        f"{above} {'has' if above == 1 else 'have'} a 95 % interval above 0; of the {len(gated)} `gan-gated` gains,"
        f" {gated_below} {'lies' if gated_below == 1 else 'lie'} below 0.",
    ]
    return "\n".join(lines)


RESULTS_HEADER = """# Results: every GAN variant beside the baselines

<!-- Generated by `python benchmarks/variants.py`; edits by hand are overwritten. -->

Generated by `python benchmarks/variants.py` from the committed JSON in `benchmarks/results/`
(latest run: {latest}). What the numbers mean, and the dated narrative of how they were
measured, is in [findings.md](findings.md); the protocol is in [api.md](api.md#the-evaluation-protocol).

- Gains are paired by few-shot subset and seed: accuracy points, mean [95 % t-interval].
- Variant runs may skip `real` and `classical` (those classifiers do not depend on the GAN);
  their cells are then paired with the baseline run's cell of the same subset and seed. A run
  that trained a baseline itself is paired with its own, and the "rerun noise" table shows how
  far its baselines lie from the baseline run's.
- **default** marks the runs that train what `GANConfig()` resolves to at these sizes.
- `(n=K)` marks a row with fewer seeds than the others; `(partial)`, a run still in progress.
- Each cell records the machine that made it; GAN times compare only on one machine.
"""


def write_docs(collected: dict[str, dict]) -> None:
    """docs/results.md from every table, and the README's block between the markers."""
    latest = max(v["created"] for c in collected.values() for v in c["variants"].values())[:10]
    body = "\n\n".join(table(c) for c in collected.values())
    RESULTS_DOC.write_text(RESULTS_HEADER.format(latest=latest) + "\n" + body + "\n")
    text = README.read_text()
    start, stop = text.find(BEGIN), text.find(END)
    if start < 0 or stop < start:
        raise SystemExit(f"{README}: no {BEGIN} … {END} block to fill in")
    README.write_text(text[: start + len(BEGIN)] + "\n" + headline(collected) + "\n" + text[stop:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", action="append", help="default: every dataset with a default run")
    args = parser.parse_args()
    datasets = args.dataset or sorted({p.stem.split("_")[1] for p in RESULTS.glob("accuracy_*_*.json")})
    collected = {}
    for dataset in datasets:
        collected[dataset] = collect(dataset)
        (RESULTS / f"variants_{dataset}.json").write_text(json.dumps(collected[dataset], indent=1) + "\n")
        print(table(collected[dataset]) + "\n")
    if not args.dataset:
        write_docs(collected)


if __name__ == "__main__":
    main()
