"""Report rendering: results.json → report.md + self-contained report.html."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ganaug.report import sample_grid, write_report

SIZES, SEEDS, CONDITIONS = (5, 10), (0, 1, 2), ("real", "classical", "gan")
CLASSES = ["0", "1", "2", "3"]


def _accuracy(n: int, cond: str) -> dict:
    if (n, cond) == (5, "real"):  # the cell the Markdown test checks digit by digit
        return {"per_class": 5, "condition": "real", "n": 3, "mean": 0.8712, "std": 0.0123,
                "ci_low": 0.8407, "ci_high": 0.9017}
    mean = 0.7 + 0.01 * n + 0.02 * CONDITIONS.index(cond)
    return {"per_class": n, "condition": cond, "n": 3, "mean": mean, "std": 0.01,
            "ci_low": mean - 0.025, "ci_high": mean + 0.025}


def _gain(n: int, cond: str, base: str, low: float, high: float, p: float) -> dict:
    return {"per_class": n, "condition": cond, "baseline": base, "n": 3, "mean": (low + high) / 2,
            "std": 0.01, "ci_low": low, "ci_high": high, "p_value": p, "p_value_exact": 0.25,
            "test": "paired t-test"}


def _cell(n: int, seed: int) -> dict:
    steps = [0, 50, 100]
    return {
        "per_class": n, "seed": seed, "n_train": n * len(CLASSES),
        "gan": {
            "loss": "mmd", "steps": 100, "train_seconds": 1.0,
            "history": {"step": steps, "d_loss": [1.4, 1.2, 1.1], "g_loss": [0.7, 0.9, 1.0],
                        "d_real": [0.5, 0.6, 0.6], "d_fake": [0.5, 0.4, 0.4]},
            "monitor": [{"step": s, "ratios": {c: 0.5 + 0.1 * i for i, c in enumerate(CLASSES)},
                         "collapsed": []} for s in steps[1:]],
            "collapsed": ["1", "3"] if (n, seed) == (10, 1) else [],
        },
        "samples_png": f"samples/n{n}_seed{seed}.png",
        "metrics": {"fid": 12.0, "kid": 0.01, "kid_std": 0.002, "precision": 0.7, "recall": 0.6,
                    "label_consistency": 0.95, "memorisation": {"nn_ratio": 1.1, "copy_rate": 0.0}},
        "results": {c: {"accuracy": 0.8, "per_class_accuracy": [0.8] * len(CLASSES), "seconds": 0.1}
                    for c in CONDITIONS},
        "wall_seconds": 2.0,
    }


def make_results(folder: Path) -> dict:
    """A small, schema-valid results dict; sample grids are real PNGs under ``folder``."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(4 * len(CLASSES), 8, 8), dtype=np.uint8)
    labels = np.repeat(np.arange(len(CLASSES)), 4)
    for n in SIZES:
        sample_grid(images, labels, CLASSES, per_class=4, path=folder / "samples" / f"n{n}_seed0.png")
    gains = [
        _gain(5, "classical", "real", 0.01, 0.05, 0.004),
        _gain(5, "gan", "real", -0.01, 0.03, 0.21),
        _gain(5, "gan", "classical", -0.06, -0.02, 0.0123456),
        _gain(10, "classical", "real", 0.0, 0.02, 0.05),
        _gain(10, "gan", "real", -0.02, 0.02, 0.9),
        _gain(10, "gan", "classical", -0.03, 0.01, 0.3),
    ]
    rng_delta = np.random.default_rng(1)
    return {
        "schema": "ganaug-results/1",
        "created": "2026-11-24T21:00:00Z",
        "command": "ganaug evaluate --dataset digits",
        "versions": {"ganaug": "0.1.0", "torch": "2.5.0"},
        "device": "cpu",
        "machine": "x86_64, 2 cores",
        "settings": {"dataset": "digits", "per_class": list(SIZES), "seeds": list(SEEDS),
                     "conditions": list(CONDITIONS), "classifier": "cnn", "classifier_steps": 600,
                     "ratio": 1.0, "gan": {"loss": "auto", "steps": 100}, "n_pool": 1347, "n_test": 450,
                     "class_names": CLASSES},
        "cells": [_cell(n, s) for n in SIZES for s in SEEDS],
        "summary": {
            "accuracy": [_accuracy(n, c) for n in SIZES for c in CONDITIONS],
            "gains": gains,
            "per_class_delta": [
                {k: g[k] for k in ("per_class", "condition", "baseline")}
                | {"deltas": rng_delta.normal(0, 0.03, len(CLASSES)).tolist()}
                for g in gains
            ],
            "metrics": [{"per_class": n, "fid": 12.04, "kid": 0.0123, "precision": 0.7, "recall": 0.6,
                         "label_consistency": 0.95, "nn_ratio": 1.1} for n in SIZES],
        },
    }


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """One report rendered from a results.json on disk, shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("run")
    results = make_results(folder)
    path = folder / "results.json"
    path.write_text(json.dumps(results))
    md, html = write_report(path, folder / "report")
    return md, html


def test_writes_markdown_html_and_linked_figures(report):
    md, html = report
    assert md.name == "report.md" and html.name == "report.html"
    text = md.read_text()
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert "figures/accuracy.png" in links and "figures/samples_n5.png" in links
    assert all((md.parent / link).is_file() for link in links)


def test_html_embeds_every_figure(report):
    md, html = report
    page = html.read_text()
    assert 'src="figures/' not in page
    n_figures = sum(line.startswith("![") for line in md.read_text().splitlines())
    assert page.count('src="data:image/png;base64,') == n_figures


def test_gain_verdicts_follow_the_interval(report):
    md, html = report
    page = html.read_text()
    for word in ("gain", "loss", "no clear difference"):
        assert f">{word}</td>" in page
    text = md.read_text()
    assert "| 5 | gan vs real | +1.0 | [-1.0, +3.0] | 0.210 | 0.250 | no clear difference |" in text
    assert "| 5 | gan vs classical | -4.0 | [-6.0, -2.0] | 0.0123 | 0.250 | loss |" in text
    assert "cannot fall below 2/2^n (0.25 with 3 seeds)." in text  # the floor of this run's seeds


def test_markdown_accuracy_cell_in_percent(report):
    md, _ = report
    assert "| 5 | 87.1 ± 1.2 [84.1, 90.2] |" in md.read_text()


def test_markdown_and_html_carry_the_collapse_alarm(report):
    md, html = report
    assert "mode-collapse alarm for classes 1, 3 (seed 1)" in md.read_text()
    assert "mode-collapse alarm for classes 1, 3 (seed 1)" in html.read_text()


@pytest.mark.parametrize("content", ['{"schema": "other/1", "cells": []}', "[1, 2]", "not json"])
def test_rejects_files_that_are_not_ganaug_results(tmp_path, content):
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="not a ganaug results file"):
        write_report(path, tmp_path / "report")


def test_renders_what_exists_when_optional_parts_are_missing(tmp_path):
    results = make_results(tmp_path)
    del results["summary"]["metrics"]
    for cell in results["cells"]:
        del cell["metrics"], cell["samples_png"]
        cell["gating"] = {"enabled": True}  # a later schema addition: ignored, not an error
    results["summary"]["gating"] = []
    accuracy = results["summary"]["accuracy"]
    results["summary"]["accuracy"] = [r for r in accuracy if r["condition"] != "classical"]
    md, html = write_report(results, tmp_path / "report", base_dir=tmp_path)
    text = md.read_text()
    assert "Generative metrics" not in text
    assert "| per class | real | gan |" in text
    assert "No samples were saved" in text and html.is_file()


def test_settings_say_what_the_auto_objective_resolved_to(report):
    md, _ = report
    assert "| GAN objective | auto → mmd |" in md.read_text()
