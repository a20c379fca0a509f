"""Fine-tuning a pretrained augmenter on new classes: GANAugmenter(init=...), train_layers, --init."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sklearn.base import clone

from ganaug import GANAugmenter, GANConfig
from ganaug.cli import main
from ganaug.evaluation.config import EvalConfig
from ganaug.models import Discriminator
from ganaug.training.checkpoint import load_checkpoint
from ganaug.training.config import resolve
from ganaug.training.trainer import Trainer
from ganaug.training.transfer import NOISE, TransferSource

TINY = {"batch_size": 8, "z_dim": 8, "g_channels": 32, "d_channels": 16, "device": "cpu", "seed": 0}
# The class rows of the tiny networks at 8×8 (one upsampling step: norm0 and norms.0).
G_CLASS_ROWS = {"embed.weight", "norm0.gain.weight", "norm0.bias.weight", "norms.0.gain.weight", "norms.0.bias.weight"}
D_CLASS_ROWS = {"embed.weight_orig", "embed.weight_u"}


def images(n: int, side: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, side, side), dtype=np.uint8)


TARGET = (images(24, seed=1), np.repeat([10, 20, 30], 8))  # 3 new classes, other labels


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Augmenters pretrained on 4 source classes (hinge, with D; mmd, without), saved."""
    folder = tmp_path_factory.mktemp("sources")
    x, y = images(40), np.repeat(np.arange(4), 10)
    out = {}
    for loss in ("hinge", "mmd"):
        aug = GANAugmenter(loss=loss, steps=4, **TINY).fit(x, y)
        out[loss] = (aug, aug.save(folder / f"{loss}.safetensors"))
    return out


def fine_tune(init, **params) -> GANAugmenter:
    return GANAugmenter(init=init, **({"loss": "hinge", "steps": 3} | TINY | params)).fit(*TARGET)


@pytest.mark.parametrize("loss", ["hinge", "mmd"])
def test_the_networks_start_as_the_source_but_for_the_class_rows(sources, loss):
    tensors, meta = load_checkpoint(sources["hinge"][1])
    source = TransferSource.from_checkpoint(tensors, meta, "src")
    config = resolve(source.inherit(GANConfig(loss=loss, steps=1, batch_size=8)), 24, 64)
    trainer = Trainer(config, 3, (1, 8, 8), torch.device("cpu"))
    trainer.start_from(source)
    nets = {"generator": trainer.generator.state_dict()} | (
        {"discriminator": trainer.objective.discriminator.state_dict()} if loss == "hinge" else {})
    for name, rows in (("generator", G_CLASS_ROWS), ("discriminator", D_CLASS_ROWS)):
        if name not in nets:
            continue
        before = source.generator if name == "generator" else source.discriminator
        assert {k for k in nets[name] if k in rows or not torch.equal(nets[name][k], before[k])} == rows
        for key in rows - {"embed.weight_u"}:
            new, old = nets[name][key], before[key]
            assert len(new) == 3 and len(old) == 4
            # Every new class starts at the source classes' mean, a little apart from each other.
            spread = old.std(0, unbiased=False)
            assert torch.all((new - old.mean(0)).abs() <= 5 * NOISE * spread + 1e-7)
            assert not torch.equal(new[0], new[1]) or not spread.any()
    for key, value in trainer.ema.state_dict().items():
        assert torch.equal(value, nets["generator"][key])  # samples come from the adapted G too
    if loss == "hinge":
        u = nets["discriminator"]["embed.weight_u"]
        assert u.shape == (3,) and torch.isclose(u.norm(), torch.tensor(1.0))


@pytest.mark.parametrize("loss", ["hinge", "mmd"])
def test_fit_adapts_to_new_classes_and_round_trips(sources, loss, tmp_path):
    _, path = sources["hinge"]
    aug = fine_tune(str(path), loss=loss, z_dim=64)  # z_dim at its default: the source's is taken
    assert aug.classes_.tolist() == [10, 20, 30] and set(aug.sample(9)[1].tolist()) == {10, 20, 30}
    assert (aug.config_.z_dim, aug.config_.g_channels, aug.config_.d_channels) == (8, 32, 16)
    record = aug.init_source_
    assert record["path"] == str(path) and record["classes"] == [0, 1, 2, 3] and len(record["sha256"]) == 64
    saved = aug.save(tmp_path / "ft.safetensors")
    assert json.loads(saved.with_suffix(".json").read_text())["init"] == record
    loaded = GANAugmenter.load(saved, device="cpu")
    assert loaded.init == str(path) and loaded.init_source_ == record
    np.testing.assert_array_equal(loaded.sample(12, seed=3)[0], aug.sample(12, seed=3)[0])
    more = loaded.set_params(warm_start=True, steps=5).fit(*TARGET)  # a fine-tune resumes with its own layers
    assert more.n_steps_ == 5 and more.init_source_ == record


def test_the_source_is_the_same_given_as_a_path_an_augmenter_or_a_loaded_one(sources):
    aug, path = sources["hinge"]
    records = [fine_tune(init).init_source_ for init in (path, aug, GANAugmenter.load(path, device="cpu"))]
    assert len({r["sha256"] for r in records}) == 1
    assert [r["path"] for r in records] == [str(path), None, str(path)]


def test_a_matching_source_written_before_this_feature_brings_g_alone():
    # Its checkpoint predates train_layers and carries the unused D the old trainer built.
    fixture = __import__("pathlib").Path(__file__).parent / "fixtures" / "pre_redesign" / "mmd.safetensors"
    aug = GANAugmenter(init=fixture, loss="hinge", steps=2, batch_size=8, device="cpu").fit(*TARGET)
    assert aug.init_source_["discriminator"] is False and aug.config_.g_channels == 8


@pytest.mark.parametrize("layers", ["embeddings+norms", "freeze-d"])
def test_frozen_parameters_do_not_change(sources, layers):
    aug = fine_tune(sources["hinge"][1], train_layers=layers, steps=4)
    before = load_checkpoint(sources["hinge"][1])[0]
    after, meta = aug._training_state
    d = Discriminator(3, (1, 8, 8), 16)
    frozen_d = {f"{n}.{p}" for n, m in d.named_modules() if m in d.stages()[:1] for p, _ in m.named_parameters()}
    g_params = [k for k in after if k.startswith("generator.") and k[10:] in dict(aug.generator_.named_parameters())]
    g_trains = {k for k in g_params if k[10:] in G_CLASS_ROWS}
    changed = {k for k in g_params if not torch.equal(after[k], before["ema." + k[10:]])}
    if layers == "embeddings+norms":
        assert changed == g_trains  # only the class embeddings (conditional BN's gains and biases too)
        assert len(meta["opt_g"]["param_groups"][0]["params"]) == len(g_trains)
    else:
        assert aug.config_.freeze_d_blocks == 1  # half of D's three convolutions, rounded down
        assert changed == set(g_params)
        for key in frozen_d:
            assert torch.equal(after[f"discriminator.{key}"], before[f"discriminator.{key}"]), key
        assert not torch.equal(after["discriminator.final.weight_orig"], before["discriminator.final.weight_orig"])


def test_images_of_another_shape_are_refused_in_one_line(sources):
    with pytest.raises(ValueError, match=r"images are 10×10 but the source generator was trained on 8×8") as err:
        GANAugmenter(init=sources["hinge"][0], **TINY).fit(images(24, side=10), TARGET[1])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("params", "source", "message"),
    [
        ({"train_layers": "freeze-d"}, "mmd", "has none"),
        ({"z_dim": 16}, "hinge", r"z_dim=16 \(the source's is 8\)"),
        ({"train_layers": "freeze-d", "freeze_d_blocks": 9}, "hinge", "D has 3 blocks"),
        ({"conditioning": "per-class"}, "hinge", "conditioning='per-class'"),
        ({"minibatch_std": True}, "hinge", "minibatch_std"),
    ],
)
def test_settings_the_source_cannot_serve_are_refused(sources, params, source, message):
    with pytest.raises(ValueError, match=message):
        fine_tune(sources[source][1], **params)


def test_frozen_layers_need_a_source_and_a_discriminator():
    with pytest.raises(ValueError, match="needs init="):
        GANAugmenter(train_layers="embeddings+norms", **TINY).fit(*TARGET)
    with pytest.raises(ValueError, match="loss='mmd' has none"):
        GANConfig(train_layers="freeze-d", loss="mmd")
    with pytest.raises(ValueError, match="not fitted"):
        fine_tune(GANAugmenter())
    assert resolve(GANConfig(train_layers="freeze-d"), 24, 64, smallest_class=8).loss == "hinge"


def test_a_per_class_source_is_refused():
    x, y = images(16), np.repeat(np.arange(2), 8)
    per_class = GANAugmenter(conditioning="per-class", loss="hinge", steps=1, **TINY).fit(x, y)
    with pytest.raises(ValueError, match="one GAN per class"):
        fine_tune(per_class)


def test_clone_and_get_params_keep_the_init_as_given(sources):
    aug, path = sources["hinge"]
    for init in (aug, str(path)):
        target = GANAugmenter(init=init, train_layers="freeze-d")
        assert target.get_params()["init"] is init and clone(target).init is init
        assert clone(target).get_params(deep=False).keys() == target.get_params(deep=False).keys()
    fitted = fine_tune(aug)
    copy = clone(fitted)
    assert copy.init is aug and not hasattr(copy, "generator_")


def test_runs_without_the_new_settings_keep_their_evaluation_keys():
    # Pinned keys: the fine-tuning fields at their defaults leave them as they were. They moved
    # once on purpose since (EvalConfig.threads, with classical augmentation on the batch: cells
    # computed before give other numbers); a change here recomputes every finished cell. The
    # classifier budget's default became None (sized per cell, so keyed as None): a run that
    # asked for 400 steps keeps its key. They moved on purpose again when lr_g's default became
    # None (the matching network's 3e-4, with 800 steps: cells made before trained another GAN).
    # The long-tail key moved alone when GANConfig.sampling came ("auto" balances G's batches
    # over classes of unequal size: a long-tailed set's GAN trains on other draws).
    assert EvalConfig(classifier_steps=400).cell_key("data") == "f88af2746438b2f1"
    assert EvalConfig(scenario="long-tail").cell_key("data") == "419bb798ce265b73"
    assert EvalConfig(gan=GANConfig(train_layers="freeze-d")).cell_key("data") != EvalConfig().cell_key("data")


def test_cli_pretrain_init(sources, tmp_path):
    _, path = sources["hinge"]
    out = tmp_path / "ft"
    args = ["pretrain", "--dataset", "digits", "--per-class", "3", "--steps", "2", "--loss", "hinge",
            "--init", str(path), "--train-layers", "freeze-d", "--quiet", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    twin = json.loads((out / "augmenter.json").read_text())
    assert twin["init"]["path"] == str(path) and twin["classes"] == list(range(10))
    assert json.loads((out / "config.json").read_text())["train_layers"] == "freeze-d"
    assert GANAugmenter.load(out, device="cpu").sample(10)[0].shape == (10, 8, 8)
    res = CliRunner().invoke(main, ["pretrain", "--resume", str(out), "--steps", "4", "--init", str(path), "--out", str(out)])
    assert res.exit_code == 2 and "drop --init" in res.output


def test_cli_pretrain_init_refuses_another_image_size_in_one_line(tmp_path):
    small = GANAugmenter(loss="hinge", steps=1, **TINY).fit(images(16, side=10), np.repeat(np.arange(2), 8))
    path = small.save(tmp_path / "ten.safetensors")
    res = CliRunner().invoke(main, ["pretrain", "--per-class", "3", "--init", str(path), "--quiet", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1
    assert res.output.strip().splitlines() == [
        "Error: init: the images are 8×8 but the source generator was trained on 10×10; "
        "resize them to 10×10 or pretrain a source at this size"
    ]
