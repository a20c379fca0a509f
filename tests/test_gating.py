"""Never-worse gating: the gate stays shut without a clear gain, and no fold GAN sees its fold."""

from __future__ import annotations

import numpy as np

from ganaug import GANConfig
from ganaug.data import few_shot
from ganaug.evaluation import conditions, runner
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.gating import choose_ratio
from ganaug.evaluation.runner import run_evaluation


# -- never-worse gating ----------------------------------------------------------------------
def _fake_scores(gain_at):
    rng = np.random.default_rng(0)

    def fit_score(train, ratio, val):
        return 0.80 + rng.normal(0, 0.002) + gain_at.get(ratio, 0.0)

    return fit_score


def test_gate_stays_shut_without_a_clear_gain(digits):

    subset, _ = few_shot(digits, 6, seed=0)
    gate = choose_ratio(subset, _fake_scores({1.0: -0.02, 2.0: -0.05}), folds=3)
    assert gate["chosen"] == 0.0 and "switched off" in gate["reason"] and gate["folds"] == 3
    gate = choose_ratio(subset, _fake_scores({1.0: 0.05}), folds=3)
    assert gate["chosen"] == 1.0 and "beat real-only" in gate["reason"]
    assert set(gate["cv_accuracy"]) == {"0", "0.5", "1", "2"}


def test_gate_uses_no_more_folds_than_the_smallest_class_has_images(digits):

    subset, _ = few_shot(digits, 2, seed=0)
    gate = choose_ratio(subset, _fake_scores({}), candidates=(1.0,), folds=5)
    assert gate["folds"] == 2 and gate["candidates"] == [0.0, 1.0]  # ratio 0 is always a candidate


TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


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
