"""The evaluation's classifier choices: the torch networks by name and scikit-learn estimators on
pixels (``logreg``, ``svc``)."""

from __future__ import annotations

from typing import Any


def sklearn_classifier(name: str, seed: int = 0) -> Any:
    """``logreg`` or ``svc``, on flattened pixels scaled to 0..1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    scale = FunctionTransformer(lambda x: x.reshape(len(x), -1) / 255.0)
    if name == "logreg":
        return make_pipeline(scale, LogisticRegression(max_iter=2000, C=0.5, random_state=seed))
    if name == "svc":
        return make_pipeline(scale, SVC(gamma="scale", random_state=seed))
    raise ValueError(f"unknown scikit-learn classifier {name!r}; choose logreg or svc")


CLASSIFIERS = ("cnn", "mlp", "logreg", "svc")
