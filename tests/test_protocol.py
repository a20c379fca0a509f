"""The evaluation protocol: disjoint test data, determinism, resuming, and the CLI around it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from ganaug import GANConfig
from ganaug.data import few_shot
from ganaug.evaluation import conditions, runner
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.evaluation.scenarios.few_shot import check_disjoint, load_splits
from ganaug.evaluation.stats import summarize_cells

TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


def test_no_training_subset_overlaps_the_test_set():
    pool, test, _ = load_splits(EvalConfig())
    assert pool.source == test.source  # one array: overlap is checkable by index
    for n in (5, 10, 20, 50):
        for seed in range(5):
            subset, _ = few_shot(pool, n, seed)
            assert not np.intersect1d(subset.indices, test.indices).size
            check_disjoint(subset, test, same_source=True)
    with pytest.raises(ValueError, match="also in the test set"):
        check_disjoint(test.subset(np.arange(3)), test, same_source=True)
    with pytest.raises(ValueError, match="pixel-identical"):
        check_disjoint(test.subset(np.arange(3)), test, same_source=False)


def test_same_seed_same_results(tmp_path):
    config = EvalConfig(**TINY)
    a = run_evaluation(config, tmp_path / "a", progress=False)
    b = run_evaluation(config, tmp_path / "b", progress=False)
    strip = lambda r: [{k: v for k, v in c.items() if k != "wall_seconds"} for c in r["cells"]]  # noqa: E731
    for ca, cb in zip(strip(a), strip(b), strict=True):
        assert {k: v["accuracy"] for k, v in ca["results"].items()} == {k: v["accuracy"] for k, v in cb["results"].items()}
    assert a["summary"]["gains"] == b["summary"]["gains"]
    # Each cell names the images it trained on, so runs made apart can be checked to pair them.
    subsets = {(c["per_class"], c["seed"]): c["subset_sha256"] for c in a["cells"]}
    assert subsets == {(c["per_class"], c["seed"]): c["subset_sha256"] for c in b["cells"]}
    assert len(set(subsets.values())) == len(subsets)
    assert {g["condition"] for g in a["summary"]["gains"] if g["baseline"] == "real"} == {
        "classical", "gan", "gan+classical", "synthetic"
    }


def test_killed_run_resumes_without_recomputing_finished_cells(tmp_path, monkeypatch):
    config = EvalConfig(**TINY)

    class Killed(Exception):
        pass

    done = []

    def kill_after_two(record):
        done.append((record["per_class"], record["seed"]))
        if len(done) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_evaluation(config, tmp_path, progress=False, on_cell_done=kill_after_two)
    finished = {p.name: p.read_text() for p in (tmp_path / "cells").glob("*.json")}
    assert len(finished) == 2

    fits = []
    original = conditions.GANAugmenter.fit
    monkeypatch.setattr(conditions.GANAugmenter, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    results = run_evaluation(config, tmp_path, progress=False)
    assert len(fits) == 2  # only the two unfinished cells trained a GAN
    assert len(results["cells"]) == 4
    for name, text in finished.items():
        assert (tmp_path / "cells" / name).read_text() == text  # finished cells untouched
    # A resumed run's own clock saw two cells; the cells' times, each with its machine, add up.
    assert all(c["machine"] == results["machine"] for c in results["cells"])
    assert results["cell_seconds"] == pytest.approx(sum(c["wall_seconds"] for c in results["cells"]), abs=0.05)

    changed = EvalConfig(**(TINY | {"classifier_steps": 31}))
    fits.clear()
    run_evaluation(changed, tmp_path, progress=False)
    assert len(fits) == 4  # other settings: nothing reused


def test_summary_gains_and_deltas_by_hand():
    def cell(seed, accuracies):
        return {"per_class": 5, "seed": seed, "results": {
            c: {"accuracy": a, "per_class_accuracy": [a - 0.1, a + 0.1]} for c, a in accuracies.items()}}

    cells = [cell(2, {"real": 0.70, "classical": 0.75, "gan": 0.74}),
             cell(0, {"real": 0.60, "classical": 0.66, "gan": 0.61}),
             cell(1, {"real": 0.80, "classical": 0.83, "gan": 0.84})]
    summary = summarize_cells(cells, ("real", "classical", "gan"), n_classes=2)
    gains = {(g["condition"], g["baseline"]): g for g in summary["gains"]}
    assert set(gains) == {("classical", "real"), ("gan", "real"), ("gan", "classical")}
    assert gains[("gan", "real")]["mean"] == pytest.approx((0.01 + 0.04 + 0.04) / 3)
    assert gains[("gan", "classical")]["mean"] == pytest.approx((-0.05 + 0.01 - 0.01) / 3)
    assert gains[("gan", "classical")]["n"] == 3
    delta = next(d for d in summary["per_class_delta"] if (d["condition"], d["baseline"]) == ("gan", "classical"))
    assert delta["deltas"] == pytest.approx([-0.05 / 3] * 2)
    real = next(a for a in summary["accuracy"] if a["condition"] == "real")
    assert real["mean"] == pytest.approx(0.70) and real["std"] == pytest.approx(0.10)


def test_metrics_and_optional_safeguard_conditions(tmp_path):
    config = EvalConfig(**(TINY | {
        "per_class": (4,), "seeds": (0,), "metrics": True, "feature_steps": 60, "metric_samples": 200,
        "conditions": ("classical", "gan", "gan-gated", "gan-filtered"),
    }))
    res = run_evaluation(config, tmp_path, progress=False)
    cell = res["cells"][0]
    assert 0 <= cell["metrics"]["label_consistency"] <= 1 and "fid" in cell["metrics"]
    gate = cell["results"]["gan-gated"]["gating"]
    assert gate["chosen"] in gate["candidates"] and gate["reason"]
    assert gate["candidates"] == [0.0, 0.5, 1.0] and gate["fold_gans"] == gate["folds"]  # no GAN saw its validation fold
    if gate["chosen"] == 0:  # gate shut: exactly the classical-augmentation classifier
        assert cell["results"]["gan-gated"]["accuracy"] == cell["results"]["classical"]["accuracy"]
    assert cell["results"]["gan-filtered"]["filter"]["drawn"] > 0
    assert res["summary"]["metrics"][0]["per_class"] == 4


def test_shut_gate_is_exactly_classical_and_no_fold_gan_sees_its_validation_images(tmp_path, monkeypatch):
    from sklearn.dummy import DummyClassifier

    trained_on = []
    train_gan = conditions.train_gan

    def recording(subset, config, seed):
        trained_on.append(set(subset.indices.tolist()))
        return train_gan(subset, config, seed)

    monkeypatch.setattr(conditions, "train_gan", recording)
    monkeypatch.setattr(runner, "train_gan", recording)
    config = EvalConfig(**(TINY | {"per_class": (6,), "seeds": (0,), "conditions": ("classical", "gan-gated")}))
    # A classifier that ignores its data scores every ratio alike, so the gate must stay shut.
    res = run_evaluation(config, tmp_path, progress=False,
                         classifier_factory=lambda seed: DummyClassifier(strategy="most_frequent"))
    results = res["cells"][0]["results"]
    assert results["gan-gated"]["gating"]["chosen"] == 0.0
    assert results["gan-gated"]["accuracy"] == results["classical"]["accuracy"]
    # The cell's GAN saw the whole subset; each fold's GAN missed its own third, and the held-out
    # thirds cover the subset once, so every validation image was unseen by its fold's GAN.
    cell_subset, *folds = trained_on
    held_out = [cell_subset - fold for fold in folds]
    assert len(folds) == 3 and all(fold < cell_subset for fold in folds)
    assert sorted(i for part in held_out for i in part) == sorted(cell_subset)


def test_sklearn_and_custom_classifiers(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    config = EvalConfig(**(TINY | {"per_class": (3,), "classifier": "logreg", "conditions": ("real", "gan")}))
    res = run_evaluation(config, tmp_path / "lr", progress=False)
    assert set(res["cells"][0]["results"]) == {"real", "gan"}

    def knn(seed):
        class Flat(KNeighborsClassifier):
            def fit(self, X, y):
                return super().fit(X.reshape(len(X), -1), y)

            def predict(self, X):
                return super().predict(X.reshape(len(X), -1))

        return Flat(n_neighbors=1)

    res = run_evaluation(EvalConfig(**(TINY | {"per_class": (3,), "conditions": ("real",)})), tmp_path / "knn",
                         progress=False, classifier_factory=knn)
    assert res["cells"][0]["results"]["real"]["accuracy"] > 0.3


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown condition"):
        EvalConfig(conditions=("real", "magic"))
    with pytest.raises(ValueError, match="unknown classifier"):
        EvalConfig(classifier="resnet152")
    for settings, message in (({"per_class": (0, 5)}, "positive sizes"), ({"seeds": ()}, "at least one seed"),
                              ({"ratio": -0.5}, "ratio must be >= 0")):
        with pytest.raises(ValueError, match=message):
            EvalConfig(**settings)


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
