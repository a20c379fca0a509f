"""PNG figures for reports: sample grids, GAN training curves and evaluation summaries.

All functions use the Agg backend (no display needed) and return the figure, or save it to
``path`` and return that path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
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
    """One row per class, ``per_class`` images each; saved to ``path`` when given.

    Raises:
        ValueError: ``class_names`` does not hold one name per class.
    """
    classes = np.unique(labels) if classes is None else np.asarray(classes)
    names = class_names or [str(c) for c in classes]
    if len(names) != len(classes):
        raise ValueError(f"sample_grid got {len(names)} class name(s) for {len(classes)} classes; "
                         "give one name per class (or none)")
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


def diversity_curves(monitor: list[dict], threshold: float | None, path: str | Path | None = None) -> Any:
    """Per-class diversity ratio (generated / real) over training, with the alarm threshold
    (none drawn when it is None)."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    if monitor:
        steps = [m["step"] for m in monitor]
        for c in monitor[0]["ratios"]:
            ax.plot(steps, [m["ratios"][c] for m in monitor], label=str(c), lw=1)
    if threshold is not None:
        ax.axhline(threshold, color="red", ls="--", lw=1, label="collapse alarm")
    ax.set_xlabel("generator step")
    ax.set_ylabel("diversity / real diversity")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return _finish(fig, path)


def accuracy_curves(
    summary_accuracy: list[dict], conditions: list[str], path: str | Path | None = None
) -> Any:
    """Test accuracy (%) against real samples per class, one line and 95% band per condition.

    Args:
        summary_accuracy: ``summary.accuracy`` rows (fractions, with ``ci_low``/``ci_high``).
        conditions: the order to draw conditions in; those without rows are skipped.
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    ticks: set[int] = set()
    for i, cond in enumerate(conditions):
        rows = [r for r in summary_accuracy if r["condition"] == cond]
        rows.sort(key=lambda r: r["per_class"])
        if not rows:
            continue
        x = [r["per_class"] for r in rows]
        ticks.update(x)
        mean, low, high = (100 * _floats(rows, key) for key in ("mean", "ci_low", "ci_high"))
        color = f"C{i}"
        ax.plot(x, mean, marker="o", ms=4, color=color, label=cond)
        ax.fill_between(x, low, high, color=color, alpha=0.15, lw=0)
    if ticks:
        # Few-shot sizes are roughly geometric (5, 10, 20, 50): a log axis spaces them evenly,
        # but the ticks must read as the sizes actually run, not as powers of ten.
        ax.set_xscale("log")
        ax.set_xticks(sorted(ticks))
        ax.set_xticklabels([str(t) for t in sorted(ticks)])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.legend(fontsize=8)
    ax.set_xlabel("real samples per class")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.set_title("accuracy with 95% interval over seeds", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def gain_bars(
    summary_gains: list[dict], path: str | Path | None = None, conditions: list[str] | None = None
) -> Any:
    """Paired gain over each baseline in percentage points, with 95% interval error bars.

    Bars are grouped by samples per class; one bar per (condition, baseline) pair. Given the
    ``conditions`` order used for `accuracy_curves`, each condition keeps its colour there;
    gains over a baseline other than "real" are hatched.
    """
    sizes = sorted({r["per_class"] for r in summary_gains})
    pairs = list(dict.fromkeys((r["condition"], r["baseline"]) for r in summary_gains))
    by_key = {(r["per_class"], r["condition"], r["baseline"]): r for r in summary_gains}
    width = 0.8 / max(len(pairs), 1)
    fig, ax = plt.subplots(figsize=(min(13.0, max(7.0, 0.25 * len(sizes) * len(pairs) + 4)), 4))
    for j, (cond, base) in enumerate(pairs):
        rows = [by_key.get((n, cond, base)) for n in sizes]
        xs = [i + (j - (len(pairs) - 1) / 2) * width for i, r in enumerate(rows) if r]
        rows = [r for r in rows if r]
        mean, low, high = (100 * _floats(rows, key) for key in ("mean", "ci_low", "ci_high"))
        # Undefined intervals (one seed) draw no whisker rather than a misleading zero-width one.
        yerr = np.nan_to_num(np.vstack([mean - low, high - mean]), nan=0.0)
        color = f"C{conditions.index(cond)}" if conditions and cond in conditions else f"C{j}"
        ax.bar(xs, mean, width * 0.9, yerr=yerr, capsize=3, color=color, edgecolor="white",
               hatch=None if base == "real" else "///", label=f"{cond} vs {base}")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([str(n) for n in sizes])
    ax.set_xlabel("real samples per class")
    ax.set_ylabel("gain (percentage points)")
    ax.grid(axis="y", alpha=0.3)
    if pairs:
        # Outside the axes: with many pairs any inside spot covers a bar or a whisker.
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.set_title("paired gain with 95% interval", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def per_class_delta_heatmap(
    per_class_delta: list[dict], class_names: list[str] | None = None, path: str | Path | None = None
) -> Any:
    """Per-class accuracy change (percentage points) of each condition over its baseline.

    Rows are (samples per class, condition vs baseline), columns are classes; the colour scale is
    centred at zero so gains and losses read as two hues.
    """
    rows = sorted(per_class_delta, key=lambda r: r["per_class"])
    values = 100 * np.array([r["deltas"] for r in rows], dtype=float).reshape(len(rows), -1)
    n_classes = values.shape[1]
    if not class_names or len(class_names) != n_classes:
        class_names = [str(c) for c in range(n_classes)]
    labels = [f"n={r['per_class']}  {r['condition']} vs {r['baseline']}" for r in rows]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * n_classes + 3), 0.38 * len(rows) + 1.4))
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    norm = matplotlib.colors.TwoSlopeNorm(0.0, -max(limit, 1e-9), max(limit, 1e-9))
    im = ax.imshow(values, cmap="RdBu", norm=norm, aspect="auto")
    ax.set_xticks(range(n_classes))
    ax.set_xticklabels(class_names, fontsize=8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("class")
    if n_classes <= 30:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                # Dark cells get white text so the number stays legible at either end of the scale.
                color = "white" if abs(v) > 0.6 * limit else "black"
                label = f"{round(v, 1) or 0.0:+.1f}"  # "or 0.0" turns -0.0 into +0.0
                ax.text(j, i, label, ha="center", va="center", fontsize=7, color=color)
    fig.colorbar(im, ax=ax, label="percentage points", fraction=0.04, pad=0.02)
    ax.set_title("per-class accuracy change over baseline", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path)


def per_class_recall(
    scores: list[dict],
    counts: dict[Any, list[float]],
    conditions: list[str],
    class_names: list[str] | None = None,
    path: str | Path | None = None,
) -> Any:
    """Test recall (%) of every class under each condition, one panel per imbalance ratio.

    Args:
        scores: ``summary.scores`` rows of a long-tail run (``imbalance``, ``condition``,
            ``per_class_recall``).
        counts: mean training images per class, by imbalance ratio; classes are drawn from the
            most to the least frequent, so the tail is on the right.
        conditions: the order (and colours) of the conditions.
    """
    settings = sorted({r["imbalance"] for r in scores}, key=lambda v: (isinstance(v, str), v))
    fig, axes = plt.subplots(1, max(1, len(settings)), figsize=(max(7.0, 5.5 * len(settings)), 4), squeeze=False)
    for ax, setting in zip(axes[0], settings, strict=False):
        rows = {r["condition"]: r for r in scores if r["imbalance"] == setting}
        n_classes = len(next(iter(rows.values()))["per_class_recall"]) if rows else 0
        count = counts.get(setting) or [0.0] * n_classes
        order = np.argsort(-np.asarray(count), kind="stable")
        names = class_names if class_names and len(class_names) == n_classes else [str(c) for c in range(n_classes)]
        for i, cond in enumerate(conditions):
            if cond in rows:
                recall = 100 * np.asarray(rows[cond]["per_class_recall"], dtype=float)[order]
                ax.plot(range(n_classes), recall, marker="o", ms=3, lw=1.2, color=f"C{i % 10}",
                        ls="-" if i < 10 else "--", label=cond)
        ax.set_xticks(range(n_classes))
        ax.set_xticklabels([f"{names[c]}\n({count[c]:.0f})" for c in order], fontsize=7)
        title = "its own imbalance" if setting == "natural" else f"imbalance ratio {setting:g}"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("class (training images)")
        ax.set_ylabel("test recall (%)")
        ax.grid(alpha=0.3)
    if settings:
        axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return _finish(fig, path)


def _floats(rows: list[dict], key: str) -> np.ndarray:
    """Column ``key`` as floats; missing or null entries become NaN."""
    return np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)


def _finish(fig: Any, path: str | Path | None) -> Any:
    if path is None:
        return fig
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
