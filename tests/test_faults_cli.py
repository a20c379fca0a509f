"""Faults of the command line (issue 17): every bad input is one `Error:` line, never a
traceback (unless `ganaug --debug` asks for it), and JSON output is standard JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ganaug import GANAugmenter
from ganaug.cli import main
from ganaug.report import sample_grid
from ganaug.training import checkpoint
from ganaug.utils import resolve_device


def _one_error(res, code: int) -> str:
    """The single `Error:` line of a command that failed with ``code`` and leaked no traceback."""
    assert res.exit_code == code, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, res.output
    return errors[0]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8)
    y = np.repeat(np.arange(4), 10)
    aug = GANAugmenter(steps=3, batch_size=8, device="cpu", verbose=False).fit(x, y)
    folder = tmp_path_factory.mktemp("ckpt")
    path = aug.save(folder / "augmenter.safetensors")
    aug.class_names_ = ["a", "b"]  # fewer names than classes
    short = aug.save(folder / "short.safetensors")
    return path, short


def test_sample_refuses_an_n_that_cannot_fit_in_memory(ckpt, tmp_path):
    res = CliRunner().invoke(main, ["sample", str(ckpt[0]), "--n", "1000000000000", "--out", str(tmp_path / "a.npz")])
    line = _one_error(res, 2)
    assert "'--n'" in line and "1,000,000,000,000 samples of 8×8 uint8 need about" in line and "at most" in line


def test_sample_has_n_as_a_short_option(ckpt, tmp_path):
    res = CliRunner().invoke(main, ["sample", str(ckpt[0]), "-n", "6", "--out", str(tmp_path / "a.npz")])
    assert res.exit_code == 0, res.output
    with np.load(tmp_path / "a.npz") as z:
        assert z["x"].shape == (6, 8, 8)


@pytest.mark.parametrize(("labels", "message"), [
    (",", "',' names no class; give label values such as 0,3"),
    ("cat", "label 'cat' is not one of the checkpoint's classes [0, 1, 2, 3]"),
    ("1,9", "label '9' is not one of the checkpoint's classes [0, 1, 2, 3]"),
])
def test_sample_labels_that_name_no_class_are_one_line(ckpt, tmp_path, labels, message):
    res = CliRunner().invoke(main, ["sample", str(ckpt[0]), "--labels", labels, "--out", str(tmp_path / "a.png")])
    line = _one_error(res, 2)
    assert "'--labels'" in line and message in line


def test_sample_with_fewer_class_names_than_classes_is_one_line(ckpt, tmp_path):
    res = CliRunner().invoke(main, ["sample", str(ckpt[1]), "--n", "8", "--out", str(tmp_path / "a.png")])
    assert "class name" in _one_error(res, 1)
    with pytest.raises(ValueError, match="2 class name"):
        sample_grid(np.zeros((8, 8, 8), np.uint8), np.repeat(np.arange(4), 2), ["a", "b"])


@pytest.mark.parametrize("sections", [{"cells": 5}, {"summary": []}, {"settings": "x"},
                                      {"summary": {"accuracy": [1, 2]}}, {"cells": [{"per_class": "../../x"}]},
                                      {"summary": {"accuracy": [{"condition": "real"}]}}])
def test_report_on_wrongly_typed_sections_is_one_line(tmp_path, sections):
    (tmp_path / "results.json").write_text(json.dumps({"schema": "ganaug-results/1", **sections}))
    res = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert "is not a valid ganaug results file" in _one_error(res, 1)


def test_a_device_ganaug_cannot_run_on_is_named(ckpt, tmp_path):
    res = CliRunner().invoke(main, ["sample", str(ckpt[0]), "--device", "meta", "--out", str(tmp_path / "a.png")])
    line = _one_error(res, 2)
    assert "'--device'" in line and "'meta' is not one ganaug can run on" in line and "checkpoint" not in line
    res = CliRunner().invoke(main, ["evaluate", "--device", "meta", "--out", str(tmp_path / "ev")])
    assert "'meta' is not one ganaug can run on" in _one_error(res, 2)
    with pytest.raises(ValueError, match="'meta' is not one ganaug can run on"):
        resolve_device(torch.device("meta"))
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")


def test_runtime_errors_are_one_line_unless_debug(ckpt, monkeypatch):
    def out_of_memory(path):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail")

    monkeypatch.setattr(checkpoint, "load_checkpoint", out_of_memory)
    res = CliRunner().invoke(main, ["info", str(ckpt[0])])
    line = _one_error(res, 1)
    assert "OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB" in line
    assert "rerun as `ganaug --debug info ...` for the traceback" in line
    res = CliRunner().invoke(main, ["--debug", "info", str(ckpt[0])])
    assert isinstance(res.exception, torch.cuda.OutOfMemoryError)  # the traceback goes through

    monkeypatch.setattr(checkpoint, "load_checkpoint", lambda path: {}["bug"])
    assert "KeyError: 'bug' (rerun as `ganaug --debug info" in _one_error(CliRunner().invoke(main, ["info", str(ckpt[0])]), 1)


def test_info_json_is_standard_json(ckpt, monkeypatch):
    tensors, meta = checkpoint.load_checkpoint(ckpt[0])
    meta["history"] = {"step": [0, 1], "g_loss": [0.5, float("nan")], "d_loss": [float("inf"), 1.0]}
    monkeypatch.setattr(checkpoint, "load_checkpoint", lambda path: (tensors, meta))
    res = CliRunner().invoke(main, ["info", "--json", str(ckpt[0])])
    assert res.exit_code == 0, res.output

    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    parsed = json.loads(res.output, parse_constant=refuse)
    assert parsed["history"]["g_loss"] == [0.5, None] and parsed["history"]["d_loss"] == [None, 1.0]
