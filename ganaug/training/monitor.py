"""Mode-collapse monitor: per-class diversity of generated samples against the real ones."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

# Below this ratio of generated to real diversity a class raises the collapse alarm; results
# files record it, so a report never assumes it.
COLLAPSE_THRESHOLD = 0.35


def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between distinct rows of ``x`` (flattened images)."""
    flat = x.reshape(len(x), -1).float()
    if len(flat) < 2:
        return 0.0
    d = torch.cdist(flat, flat)
    n = len(flat)
    return float(d.sum() / (n * (n - 1)))


@dataclass
class CollapseMonitor:
    """Tracks, for each class, diversity(generated) / diversity(real).

    A ratio near 1 means samples spread like the real class; a ratio under ``threshold``
    raises the alarm for that class: the generator draws (nearly) one image whatever ``z``.
    """

    real_diversity: dict[int, float]
    threshold: float = COLLAPSE_THRESHOLD
    history: list[dict] = field(default_factory=list)

    @classmethod
    def from_data(cls, x: torch.Tensor, y: torch.Tensor, threshold: float = COLLAPSE_THRESHOLD) -> CollapseMonitor:
        div = {}
        for c in torch.unique(y).tolist():
            div[int(c)] = mean_pairwise_distance(x[y == c][:256])
        return cls(div, threshold)

    def check(self, step: int, samples_by_class: dict[int, torch.Tensor]) -> dict:
        ratios = {
            c: mean_pairwise_distance(s) / max(self.real_diversity.get(c, 0.0), 1e-8)
            for c, s in samples_by_class.items()
        }
        # "not r >= threshold": a NaN ratio (samples gone NaN) raises the alarm instead of
        # passing every comparison silently.
        collapsed = sorted(c for c, r in ratios.items() if not r >= self.threshold)
        record = {"step": step, "ratios": ratios, "collapsed": collapsed}
        self.history.append(record)
        return record

    @property
    def alarm(self) -> list[int]:
        """Classes collapsed at the last check."""
        return self.history[-1]["collapsed"] if self.history else []
