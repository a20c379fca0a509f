"""Conditions: generative metrics, the opt-in safeguards, scikit-learn and custom classifiers."""

from __future__ import annotations

from ganaug import GANConfig
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation

TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


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
