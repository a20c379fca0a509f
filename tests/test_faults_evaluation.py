"""Faults of the evaluation and the report (issue 17): no stale cell reused, no earlier run
overwritten unasked, no file outside a results folder read, no work lost to a check that could
have come first, standard JSON only."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganaug.cli import main
from ganaug.evaluation import runner
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.report import write_report


def _strict_json(text: str):
    """Parse as standard JSON: a NaN or Infinity token fails."""
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def _write_npz(path: Path, learnable: bool) -> None:
    """40 8×8 images, 4 classes of 10: class-coded bright rows (learnable) or pure noise."""
    rng = np.random.default_rng(1 if learnable else 2)
    y = np.repeat(np.arange(4), 10)
    x = rng.integers(0, 60, size=(40, 8, 8), dtype=np.uint8)
    if learnable:
        for i, c in enumerate(y):
            x[i, 2 * c : 2 * c + 2] = 250
    np.savez(path, x=x, y=y)


def _config(npz: Path, **changes) -> EvalConfig:
    settings = dict(dataset=f"npz:{npz}", per_class=(3,), seeds=(0, 1), conditions=("real",), classifier="logreg",
                    metrics=False, device="cpu")
    return EvalConfig(**(settings | changes))


def _accuracies(results: dict) -> list[float]:
    return [c["results"]["real"]["accuracy"] for c in results["cells"]]


def test_cells_made_from_other_data_are_recomputed_not_reused(tmp_path):
    # Issue item 2: the npz replaced under the same name must not give back its old accuracy.
    npz = tmp_path / "data.npz"
    _write_npz(npz, learnable=True)
    first = run_evaluation(_config(npz), tmp_path / "run", progress=False)
    assert min(_accuracies(first)) > 0.9
    _write_npz(npz, learnable=False)
    with pytest.raises(ValueError, match="other settings or data"):
        run_evaluation(_config(npz), tmp_path / "run", progress=False)
    again = run_evaluation(_config(npz), tmp_path / "run", progress=False, overwrite=True)
    fresh = run_evaluation(_config(npz), tmp_path / "fresh", progress=False)
    assert _accuracies(again) == _accuracies(fresh) != _accuracies(first)
    assert again["data_fingerprint"] == fresh["data_fingerprint"] != first["data_fingerprint"]
    cells = [json.loads(p.read_text()) for p in (tmp_path / "run" / "cells").glob("*.json")]
    assert {c["key"] for c in cells} == {fresh["cell_key"]}


def test_other_settings_in_the_same_folder_are_refused_unless_overwrite(tmp_path):
    # Issue item 6: a second run with other settings must not replace the first one's files.
    npz = tmp_path / "data.npz"
    _write_npz(npz, learnable=True)
    out = tmp_path / "run"
    run_evaluation(_config(npz, per_class=(3, 4)), out, progress=False)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*.json")}
    res = CliRunner().invoke(main, ["evaluate", "--dataset", f"npz:{npz}", "--per-class", "3", "--seeds", "2",
                                    "--conditions", "real", "--classifier", "logreg", "--classifier-steps", "50",
                                    "--no-metrics", "--device", "cpu", "--quiet", "--no-report", "--out", str(out)])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "other settings" in errors[0] and "--overwrite" in errors[0]
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*.json")} == before  # nothing touched

    # The same settings with another grid resume: the finished cells are reused as they are.
    grown = run_evaluation(_config(npz, per_class=(3, 4), seeds=(0, 1, 2)), out, progress=False)
    assert len(grown["cells"]) == 6
    for name in ("cells/n3_seed0.json", "cells/n4_seed1.json"):
        assert (out / name).read_bytes() == before[Path(name)]

    # --overwrite: the other settings' cells go, those outside the new grid too; results are new.
    res = CliRunner().invoke(main, ["evaluate", "--dataset", f"npz:{npz}", "--per-class", "3", "--seeds", "2",
                                    "--conditions", "real", "--classifier", "logreg", "--classifier-steps", "50",
                                    "--no-metrics", "--device", "cpu", "--quiet", "--no-report", "--overwrite",
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "cells").glob("*.json")) == ["n3_seed0.json", "n3_seed1.json"]
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["classifier_steps"] == 50 and len(results["cells"]) == 2


def test_report_never_reads_a_file_outside_the_results_folder(tmp_path):
    # Issue item 7: "samples"/"samples_png" naming ../../etc/passwd, an absolute path or a link
    # that leads out of the folder: the report renders, and holds none of those files' bytes.
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"TOP-SECRET-BYTES" * 64)
    outside = tmp_path / "outside.npz"
    rng = np.random.default_rng(0)
    np.savez(outside, images=rng.integers(0, 256, (8, 8, 8), dtype=np.uint8), labels=np.repeat(np.arange(2), 4),
             classes=np.arange(2), class_names=np.array(["a", "b"]), title=np.array("outside"))
    folder = tmp_path / "run"
    (folder / "samples").mkdir(parents=True)
    (folder / "samples" / "link.png").symlink_to(secret)
    (folder / "samples" / "link.npz").symlink_to(outside)
    passwd = Path("/etc/passwd")
    names = [("samples_png", "../../../../../../../../etc/passwd"), ("samples_png", str(passwd)),
             ("samples_png", str(secret)), ("samples_png", "samples/link.png"),
             ("samples", "../../../../../../../../etc/passwd"), ("samples", str(outside)),
             ("samples", "samples/link.npz")]
    cells = [{"per_class": i + 1, "seed": 0, field: value, "results": {}} for i, (field, value) in enumerate(names)]
    (folder / "results.json").write_text(json.dumps(
        {"schema": "ganaug-results/1", "settings": {"per_class": [c["per_class"] for c in cells]}, "cells": cells}))
    res = CliRunner().invoke(main, ["report", str(folder)])
    assert res.exit_code == 0, res.output
    html = (folder / "report.html").read_bytes() + (folder / "report.md").read_bytes()
    leaks = [b"TOP-SECRET-BYTES", base64.b64encode(secret.read_bytes())[:64]]
    if passwd.is_file() and passwd.stat().st_size > 8:
        leaks += [passwd.read_bytes()[:32], base64.b64encode(passwd.read_bytes())[:32]]
    assert not [leak for leak in leaks if leak in html]
    assert not list((folder / "figures").glob("samples_*"))  # no copy, no drawing
    assert html.count(b"No samples were saved for this cell.") == 2 * len(names)


def test_an_unwritable_out_fails_before_any_work(tmp_path, monkeypatch):
    # Issue item 8: found before the data load, not after the cells ran.
    npz = tmp_path / "data.npz"
    _write_npz(npz, learnable=True)
    loads = []
    from ganaug.evaluation.scenarios import few_shot

    monkeypatch.setattr(few_shot, "prepare", lambda config: loads.append(1))
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError, match="cannot write the evaluation to"):
        run_evaluation(_config(npz), tmp_path / "file" / "run", progress=False)
    (tmp_path / "run" / "results.json").mkdir(parents=True)  # results.json could never be written
    with pytest.raises(OSError, match="results.json"):
        run_evaluation(_config(npz), tmp_path / "run", progress=False)
    assert not loads


def test_a_size_the_pool_cannot_fill_fails_before_the_first_cell(tmp_path, monkeypatch):
    # Issue item 8: --per-class 3,200 used to fail only after the cells of size 3 ran.
    npz = tmp_path / "data.npz"
    _write_npz(npz, learnable=True)
    ran = []
    monkeypatch.setattr(runner, "_run_cell", lambda *a: ran.append(a))
    res = CliRunner().invoke(main, ["evaluate", "--dataset", f"npz:{npz}", "--per-class", "3,5,200",
                                    "--conditions", "real", "--classifier", "logreg", "--no-metrics",
                                    "--device", "cpu", "--quiet", "--out", str(tmp_path / "run")])
    assert res.exit_code == 1 and "Traceback" not in res.output and not ran
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    # 30 pool images (the 75 % split) of 4 classes: the smallest class has 7.
    assert len(errors) == 1 and "per_class 200 asks for more images than class '" in errors[0]
    assert "the largest size it allows is 7" in errors[0]


@pytest.mark.parametrize(("conditions", "message"), [
    (",", "no condition given; choose from real, classical"),
    ("real,nope", "unknown condition 'nope'; choose from real, classical"),
])
def test_empty_or_unknown_conditions_are_one_line(tmp_path, conditions, message):
    res = CliRunner().invoke(main, ["evaluate", "--conditions", conditions, "--out", str(tmp_path / "run")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0]
    assert not (tmp_path / "run").exists()  # refused before the folder was made


def test_cells_and_results_are_standard_json(tmp_path, monkeypatch):
    # A NaN accuracy (or loss) is written as null: strict JSON readers refuse a NaN token.
    npz = tmp_path / "data.npz"
    _write_npz(npz, learnable=True)
    nan = float("nan")
    monkeypatch.setattr(runner, "train_and_score", lambda *a, **k: {"accuracy": nan, "per_class_accuracy": [nan] * 4,
                                                               "seconds": float("inf")})
    run_evaluation(_config(npz), tmp_path / "run", progress=False)
    results = _strict_json((tmp_path / "run" / "results.json").read_text())
    assert results["cells"][0]["results"]["real"]["accuracy"] is None
    for cell in (tmp_path / "run" / "cells").glob("*.json"):
        assert _strict_json(cell.read_text())["results"]["real"]["seconds"] is None
    md, html = write_report(tmp_path / "run" / "results.json", tmp_path / "run")  # the report reads nulls
    assert html.is_file()
