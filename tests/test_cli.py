"""The click CLI: outputs on disk, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from click.testing import CliRunner

from ganaug import GANConfig
from ganaug.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(main, ["pretrain", "--dataset", "digits", "--per-class", "10", "--steps", "30", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_pretrain_writes_checkpoint_config_and_figures(trained):
    for name in ("augmenter.safetensors", "augmenter.json", "config.json", "samples.png", "losses.png", "diversity.png"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "config.json").read_text())
    assert config["loss"] == "mmd"  # 10 images per class: "auto" trained the matching network


def test_sample_to_npz_and_png(trained, tmp_path):
    runner = CliRunner()
    npz = tmp_path / "s.npz"
    res = runner.invoke(main, ["sample", str(trained / "augmenter.safetensors"), "--n", "12", "--labels", "3,4", "--out", str(npz)])
    assert res.exit_code == 0, res.output
    with np.load(npz) as z:
        assert z["x"].shape == (12, 8, 8) and set(z["y"].tolist()) == {3, 4}
    png = tmp_path / "s.png"
    assert runner.invoke(main, ["sample", str(trained), "--n", "20", "--out", str(png)]).exit_code == 0
    assert png.stat().st_size > 1000


def test_info(trained):
    res = CliRunner().invoke(main, ["info", str(trained / "augmenter.safetensors")])
    assert res.exit_code == 0 and "image shape    (8, 8)" in res.output and "30 steps" in res.output
    res = CliRunner().invoke(main, ["info", "--json", str(trained / "augmenter.safetensors")])
    assert '"classes"' in res.output


def test_resume_picks_up_where_the_first_run_stopped(tmp_path):
    # 10 steps, then resumed to 20, must equal 20 steps straight: same subset (the checkpoint's
    # seed, 5, not --seed's default), same networks and streams.
    base = ["pretrain", "--per-class", "10", "--quiet"]
    runner = CliRunner()
    for args in (["--steps", "20", "--seed", "5", "--out", str(tmp_path / "straight")],
                 ["--steps", "10", "--seed", "5", "--out", str(tmp_path / "half")],
                 ["--resume", str(tmp_path / "half"), "--steps", "20", "--out", str(tmp_path / "resumed")]):
        res = runner.invoke(main, base + args)
        assert res.exit_code == 0, res.output
    drawn = {}
    for name in ("straight", "resumed"):
        out = tmp_path / f"{name}.npz"
        assert runner.invoke(main, ["sample", str(tmp_path / name), "--n", "20", "--out", str(out)]).exit_code == 0
        with np.load(out) as z:
            drawn[name] = z["x"]
    np.testing.assert_array_equal(drawn["straight"], drawn["resumed"])


def test_resume_continues_to_more_steps(trained, tmp_path):
    res = CliRunner().invoke(main, ["pretrain", "--resume", str(trained), "--per-class", "10", "--steps", "40", "--quiet", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["info", str(tmp_path / "augmenter.safetensors")])
    assert "40 steps" in res.output


def test_pretrain_keeps_the_config_files_seed_unless_seed_is_given(tmp_path):
    (tmp_path / "c.json").write_text('{"seed": 7, "steps": 2}')
    for extra, expected in (([], 7), (["--seed", "3"], 3)):
        out = tmp_path / f"run{expected}"
        args = ["pretrain", "--per-class", "5", "--config", str(tmp_path / "c.json"), "--quiet", "--out", str(out), *extra]
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        assert json.loads((out / "config.json").read_text())["seed"] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pretrain", "--dataset", "nope", "--out", "x"], "unknown dataset"),
        (["pretrain", "--dataset", "mnist", "--root", "{tmp}", "--out", "x"], "download=True"),
        (["pretrain", "--dataset", "digits", "--per-class", "1000", "--out", "x"], "fewer"),
        (["sample", "{pickle}", "--out", "a.png"], "never unpickles"),
        (["sample", "{pickle}", "--out", "a.txt"], ".png or .npz"),
        (["info", "{pickle}"], "never unpickles"),
        (["pretrain", "--resume", "{pickle}", "--out", "x"], "needs --steps"),
        (["pretrain", "--resume", "{pickle}", "--steps", "9", "--loss", "hinge", "--out", "x"], "drop --loss"),
        (["pretrain", "--config", "{tmp}/bad.json", "--out", "x"], "monitor_every must be an integer >= 1"),
        (["pretrain", "--config", "{tmp}/list.json", "--out", "x"], "must hold a JSON object"),
    ],
)
def test_user_errors_are_one_line(tmp_path, args, message):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(pickle.dumps({"a": 1}))
    (tmp_path / "bad.json").write_text('{"monitor_every": 0}')
    (tmp_path / "list.json").write_text("[1, 2]")
    args = [a.format(tmp=tmp_path, pickle=bad) for a in args]
    res = CliRunner().invoke(main, args)
    # click's own exit (1, or 2 for a misused option), not an exception escaping, and one error line.
    assert isinstance(res.exception, SystemExit) and res.exit_code in (1, 2)
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0]


TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


def test_evaluate_cli_writes_results_and_report(tmp_path):
    from ganaug.cli import main

    out = tmp_path / "ev"
    res = CliRunner().invoke(main, [
        "evaluate", "--per-class", "3", "--seeds", "2", "--first-seed", "3", "--steps", "15",
        "--classifier-steps", "30", "--conditions", "real,classical,gan", "--no-metrics", "--quiet", "--out", str(out),
    ])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    assert results["schema"] == "ganaug-results/1" and results["settings"]["seeds"] == [3, 4]
    assert (out / "report.html").stat().st_size > 10_000 and (out / "report.md").is_file()
    rerun = CliRunner().invoke(main, ["report", str(out), "--out", str(tmp_path / "again")])
    assert rerun.exit_code == 0 and (tmp_path / "again" / "report.html").is_file()
    bad = CliRunner().invoke(main, ["evaluate", "--conditions", "real,nope", "--out", str(out)])
    assert bad.exit_code == 1 and isinstance(bad.exception, SystemExit) and "unknown condition" in bad.output
    # Not quiet: the summary table is printed; --no-report leaves the report out.
    loud = tmp_path / "loud"
    res = CliRunner().invoke(main, [
        "evaluate", "--per-class", "3", "--seeds", "2", "--steps", "15", "--classifier-steps", "30",
        "--conditions", "real,gan", "--no-metrics", "--no-report", "--out", str(loud),
    ])
    assert res.exit_code == 0, res.output
    assert "accuracy % (mean ± std over seeds)" in res.output
    assert any(line.split()[:1] == ["3"] and line.count("±") == 2 for line in res.output.splitlines())
    assert (loud / "results.json").is_file() and not (loud / "report.html").exists()
    # The evaluation's settings file is not pretrain's config.json, and --config reads its GAN part.
    assert not (out / "config.json").exists() and (out / "eval_config.json").is_file()
    assert GANConfig.from_json(out / "eval_config.json") == GANConfig(steps=15)


def test_python_dash_m_runs_the_same_command_line():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "ganaug", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Usage: ganaug" in run.stdout
    assert all(cmd in run.stdout for cmd in ("pretrain", "sample", "info", "evaluate", "report"))
