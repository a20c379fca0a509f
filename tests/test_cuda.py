"""The same code paths on a GPU: every objective and remedy trains there, and its results move to a CPU.

Marked ``gpu``, so the default test command leaves them out, and skipped where CUDA is missing (CI
has no GPU). On a machine with one: ``python -m pytest -m gpu``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganaug import GANAugmenter
from ganaug.training.classifier import TorchClassifier
from ganaug.utils import machine, resolve_device

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


@pytest.fixture(scope="module")
def digits_arrays(digits):
    return digits.data, digits.targets


@pytest.mark.parametrize(
    "options",
    [
        {"loss": "hinge", "lecam_weight": 0.3, "minibatch_std": True},
        {"loss": "nonsaturating", "r1_gamma": 1.0, "aux_weight": 1.0},
        {"loss": "minimax", "unrolled_steps": 2},
        {"loss": "hinge", "conditioning": "per-class"},
        {"loss": "mmd", "mmd_feature_weight": 1.0},
    ],
    ids=lambda o: "+".join(f"{k}={v}" for k, v in o.items()),
)
def test_every_objective_trains_on_cuda_and_samples_reproducibly(digits_arrays, options):
    x, y = digits_arrays
    aug = GANAugmenter(steps=40, batch_size=32, monitor_every=20, device="cuda", verbose=False, seed=0, **options)
    aug.fit(x[:300], y[:300], image_shape=(8, 8))
    assert all(p.device.type == "cuda" for p in aug.generator_.parameters())
    assert all(np.isfinite(v).all() for v in aug.history_.values() if len(v))
    a, la = aug.sample(30, seed=3)
    b, lb = aug.sample(30, seed=3)
    assert a.shape == (30, 8, 8) and a.dtype == x.dtype
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)


def test_a_cuda_checkpoint_loads_on_cpu_with_the_same_generator(digits_arrays, tmp_path):
    x, y = digits_arrays
    aug = GANAugmenter(steps=30, batch_size=32, device="cuda", verbose=False, seed=1).fit(x[:200], y[:200], image_shape=(8, 8))
    path = aug.save(tmp_path / "gan.safetensors")
    cpu = GANAugmenter.load(path, device="cpu", verbose=False)
    assert next(cpu.generator_.parameters()).device.type == "cpu"
    c = torch.arange(10)
    z = torch.randn(10, aug.generator_.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        on_gpu = aug.generator_(z.cuda(), c.cuda()).cpu()
        on_cpu = cpu.generator_(z, c)
    # TF32 convolutions on the GPU: equal to well within one grey level (2/255 in [-1, 1])
    torch.testing.assert_close(on_gpu, on_cpu, atol=2e-3, rtol=0)


def test_classifier_trains_on_cuda(digits, digits_test):
    clf = TorchClassifier(steps=150, seed=0, device="cuda").fit(digits.data, digits.targets)
    assert next(clf.model_.parameters()).device.type == "cuda"
    assert clf.score(digits_test.data, digits_test.targets) > 0.8


def test_auto_picks_the_gpu_and_the_machine_names_it():
    assert resolve_device("auto").type == "cuda"
    assert torch.cuda.get_device_name(0) in machine("cuda")
    assert torch.cuda.get_device_name(0) not in machine("cpu")
