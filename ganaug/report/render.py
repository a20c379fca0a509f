"""Turn an evaluation ``results.json`` into ``report.md`` and a self-contained ``report.html``.

The report only formats: every statistic (means, intervals, p-values) is read from the file's
``summary``, which ``ganaug.evaluation`` computed. Both outputs are rendered from one list of
blocks, so Markdown and HTML always carry the same content.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ganaug.report import plots

SCHEMA_PREFIX = "ganaug-results/"
SETTING_TITLE = {"per_class": "per class", "imbalance": "imbalance ratio"}
BASELINES = ("real", "classical")
MISSING = "—"

HOW_TO_READ = (
    "Every accuracy here is measured on a held-out real test set that neither the GAN nor the "
    "classifier saw in training. Each number summarises the runs over seeds as mean ± standard "
    "deviation, with a 95% Student-t interval for the mean. Gains are paired: a condition and its "
    "baseline share the seed, the few-shot training split and the classifier's initialisation, so "
    "a gain is the mean of per-seed differences and its interval and p-value come from a paired "
    "test. A gain whose whole interval lies above zero is called a gain, one wholly below zero a "
    "loss; anything else shows no clear difference."
)

LONG_TAIL_HOW_TO_READ = (
    "Every number here is measured on a held-out real test set that neither the GAN nor the "
    "classifier saw. The headline is balanced accuracy: the mean of the per-class recalls, so every "
    "class counts the same however rare it was in training. The baseline to beat is the best "
    "non-generative condition (real, classical, ROS, re-weighting or logit adjustment, each with the "
    "same CNN and budget), chosen per imbalance ratio by cross-validated balanced accuracy on the "
    "long-tailed training sets, never by the test set. Gains are paired over seeds (same training "
    "set, same initialisation); a gain whose whole 95% interval lies above zero is called a gain, one "
    "wholly below zero a loss; anything else shows no clear difference."
)

METRICS_NOTE = (
    "Generative metrics are computed in the feature space of a classifier trained on the pool. "
    "FID and KID: lower is better. Precision and recall: how realistic the samples are and how "
    "much of the real data they cover. Label consistency: share of samples that classifier puts "
    "in their conditioning class. NN ratio: distance from samples to their nearest training "
    "image relative to held-out real images; values well under 1 hint at copying."
)

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;
 max-width:64rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;border-bottom:2px solid #ddd;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #eee}
h3{font-size:1.05rem;margin-top:1.6rem}
.wrap{overflow-x:auto}
table{border-collapse:collapse;margin:.8rem 0;font-size:.88rem}
th,td{border:1px solid #d0d0d0;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f2f4f7}
tr:nth-child(even) td{background:#fafbfc}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.gain{color:#11692d;font-weight:600}
td.loss{color:#b00020;font-weight:600}
figure{margin:1rem 0}
img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85rem}
p.warning{background:#fff4e5;border-left:4px solid #e8920c;padding:.5rem .8rem}
""".strip()


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Text:
    text: str
    warning: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""  # one "l"/"r" per column; missing entries mean "l"


@dataclass(frozen=True)
class Figure:
    path: Path
    caption: str


Block = Heading | Text | Table | Figure


def write_report(
    results: dict | str | Path, out_dir: str | Path, *, base_dir: str | Path | None = None
) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` under ``out_dir``.

    Args:
        results: a results dict, or the path of a ``results.json``.
        out_dir: folder for the report; created when missing.
        base_dir: folder that relative paths inside the results (``samples``) start from; a
            path that leads outside it is ignored.
            Defaults to the JSON file's folder, or the working directory for a dict.

    Returns:
        ``(markdown_path, html_path)``.

    Raises:
        ValueError: ``results`` is not a ganaug results file.
    """
    data, base = load_results(results, base_dir)
    out = Path(out_dir)
    try:
        blocks = build_report(data, base, out / "figures")
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as err:
        # A section of the right type holding entries of the wrong shape (a row without
        # "per_class", a string where a number belongs): the file's fault, told in one line.
        raise ValueError(f"{_name(results)} is not a valid ganaug results file: an entry does not hold what "
                         f"ganaug writes ({type(err).__name__}: {err})") from None
    md_path, html_path = out / "report.md", out / "report.html"
    md_path.write_text(to_markdown(blocks, out), encoding="utf-8")
    html_path.write_text(to_html(blocks), encoding="utf-8")
    return md_path, html_path


def load_results(results: dict | str | Path, base_dir: str | Path | None = None) -> tuple[dict, Path]:
    """The results dict and the folder its relative paths start from; validates the schema tag
    and the type of every section the report reads."""
    name = _name(results)
    if isinstance(results, dict):
        data = results
        base = Path(base_dir) if base_dir is not None else Path.cwd()
    else:
        path = Path(results)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError(f"{name} is not a ganaug results file: not valid JSON") from None
        base = Path(base_dir) if base_dir is not None else path.parent
    schema = data.get("schema") if isinstance(data, dict) else None
    if not (isinstance(schema, str) and schema.startswith(SCHEMA_PREFIX)):
        raise ValueError(
            f"{name} is not a ganaug results file: no 'schema' starting with '{SCHEMA_PREFIX}'"
        )
    problem = _section_problem(data)
    if problem:
        raise ValueError(f"{name} is not a valid ganaug results file: {problem}")
    return data, base


def _name(results: dict | str | Path) -> str:
    return "results" if isinstance(results, dict) else str(results)


# The type of each section the report reads, and of the entries of its lists.
_SECTIONS = {"settings": dict, "summary": dict, "cells": list, "versions": dict}
_SUMMARY_LISTS = ("accuracy", "gains", "per_class_delta", "metrics")
_JSON_TYPE = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
              bool: "true/false", type(None): "null"}


def _section_problem(data: dict) -> str | None:
    """What is wrongly typed in a results dict, or None; ``per_class`` must be an integer
    wherever it appears, since it names the report's figure files."""
    for key, kind in _SECTIONS.items():
        if data.get(key) is not None and not isinstance(data[key], kind):
            return f"'{key}' must be {_JSON_TYPE[kind]}, not {_JSON_TYPE.get(type(data[key]), 'that')}"
    summary = data.get("summary") or {}
    entries = {"cells": data.get("cells") or []}
    for key in _SUMMARY_LISTS:
        if summary.get(key) is not None and not isinstance(summary[key], list):
            return f"'summary.{key}' must be an array, not {_JSON_TYPE.get(type(summary[key]), 'that')}"
        entries[f"summary.{key}"] = summary.get(key) or []
    for key, rows in entries.items():
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                return f"'{key}[{i}]' must be an object, not {_JSON_TYPE.get(type(row), 'that')}"
            n = row.get("per_class", 0)
            if not isinstance(n, int) or isinstance(n, bool):
                return f"'{key}[{i}].per_class' must be an integer, not {n!r}"
    return None


def build_report(data: dict, base: Path, fig_dir: Path) -> list[Block]:
    """All report blocks in order; draws the figures into ``fig_dir`` on the way."""
    fig_dir.mkdir(parents=True, exist_ok=True)
    summary = data.get("summary") or {}
    conditions = _conditions(data)
    if data.get("scenario") == "long-tail":
        return [
            *_header(data),
            *_long_tail_section(data, conditions, fig_dir),
            *_metrics_section(summary, "imbalance"),
            *_lt_gate_section(data.get("cells") or []),
            *_training_section(data, base, fig_dir),
        ]
    return [
        *_header(data),
        *_accuracy_section(summary, conditions, fig_dir),
        *_gain_section(summary, conditions, data.get("settings") or {}, fig_dir),
        *_metrics_section(summary),
        *_safeguards_section(data.get("cells") or []),
        *_training_section(data, base, fig_dir),
    ]


# --- sections ------------------------------------------------------------------------------------


def _header(data: dict) -> list[Block]:
    s = data.get("settings") or {}
    date = str(data.get("created") or "")[:10]
    classifier = f"{s['classifier']} classifier" if s.get("classifier") else ""
    title = ", ".join(x for x in (s.get("dataset"), classifier, date) if x)
    versions = data.get("versions") or {}
    rows = [
        ("dataset", _text(s.get("dataset"))),
        *_scenario_rows(data),
        ("seeds", _join(s.get("seeds"))),
        ("conditions", _join(s.get("conditions"))),
        ("classifier", _text(s.get("classifier"))),
        ("classifier steps", _classifier_steps(s, data.get("cells") or [])),
        ("synthetic : real ratio", _text(s.get("ratio"))),
        ("GAN objective", _gan_objective(s, data.get("cells") or [])),
        ("pool images", _text(s.get("n_pool"))),
        ("test images", _text(s.get("n_test"))),
        ("device", _text(data.get("device"))),
        ("machine", _text(data.get("machine"))),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or MISSING),
        ("command", _text(data.get("command"))),
    ]
    return [
        Heading(f"GAN augmentation report: {title}" if title else "GAN augmentation report", 1),
        Table(("setting", "value"), tuple(rows)),
        Heading("How to read this"),
        Text(LONG_TAIL_HOW_TO_READ if data.get("scenario") == "long-tail" else HOW_TO_READ),
    ]


def _scenario_rows(data: dict) -> list[tuple[str, str]]:
    """What the grid runs over: real samples per class (few-shot) or imbalance ratios (long-tail)."""
    s = data.get("settings") or {}
    if data.get("scenario") != "long-tail":
        return [("real samples per class", _join(s.get("per_class")))]
    ratios = _join(s.get("imbalance")) if s.get("imbalance") else f"the data's own ({_number(s.get('pool_ratio'), '.1f')})"
    counts = s.get("test_counts") or []
    test = "balanced" if s.get("test_balanced") else "the test split's own class mix"
    return [
        ("scenario", "long-tail: the GAN and the classifier train on a long-tailed set"),
        ("imbalance ratio (largest / smallest class)", ratios),
        ("test set", f"{test}: {', '.join(map(str, counts))} images per class" if counts else test),
    ]


def _gan_objective(settings: dict, cells: list[dict]) -> str:
    """The configured loss and, for ``auto``, what it resolved to in the cells."""
    asked = (settings.get("gan") or {}).get("loss")
    ran = sorted({(c.get("gan") or {}).get("loss") for c in cells} - {None})
    if asked is None:
        return MISSING
    return f"{asked} → {', '.join(ran)}" if ran and ran != [asked] else str(asked)


def _accuracy_section(summary: dict, conditions: list[str], fig_dir: Path) -> list[Block]:
    rows = summary.get("accuracy") or []
    if not rows:
        return []
    cell = {(r["per_class"], r["condition"]): r for r in rows}
    sizes = sorted({r["per_class"] for r in rows})
    conditions = [c for c in conditions if any(r["condition"] == c for r in rows)]
    table = Table(
        ("per class", *conditions),
        tuple((str(n), *(_accuracy_cell(cell.get((n, c))) for c in conditions)) for n in sizes),
        "r" * (len(conditions) + 1),
    )
    path = plots.accuracy_curves(rows, conditions, fig_dir / "accuracy.png")
    return [
        Heading("Test accuracy"),
        Text("Accuracy in %: mean ± std [95% interval] over seeds."),
        table,
        Figure(path, "Test accuracy against real samples per class; bands are 95% intervals."),
    ]


def _gain_section(summary: dict, conditions: list[str], settings: dict, fig_dir: Path) -> list[Block]:
    gains = sorted(summary.get("gains") or [], key=lambda r: _gain_order(r, conditions))
    if not gains:
        return []
    rows = tuple(
        (
            str(r["per_class"]),
            f"{r['condition']} vs {r['baseline']}",
            _points(r.get("mean")),
            f"[{_points(r.get('ci_low'))}, {_points(r.get('ci_high'))}]",
            _p_value(r.get("p_value")),
            _p_value(r.get("p_value_exact")),
            verdict(r),
        )
        for r in gains
    )
    header = ("per class", "comparison", "mean gain (points)", "95% interval", "p (t-test)", "p (sign-flip)",
              "verdict")
    blocks: list[Block] = [
        Heading("Paired gains"),
        Text("p (t-test): paired t-test over seeds. p (sign-flip): exact test of the paired "
             "differences' signs, free of the normality assumption; with n seeds it cannot fall "
             f"below 2/2^n{_sign_flip_floor(gains)}."),
        Table(header, rows, "rlrrrrl"),
        Figure(plots.gain_bars(gains, fig_dir / "gains.png", conditions), "Paired gain in points; "
               "whiskers are 95% intervals."),
    ]
    deltas = summary.get("per_class_delta") or []
    if deltas:
        names = settings.get("class_names")
        path = plots.per_class_delta_heatmap(deltas, names, fig_dir / "per_class_delta.png")
        blocks.append(Figure(path, "Mean change in per-class accuracy over the baseline, in points."))
    return blocks


def _sign_flip_floor(gains: list[dict]) -> str:
    """The smallest sign-flip p-value this run's seed counts allow, e.g. " (0.25 with 3 seeds)"."""
    counts = sorted({int(r["n"]) for r in gains if r.get("n")})
    if not counts:
        return ""
    return " (" + ", ".join(f"{2 / 2**n:.3g} with {n} seeds" for n in counts) + ")"


def _metrics_section(summary: dict, key: str = "per_class") -> list[Block]:
    rows = sorted(summary.get("metrics") or [], key=lambda r: _setting_order(r.get(key, 0)))
    if not rows:
        return []
    columns = (
        ("FID", "fid", ".1f"),
        ("KID", "kid", ".4f"),
        ("precision", "precision", ".2f"),
        ("recall", "recall", ".2f"),
        ("label consistency", "label_consistency", ".2f"),
        ("NN ratio", "nn_ratio", ".2f"),
    )
    table = Table(
        (SETTING_TITLE[key], *(title for title, _, _ in columns)),
        tuple((_setting(r.get(key)), *(_number(r.get(k), f) for _, k, f in columns)) for r in rows),
        "r" * (len(columns) + 1),
    )
    return [Heading("Generative metrics"), Text(METRICS_NOTE), table]


def _safeguards_section(cells: list[dict]) -> list[Block]:
    """What the never-worse gate chose in each cell and why; what the sample filter rejected."""
    gated = [c for c in cells if (c.get("results") or {}).get("gan-gated", {}).get("gating")]
    filtered = [c for c in cells if (c.get("results") or {}).get("gan-filtered", {}).get("filter")]
    if not gated and not filtered:
        return []
    blocks: list[Block] = [Heading("Safeguards")]
    if gated:
        blocks.append(Text(
            "gan-gated is gan+classical at the synthetic ratio chosen by cross-validation on the "
            "real training subset (each fold's synthetic data from a GAN trained without that fold); "
            "a ratio above 0 must beat ratio 0 (the classical condition) by more than one standard "
            "error, else synthetic data are switched off."
        ))
        rows = []
        for c in sorted(gated, key=lambda c: (c.get("per_class", 0), c.get("seed", 0))):
            g = c["results"]["gan-gated"]["gating"]
            cv = ", ".join(f"{r}: {100 * a:.1f}" for r, a in g.get("cv_accuracy", {}).items())
            rows.append((_text(c.get("per_class")), _text(c.get("seed")), f"{g.get('chosen', 0):g}", cv, _text(g.get("reason"))))
        blocks.append(Table(("per class", "seed", "chosen ratio", "CV accuracy % by ratio", "why"), tuple(rows), "rrrll"))
    if filtered:
        rows = []
        for c in sorted(filtered, key=lambda c: (c.get("per_class", 0), c.get("seed", 0))):
            f = c["results"]["gan-filtered"]["filter"]
            drawn = max(1, f.get("drawn", 0))
            rows.append((
                _text(c.get("per_class")), _text(c.get("seed")), _text(f.get("drawn")),
                f"{100 * f.get('rejected_label', 0) / drawn:.1f}", f"{100 * f.get('rejected_copy', 0) / drawn:.1f}",
                _text(f.get("kept_unfiltered")),
            ))
        blocks.append(Text("gan-filtered screens samples with a classifier trained on the real subset and drops near-copies of training images."))
        blocks.append(Table(("per class", "seed", "screened", "label rejects %", "copy rejects %", "kept unscreened"), tuple(rows), "rrrrrr"))
    return blocks


def _training_section(data: dict, base: Path, fig_dir: Path) -> list[Block]:
    key = "imbalance" if data.get("scenario") == "long-tail" else "per_class"
    cells = [c for c in data.get("cells") or [] if key in c]
    if not cells:
        return []
    seeds = (data.get("settings") or {}).get("seeds") or []
    threshold = _float(data.get("collapse_threshold"))
    blocks: list[Block] = [Heading("GAN samples and training")]
    for n in sorted({c[key] for c in cells}, key=_setting_order):
        group = sorted((c for c in cells if c[key] == n), key=lambda c: _seed_order(c, seeds))
        first, gan = group[0], group[0].get("gan") or {}
        title = f"{n} real samples per class" if key == "per_class" else _setting_label(n)
        blocks.append(Heading(f"{title} (seed {first.get('seed', '?')})", 3))
        alarms = [c for c in group if (c.get("gan") or {}).get("collapsed")]
        blocks += [Text(_collapse_warning(c), warning=True) for c in alarms]
        if first.get("samples") or first.get("samples_png") or not first.get("generator_samples"):
            blocks.append(_sample_figure(first, base, fig_dir / f"samples_n{_setting(n)}.png"))
        if key == "per_class":
            said = "for target classes it never saw in pretraining"
        else:  # the long-tail cell's DAGAN, trained on the long-tailed set
            said = "(variants of each class's own training images)"
        for name, file in sorted((first.get("generator_samples") or {}).items()):
            blocks.append(_sample_figure({"samples": file}, base, fig_dir / f"samples_n{_setting(n)}_{_setting(name)}.png",
                                         f"Samples of the {name} generator {said}, one row per class (the first 20 classes)."))
        history = gan.get("history") or {}
        if history.get("step"):
            path = plots.loss_curves(history, fig_dir / f"losses_n{_setting(n)}.png")
            blocks.append(Figure(path, "GAN losses and discriminator outputs over training."))
        if gan.get("monitor"):
            path = plots.diversity_curves(gan["monitor"], threshold, fig_dir / f"diversity_n{_setting(n)}.png")
            line = ("below the dashed line the monitor raises a collapse alarm." if threshold is not None
                    else "this results file does not record the alarm threshold.")
            blocks.append(Figure(path, "Per-class sample diversity relative to real data; " + line))
    return blocks


def _sample_figure(cell: dict, base: Path, target: Path, caption: str = "Generated samples, one row per class.") -> Block:
    """The cell's sample grid: drawn from its saved arrays (or copied from an older results
    file's PNG)."""
    arrays = _resolve(cell.get("samples"), base)
    if arrays is not None and arrays.suffix == ".npz":
        try:
            with np.load(arrays, allow_pickle=False) as z:
                plots.sample_grid(z["images"], z["labels"], [str(v) for v in z["class_names"]], z["classes"],
                                  path=target, title=str(z["title"]))
            return Figure(target, caption)
        except (OSError, KeyError, ValueError):
            return Text(f"The sample file {cell.get('samples')} could not be read.", warning=True)
    png = _resolve(cell.get("samples_png"), base)
    if png is not None and png.suffix == ".png":
        shutil.copyfile(png, target)
        return Figure(target, "Generated samples, one row per class.")
    return Text("No samples were saved for this cell.")


# --- the long-tail scenario ----------------------------------------------------------------------


def _long_tail_section(data: dict, conditions: list[str], fig_dir: Path) -> list[Block]:
    """Which condition to use, balanced accuracy, paired gains, the other scores, per-class recall."""
    summary = data.get("summary") or {}
    rows = summary.get("balanced_accuracy") or []
    if not rows:
        return []
    conditions = [c for c in conditions if any(r["condition"] == c for r in rows)]
    settings = sorted({r["imbalance"] for r in rows}, key=_setting_order)
    cell = {(r["imbalance"], r["condition"]): r for r in rows}
    blocks: list[Block] = [Heading("Which condition to use")]
    blocks += [Text(_recommendation(summary, r)) for r in settings]
    blocks += [
        Heading("Balanced accuracy"),
        Text("Balanced accuracy in %: mean ± std [95% interval] over seeds."),
        Table(("imbalance ratio", *conditions),
              tuple((_setting(r), *(_accuracy_cell(cell.get((r, c))) for c in conditions)) for r in settings),
              "r" * (len(conditions) + 1)),
    ]
    blocks += _lt_gain_tables(summary)
    scores = {(r["imbalance"], r["condition"]): r for r in summary.get("scores") or []}
    acc = {(r["imbalance"], r["condition"]): r for r in summary.get("accuracy") or []}
    blocks += [
        Heading("Other class-balanced scores"),
        Text("Means over seeds, in %. Rarest three: the mean recall of the three classes with the fewest "
             "training images. G-mean: geometric mean of the per-class recalls (0 when a class is never "
             "recognised)."),
        Table(("imbalance ratio", "condition", "accuracy", "macro-F1", "G-mean of recalls", "rarest three recall"),
              tuple((_setting(r), c, _number((acc.get((r, c)) or {}).get("mean"), ".1f", 100),
                     *(_number((scores.get((r, c)) or {}).get(k), ".1f", 100)
                       for k in ("macro_f1", "gmean_recall", "rare3_recall")))
                    for r in settings for c in conditions), "lrrrrr"),
    ]
    names = (data.get("settings") or {}).get("class_names")
    path = plots.per_class_recall(summary.get("scores") or [], _mean_counts(data.get("cells") or []),
                                  conditions, names, fig_dir / "per_class_recall.png")
    blocks.append(Figure(path, "Test recall of every class, mean over seeds; classes ordered from the most to "
                               "the least frequent in training (training images per class in brackets)."))
    return blocks


def _recommendation(summary: dict, setting: Any) -> str:
    """One sentence per imbalance ratio: the condition to use and how sure that is."""
    label = _setting_label(setting)
    best = next((b for b in summary.get("best_non_generative") or [] if b["imbalance"] == setting), None)
    if best is None:
        return f"{label}: no validation scores recorded, so no baseline was chosen."
    base = best["condition"]
    gains = [g for g in summary.get("gains") or []
             if g["imbalance"] == setting and g["baseline"] == "best-non-generative"]
    winners = sorted((g for g in gains if verdict(g) == "gain"), key=lambda g: -g["mean"])
    head = (f"{label}: the best non-generative condition, chosen by cross-validation on the training "
            f"data, is {base} ({_percent(best['validation_balanced_accuracy'].get(base))} CV balanced accuracy).")
    if any(g.get("ci_low") is None for g in gains):
        return head + " One seed gives no interval: run more seeds before choosing."
    if winners:
        w = winners[0]
        return (head + f" Use {w['condition']}: it beats {base} by {_points(w['mean'])} points of balanced "
                f"accuracy [{_points(w['ci_low'])}, {_points(w['ci_high'])}], p = {_p_value(w.get('p_value'))}.")
    losers = [g["condition"] for g in gains if verdict(g) == "loss"]
    return (head + f" No condition beats it with a 95% interval above zero: use {base}"
            + (f"; {', '.join(losers)} did worse." if losers else "."))


def _lt_gain_tables(summary: dict) -> list[Block]:
    header = ("imbalance ratio", "comparison", "mean gain (points)", "95% interval", "p (t-test)",
              "p (sign-flip)", "verdict")
    blocks: list[Block] = []
    for key, title, note in (
        ("gains", "Paired gains in balanced accuracy",
         "vs best-non-generative: the baseline condition named in brackets; vs real: plain training (ERM)."),
        ("rare3_gains", "Paired gains in the rarest three classes' recall",
         "Recall of the three classes with the fewest training images, vs the best non-generative condition."),
    ):
        rows = sorted(summary.get(key) or [], key=lambda g: (_setting_order(g["imbalance"]), g["baseline"] != "best-non-generative"))
        if not rows:
            continue
        blocks += [Heading(title), Text(note), Table(header, tuple((
            _setting(g["imbalance"]),
            f"{g['condition']} vs {g['baseline']}" + (f" ({g['baseline_condition']})" if g["baseline"] != g["baseline_condition"] else ""),
            _points(g.get("mean")), f"[{_points(g.get('ci_low'))}, {_points(g.get('ci_high'))}]",
            _p_value(g.get("p_value")), _p_value(g.get("p_value_exact")), verdict(g),
        ) for g in rows), "rlrrrrl")]
    return blocks


def _lt_gate_section(cells: list[dict]) -> list[Block]:
    gated = [c for c in cells if (c.get("results") or {}).get("lt-gated", {}).get("gating")]
    if not gated:
        return []
    rows = []
    for c in sorted(gated, key=lambda c: (_setting_order(c.get("imbalance")), c.get("seed", 0))):
        g = c["results"]["lt-gated"]["gating"]
        cv = ", ".join(f"{k}: {100 * v:.1f}" for k, v in g.get("cv_balanced_accuracy", {}).items())
        rows.append((_setting(c.get("imbalance")), _text(c.get("seed")), _text(g.get("chosen")), cv, _text(g.get("reason"))))
    return [
        Heading("Safeguards"),
        Text("lt-gated cross-validates the non-generative conditions and gan-fill+classical on the long-tailed "
             "training set (each fold's GAN trained without that fold; CV classifiers at half the step budget, "
             "fold GANs at half the cell GAN's steps) and keeps the best non-generative condition unless "
             "gan-fill+classical beats it by more than one standard error."),
        Table(("imbalance ratio", "seed", "chosen", "CV balanced accuracy % by condition", "why"), tuple(rows), "rrlll"),
    ]


def _mean_counts(cells: list[dict]) -> dict[Any, list[float]]:
    """Mean training images per class, by imbalance ratio."""
    out: dict[Any, list] = {}
    for c in cells:
        if c.get("class_counts") is not None:
            out.setdefault(c.get("imbalance"), []).append(c["class_counts"])
    return {k: np.mean(v, axis=0).tolist() for k, v in out.items()}


def _setting(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else _text(value)


def _setting_label(value: Any) -> str:
    return "Its own imbalance" if value == "natural" else f"Imbalance ratio {_setting(value)}"


def _setting_order(value: Any) -> tuple:
    return (isinstance(value, str), value)


def _percent(x: Any) -> str:
    return _number(x, ".1f", 100) + " %"


# --- formatting ----------------------------------------------------------------------------------


def verdict(gain: dict) -> str:
    """Classify a gain row: "gain" if its 95% interval lies above zero, "loss" if below."""
    low, high = _float(gain.get("ci_low")), _float(gain.get("ci_high"))
    if low is not None and low > 0:
        return "gain"
    if high is not None and high < 0:
        return "loss"
    return "no clear difference"


def _accuracy_cell(row: dict | None) -> str:
    if row is None:
        return MISSING
    pct = [_number(row.get(k), ".1f", 100) for k in ("mean", "std", "ci_low", "ci_high")]
    return f"{pct[0]} ± {pct[1]} [{pct[2]}, {pct[3]}]"


def _points(x: Any) -> str:
    return _number(x, "+.1f", 100)


def _p_value(p: Any) -> str:
    # "#" keeps trailing zeros, so 0.21 shows as three significant digits: 0.210.
    return _number(p, "#.3g")


def _number(x: Any, fmt: str, scale: float = 1.0) -> str:
    value = _float(x)
    if value is None:
        return MISSING
    text = format(scale * value, fmt)
    # A value that rounds to zero prints without a minus sign: "-0.0" reads as a loss.
    return format(0.0, fmt) if float(text) == 0 else text


def _float(x: Any) -> float | None:
    """A finite float, or None for missing, null or NaN values (JSON writers differ on NaN)."""
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _classifier_steps(settings: dict, cells: list[dict]) -> str:
    """The budget given, or (None: sized per cell) what the cells used, e.g. "sized per cell: 200, 400"."""
    if settings.get("classifier_steps") is not None:
        return str(settings["classifier_steps"])
    used = sorted({c["classifier_steps"] for c in cells if c.get("classifier_steps") is not None})
    return f"sized per cell: {', '.join(map(str, used))}" if used else MISSING


def _text(x: Any) -> str:
    return MISSING if x is None or x == "" else str(x)


def _join(xs: Any) -> str:
    return ", ".join(str(x) for x in xs) if xs else MISSING


def _collapse_warning(cell: dict) -> str:
    collapsed = cell["gan"]["collapsed"]
    noun = "class" if len(collapsed) == 1 else "classes"
    classes = ", ".join(str(c) for c in collapsed)
    return f"Warning: mode-collapse alarm for {noun} {classes} (seed {cell.get('seed', '?')})."


# --- ordering and lookup -------------------------------------------------------------------------


def _conditions(data: dict) -> list[str]:
    """Conditions in settings order; any the summary holds beyond those follow in file order."""
    summary = data.get("summary") or {}
    listed = list((data.get("settings") or {}).get("conditions") or [])
    found = [r["condition"] for key in ("accuracy", "gains") for r in summary.get(key) or []]
    return list(dict.fromkeys(listed + found))


def _gain_order(row: dict, conditions: list[str]) -> tuple:
    base = row.get("baseline")
    cond = row.get("condition")
    return (
        row["per_class"],
        BASELINES.index(base) if base in BASELINES else len(BASELINES),
        conditions.index(cond) if cond in conditions else len(conditions),
    )


def _seed_order(cell: dict, seeds: list) -> tuple:
    seed = cell.get("seed")
    return (seeds.index(seed) if seed in seeds else len(seeds), str(seed))


def _resolve(path: Any, base: Path) -> Path | None:
    """``base / path`` when it is a file inside ``base``; a results file can name no other."""
    if not path or not isinstance(path, str):
        return None
    root = base.resolve()
    full = (root / path).resolve()
    return full if full.is_relative_to(root) and full.is_file() else None


# --- output --------------------------------------------------------------------------------------


def to_markdown(blocks: list[Block], out_dir: Path) -> str:
    """Markdown with figures linked relative to ``out_dir``."""
    parts: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            parts.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Text):
            parts.append(f"> **{b.text}**" if b.warning else b.text)
        elif isinstance(b, Table):
            parts.append(_markdown_table(b))
        elif isinstance(b, Figure):
            link = Path(os.path.relpath(b.path, out_dir)).as_posix()
            parts.append(f"![{b.caption}]({link})\n\n*{b.caption}*")
    return "\n\n".join(parts) + "\n"


def _markdown_table(t: Table) -> str:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    rule = "|" + "|".join("---:" if _align(t, i) == "r" else "---" for i in range(len(t.header))) + "|"
    return "\n".join([line(t.header), rule, *(line(r) for r in t.rows)])


def to_html(blocks: list[Block]) -> str:
    """One HTML file with inline CSS and every figure embedded as a base64 data URI."""
    title = next((b.text for b in blocks if isinstance(b, Heading) and b.level == 1), "ganaug report")
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Text):
            attr = ' class="warning"' if b.warning else ""
            body.append(f"<p{attr}>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            body.append(_html_table(b))
        elif isinstance(b, Figure):
            data = base64.b64encode(b.path.read_bytes()).decode("ascii")
            caption = html.escape(b.caption)
            body.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>"
            )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{CSS}\n</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    rows = []
    for row in t.rows:
        cells = []
        for i, cell in enumerate(row):
            classes = ["num"] if _align(t, i) == "r" else []
            if t.header[i] == "verdict" and cell in ("gain", "loss"):
                classes.append(cell)  # colour decided verdicts so they stand out in a long table
            attr = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{attr}>{html.escape(cell)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<div class="wrap"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


def _align(t: Table, i: int) -> str:
    return t.align[i] if i < len(t.align) else "l"
