"""The benchmark scripts' bookkeeping: which numbers a gain is paired with."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ganaug.training.config import GANConfig

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass in it looks its module up while the module runs
    spec.loader.exec_module(module)
    return module


def _run(conditions: dict[str, list[float]], subset: str = "abc", gan: dict | None = None) -> dict:
    """A results file of 2 seeds at 5/class: ``conditions`` maps a condition to its accuracies."""
    return {
        "created": "2026-01-01T00:00:00Z", "command": "test", "machine": "test", "wall_seconds": 1.0,
        "settings": {"gan": GANConfig().to_dict() | (gan or {}), "conditions": list(conditions), "per_class": [5]},
        "cells": [
            {"per_class": 5, "seed": s, "n_train": 50, "subset_sha256": subset, "threads": 1, "wall_seconds": 1.0,
             "results": {c: {"accuracy": acc[s]} for c, acc in conditions.items()}}
            for s in (0, 1)
        ],
    }


@pytest.fixture
def variants(tmp_path, monkeypatch):
    module = _load("variants")
    monkeypatch.setattr(module, "RESULTS", tmp_path)
    return module


def _write(folder: Path, name: str, results: dict) -> None:
    (folder / f"accuracy_toy_{name}.json").write_text(json.dumps(results))


def test_variant_gain_is_paired_with_its_own_baselines_and_the_rerun_is_reported(variants):
    _write(variants.RESULTS, "hinge", _run({"real": [0.50, 0.60], "classical": [0.70, 0.80], "gan": [0.72, 0.80]}, gan={"loss": "hinge"}))
    _write(variants.RESULTS, "gated", _run({"classical": [0.71, 0.80], "gan-gated": [0.71, 0.80], "synthetic": [0.4, 0.5]}))
    collected = variants.collect("toy")
    by = {(r["variant"], r["condition"]): r for r in collected["rows"]}
    gated, cas = by[("gated", "gan-gated")], by[("gated", "synthetic")]
    assert gated["baseline_from"] == "gated"
    assert gated["vs_classical"]["mean"] == pytest.approx(0.0)  # a shut gate is exactly its own classical
    assert cas["baseline_from"] == "hinge"  # it trained no real of its own
    assert cas["vs_real"]["mean"] == pytest.approx(-0.1)
    (classical,) = collected["baseline_reruns"]
    assert classical["condition"] == "classical" and classical["differing"] == 1 and classical["max_abs"] == pytest.approx(0.01)
    assert by[("hinge", "gan")]["vs_classical"]["mean"] == pytest.approx(0.01)
    assert "rerun noise" in variants.table(collected)


def test_cells_of_other_images_stop_the_pairing(variants):
    _write(variants.RESULTS, "hinge", _run({"real": [0.5, 0.6], "classical": [0.7, 0.8]}, gan={"loss": "hinge"}))
    _write(variants.RESULTS, "gated", _run({"gan-gated": [0.7, 0.8]}, subset="other"))
    with pytest.raises(SystemExit, match="other images"):
        variants.collect("toy")


def test_an_unfinished_run_shows_its_cells_so_far(variants):
    _write(variants.RESULTS, "hinge", _run({"real": [0.5, 0.6], "classical": [0.7, 0.8], "gan": [0.7, 0.8]}, gan={"loss": "hinge"}))
    unfinished = _run({"classical": [0.7, 0.8], "gan-gated": [0.75, 0.8]})
    folder = variants.RESULTS / "partial" / "toy_gate"
    folder.mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps({k: unfinished[k] for k in ("created", "command", "settings")}))
    (folder / "n5_seed0.json").write_text(json.dumps(unfinished["cells"][0]))
    collected = variants.collect("toy")
    (row,) = [r for r in collected["rows"] if r["variant"] == "gate (partial)"]
    assert row["seeds"] == [0] and row["vs_classical"]["mean"] == pytest.approx(0.05)
    assert "(n=1)" in variants.table(collected)


@pytest.mark.slow  # about 20 s on 2 busy cores
def test_a_speed_run_of_some_sections_keeps_the_others_with_when_and_where_they_were_measured():
    speed = _load("speed")
    stamp = {"date": "2026-12-01", "machine": "A", "command": "python benchmarks/speed.py", "repeats": 3, "torch_threads": 2}
    before = {**stamp, "quick": False, "sections": {"gan_loop": {"old": 1}, "demo": {"demo": 1}}}
    now_stamp = {**stamp, "date": "2026-12-07", "machine": "B", "command": "python benchmarks/speed.py --only gan_loop"}
    now = {**now_stamp, "quick": False, "sections": {"peak_gflops": {"new": 1, "measured": now_stamp},
                                                     "gan_loop": {"new": 2, "measured": now_stamp}}}
    merged = speed.merge(before, now)
    assert merged["date"] == "2026-12-07"
    assert merged["sections"]["gan_loop"] == {"new": 2, "measured": now_stamp}
    assert merged["sections"]["demo"] == {"demo": 1, "measured": stamp}  # the demo's own date and machine
    assert list(merged["sections"]) == ["peak_gflops", "gan_loop", "demo"]
    # The README's timing sentence names the run that measured the demo, not the latest --only run.
    timing = {"wall_seconds": {"median": 150, "min": 140, "max": 160}}
    merged["sections"]["demo"] = {"demo": timing, "demo_quick": timing, "measured": stamp}
    merged["sections"]["rss"] = {"demo": {"maxrss_mib": {"median": 1000}}, "measured": stamp}
    assert "A, 2026-12-01" in speed.readme_sentence(merged)


def test_speed_quick_run_reports_both_loops_rates_and_their_ratio(tmp_path):
    out = tmp_path / "speed.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--only", "gan_loop,classifier_step",
               "--device", "cpu", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["quick"] is True and result["repeats"] == 1
    sections = result["sections"]
    assert set(sections) == {"peak_gflops", "gan_loop", "classifier_step"}  # "% of peak" brings the peak along
    assert sections["peak_gflops"]["conv2d_fwd_bwd"]["gflops"]["median"] > 0
    for resolution in ("8x8", "28x28"):
        gan = sections["gan_loop"][resolution]
        ours, plain = gan["ganaug_steps_per_s"]["median"], gan["plain_steps_per_s"]["median"]
        assert ours > 0 and plain > 0
        assert gan["ratio"]["median"] == pytest.approx(ours / plain, rel=0.01)
        # The same networks and updates, less work: ganaug's G update skips D's weight gradients.
        assert 0 < gan["flops_per_step_ganaug_objective"] < gan["flops_per_step"]
        assert gan["percent_of_peak"]["ganaug"] > 0
        classifier = sections["classifier_step"][resolution]
        assert classifier["plain"]["steps_per_s"]["median"] > 0
        assert classifier["batch_augment"]["steps_per_s"]["median"] > 0
    assert sections["gan_loop"]["mmd_8x8"]["steps_per_s"]["median"] > 0
