"""Reports: an evaluation ``results.json`` rendered as Markdown and self-contained HTML, with plots."""

from ganaug.report.plots import (
    accuracy_curves,
    diversity_curves,
    gain_bars,
    loss_curves,
    per_class_delta_heatmap,
    per_class_recall,
    sample_grid,
)
from ganaug.report.render import write_report

__all__ = [
    "accuracy_curves",
    "diversity_curves",
    "gain_bars",
    "loss_curves",
    "per_class_delta_heatmap",
    "per_class_recall",
    "sample_grid",
    "write_report",
]
