"""The long-tail scenario: long-tailed splits, its conditions, its summary, its CLI and report."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from ganaug import GANConfig
from ganaug.data import ArrayDataset, imbalance_ratio, long_tail, long_tail_counts
from ganaug.evaluation import conditions
from ganaug.evaluation.config import NON_GENERATIVE, EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.evaluation.scenarios import SCENARIOS
from ganaug.evaluation.scenarios import long_tail as scenario


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks run fastest on one thread, and far faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

# -- long_tail (data/splits.py) -------------------------------------------------------------------


def test_exponential_profile_follows_the_formula_and_keeps_source_indices(digits):
    lt = long_tail(digits, ratio=10, seed=0)
    n_max = int(np.bincount(digits.targets).min())  # 131: every class can supply it
    expected = [max(1, round(n_max * 10 ** (-c / 9))) for c in range(10)]
    assert np.bincount(lt.targets).tolist() == expected
    assert expected[0] == n_max and expected[-1] == round(n_max / 10)
    # Items are the source's own, traceable by index.
    np.testing.assert_array_equal(lt.data, digits.data[np.searchsorted(digits.indices, lt.indices)])
    assert len(np.unique(lt.indices)) == len(lt)
    assert imbalance_ratio(lt.targets) == pytest.approx(n_max / expected[-1])


def test_seed_changes_the_items_not_the_counts(digits):
    a, b, c = (long_tail(digits, 20, seed=s) for s in (0, 0, 1))
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)
    assert np.bincount(a.targets).tolist() == np.bincount(c.targets).tolist()


def test_order_decides_which_classes_are_rare(digits):
    order = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    counts = np.bincount(long_tail(digits, 10, order=order).targets)
    assert counts[9] == counts.max() and counts[0] == counts.min()
    shuffled = np.bincount(long_tail(digits, 10, order="random", seed=3).targets)
    assert sorted(shuffled.tolist()) == sorted(counts.tolist()) and shuffled.tolist() != counts.tolist()
    with pytest.raises(ValueError, match="each class of the data once"):
        long_tail(digits, 10, order=[0, 1, 2])
    with pytest.raises(ValueError, match="order must be"):
        long_tail(digits, 10, order="backwards")


def test_step_profile_and_the_deepsmote_preset():
    assert long_tail_counts(10, 10, "step", n_max=100).tolist() == [100] * 5 + [10] * 5
    assert long_tail_counts(3, 4, "step", n_max=8).tolist() == [8, 8, 2]  # first ⌈C/2⌉ at n_max
    assert long_tail_counts(10, None, "deepsmote", n_max=4000).tolist() == [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]
    # Scaled down proportionally when the data hold fewer, never below one item.
    assert long_tail_counts(10, None, "deepsmote", n_max=400).tolist() == [400, 200, 100, 75, 50, 35, 20, 10, 6, 4]
    assert long_tail_counts(10, None, "deepsmote", n_max=40).min() == 1
    assert long_tail_counts(4, 1000, "exp", n_max=5).tolist() == [5, 1, 1, 1]  # each class keeps one
    for args, message in (((10, 0.5, "exp"), "must be >= 1"), ((10, 10, "zipf"), "unknown long-tail profile"),
                          ((4, None, "deepsmote"), "10 classes"), ((10, 50, "deepsmote"), "own imbalance ratio")):
        with pytest.raises(ValueError, match=message):
            long_tail_counts(*args, n_max=100)


def test_deepsmote_preset_on_digits_and_a_quota_a_class_cannot_meet(digits):
    lt = long_tail(digits, None, profile="deepsmote")
    scale = np.bincount(digits.targets).min() / 4000
    assert np.bincount(lt.targets).tolist() == [max(1, round(n * scale)) for n in (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40)]
    x = np.zeros((30, 4, 4), np.uint8)
    x[:, 0, 0] = np.arange(30)
    small = ArrayDataset(x, np.repeat([0, 1, 2], [20, 5, 5]))
    with pytest.raises(ValueError, match="class 0: its place in the long tail asks 25 items, it holds 20"):
        long_tail(small, 5, n_max=25)


# -- the scenario, its config and its cells (evaluation/) -----------------------------------------

TINY_LT = dict(
    scenario="long-tail", imbalance=(10.0,), seeds=(0, 1), classifier_steps=8, metrics=False,
    gan=GANConfig(steps=4, batch_size=16, monitor_every=10), device="cpu",
)


def test_config_names_the_scenario_and_keeps_few_shot_keys_as_they_were():
    few = EvalConfig()
    assert "scenario" not in few.to_dict()  # few-shot settings files read as they did
    lt = EvalConfig(scenario="long-tail")
    assert lt.conditions[:5] == NON_GENERATIVE and lt.to_dict()["imbalance"] == [10.0, 50.0]
    assert lt.cell_key("data") != few.cell_key("data")
    # The ratios are the grid's axis (a cell's file name says which): a grid can grow.
    assert EvalConfig(scenario="long-tail", imbalance=(10.0, 20.0)).cell_key("data") == lt.cell_key("data")
    assert set(SCENARIOS) == {"few-shot", "long-tail", "transfer"}
    for settings, message in (
        ({"conditions": ("real", "ros+classical")}, "belong to another scenario than few-shot"),
        ({"scenario": "long-tail", "conditions": ("gan",)}, "belong to another scenario than long-tail"),
        ({"scenario": "zero-shot"}, "unknown scenario"),
        ({"scenario": "long-tail", "imbalance": (0.5,)}, "must be >= 1"),
        ({"scenario": "long-tail", "classifier": "logreg"}, "torch classifier"),
    ):
        with pytest.raises(ValueError, match=message):
            EvalConfig(**settings)


def test_balanced_test_set_held_out_first_and_disjoint_from_every_training_set():
    config = EvalConfig(scenario="long-tail", imbalance=(10.0, 20.0))
    splits = scenario.prepare(config)
    counts = np.bincount(splits.test.targets)
    assert (counts == counts.min()).all() and counts.min() == 43  # digits' test split, smallest class
    np.testing.assert_array_equal(scenario.prepare(config).test.indices, splits.test.indices)  # one per run
    for r in scenario.settings(config):
        for seed in (0, 1):
            train, record = scenario.draw(splits, r, seed)
            assert not np.intersect1d(train.indices, splits.test.indices).size
            assert record["imbalance"] == r and "per_class" not in record
            assert record["class_counts"] == np.bincount(train.targets).tolist()
            assert record["measured_ratio"] == pytest.approx(r, rel=0.1)
    assert scenario.cell_name(20.0, 3) == "r20_seed3" and scenario.cell_name("natural", 0) == "natural_seed0"


def _tail_folder(root, digits):
    """A long-tailed ImageFolder of digits: 30 images of class 0 down to 3 of class 3."""
    from PIL import Image

    for c, n in zip(range(4), (30, 15, 8, 3), strict=True):
        (root / f"c{c}").mkdir(parents=True)
        for i, image in enumerate(digits.data[digits.targets == c][:n]):
            Image.fromarray(image).save(root / f"c{c}" / f"{i}.png")
    return root


def test_an_imbalanced_folder_is_taken_as_it_is(tmp_path, digits):
    folder = _tail_folder(tmp_path / "tail", digits)
    config = EvalConfig(scenario="long-tail", imbalance=(), dataset=f"folder:{folder}")
    splits = scenario.prepare(config)
    assert scenario.settings(config) == ("natural",) and splits.natural
    train, record = scenario.draw(splits, "natural", seed=1)
    np.testing.assert_array_equal(train.indices, splits.pool.indices)  # the whole pool, no subsampling
    assert record["measured_ratio"] > 5 and scenario.settings_record(splits)["test_balanced"] is False


def test_score_reports_the_class_balanced_metrics():
    from sklearn.metrics import balanced_accuracy_score, f1_score

    y = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 3])
    pred = np.array([0, 0, 1, 0, 1, 0, 2, 2, 0, 3])
    test = ArrayDataset(np.zeros((len(y), 4, 4), np.uint8), y)
    s = conditions.score(pred, test, 4, rare=np.array([3, 1, 2]))
    assert s["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert s["macro_f1"] == pytest.approx(f1_score(y, pred, average="macro"))
    recalls = [0.75, 0.5, 2 / 3, 1.0]
    assert s["gmean_recall"] == pytest.approx(np.prod(recalls) ** 0.25)
    assert s["rare3_recall"] == pytest.approx(np.mean([1.0, 0.5, 2 / 3]))
    assert conditions.score(np.zeros_like(y), test, 4)["gmean_recall"] == 0.0


def test_rebalancing_helpers():
    from ganaug.evaluation.imbalanced import (
        fill_ratio,
        oversample_positions,
        rarest_classes,
        smote_arrays,
    )

    y = np.repeat([0, 1, 2], [10, 4, 1])
    pos = oversample_positions(y, seed=0)
    assert np.bincount(y[pos]).tolist() == [10, 10, 10] and set(pos[y[pos] == 1]) == {10, 11, 12, 13}
    assert np.bincount(pos[y[pos] == 1]).max() == 3  # 10 = 2 × 4 + 2: each repeated twice, two thrice
    assert fill_ratio(y) == pytest.approx((6 + 9) / 15) and fill_ratio(y, 0.5) == pytest.approx(8 / 15)
    assert rarest_classes(np.repeat([0, 1, 2, 3], [5, 2, 2, 9]), 4).tolist() == [1, 2, 0]
    pytest.importorskip("imblearn")
    x = np.random.default_rng(0).integers(0, 256, (15, 6, 6)).astype(np.uint8)
    xs, ys = smote_arrays(x, y, seed=0)
    assert xs.dtype == np.uint8 and xs.shape[1:] == (6, 6) and np.bincount(ys).tolist() == [10, 10, 10]
    np.testing.assert_array_equal(xs[: len(x)], x)
    assert (xs[ys == 2] == x[14]).all()  # one item cannot be interpolated: it is repeated


def test_classifier_class_weights_and_logit_adjustment():
    from ganaug.training.classifier import TorchClassifier

    x = np.random.default_rng(0).integers(0, 256, (12, 8, 8)).astype(np.uint8)
    y = np.repeat([0, 1, 2], [8, 3, 1])
    data = conditions._ArrayItems(ArrayDataset(x, y), conditions.ToModelInput())
    weight, offset = TorchClassifier(class_weight="balanced", logit_adjust=1.0)._loss_terms(data, 3)
    inverse = 1 / np.array([8, 3, 1])
    np.testing.assert_allclose(weight.numpy(), inverse / inverse.mean(), rtol=1e-6)
    np.testing.assert_allclose(offset.numpy(), np.log([8 / 12, 3 / 12, 1 / 12]), rtol=1e-6)
    assert TorchClassifier()._loss_terms(data, 3) == (None, None)  # the plain loss, as before
    _, fixed = TorchClassifier(logit_adjust=2.0, class_prior=[0.5, 0.25, 0.25])._loss_terms(data, 3)
    np.testing.assert_allclose(fixed.numpy(), 2 * np.log([0.5, 0.25, 0.25]), rtol=1e-6)
    plain = TorchClassifier(steps=3, device="cpu").fit(x, y).predict_proba(x)
    adjusted = TorchClassifier(steps=3, device="cpu", logit_adjust=1.0).fit(x, y).predict_proba(x)
    assert not np.allclose(plain, adjusted)
    with pytest.raises(ValueError, match="one value per class"):
        TorchClassifier(class_weight=[1.0, 2.0]).fit(x, y)


def test_gan_fill_fills_every_class_and_the_stacked_prior_is_the_mixed_sets(digits):
    from ganaug.augmenter import GANAugmenter

    train = long_tail(digits, 10, seed=0)
    aug = GANAugmenter(steps=2, batch_size=16, verbose=False).fit(train)
    cell = conditions.Cell(10.0, 0, train, aug, 0)
    config = EvalConfig(**TINY_LT)
    full = conditions.condition_dataset("gan-fill+classical", cell, config)
    assert (np.bincount(full.targets) == np.bincount(train.targets).max()).all()
    half = conditions.condition_dataset("gan-fill+logit-adjusted", cell, config)
    gap = np.bincount(train.targets).max() - np.bincount(train.targets)
    assert len(half) - len(train) == round(gap.sum() / 2)
    assert len(np.unique(np.bincount(half.targets))) > 1  # still imbalanced: the loss corrects the rest
    ros = conditions.condition_dataset("ros+classical", cell, config)
    assert (np.bincount(ros.targets) == np.bincount(train.targets).max()).all()


def test_ros_with_a_capped_fill_balances_and_never_makes_a_class_mostly_synthetic(digits):
    from ganaug.augmenter import GANAugmenter
    from ganaug.evaluation.imbalanced import capped_fill

    assert capped_fill(np.repeat([0, 1, 2], [10, 6, 2])).tolist() == [0, 4, 2]  # min(n_c, 10 - n_c)
    train = long_tail(digits, 20, seed=0)
    aug = GANAugmenter(steps=2, batch_size=16, verbose=False).fit(train)
    mixed = conditions.condition_dataset("ros+gan-fill+classical", conditions.Cell(20.0, 0, train, aug, 0), EvalConfig(**TINY_LT))
    counts = np.bincount(train.targets)
    assert (np.bincount(mixed.targets) == counts.max()).all()  # balanced, like ROS
    synthetic = np.bincount(mixed.targets[mixed.synthetic_mask], minlength=len(counts))
    assert (synthetic <= counts).all() and synthetic[counts.argmin()] == counts.min()  # one per real item, at most
    assert synthetic[counts.argmax()] == 0 and synthetic.sum() > 0


def test_an_even_mix_gives_every_class_the_same_synthetic_share_on_a_balanced_set(digits):
    """ros+gan-mix: being synthetic must say nothing of the class, unlike a fill, where the rare
    classes are mostly synthetic and the common ones real."""
    from ganaug.augmenter import GANAugmenter

    train = long_tail(digits, 20, seed=0)
    aug = GANAugmenter(steps=2, batch_size=16, verbose=False).fit(train)
    cell = conditions.Cell(20.0, 0, train, aug, 0)
    mixed = conditions.condition_dataset("ros+gan-mix+classical", cell, EvalConfig(**TINY_LT | {"ratio": 0.5}))
    top = np.bincount(train.targets).max()
    synthetic = np.bincount(mixed.targets[mixed.synthetic_mask], minlength=len(train.classes))
    real = np.bincount(mixed.targets[~mixed.synthetic_mask], minlength=len(train.classes))
    assert (real == top).all()  # the real items oversampled to balance
    assert synthetic.max() - synthetic.min() <= 1 and abs(synthetic.sum() - 0.5 * real.sum()) <= 1


def test_the_dagan_fills_train_one_dagan_on_the_long_tailed_set_and_no_gan(tmp_path, monkeypatch):
    from ganaug.dagan import DAGANAugmenter
    from ganaug.evaluation.scenarios import long_tail as scenario

    fitted, filled = [], []
    fit = DAGANAugmenter.fit
    monkeypatch.setattr(scenario, "DAGAN_STEPS", 2)
    monkeypatch.setattr(DAGANAugmenter, "fit", lambda self, X, y=None: fitted.append((self.head, self.warp_grid, len(X))) or fit(self, X, y))
    dataset = conditions.condition_dataset
    monkeypatch.setattr(conditions, "condition_dataset",
                        lambda cond, cell, *a, **k: filled.append((cond, cell.augmenter)) or dataset(cond, cell, *a, **k))
    dagan_fills = ("ros+dagan-fill+classical", "dagan-fill+classical", "ros+dagan-mix+classical")
    config = EvalConfig(**TINY_LT | {"seeds": (0,), "conditions": ("ros+classical", *dagan_fills), "dagan_head": "warp",
                                     "dagan_warp_grid": 2})
    assert not config.needs_gan and config.to_dict()["dagan_head"] == "warp"
    default_grid = dataclasses.replace(config, dagan_warp_grid=0)
    assert "dagan_warp_grid" not in default_grid.to_dict() and default_grid.cell_key("d") != config.cell_key("d")
    results = run_evaluation(config, tmp_path, progress=False)
    cell = results["cells"][0]
    assert fitted == [("warp", 2, cell["n_train"])]  # once, on the cell's whole long-tailed set
    assert "gan" not in cell and (tmp_path / cell["generator_samples"]["dagan"]).is_file()
    assert {"ros+classical", *dagan_fills} <= set(cell["results"])
    # Each is its GAN condition with the DAGAN's variants: capped on ROS, every gap filled, an even mix.
    drawn = {cond: aug for cond, aug in filled if aug is not None}
    assert set(drawn) == {"ros+gan-fill+classical", "gan-fill+classical", "ros+gan-mix+classical"}
    assert len(set(map(id, drawn.values()))) == 1
    gains = {(g["condition"], g["baseline"]) for g in results["summary"]["gains"]}
    assert {(c, "best-non-generative") for c in dagan_fills} <= gains
    from ganaug.report import write_report

    report = write_report(tmp_path / "results.json", tmp_path / "report")[0].read_text()
    assert "Samples of the dagan generator (variants of each class's own training images)" in report
    plain = EvalConfig(**TINY_LT)
    assert "dagan_head" not in plain.to_dict()  # the keys of runs without a DAGAN stay as they were


def test_the_gate_uses_fold_gans_that_never_saw_their_validation_fold(monkeypatch, digits):
    train = long_tail(digits, 10, seed=0)
    gans, calls = [], []

    class StubGAN:
        n_steps_ = 40

    def fake_gan(subset, config, seed):
        gans.append((set(subset.indices.tolist()), config.gan.steps))
        return StubGAN()

    def fake_score(cond, cell, test, config, n_classes, classifier_factory=None, done=None):
        calls.append((cond, cell.augmenter, set(test.indices.tolist()), config.classifier_steps))
        return {"balanced_accuracy": 0.9 if cond == "gan-fill+classical" else 0.5 + 0.01 * len(cond), "seconds": 0}

    monkeypatch.setattr(conditions, "train_gan", fake_gan)
    monkeypatch.setattr(conditions, "train_and_score", fake_score)
    cell = conditions.Cell(10.0, 0, train, StubGAN(), 0)
    done = {"gan-fill+classical": {"balanced_accuracy": 0.7, "seconds": 3.0}}
    result = conditions._lt_gated(cell, train, EvalConfig(**TINY_LT | {"classifier_steps": 40}), 10, done)
    gate = result["gating"]
    assert gate["chosen"] == "gan-fill+classical" and result["reused"] == "gan-fill+classical"
    assert gate["best_non_generative"] == "logit-adjusted+classical" and gate["folds"] == 3
    assert len(gans) == 3 and all(steps == 20 for _, steps in gans)  # half the cell GAN's 40 steps
    for cond, aug, val, steps in calls:
        assert steps == 20  # half the classifier budget
        if cond == "gan-fill+classical":
            assert not any(val & seen for seen, _ in gans if aug is not cell.augmenter and seen.isdisjoint(val))
    fold_val = [val for cond, _, val, _ in calls if cond == "gan-fill+classical"]
    assert all(any(seen.isdisjoint(val) and len(seen) + len(val) == len(train) for seen, _ in gans) for val in fold_val)


def test_the_gate_stays_shut_unless_the_gan_beats_the_best_by_a_standard_error():
    from ganaug.evaluation.gating import choose_condition

    real = ArrayDataset(np.zeros((30, 4, 4), np.uint8), np.repeat([0, 1, 2], 10))
    candidates, generative = ("real", "ros+classical", "gan-fill+classical"), ("gan-fill+classical",)

    def scorer(folds):  # per fold: real, ros+classical, gan-fill+classical
        scores = iter(np.ravel(folds))
        return lambda train, cond, val: next(scores)

    # The GAN is +1 point over the best on average but ±4 from fold to fold: the gate stays shut.
    gate = choose_condition(real, scorer([[0.60, 0.50, 0.64], [0.62, 0.50, 0.58], [0.58, 0.50, 0.61]]), candidates, generative)
    assert gate["best_non_generative"] == "real" and gate["chosen"] == "real"
    assert "did not beat it" in gate["reason"] and gate["folds"] == 3
    gate = choose_condition(real, scorer([[0.60, 0.50, 0.65], [0.62, 0.50, 0.68], [0.58, 0.50, 0.62]]), candidates, generative)
    assert gate["chosen"] == "gan-fill+classical" and "beat real" in gate["reason"]


def test_long_tail_grid_end_to_end_and_resumed(tmp_path):
    config = EvalConfig(**TINY_LT | {"classifier_steps": 4, "conditions": ("real", "ros+classical", "logit-adjusted+classical")})
    results = run_evaluation(config, tmp_path, progress=False)
    assert results["scenario"] == "long-tail" and results["settings"]["test_balanced"]
    assert sorted(p.name for p in (tmp_path / "cells").glob("*.json")) == ["r10_seed0.json", "r10_seed1.json"]
    cell = results["cells"][0]
    assert cell["validation"]["method"] == "CV (3 folds)" and set(cell["validation"]["balanced_accuracy"]) == set(config.conditions)
    assert {"balanced_accuracy", "macro_f1", "gmean_recall", "rare3_recall"} <= set(cell["results"]["real"])
    summary = results["summary"]
    best = summary["best_non_generative"][0]
    means = best["validation_balanced_accuracy"]
    assert best["condition"] == max(means, key=means.get)  # chosen on validation scores, not the test set
    gains = {(g["condition"], g["baseline"]) for g in summary["gains"]}
    assert {(c, "best-non-generative") for c in config.conditions if c != best["condition"]} <= gains
    assert all(row["imbalance"] == 10.0 and "per_class" not in row for row in summary["balanced_accuracy"])
    again = run_evaluation(config, tmp_path, progress=False)  # every cell reused
    assert [c["wall_seconds"] for c in again["cells"]] == [c["wall_seconds"] for c in results["cells"]]


# -- the command line and the report ----------------------------------------------------------------


def test_cli_runs_a_long_tailed_folder_as_it_is_and_the_report_says_what_to_use(tmp_path, digits):
    from click.testing import CliRunner

    from ganaug.cli import main

    folder = _tail_folder(tmp_path / "tail", digits)
    out = tmp_path / "run"
    args = ["evaluate", "--scenario", "long-tail", "--dataset", f"folder:{folder}", "--conditions",
            "real,ros+classical,logit-adjusted+classical,gan-fill+classical", "--seeds", "2", "--classifier-steps", "4",
            "--steps", "2", "--no-metrics", "--device", "cpu", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "balanced accuracy % (mean ± std over seeds)" in result.output and "natural" in result.output
    results = json.loads((out / "results.json").read_text())
    assert results["settings"]["imbalance"] == [] and results["settings"]["natural_imbalance"]
    assert [c["imbalance"] for c in results["cells"]] == ["natural", "natural"]
    md = (out / "report.md").read_text()
    for text in ("## Which condition to use", "Its own imbalance: the best non-generative condition",
                 "## Balanced accuracy", "## Paired gains in balanced accuracy", "vs best-non-generative (",
                 "## Paired gains in the rarest three classes' recall", "per_class_recall.png",
                 "the test split's own class mix"):
        assert text in md, text
    assert (out / "figures" / "per_class_recall.png").stat().st_size > 5000
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2


def test_cli_refuses_the_other_scenarios_flags(tmp_path):
    from click.testing import CliRunner

    from ganaug.cli import main

    runner = CliRunner()
    few = runner.invoke(main, ["evaluate", "--imbalance", "10", "--out", "x"])
    assert few.exit_code == 2 and "--imbalance belongs to --scenario long-tail" in few.output
    lt = runner.invoke(main, ["evaluate", "--scenario", "long-tail", "--per-class", "5", "--out", "x"])
    assert lt.exit_code == 2 and "--per-class belongs to --scenario few-shot" in lt.output
    bad = runner.invoke(main, ["evaluate", "--scenario", "long-tail", "--imbalance", "0.5", "--out", "x"])
    assert bad.exit_code == 2 and "must be >= 1" in bad.output
    wrong = runner.invoke(main, ["evaluate", "--scenario", "long-tail", "--conditions", "gan", "--out", "x"])
    assert wrong.exit_code == 1 and "belong to another scenario" in wrong.output
    recipe = tmp_path / "source.json"
    GANConfig(loss="hinge", sampling="grouped").to_json(recipe)
    source = runner.invoke(main, ["evaluate", "--scenario", "long-tail", "--source-config", str(recipe), "--out", "x"])
    assert source.exit_code == 1 and "source_gan belong to the transfer scenario" in source.output
    help_text = " ".join(runner.invoke(main, ["evaluate", "--help"]).output.split())
    assert "Not --ratio, which is synthetic items per real item" in help_text


# -- GANResampler as an imbalanced-learn sampler (mixing.py) ----------------------------------------


@pytest.fixture(scope="module")
def fitted_aug(digits):
    from ganaug.augmenter import GANAugmenter

    return GANAugmenter(steps=2, batch_size=16, verbose=False, seed=0).fit(digits)


def _skewed(digits, counts=(40, 25, 12, 7, 7)):
    keep = np.concatenate([np.flatnonzero(digits.targets == c)[:n] for c, n in enumerate(counts)])
    return digits.data[keep].reshape(len(keep), -1), digits.targets[keep]


STRATEGIES = ("auto", "minority", "not minority", "not majority", "all", {2: 30, 4: 8}, lambda y: {3: 40})


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s if isinstance(s, str) else type(s).__name__)
def test_sampling_strategy_matches_imbalanced_learn(strategy, fitted_aug, digits):
    from imblearn.over_sampling import RandomOverSampler

    from ganaug.mixing import GANResampler

    X, y = _skewed(digits)
    ours = GANResampler(fitted_aug, sampling_strategy=strategy, image_shape=(8, 8))
    X_res, y_res = ours.fit_resample(X, y)
    theirs = RandomOverSampler(sampling_strategy=strategy, random_state=0).fit(X, y)
    assert ours.sampling_strategy_ == theirs.sampling_strategy_
    assert type(ours.sampling_strategy_).__name__ == "OrderedDict" and list(ours.sampling_strategy_) == sorted(ours.sampling_strategy_)
    expected = np.bincount(y, minlength=5) + np.array([ours.sampling_strategy_.get(c, 0) for c in range(5)])
    assert np.bincount(y_res).tolist() == expected.tolist() and len(X_res) == len(y_res)


def test_binary_float_and_the_errors_are_imbalanced_learns(fitted_aug, digits):
    from imblearn.over_sampling import RandomOverSampler

    from ganaug.mixing import GANResampler

    X, y = _skewed(digits, (40, 9))
    for ratio in (0.5, 0.73, 1.0):
        ours = GANResampler(fitted_aug, sampling_strategy=ratio).fit(X, y)
        assert ours.sampling_strategy_ == RandomOverSampler(sampling_strategy=ratio).fit(X, y).sampling_strategy_
    Xm, ym = _skewed(digits)
    bad = [0.2, {9: 50}, {2: 3}, {2: -1}, lambda labels: {0: 1}]
    for strategy in bad:
        with pytest.raises(ValueError) as theirs:
            RandomOverSampler(sampling_strategy=strategy).fit(*((X, y) if strategy == 0.2 else (Xm, ym)))
        with pytest.raises(ValueError) as ours:
            GANResampler(fitted_aug, sampling_strategy=strategy).fit(*((X, y) if strategy == 0.2 else (Xm, ym)))
        assert str(ours.value) == str(theirs.value), strategy
    # imbalanced-learn's parameter validation words these before its check_sampling_strategy
    # can; ours are that function's messages.
    for strategy, message in (("bogus", "When 'sampling_strategy' is a string, it needs to be one of"),
                              (1.5, r"When 'sampling_strategy' is a float, it should be in the range \(0, 1\]"),
                              ("majority", "'sampling_strategy'='majority' cannot be used with over-sampler.")):
        with pytest.raises(ValueError, match=message):
            GANResampler(fitted_aug, sampling_strategy=strategy).fit(Xm, ym)
    with pytest.raises(ValueError, match="needs to have more than 1 class"):
        GANResampler(fitted_aug).fit(X, np.zeros(len(X), int))
    # ganaug's float for more classes, where imbalanced-learn refuses one: every class to ceil(r × majority).
    assert GANResampler(fitted_aug, sampling_strategy=0.5).fit(Xm, ym).sampling_strategy_ == {1: 0, 2: 8, 3: 13, 4: 13}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_prefit_augmenter_survives_clone_and_is_never_refit(fitted_aug, digits, monkeypatch):
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from ganaug.augmenter import GANAugmenter
    from ganaug.mixing import GANResampler

    resampler = GANResampler(augmenter=fitted_aug, prefit=True, image_shape=(8, 8))
    copy = clone(resampler)
    assert copy.augmenter is fitted_aug and copy.get_params(deep=False).keys() == resampler.get_params(deep=False).keys()
    with pytest.warns(UserWarning, match="pass prefit=True"):
        assert not hasattr(clone(GANResampler(fitted_aug)).augmenter, "generator_")
    with pytest.raises(ValueError, match="prefit=True needs a fitted augmenter"):
        GANResampler(GANAugmenter(), prefit=True).fit(*_skewed(digits))
    fits = []
    original = GANAugmenter.fit
    monkeypatch.setattr(GANAugmenter, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    X, y = _skewed(digits)
    pipe = Pipeline([("gan", resampler), ("clf", LogisticRegression(max_iter=200))]).fit(X, y)
    assert pipe.named_steps["gan"].augmenter_ is fitted_aug and pipe.predict(X[:5]).shape == (5,)
    scores = cross_val_score(pipe, X, y, cv=2)
    assert len(scores) == 2 and fits == []  # no GAN trained, in the pipeline or in any fold


# -- benchmarks/long_tail.py and benchmarks/headline.py ---------------------------------------------


def _benchmark(name: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_headline_rows_from_the_committed_few_shot_results_and_a_long_tail_file(tmp_path):
    import shutil

    headline = _benchmark("headline")
    results = _benchmark("long_tail").HERE / "results"
    for p in results.glob("accuracy_*_*.json"):
        shutil.copyfile(p, tmp_path / p.name)
    few = headline.few_shot_rows(tmp_path)
    assert {(r["dataset"], r["condition"]) for r in few} == {
        (d, c) for d in ("digits", "mnist5k") for c in ("gan+classical", "gan-gated")}
    assert {r["setting"] for r in few} == {"5/class", "10/class", "20/class", "50/class"}
    assert all(r["baseline"] == "classical" and r["metric"] == "accuracy" and r["seeds"] == 5 for r in few)
    gain = {"imbalance": 50.0, "condition": "lt-gated", "baseline": "best-non-generative", "baseline_condition": "ros+classical",
            "n": 5, "mean": 0.021, "ci_low": 0.004, "ci_high": 0.038}
    (tmp_path / "long_tail_toy.json").write_text(json.dumps(
        {"settings": {"dataset": "toy"}, "summary": {"gains": [gain], "rare3_gains": [gain | {"mean": 0.06}]}}))
    lt = headline.long_tail_rows(tmp_path)
    assert lt[0] == {"scenario": "long-tail", "dataset": "toy", "setting": "ratio 50", "condition": "lt-gated",
                     "baseline": "best-non-generative", "baseline_condition": "ros+classical",
                     "metric": "balanced accuracy", "gain": 2.1, "ci": [0.4, 3.8], "seeds": 5, "source": "long_tail_toy.json"}
    assert lt[1]["metric"] == "rarest-three recall" and lt[1]["gain"] == 6.0


def test_long_tail_benchmark_settings_and_partial_cells(tmp_path):
    bench = _benchmark("long_tail")
    import argparse

    args = argparse.Namespace(dataset="digits", imbalance="10,20", seeds=2, seed_list=None, conditions="real,lt-gated",
                              classifier="cnn", classifier_steps=20, ratio=1.0, steps=10, gan="{}", no_metrics=True,
                              device="cpu", dagan_diversity=0.0, dagan_head="image", dagan_warp_grid=0)
    config = bench.config_from(args)
    assert config.scenario == "long-tail" and config.imbalance == (10.0, 20.0) and config.gan.steps == 10
    assert bench.config_from(argparse.Namespace(**vars(args) | {"imbalance": "natural"})).imbalance == ()
    grid = bench.grid  # the plumbing benchmarks/grid.py shares with transfer.py
    places = grid.Places(str(tmp_path), "long_tail_digits")
    cell = {"imbalance": 20.0, "seed": 1, "results": {}}
    grid.save_partial(places, cell, {"settings": {}}, bench._cell_file)
    assert (tmp_path / "partial" / "long_tail_digits" / "r20_seed1.json").is_file()
    assert grid.resume_partial(places) == 1 and (places.run / "cells" / "r20_seed1.json").is_file()
    grid.drop_partial(places, [{"imbalance": 10.0, "seed": 0}], bench._cell_file)
    assert places.partial.exists()  # a cell the finished run lacks keeps the folder
    grid.drop_partial(places, [cell], bench._cell_file)
    assert not places.partial.exists()


def test_the_filtered_fill_redraws_what_the_judge_doubts_and_stacks_logit_adjustment(tmp_path):
    config = EvalConfig(**TINY_LT | dict(seeds=(0,)), conditions=("gan-fill+logit-adjusted", "gan-fill-filtered+logit-adjusted"))
    results = run_evaluation(config, tmp_path, progress=False)
    scored = results["cells"][0]["results"]["gan-fill-filtered+logit-adjusted"]
    assert scored["filter"]["drawn"] >= scored["filter"]["kept"] > 0  # the judge screened the fill
    assert 0 <= scored["balanced_accuracy"] <= 1
