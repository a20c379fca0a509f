"""EvalConfig refuses bad settings."""

from __future__ import annotations

import pytest

from ganaug.evaluation.config import EvalConfig


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown condition"):
        EvalConfig(conditions=("real", "magic"))
    with pytest.raises(ValueError, match="unknown classifier"):
        EvalConfig(classifier="resnet152")
    for settings, message in (({"per_class": (0, 5)}, "positive sizes"), ({"seeds": ()}, "at least one seed"),
                              ({"ratio": -0.5}, "ratio must be >= 0")):
        with pytest.raises(ValueError, match=message):
            EvalConfig(**settings)
