"""PNG figures: sample grids per class and GAN loss curves (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def sample_grid(
    images: np.ndarray,
    labels: np.ndarray,
    class_names: list[str] | None = None,
    classes: np.ndarray | None = None,
    per_class: int = 10,
    path: str | Path | None = None,
    title: str | None = None,
) -> Any:
    """One row per class, ``per_class`` images each; saved to ``path`` when given."""
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    names = class_names or [str(c) for c in classes]
    rows, cols = len(classes), per_class
    size = 0.6 if images.shape[1] <= 16 else 0.8
    fig, axes = plt.subplots(rows, cols, figsize=(cols * size + 0.8, rows * size + 0.4), squeeze=False)
    cmap = "gray" if images.ndim == 3 else None
    for r, c in enumerate(classes):
        picked = images[labels == c][:cols]
        for k in range(cols):
            ax = axes[r, k]
            ax.axis("off")
            if k < len(picked):
                ax.imshow(picked[k], cmap=cmap, interpolation="nearest")
        axes[r, 0].text(-0.3, 0.5, names[r], transform=axes[r, 0].transAxes, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.subplots_adjust(left=0.08, right=0.99, top=0.94 if title else 0.99, bottom=0.01, wspace=0.05, hspace=0.05)
    return _finish(fig, path)


def loss_curves(history: dict[str, list], path: str | Path | None = None, title: str | None = None) -> Any:
    """Discriminator and generator losses, and D's mean output on real and fake, over steps."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    steps = history["step"]
    ax1.plot(steps, history["d_loss"], label="D loss")
    ax1.plot(steps, history["g_loss"], label="G loss")
    ax1.set_xlabel("generator step")
    ax1.legend()
    ax1.set_title("losses", fontsize=10)
    ax2.plot(steps, history["d_real"], label="D(real)")
    ax2.plot(steps, history["d_fake"], label="D(fake)")
    ax2.set_xlabel("generator step")
    ax2.legend()
    ax2.set_title("discriminator output", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def diversity_curves(monitor: list[dict], threshold: float, path: str | Path | None = None) -> Any:
    """Per-class diversity ratio (generated / real) over training, with the alarm threshold."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if monitor:
        steps = [m["step"] for m in monitor]
        for c in monitor[0]["ratios"]:
            ax.plot(steps, [m["ratios"][c] for m in monitor], label=str(c), lw=1)
    ax.axhline(threshold, color="red", ls="--", lw=1, label="collapse alarm")
    ax.set_xlabel("generator step")
    ax.set_ylabel("diversity / real diversity")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return _finish(fig, path)


def _finish(fig: Any, path: str | Path | None) -> Any:
    if path is None:
        return fig
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
