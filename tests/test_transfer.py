"""The transfer scenario: source-pretrained generators and classifier against the target's few images."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ganaug import GANConfig
from ganaug.evaluation import source_models
from ganaug.evaluation.config import TRANSFER_CONDITIONS, EvalConfig
from ganaug.evaluation.runner import run_evaluation
from ganaug.evaluation.scenarios import transfer
from ganaug.report import write_report
from tests.test_omniglot import members, write_zip

SIX = 6  # drawers per character in the generated set
ALPHABETS = {"Balinese": 2, "Greek": 2, "Latin": 2}


@pytest.fixture
def omniglot_root(tmp_path, monkeypatch):
    import tests.test_omniglot as generated

    monkeypatch.setattr(generated, "DRAWERS", SIX)
    write_zip(tmp_path / "images_background_small1.zip", "images_background_small1", members(ALPHABETS))
    return tmp_path


@pytest.fixture(autouse=True)
def short_source_training(monkeypatch):
    monkeypatch.setattr(source_models, "SOURCE_CLASSIFIER_STEPS", 6)
    monkeypatch.setattr(source_models, "SOURCE_DAGAN_STEPS", 4)


def tiny(**overrides) -> EvalConfig:
    settings = dict(scenario="transfer", per_class=(2,), seeds=(0, 1), classifier_steps=6, metrics=False,
                    gan=GANConfig(steps=4, batch_size=8, monitor_every=100), device="cpu")
    return EvalConfig(**settings | overrides)


def test_transfer_within_omniglot_holds_out_each_seeds_own_test_images(omniglot_root, tmp_path):
    config = tiny(dataset="omniglot", source="omniglot", root=str(omniglot_root), target_groups=("Latin",))
    splits = transfer.prepare(config)
    assert splits.within and splits.n_test == SIX - 2
    assert set(splits.pool.class_groups) == {"Latin"} and set(splits.source.class_groups) == {"Balinese", "Greek"}
    for seed in (0, 1):
        subset, _ = transfer.draw(splits, 2, seed)
        test = transfer.test_set(splits, 2, seed)
        assert len(test) == 2 * (SIX - 2) and not np.intersect1d(subset.indices, test.indices).size
    assert not np.array_equal(transfer.test_set(splits, 2, 0).indices, transfer.test_set(splits, 2, 1).indices)

    results = run_evaluation(config, tmp_path / "run", progress=False)
    cell = results["cells"][0]
    assert set(cell["results"]) == set(TRANSFER_CONDITIONS)
    assert results["settings"]["source"]["groups"] == ["Balinese", "Greek"]
    assert set(results["settings"]["source_models"]) == {"classifier", "gan", "dagan"}
    baselines = {g["baseline"] for g in results["summary"]["gains"]}
    assert baselines == {"real", "classical", "pretrained-classifier"}
    # The report shows what the source generators make of the target classes.
    assert set(cell["generator_samples"]) == {"dagan", "finetuned"}
    write_report(tmp_path / "run" / "results.json", tmp_path / "run")
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Samples of the dagan generator for target classes it never saw" in report
    assert (tmp_path / "run" / "figures" / "samples_n2_dagan.png").is_file()


def test_source_models_are_trained_once_and_a_rerun_gives_the_same_numbers(omniglot_root, tmp_path, monkeypatch):
    config = tiny(dataset="omniglot", source="omniglot", root=str(omniglot_root), target_groups=("Greek",),
                  seeds=(0,), conditions=("classical", "pretrained-classifier", "dagan+classical"))
    first = run_evaluation(config, tmp_path / "a", progress=False)
    fits = []
    original = source_models.TorchClassifier.fit
    monkeypatch.setattr(source_models.TorchClassifier, "fit", lambda self, *a: fits.append(1) or original(self, *a))
    again = run_evaluation(config, tmp_path / "b", progress=False)
    assert fits == []  # the source classifier came from the cache
    accuracy = lambda r: {c: v["accuracy"] for c, v in r["cells"][0]["results"].items()}  # noqa: E731
    assert accuracy(first) == accuracy(again)


def test_another_dataset_as_the_source_is_resized_to_the_target(omniglot_root, tmp_path):
    config = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root), seeds=(0,),
                  conditions=("classical", "pretrained-classifier", "dagan+classical", "synthetic-dagan"))
    splits = transfer.prepare(config)
    assert splits.source.image_shape == (8, 8) and not splits.within
    results = run_evaluation(config, tmp_path, progress=False)
    assert set(results["cells"][0]["results"]) == set(config.conditions)


@pytest.mark.parametrize("overrides, message", [
    (dict(dataset="omniglot", source=None), "needs a source"),
    (dict(dataset="omniglot", source="omniglot"), "needs target_groups"),
    (dict(dataset="digits", source="omniglot", target_groups=("Latin",)), "every class of digits is the target"),
    (dict(dataset="digits", source="omniglot", classifier="svc"), "torch classifier"),
    (dict(dataset="digits", source="omniglot", dagan_diversity=-1.0), "dagan_diversity must be a number >= 0"),
    (dict(dataset="digits", source="omniglot", dagan_diversity=float("nan")), "dagan_diversity must be"),
    (dict(dataset="digits", source="omniglot", dagan_head="flow"), "dagan_head must be 'image' or 'warp'"),
    (dict(dataset="digits", source="omniglot", dagan_head="warp", dagan_warp_grid=-2), "dagan_warp_grid must be an integer >= 0"),
    (dict(dataset="digits", source="omniglot", dagan_warp_grid=3), "it needs dagan_head='warp'"),
])
def test_transfer_settings_are_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny(**overrides)


def test_other_scenarios_refuse_a_source():
    with pytest.raises(ValueError, match="belong to the transfer scenario"):
        EvalConfig(source="omniglot")
    with pytest.raises(ValueError, match="belong to the transfer and long-tail scenarios, not few-shot"):
        EvalConfig(dagan_diversity=1.0)
    with pytest.raises(ValueError, match="belong to the transfer and long-tail scenarios, not few-shot"):
        EvalConfig(dagan_head="warp")
    with pytest.raises(ValueError, match="belong to the transfer and long-tail scenarios, not few-shot"):
        EvalConfig(dagan_head="warp", dagan_warp_grid=3)


def test_the_source_gan_trains_by_its_own_settings_and_the_fine_tune_by_gans(omniglot_root, tmp_path):
    base = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root), seeds=(0,),
                conditions=("classical", "finetuned+classical"), gan=GANConfig(loss="mmd", steps=3, batch_size=8))
    recipe = GANConfig(loss="hinge", sampling="grouped", aux_weight=1.0, steps=5, batch_size=8, monitor_every=100)
    config = dataclasses.replace(base, source_gan=recipe)
    assert config.cell_key("d") != base.cell_key("d")  # another source GAN, other cells
    splits = transfer.prepare(config)
    assert splits.models.gan.config_.loss == "hinge" and splits.models.gan.n_steps_ == 5
    tuned = transfer.generators(splits, transfer.draw(splits, 2, 0)[0], config, 0)["finetuned"]
    assert tuned.config_.loss == "mmd" and tuned.n_steps_ == 3
    results = run_evaluation(config, tmp_path, progress=False)
    assert results["settings"]["source_gan"]["sampling"] == "grouped"
    with pytest.raises(ValueError, match="belong to the transfer scenario"):
        EvalConfig(source_gan=recipe)


@pytest.mark.parametrize("settings, attribute, value", [
    ({"dagan_diversity": 0.5}, "diversity_weight", 0.5), ({"dagan_head": "warp"}, "head", "warp"),
    ({"dagan_head": "warp", "dagan_warp_grid": 3}, "warp_grid", 3)])
def test_the_source_dagans_settings_are_trained_recorded_and_keyed(omniglot_root, settings, attribute, value):
    base = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root), seeds=(0,),
                conditions=("dagan+classical",))
    other = dataclasses.replace(base, **settings)
    assert base.cell_key("d") != other.cell_key("d")  # another DAGAN, other cells
    models = transfer.prepare(other).models
    assert getattr(models.dagan, attribute) == value
    assert models.describe()["dagan"][attribute] == value
    assert transfer.prepare(base).models.keys["dagan"] != models.keys["dagan"]  # not the cached default one


def test_headline_rows_pair_transfer_conditions_with_both_baselines(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("headline", Path(__file__).parents[1] / "benchmarks" / "headline.py")
    headline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(headline)
    gain = {"per_class": 5, "condition": "dagan+classical", "n": 5, "mean": 0.031, "ci_low": 0.01, "ci_high": 0.052}
    (tmp_path / "transfer_omniglot_split0.json").write_text(__import__("json").dumps({
        "settings": {"dataset": "omniglot", "target_groups": ["Korean", "Tagalog"], "source": {"name": "omniglot"}},
        "summary": {"gains": [gain | {"baseline": "classical"}, gain | {"baseline": "pretrained-classifier", "mean": -0.01},
                              gain | {"baseline": "real"}]}}))
    rows = headline.transfer_rows(tmp_path)
    assert [(r["baseline"], r["gain"]) for r in rows] == [("classical", 3.1), ("pretrained-classifier", -1.0)]
    assert rows[0] | {"ci": None} == {
        "scenario": "transfer", "dataset": "omniglot[Korean,Tagalog]", "source": "transfer_omniglot_split0.json",
        "source_dataset": "omniglot", "setting": "5/class", "condition": "dagan+classical", "baseline": "classical",
        "metric": "accuracy", "gain": 3.1, "ci": None, "seeds": 5}


def test_parallel_transfer_cells_receive_the_source_models_and_give_the_serial_numbers(omniglot_root, tmp_path):
    config = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root),
                  conditions=("pretrained-classifier", "dagan+classical", "finetuned+classical"))
    serial = run_evaluation(config, tmp_path / "serial", progress=False)
    parallel = run_evaluation(config, tmp_path / "parallel", progress=False, jobs=2)
    accuracy = lambda r: [{c: v["accuracy"] for c, v in cell["results"].items()} for cell in r["cells"]]  # noqa: E731
    assert accuracy(parallel) == accuracy(serial)


def test_the_transfer_gate_chooses_by_cross_validation_and_reuses_the_chosen_result(omniglot_root, tmp_path):
    config = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root), seeds=(0,), per_class=(3,),
                  conditions=("classical", "pretrained-classifier", "dagan+classical", "pretrained-classifier+dagan",
                              "transfer-gated"))
    result = run_evaluation(config, tmp_path, progress=False)["cells"][0]["results"]
    gate = result["transfer-gated"]["gating"]
    assert set(gate["cv_balanced_accuracy"]) == {"classical", "pretrained-classifier", "dagan+classical",
                                                 "pretrained-classifier+dagan"}
    assert gate["best_non_generative"] in ("classical", "pretrained-classifier")
    assert result["transfer-gated"]["reused"] == gate["chosen"]
    assert result["transfer-gated"]["accuracy"] == result[gate["chosen"]]["accuracy"]


def test_the_source_pretraining_says_what_it_trains(omniglot_root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANAUG_CACHE", str(tmp_path / "cache"))  # nothing cached: all is trained
    config = tiny(dataset="digits", source="omniglot", source_root=str(omniglot_root), seeds=(0,),
                  conditions=("pretrained-classifier", "dagan+classical", "finetuned+classical"))
    transfer.prepare(config, progress=True)
    said = capsys.readouterr()
    text = said.out + said.err
    for model in ("the classifier", "the GAN", "the DAGAN"):
        assert f"source omniglot: training {model}" in text
    transfer.prepare(config)  # quiet, and from the cache
    said = capsys.readouterr()
    assert "training" not in said.out + said.err
