"""EvalConfig refuses bad settings."""

from __future__ import annotations

import pytest

from ganaug.evaluation.config import EvalConfig, auto_classifier_steps


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown condition"):
        EvalConfig(conditions=("real", "magic"))
    with pytest.raises(ValueError, match="unknown classifier"):
        EvalConfig(classifier="resnet152")
    for settings, message in (({"per_class": (0, 5)}, "positive sizes"), ({"seeds": ()}, "at least one seed"),
                              ({"ratio": -0.5}, "ratio must be >= 0")):
        with pytest.raises(ValueError, match=message):
            EvalConfig(**settings)


def test_classifier_budget_is_sized_from_the_images_unless_given():
    # 200 steps were measured as good as 400 on 8×8 subsets of up to 200 images; nothing else was.
    assert auto_classifier_steps((8, 8), 200) == 200 and auto_classifier_steps((8, 8, 3), 50) == 200
    assert auto_classifier_steps((8, 8), 201) == 400 and auto_classifier_steps((28, 28), 50) == 400
    assert EvalConfig().classifier_steps is None  # sized by each cell from its subset
    assert EvalConfig(scenario="long-tail").classifier_steps == 400
    assert EvalConfig(classifier_steps=123).classifier_steps == 123
    with pytest.raises(ValueError, match="classifier_steps must be a whole number >= 1"):
        EvalConfig(classifier_steps=0)
