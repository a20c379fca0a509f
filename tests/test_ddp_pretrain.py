"""Pretraining under DDP: 2 gloo processes on the CPU, through torchrun and through the Python API."""

from __future__ import annotations

import datetime
import gc
import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ganaug import GANAugmenter
from ganaug.training.checkpoint import load_checkpoint

WORLD = 2
ROOT = Path(__file__).resolve().parents[1]
TINY = {"batch_size": 8, "z_dim": 8, "g_channels": 32, "d_channels": 16, "device": "cpu", "seed": 0}


def toy_data(n_classes: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).integers(0, 256, size=(10 * n_classes, 8, 8), dtype=np.uint8)
    return x, np.repeat(np.arange(n_classes), 10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pretrain_runs_unchanged_under_torchrun(tmp_path):
    out = tmp_path / "run"
    env = os.environ | {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD),
               "-m", "ganaug", "pretrain", "--dataset", "digits", "--per-class", "5", "--steps", "4",
               "--loss", "hinge", "--checkpoint-every", "2", "--device", "cpu", "--out", str(out)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-4000:]
    assert run.stdout.count("training on digits") == 1 and run.stdout.count("done in") == 1  # rank 0 alone speaks
    names = sorted(p.name for p in out.iterdir())
    assert names == ["augmenter.json", "augmenter.safetensors", "config.json", "diversity.png", "losses.png", "samples.png"]
    assert load_checkpoint(out / "augmenter.safetensors")[1]["trainer"]["world_size"] == WORLD
    aug = GANAugmenter.load(out, device="cpu")
    images, labels = aug.sample(20, seed=0)
    assert aug.n_steps_ == 4 and images.shape == (20, 8, 8) and set(labels.tolist()) == set(range(10))


def params_sha256(tensors: dict[str, torch.Tensor], names: set[str]) -> str:
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(tensors[name].detach().contiguous().numpy().tobytes())
    return digest.hexdigest()


def rank_main(rank: int, port: int, out: str, params: dict) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    # A generous timeout: on a loaded 2-core machine one rank can wait long for the other.
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=300))
    try:
        params = dict(params)
        if params.get("init"):
            params["init"] = str(Path(out) / params["init"])
        aug = GANAugmenter(**TINY | params).fit(*toy_data(3, seed=1), checkpoint=Path(out) / f"rank{rank}.safetensors",
                                                checkpoint_every=2)
        tensors, meta = aug._training_state
        # Parameters, not buffers: each rank's batch-norm statistics are its own batches' until
        # DDP broadcasts rank 0's before the next forward pass.
        trained = {f"generator.{k}" for k, _ in aug.generator_.named_parameters()}
        trained |= {k for k in tensors if k.startswith("discriminator.") and not k.endswith(("_u", "_v"))}
        mine = {"params": params_sha256(tensors, trained), "d_loss": aug.history_["d_loss"],
                "g_loss": aug.history_["g_loss"], "opt_g": len(meta["opt_g"]["param_groups"][0]["params"])}
        gathered = [None] * WORLD
        dist.all_gather_object(gathered, mine)
        if rank == 0:
            (Path(out) / "ranks.json").write_text(json.dumps(gathered))
        del aug, tensors
        gc.collect()  # DDP's reducers (and their threads) go before the group they talk over
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("params", [{"loss": "hinge", "steps": 4},
                                    {"loss": "mmd", "steps": 4, "init": "src.safetensors", "train_layers": "embeddings+norms"}],
                         ids=["hinge", "mmd-fine-tune"])
def test_ddp_fit_keeps_the_ranks_in_step_and_writes_one_checkpoint(tmp_path, params):
    if "init" in params:
        GANAugmenter(loss="hinge", steps=2, **TINY).fit(*toy_data()).save(tmp_path / "src.safetensors")
    mp.spawn(rank_main, args=(free_port(), str(tmp_path), params), nprocs=WORLD, join=True)
    ranks = json.loads((tmp_path / "ranks.json").read_text())
    assert ranks[0]["params"] == ranks[1]["params"]  # gradients averaged: one model on every rank
    assert ranks[0]["g_loss"] != ranks[1]["g_loss"]  # but each rank drew batches of its own
    assert ranks[0]["opt_g"] == ranks[1]["opt_g"]
    assert (tmp_path / "rank0.safetensors").is_file() and not (tmp_path / "rank1.safetensors").exists()
    assert not list(tmp_path.glob("*.tmp"))
    aug = GANAugmenter.load(tmp_path / "rank0.safetensors", device="cpu")
    assert aug.n_steps_ == 4 and aug.sample(6)[0].shape == (6, 8, 8)
