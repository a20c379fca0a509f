"""mix_loader under DDP: two gloo processes on the CPU, each with its own DistributedSampler."""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler

from ganaug import ArrayDataset, GANAugmenter, mix_loader

WORLD = 2


def toy_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)  # 40 distinct random images: each real item is known by its pixels
    return rng.integers(0, 256, size=(40, 8, 8), dtype=np.uint8), np.repeat(np.arange(4), 10)


def one_pass(mixed) -> tuple[list[int], np.ndarray]:
    """The real items' indices and the synthetic images of one pass over ``mixed``."""
    index_of = {image.tobytes(): i for i, image in enumerate(toy_data()[0])}
    real, fake = [], []
    for xs, _, mask in mixed:
        real += [index_of[image.numpy().tobytes()] for image in xs[~mask]]
        fake.append(xs[mask].numpy())
    return real, np.concatenate(fake)


def rank_main(rank: int, port: int, out: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(seconds=60))
    try:
        aug = GANAugmenter.load(Path(out) / "a.safetensors", device="cpu", verbose=False)
        data = ArrayDataset(*toy_data())
        sampler = DistributedSampler(data, shuffle=True, seed=0)  # rank and world from the group
        loader = DataLoader(data, batch_size=5, sampler=sampler)
        # "uniform" labels: the synthetic draw does not depend on the rank's real labels.
        mixed = mix_loader(loader, aug, ratio=1.0, labels="uniform", seed=3, return_mask=True)
        assert mixed.sampler is sampler and mixed.dataset is data and mixed.batch_size == 5
        real0, fake0 = one_pass(mixed)  # epoch 0
        again = mix_loader(loader, aug, ratio=1.0, labels="uniform", seed=3, return_mask=True)
        again.set_epoch(0)
        real0b, fake0b = one_pass(again)
        mixed.set_epoch(1)
        real1, fake1 = one_pass(mixed)
        np.savez(Path(out) / f"rank{rank}.npz", real0=real0, fake0=fake0, real0b=real0b, fake0b=fake0b,
                 real1=real1, fake1=fake1)
    finally:
        dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mix_loader_under_ddp_draws_per_rank_reproducible_synthetic_samples(tmp_path):
    x, y = toy_data()
    aug = GANAugmenter(steps=3, batch_size=8, device="cpu", verbose=False, seed=0).fit(x, y)
    aug.save(tmp_path / "a.safetensors")
    mp.spawn(rank_main, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    r0, r1 = (np.load(tmp_path / f"rank{r}.npz") for r in range(WORLD))
    # The sampler splits the real items: disjoint halves that cover the dataset, every epoch.
    for key in ("real0", "real1"):
        assert not set(r0[key]) & set(r1[key]) and len(set(r0[key]) | set(r1[key])) == len(x)
    # Ranks draw different synthetic images; each rank's draw comes back on a rerun of its epoch.
    assert not np.array_equal(r0["fake0"], r1["fake0"])
    for r in (r0, r1):
        np.testing.assert_array_equal(r["fake0b"], r["fake0"])
        np.testing.assert_array_equal(r["real0b"], r["real0"])
        # set_epoch reaches both streams: the sampler's shuffle and the synthetic draw.
        assert r["real1"].tolist() != r["real0"].tolist()
        assert not np.array_equal(r["fake1"], r["fake0"])
