"""Issue 17, training and checkpoints: no diverged model passes as a good one, no damaged
checkpoint escapes as a traceback, no run is lost to a kill, a full disk or a bad --out."""

from __future__ import annotations

import copy
import json
import math
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import save_file
from sklearn.base import clone

from ganaug import CheckpointError, GANAugmenter, GANConfig
from ganaug.cli import main
from ganaug.training import CollapseMonitor, TrainingDiverged

FAST = dict(batch_size=8, device="cpu", seed=0)
FIXTURES = Path(__file__).parent / "fixtures" / "pre_redesign"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A 6-step augmenter on 40 random 8×8 images (4 classes) and its checkpoint."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10)
    aug = GANAugmenter(steps=6, **FAST).fit(x, y)
    path = aug.save(tmp_path_factory.mktemp("fitted") / "aug.safetensors")
    return aug, path, x, y


def _rewrite(path: Path, out: Path, edit_header=None, edit_tensors=None) -> Path:
    """A copy of the checkpoint at ``path`` with its header (a dict) or tensors edited."""
    with safe_open(str(path), "pt") as f:
        tensors, header = {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["ganaug"])  # noqa: SIM118
    header = edit_header(header) if edit_header else header
    tensors = edit_tensors(tensors) if edit_tensors else tensors
    save_file(tensors, str(out), metadata={"ganaug": json.dumps(header)})
    return out


def _one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text, text
    return text


def _strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# -- 1. divergence -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lr_g", "lr_d", "ema_decay", "r1_gamma", "aux_weight"])
@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_non_finite_settings_are_refused_by_name(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a finite number"):
        GANConfig(**{name: value})


def test_divergence_stops_with_the_step_and_keeps_the_earlier_model_and_checkpoint(fitted, tmp_path):
    aug, path, x, y = fitted
    before, ckpt_bytes = aug.sample(12, seed=0)[0], path.read_bytes()
    for loss in ("hinge", "mmd"):
        diverging = copy.deepcopy(aug).set_params(loss=loss, lr_g=1e30, lr_d=1e30)
        with pytest.raises(TrainingDiverged, match=r"diverged at step \d+: .*NaN or inf.*lower the learning rate") as err:
            diverging.fit(x, y, checkpoint=path)
        _one_line(err.value)
        np.testing.assert_array_equal(diverging.sample(12, seed=0)[0], before)  # the earlier model, unchanged
        assert path.read_bytes() == ckpt_bytes  # not saved
        # A checkpoint every step keeps at most the last finite state, never a NaN one.
        mid = tmp_path / f"{loss}-mid.safetensors"
        with pytest.raises(TrainingDiverged):
            copy.deepcopy(diverging).fit(x, y, checkpoint=mid, checkpoint_every=1)
        assert not mid.exists() or GANAugmenter.load(mid, device="cpu").n_steps_ < 6
    # The command line says the same in one line, exit 1, and writes no checkpoint.
    (tmp_path / "c.json").write_text(json.dumps({"lr_g": 1e30, "lr_d": 1e30, "loss": "hinge", "batch_size": 8}))
    res = CliRunner().invoke(main, ["pretrain", "--per-class", "5", "--steps", "5", "--config", str(tmp_path / "c.json"),
                                    "--device", "cpu", "--quiet", "--out", str(tmp_path / "run")])
    assert res.exit_code == 1 and "training diverged at step" in res.output, res.output
    assert not (tmp_path / "run" / "augmenter.safetensors").exists()


def test_nan_samples_raise_the_collapse_alarm():
    monitor = CollapseMonitor({0: 1.0, 1: 1.0})
    record = monitor.check(1, {0: torch.full((4, 1, 2, 2), math.nan), 1: torch.randn(4, 1, 2, 2)})
    assert record["collapsed"] == [0]


def test_nan_weights_in_a_checkpoint_are_refused(fitted, tmp_path):
    _, path, _, _ = fitted

    def poison(tensors):
        name = next(k for k in tensors if k.startswith("ema.") and tensors[k].is_floating_point())
        return tensors | {name: torch.full_like(tensors[name], math.nan)}

    bad = _rewrite(path, tmp_path / "nan.safetensors", edit_tensors=poison)
    with pytest.raises(CheckpointError, match="NaN or inf.*diverged") as err:
        GANAugmenter.load(bad, device="cpu")
    _one_line(err.value)


def test_checkpoint_header_and_json_twin_are_standard_json(fitted, tmp_path):
    aug, _, _, _ = fitted
    twin = clone(aug)
    twin.__dict__.update(aug.__dict__)
    twin.history_ = {k: list(v) for k, v in aug.history_.items()}
    twin.history_["g_loss"][-1] = math.nan  # e.g. a history from an older run
    twin._training_state = None
    path = twin.save(tmp_path / "a.safetensors")
    readable = _strict_json(path.with_suffix(".json").read_text())
    assert readable["history"]["g_loss"][-1] is None
    with safe_open(str(path), "pt") as f:
        _strict_json(f.metadata()["ganaug"])


# -- 2. damaged metadata, full disk --------------------------------------------------------------
def _drop(key):
    return lambda header: {k: v for k, v in header.items() if k != key}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_drop("class_names"), "no 'class_names' entry"),
        (_drop("dtype"), "no 'dtype' entry"),
        (_drop("n_train"), "no 'n_train' entry"),
        (_drop("value_range"), "no 'value_range' entry"),
        (_drop("trainer"), "no 'trainer' entry"),
        (lambda h: h | {"dtype": "float99"}, "do not match ganaug's layout"),
        (lambda h: h | {"dtype": "object"}, "not a number type"),
        (lambda h: h | {"format_version": "1"}, "format_version must be an integer"),
        (lambda h: [h], "not a ganaug checkpoint"),
    ],
    ids=["class_names", "dtype", "n_train", "value_range", "trainer", "unknown-dtype", "object-dtype",
         "version-text", "list-header"],
)
def test_damaged_metadata_is_a_one_line_checkpoint_error(fitted, tmp_path, edit, message):
    _, path, _, _ = fitted
    bad = _rewrite(path, tmp_path / "bad.safetensors", edit_header=edit)
    with pytest.raises(CheckpointError, match=message) as err:
        GANAugmenter.load(bad, device="cpu")
    assert str(bad) in _one_line(err.value)


def test_a_full_disk_leaves_the_earlier_checkpoint_and_no_temporary_file(fitted, tmp_path):
    aug, _, _, _ = fitted
    path = aug.save(tmp_path / "a.safetensors")
    earlier = path.read_bytes()
    # `ulimit -f`: writes past the limit fail with EFBIG, as on a full disk with ENOSPC.
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(earlier) // 2, hard))
    try:
        with pytest.raises(OSError, match="cannot write .*a.safetensors: File too large") as err:
            aug.save(path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    _one_line(err.value)
    assert path.read_bytes() == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.safetensors"]


# -- 3. save's path and permissions --------------------------------------------------------------
def test_save_refuses_a_torch_suffix_and_keeps_folders(fitted, tmp_path):
    aug, _, _, _ = fitted
    with pytest.raises(ValueError, match=r"never torch.save pickles; name the file .*model.safetensors") as err:
        aug.save(tmp_path / "runs" / "model.pt")
    _one_line(err.value)
    assert not (tmp_path / "runs" / "model.pt").exists()
    assert aug.save(tmp_path / "run") == tmp_path / "run" / "augmenter.safetensors"
    (tmp_path / "v1.2").mkdir()  # an existing folder with a dot in its name is a folder
    assert aug.save(tmp_path / "v1.2") == tmp_path / "v1.2" / "augmenter.safetensors"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_checkpoints_take_the_permissions_the_umask_gives(fitted, tmp_path, umask):
    aug, _, _, _ = fitted
    old = os.umask(umask)
    try:
        path = aug.save(tmp_path / "a.safetensors")
    finally:
        os.umask(old)
    for written in (path, path.with_suffix(".json")):
        assert written.stat().st_mode & 0o777 == 0o666 & ~umask, written


# -- 4. parameters as given ----------------------------------------------------------------------
def test_a_loaded_augmenter_has_the_parameters_as_given_and_resumes_exactly(fitted, tmp_path):
    _, _, x, y = fitted
    params = dict(device="cpu", seed=0)  # loss="auto", batch_size=None: resolved from the data
    first = GANAugmenter(steps=3, **params).fit(x, y)
    loaded = GANAugmenter.load(first.save(tmp_path / "a.safetensors"), device="cpu")
    assert loaded.get_params()["loss"] == "auto" and loaded.get_params()["batch_size"] is None
    assert loaded.config_.loss == "mmd" and loaded.config_.batch_size == 64
    assert loaded.metadata()["params"]["loss"] == "auto" and loaded.metadata()["config"]["loss"] == "mmd"
    assert clone(loaded).get_params() == first.get_params()
    # The settings left to auto keep the checkpoint's on a warm start: the same run as straight.
    loaded.set_params(steps=6, warm_start=True).fit(x, y)
    straight = GANAugmenter(steps=6, **params).fit(x, y)
    np.testing.assert_array_equal(loaded.sample(16, seed=0)[0], straight.sample(16, seed=0)[0])
    # A checkpoint written before "params" was recorded keeps today's behaviour.
    old = GANAugmenter.load(FIXTURES / "mmd.safetensors", device="cpu")
    assert old.get_params()["loss"] == old.config_.loss == "mmd"


def test_verbose_is_off_by_default_as_in_scikit_learn(fitted):
    _, path, _, _ = fitted
    assert GANAugmenter().verbose is False
    assert GANAugmenter.load(path, device="cpu").verbose is False


# -- 5. resume with fewer steps, a device ganaug cannot use --------------------------------------
def test_resuming_to_fewer_steps_than_done_is_refused(fitted, tmp_path):
    aug, path, x, y = fitted
    loaded = GANAugmenter.load(path, device="cpu").set_params(steps=4, warm_start=True)
    with pytest.raises(ValueError, match="steps=4 is below the 6 steps already done"):
        loaded.fit(x, y)
    res = CliRunner().invoke(main, ["pretrain", "--resume", str(path), "--steps", "4", "--out", str(tmp_path / "r")])
    assert res.exit_code == 2 and "--steps 4 is below the 6 steps" in res.output, res.output
    assert "training on" not in res.output  # refused before the data were loaded


def test_a_device_ganaug_cannot_use_is_blamed_on_the_device(fitted, tmp_path):
    _, path, _, _ = fitted
    with pytest.raises(ValueError, match="device 'meta'") as err:
        GANAugmenter.load(path, device="meta")
    assert not isinstance(err.value, CheckpointError)
    for extra in ([], ["--resume", str(path), "--steps", "8"]):
        res = CliRunner().invoke(main, ["pretrain", *extra, "--device", "meta", "--out", str(tmp_path / "m")])
        assert res.exit_code == 2 and "'--device'" in res.output and "meta" in res.output, res.output
        assert "checkpoint" not in res.output.split("Error:")[-1]


# -- 6. --out checked before any work ------------------------------------------------------------
def test_pretrain_refuses_an_unwritable_out_before_training(tmp_path):
    (tmp_path / "file.txt").write_text("in the way")
    res = CliRunner().invoke(main, ["pretrain", "--per-class", "5", "--steps", "5", "--device", "cpu",
                                    "--out", str(tmp_path / "file.txt" / "run")])
    assert res.exit_code == 2 and "cannot write to" in res.output and "'--out'" in res.output, res.output
    assert "training on" not in res.output


# -- 7. (acceptance 3) mid-run checkpoints --------------------------------------------------------
def test_an_interrupted_fit_resumes_from_its_mid_run_checkpoint(fitted, tmp_path, monkeypatch):
    _, _, x, y = fitted
    from ganaug.augmenter import _PeriodicSave

    path = tmp_path / "run" / "augmenter.safetensors"
    save = _PeriodicSave.__call__

    def killed_after_step_4(self, trainer):
        save(self, trainer)
        if trainer.step == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(_PeriodicSave, "__call__", killed_after_step_4)
    with pytest.raises(KeyboardInterrupt):
        GANAugmenter(steps=8, **FAST).fit(x, y, checkpoint=path, checkpoint_every=3)
    monkeypatch.undo()
    resumed = GANAugmenter.load(path, device="cpu")
    assert resumed.n_steps_ == 3
    resumed.set_params(warm_start=True).fit(x, y, checkpoint=path)
    assert GANAugmenter.load(path, device="cpu").n_steps_ == 8  # the finished model replaced it
    straight = GANAugmenter(steps=8, **FAST).fit(x, y)
    np.testing.assert_array_equal(resumed.sample(16, seed=0)[0], straight.sample(16, seed=0)[0])


@pytest.mark.slow
def test_pretrain_killed_mid_run_resumes_to_the_same_samples(tmp_path):
    total = 60
    base = ["pretrain", "--dataset", "digits", "--per-class", "5", "--device", "cpu", "--quiet",
            "--checkpoint-every", "10"]
    killed = tmp_path / "killed"
    ckpt = killed / "augmenter.safetensors"
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "ganaug", *base, "--steps", str(total), "--out", str(killed)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not ckpt.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        _, stderr = proc.communicate()
    assert ckpt.exists(), stderr.decode()[-2000:]
    done = GANAugmenter.load(ckpt, device="cpu").n_steps_
    assert 0 < done < total, "the run finished before it was killed"
    # All three runs on one thread: a different thread count sums in a different order.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        resumed = CliRunner().invoke(main, [*base, "--resume", str(ckpt), "--steps", str(total), "--out", str(killed)])
        straight = CliRunner().invoke(main, [*base, "--steps", str(total), "--out", str(tmp_path / "straight")])
    finally:
        torch.set_num_threads(threads)
    assert resumed.exit_code == 0 and straight.exit_code == 0, resumed.output + straight.output
    a = GANAugmenter.load(ckpt, device="cpu")
    b = GANAugmenter.load(tmp_path / "straight", device="cpu")
    assert a.n_steps_ == b.n_steps_ == total
    np.testing.assert_array_equal(a.sample(50, seed=0)[0], b.sample(50, seed=0)[0])
    assert not any(p.name.endswith(".tmp") for p in killed.iterdir())
