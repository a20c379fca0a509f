"""GANAugmenter: the estimator contract, sampling, checkpoints and resuming."""

from __future__ import annotations

import copy
import json
import pickle
import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sklearn.base import clone

from ganaug import ArrayDataset, CheckpointError, GANAugmenter, GANConfig


def test_fit_sets_learned_attributes(small_aug, digits):
    assert small_aug.classes_.tolist() == list(range(10))
    assert small_aug.image_shape_ == (8, 8)
    assert small_aug.value_range_ == (0.0, 255.0)
    assert small_aug.n_steps_ == 600 and len(small_aug.history_["d_loss"]) > 0
    assert small_aug.monitor_ and set(small_aug.monitor_[-1]["ratios"]) == {str(i) for i in range(10)}
    assert isinstance(small_aug.generator_, torch.nn.Module) and not small_aug.generator_.training


def test_init_only_stores_params_and_clones():
    aug = GANAugmenter(steps=5, loss="minimax")
    assert not hasattr(aug, "generator_")
    assert clone(aug).get_params()["loss"] == "minimax"
    assert aug.get_config() == GANConfig(steps=5, loss="minimax")
    with pytest.raises(RuntimeError, match="not fitted"):
        aug.sample(3)


def test_settings_are_keywords_and_a_positional_config_is_refused():
    # A GANConfig passed positionally would otherwise sit in `loss` and fail only at fit time.
    with pytest.raises(TypeError, match=r"as keywords.*from_config"):
        GANAugmenter(GANConfig(steps=5))
    with pytest.raises(TypeError, match="as keywords"):
        GANAugmenter("hinge")
    assert GANAugmenter.from_config(GANConfig(steps=5), device="cpu").get_params()["steps"] == 5


def test_sample_shapes_labels_and_reproducibility(small_aug):
    x, y = small_aug.sample(25, seed=1)
    assert x.shape == (25, 8, 8) and x.dtype == np.uint8
    assert np.ptp(np.bincount(y, minlength=10)) <= 1  # equal shares: 25 over 10 classes is 2 or 3 each
    chunked, chunked_y = small_aug.sample(25, seed=1, batch_size=7)  # four generator calls
    assert chunked.shape == (25, 8, 8) and chunked_y.tolist() == y.tolist()
    empty, empty_y = small_aug.sample(0)
    assert empty.shape == (0, 8, 8) and len(empty_y) == 0
    for bad in ({"n": -1}, {"n": 2.5}, {"n": 3, "batch_size": 0}):
        with pytest.raises(ValueError, match="must be a"):
            small_aug.sample(**bad)
    x2, y2 = small_aug.sample(25, seed=1)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = small_aug.sample(25)
    x4, _ = small_aug.sample(25)
    assert not np.array_equal(x3, x4)  # seed=None: fresh images per call
    _, only7 = small_aug.sample(6, labels=7, seed=0)
    assert only7.tolist() == [7] * 6
    with pytest.raises(ValueError, match="not one of the augmenter's classes"):
        small_aug.sample(2, labels=[1, 11])
    with pytest.raises(ValueError, match="2 labels for n=3"):
        small_aug.sample(3, labels=[1, 2])


def test_float_arrays_come_back_in_their_range(digits):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    aug = GANAugmenter(steps=10, batch_size=16, verbose=False).fit(bunch.data, bunch.target, image_shape=(8, 8))
    x, _ = aug.sample(8, seed=0)
    assert aug.value_range_ == (0.0, 16.0) and x.dtype == np.float64
    assert x.shape == (8, 8, 8) and x.min() >= 0 and x.max() <= 16


def test_flattened_rows_need_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        GANAugmenter(steps=1, verbose=False).fit(np.zeros((10, 64), np.uint8), np.arange(10) % 2)


def test_missing_labels_and_one_class():
    x = np.zeros((6, 8, 8), np.uint8)
    with pytest.raises(ValueError, match="labels are missing"):
        GANAugmenter(steps=1, verbose=False).fit(x)
    with pytest.raises(ValueError, match="at least 2 classes"):
        GANAugmenter(steps=1, verbose=False).fit(x, np.zeros(6, int))


def test_same_seed_same_samples_after_save_and_load(small_aug, tmp_path):
    path = small_aug.save(tmp_path / "aug.safetensors")
    assert path.with_suffix(".json").is_file()
    loaded = GANAugmenter.load(path, device="cpu")
    for seed in (0, 123):
        np.testing.assert_array_equal(small_aug.sample(40, seed=seed)[0], loaded.sample(40, seed=seed)[0])
    assert loaded.class_names_ == small_aug.class_names_ and loaded.image_shape_ == (8, 8)
    light = GANAugmenter.load(small_aug.save(tmp_path / "light.safetensors", training_state=False))
    np.testing.assert_array_equal(small_aug.sample(5, seed=9)[0], light.sample(5, seed=9)[0])
    assert light.save(tmp_path / "again.safetensors").is_file()


def test_pickled_checkpoint_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(CheckpointError, match="pickle.*never unpickles"):
        GANAugmenter.load(bad)
    assert not marker.exists()
    zipped = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, zipped)
    with pytest.raises(CheckpointError, match="zip archive"):
        GANAugmenter.load(zipped)


def test_checkpoint_whose_header_length_starts_with_pickle_byte_loads(tmp_path):
    # A safetensors file opens with its header length; when that length ends in 0x80 the first
    # byte equals the pickle opcode, and the file must still be read as the checkpoint it is.
    from ganaug.training.checkpoint import load_checkpoint, save_checkpoint

    for pad in range(300):
        path = save_checkpoint(tmp_path / "c.safetensors", {"w": torch.ones(3)}, {"pad": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no padding gave a header length ending in 0x80")
    tensors, meta = load_checkpoint(path)
    assert tensors["w"].tolist() == [1.0, 1.0, 1.0] and meta["pad"] == "x" * pad


def test_truncated_foreign_and_missing_checkpoints(small_aug, tmp_path):
    path = small_aug.save(tmp_path / "ok.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        GANAugmenter.load(cut)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a ganaug checkpoint"):
        GANAugmenter.load(foreign)
    with pytest.raises(FileNotFoundError):
        GANAugmenter.load(tmp_path / "nothing.safetensors")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        GANAugmenter.load(empty)


@pytest.mark.parametrize(
    "option",
    [{"loss": "mmd"}, {"loss": "mmd", "mmd_feature_weight": 1.0}, {"loss": "hinge"}, {"loss": "hinge", "lecam_weight": 0.3}],
    ids=["mmd", "mmd-features", "hinge", "lecam"],
)
def test_resumed_training_matches_uninterrupted_training(digits, tmp_path, option):
    # Stateful options (LeCam's moving anchors) must travel in the checkpoint too; the feature
    # network of the MMD feature kernel is rebuilt from the data, so it must come out the same.
    params = dict(batch_size=16, monitor_every=10, verbose=False, seed=3, device="cpu", **option)
    straight = GANAugmenter(steps=20, **params).fit(digits)
    first = GANAugmenter(steps=10, **params).fit(digits)
    resumed = GANAugmenter.load(first.save(tmp_path / "half.safetensors"), device="cpu", verbose=False)
    resumed.set_params(steps=20, warm_start=True).fit(digits)
    assert resumed.n_steps_ == 20
    np.testing.assert_array_equal(straight.sample(30, seed=0)[0], resumed.sample(30, seed=0)[0])


def test_a_checkpoint_from_another_kind_of_device_loads_and_says_resuming_is_not_exact(digits, tmp_path):
    # A CUDA noise generator's state is 16 bytes, a CPU one's 5,056: loading one for the other
    # must still work (a GPU-trained augmenter used on a laptop), and resuming must say it
    # cannot repeat the original run step for step.
    from safetensors import safe_open

    first = GANAugmenter(steps=10, batch_size=16, verbose=False, seed=3, device="cpu").fit(digits)
    path = first.save(tmp_path / "gpu.safetensors")
    with safe_open(str(path), "pt") as f:
        tensors, header = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    tensors["rng_state"] = torch.zeros(16, dtype=torch.uint8)
    save_file(tensors, str(path), metadata={"ganaug": header["ganaug"].replace('"rng_device": "cpu"', '"rng_device": "cuda"')})
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*another kind of device")
        moved = GANAugmenter.load(path, device="cpu", verbose=False)
        np.testing.assert_array_equal(first.sample(20, seed=0)[0], moved.sample(20, seed=0)[0])
    with pytest.warns(UserWarning, match="another kind of device"):
        moved.set_params(steps=12, warm_start=True).fit(digits)
    assert moved.n_steps_ == 12
    with warnings.catch_warnings():  # said once: training on from here is this run's own stream
        warnings.filterwarnings("error", message=".*another kind of device")
        moved.set_params(steps=14).fit(digits)


def test_warm_start_refuses_different_data(small_aug, toy_arrays):
    aug = clone(small_aug).set_params(warm_start=True)
    aug.__dict__.update({k: v for k, v in small_aug.__dict__.items() if k.endswith("_")})
    with pytest.raises(ValueError, match="differ"):
        aug.fit(*toy_arrays)


def test_an_interrupted_refit_leaves_the_fitted_model_as_it_was(digits, tmp_path, monkeypatch):
    aug = GANAugmenter(steps=10, batch_size=16, verbose=False, seed=3, device="cpu").fit(digits)
    before = aug.sample(20, seed=0)[0]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ganaug.augmenter.Trainer.train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        aug.set_params(steps=30, lr_g=0.05).fit(digits)
    monkeypatch.undo()
    np.testing.assert_array_equal(aug.sample(20, seed=0)[0], before)
    assert aug.config_.lr_g == 1e-4 and aug.n_steps_ == 10
    saved = GANAugmenter.load(aug.save(tmp_path / "a.safetensors"), device="cpu", verbose=False)
    np.testing.assert_array_equal(saved.sample(20, seed=0)[0], before)


def test_warm_start_refuses_what_it_cannot_honour(digits, tmp_path):
    first = GANAugmenter(steps=10, batch_size=16, verbose=False, seed=3, device="cpu").fit(digits)
    resumed = GANAugmenter.load(first.save(tmp_path / "full.safetensors"), device="cpu", verbose=False)
    # The optimisers and the objective were built from the checkpoint's settings.
    with pytest.raises(ValueError, match=r"cannot change loss .*, lr_g \(0.0001 -> 0.05\)"):
        resumed.set_params(steps=20, warm_start=True, lr_g=0.05, loss="nonsaturating").fit(digits)
    assert resumed.n_steps_ == 10
    # Settings left to "auto" take the checkpoint's; those read at each step may change.
    resumed.set_params(lr_g=1e-4, loss="auto", ema_decay=0.99).fit(digits)
    assert resumed.n_steps_ == 20 and resumed.config_.ema_decay == 0.99
    # Without D and the optimisers there is nothing to continue.
    sampler = GANAugmenter.load(first.save(tmp_path / "ema.safetensors", training_state=False), device="cpu", verbose=False)
    with pytest.raises(ValueError, match="training_state=False"):
        sampler.set_params(steps=20, warm_start=True).fit(digits)


def test_a_fitted_adversarial_augmenter_can_be_deep_copied_and_pickled(digits):
    # Right after training, torch's spectral norm holds a weight still tied to the autograd
    # graph, which copy.deepcopy refuses (it used to fail here).
    aug = GANAugmenter(steps=5, batch_size=16, verbose=False, seed=3, device="cpu", loss="hinge").fit(digits)
    before = aug.sample(20, seed=0)[0]
    for twin in (copy.deepcopy(aug), pickle.loads(pickle.dumps(aug))):
        np.testing.assert_array_equal(twin.sample(20, seed=0)[0], before)
        twin.set_params(steps=7, warm_start=True).fit(digits)  # trains on without touching the original
        assert (twin.n_steps_, aug.n_steps_) == (7, 5)
    np.testing.assert_array_equal(aug.sample(20, seed=0)[0], before)
    pair = copy.deepcopy([aug, aug])  # one augmenter shared by two holders stays one
    assert pair[0] is pair[1] and pair[0] is not aug


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_loading_onto_a_missing_device_blames_the_device_not_the_file(small_aug, tmp_path):
    path = small_aug.save(tmp_path / "a.safetensors")
    with pytest.raises(ValueError, match="CUDA is not available") as caught:
        GANAugmenter.load(path, device="cuda")
    assert not isinstance(caught.value, CheckpointError)


def test_colour_images_and_other_input_forms(toy_arrays):
    x, y = toy_arrays
    rng = np.random.default_rng(1)
    colour = rng.integers(0, 256, size=(40, 8, 8, 3), dtype=np.uint8)
    aug = GANAugmenter(steps=2, batch_size=8, verbose=False).fit(colour, y)
    images, labels = aug.sample(5, seed=0)
    assert images.shape == (5, 8, 8, 3) and images.dtype == np.uint8 and aug.n_channels_ == 3
    # N×H×W×1 is greyscale; a tuple or tensors are the same data as arrays.
    grey = GANAugmenter(steps=2, batch_size=8, verbose=False).fit(x[..., None], y)
    assert grey.image_shape_ == (8, 8) and grey.sample(3, seed=0)[0].shape == (3, 8, 8)
    as_tuple = GANAugmenter(steps=2, batch_size=8, verbose=False, seed=4).fit((torch.as_tensor(x), torch.as_tensor(y)))
    as_arrays = GANAugmenter(steps=2, batch_size=8, verbose=False, seed=4).fit(x, y)
    np.testing.assert_array_equal(as_tuple.sample(6, seed=0)[0], as_arrays.sample(6, seed=0)[0])
    # Floats in a given range come back in it; the range must hold the data.
    floats = x.astype(np.float32) / 255 * 2 - 1
    signed = GANAugmenter(steps=2, batch_size=8, verbose=False).fit(floats, y, value_range=(-1, 1))
    out = signed.sample(4, seed=0)[0]
    assert signed.value_range_ == (-1.0, 1.0) and out.dtype == np.float32 and out.min() >= -1 and out.max() <= 1
    for value_range, message in (((1, -1), "low < high"), ((0, 1), "outside value_range")):
        with pytest.raises(ValueError, match=message):
            GANAugmenter(steps=2, verbose=False).fit(floats, y, value_range=value_range)
    with pytest.raises(ValueError, match="not both"):
        GANAugmenter(steps=2, verbose=False).fit(ArrayDataset(x, y), y)


FIXTURE = __import__("pathlib").Path(__file__).parent / "fixtures" / "pre_redesign"


@pytest.mark.parametrize("loss", ["mmd", "hinge"])
def test_a_checkpoint_written_before_the_redesign_loads_samples_and_resumes_identically(loss):
    # tests/fixtures/pre_redesign was written by the code before the three-layer split
    # (make_fixture.py there): its matching-network checkpoint still carries the unused
    # discriminator the old trainer built. Samples, and a warm start from it, must not change.
    expected = np.load(FIXTURE / "expected.npz")
    aug = GANAugmenter.load(FIXTURE / f"{loss}.safetensors", device="cpu", verbose=False)
    assert aug.config_.sampling == "uniform"  # it trained on uniform draws, before `sampling` was a setting
    images, labels = aug.sample(12, seed=3)
    np.testing.assert_array_equal(images, expected[f"{loss}_samples"])
    np.testing.assert_array_equal(labels, expected[f"{loss}_labels"])
    aug.set_params(warm_start=True, steps=6).fit(expected["X"], expected["y"])
    _same_training(aug.sample(12, seed=3)[0], expected[f"{loss}_resumed"])
    # The fixture's settings in full: lr_g=1e-4 was every objective's default then.
    fresh = GANAugmenter(loss=loss, steps=4, batch_size=8, z_dim=8, g_channels=8, d_channels=8, seed=1, lr_g=1e-4,
                         device="cpu", verbose=False, monitor_every=2).fit(expected["X"], expected["y"])
    _same_training(fresh.sample(12, seed=3)[0], expected[f"{loss}_samples"])


def _same_training(images: np.ndarray, expected: np.ndarray) -> None:
    """Samples of the same training on another CPU: its float kernels (AVX2 or AVX-512) round
    otherwise, so a pixel may land one grey level off, in a few pixels (measured: at most 0.4 %);
    another seed, or another order of random draws, moves almost every pixel (97-99 %, by up to
    60-76 levels)."""
    diff = np.abs(images.astype(int) - expected.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= 0.01, (diff.max(), (diff > 0).mean())


def test_a_warm_start_interrupted_mid_way_leaves_the_fitted_model_and_its_records(digits, tmp_path, monkeypatch):
    import ganaug.training.trainer as trainer_module

    params = dict(loss="hinge", steps=10, batch_size=16, verbose=False, seed=3, device="cpu")
    aug = GANAugmenter(**params).fit(digits)
    before = aug.sample(20, seed=0)[0]
    calls, update = [], trainer_module.update_ema

    def interrupt_at_step_13(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the warm start has taken steps 11 and 12 and is on its way to 20
            raise KeyboardInterrupt
        return update(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "update_ema", interrupt_at_step_13)
    with pytest.raises(KeyboardInterrupt):
        aug.set_params(steps=20, warm_start=True, ema_decay=0.99).fit(digits)
    monkeypatch.undo()
    assert aug.n_steps_ == 10 and aug.config_.steps == 10 and aug.config_.ema_decay == 0.999
    np.testing.assert_array_equal(aug.sample(20, seed=0)[0], before)
    saved = aug.save(tmp_path / "a.safetensors")
    meta = json.loads(saved.with_suffix(".json").read_text())
    assert meta["summary"]["steps"] == 10 and meta["config"]["steps"] == 10
    # The untouched state still resumes exactly like a run that was never interrupted.
    aug.set_params(ema_decay=0.999).fit(digits)
    straight = GANAugmenter(**(params | {"steps": 20})).fit(digits)
    np.testing.assert_array_equal(aug.sample(20, seed=0)[0], straight.sample(20, seed=0)[0])
