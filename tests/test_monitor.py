"""The mode-collapse monitor and its alarm."""

from __future__ import annotations

import torch

from ganaug import GANAugmenter
from ganaug.models import Generator
from ganaug.training import CollapseMonitor


# -- mode-collapse alarm ---------------------------------------------------------------------
def test_collapse_alarm_fires_on_a_deliberately_collapsed_run(digits, monkeypatch):
    forward = Generator.forward
    monkeypatch.setattr(Generator, "forward", lambda self, z, c: forward(self, torch.zeros_like(z), c))
    aug = GANAugmenter(steps=40, batch_size=32, monitor_every=20, verbose=False).fit(digits)
    assert sorted(aug.monitor_[-1]["collapsed"]) == list(range(10))  # noise ignored: one image per class


def test_collapse_alarm_is_quiet_on_a_healthy_run(small_aug):
    assert small_aug.monitor_[-1]["collapsed"] == []


def test_collapse_alarm_is_quiet_on_a_default_few_shot_run(digits):
    from ganaug.data import few_shot

    subset, _ = few_shot(digits, 10, seed=0)  # few images: the default resolves to the matching network
    aug = GANAugmenter(seed=0, verbose=False).fit(subset)
    assert aug.config_.loss == "mmd" and aug.n_steps_ == aug.config_.steps
    assert all(check["collapsed"] == [] for check in aug.monitor_)


def test_collapse_monitor_fires_on_identical_samples_only():
    torch.manual_seed(0)
    real = torch.rand(40, 1, 8, 8)
    labels = torch.arange(40) % 2
    monitor = CollapseMonitor.from_data(real, labels)
    healthy = monitor.check(1, {0: torch.rand(20, 1, 8, 8), 1: torch.rand(20, 1, 8, 8)})
    assert healthy["collapsed"] == []
    collapsed = monitor.check(2, {0: torch.rand(1, 1, 8, 8).repeat(20, 1, 1, 1), 1: torch.rand(20, 1, 8, 8)})
    assert collapsed["collapsed"] == [0] and monitor.alarm == [0]
