"""The grid runner: every (setting, seed) cell of a scenario under every condition, each
finished cell written to ``out/cells/`` at once, so a killed run resumes where it stopped.

Evaluation computes and stores; it renders nothing. Sample images go to ``out/samples/`` as
arrays, which `ganaug.report` draws.

A folder holds one run: its cells are keyed by the settings and by a fingerprint of the data,
and a run whose key differs from the folder's cells or results.json is refused unless asked to
overwrite them (then they are removed first), so no result is silently replaced or mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ganaug.augmenter import GANAugmenter
from ganaug.data import ArrayDataset
from ganaug.evaluation.augment import background_value
from ganaug.evaluation.conditions import Cell, train_and_score, train_gan, validation_scores
from ganaug.evaluation.config import CONFIG_FILE, SCHEMA, EvalConfig
from ganaug.evaluation.imbalanced import SMOTE_MISSING, smote_available
from ganaug.evaluation.scenarios import get_scenario
from ganaug.training.monitor import COLLAPSE_THRESHOLD
from ganaug.utils import dump_json, machine, resolve_device, versions


class _Run:
    """What a run shares across its cells: the data, the output folder, the metrics' network."""

    def __init__(self, config: EvalConfig, out: Path, classifier_factory: Callable | None) -> None:
        self.config, self.out, self.classifier_factory = config, out, classifier_factory
        self.scenario = get_scenario(config.scenario)
        self.splits = self.scenario.prepare(config)
        self.n_classes = len(self.splits.pool.classes)
        self.fingerprint = data_fingerprint(self.splits)
        self.key = config.cell_key(self.fingerprint)
        # Conditions whose optional dependency is missing are skipped, with the reason recorded.
        self.skipped = {c: SMOTE_MISSING for c in config.conditions if c == "smote+classical" and not smote_available()}
        for reason in self.skipped.values():
            warnings.warn(f"skipping smote+classical: {reason}", stacklevel=3)
        self.conditions = tuple(c for c in config.conditions if c not in self.skipped)
        self.host = machine(config.device)
        self._extractor: Any = None

    def extractor(self) -> Any:
        """The metrics' feature network, trained on the pool once per run (when first needed)."""
        if self._extractor is None:
            from ganaug.evaluation.metrics import fit_feature_extractor

            pool = self.splits.pool
            self._extractor = fit_feature_extractor(
                pool.data, pool.targets, seed=0, steps=self.config.feature_steps, device=self.config.device
            )
        return self._extractor


def run_evaluation(
    config: EvalConfig,
    out_dir: str | Path,
    progress: bool = True,
    classifier_factory: Callable[[int], Any] | None = None,
    on_cell_done: Callable[[dict], None] | None = None,
    command: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Run (or resume) the whole grid and write ``out_dir/results.json``.

    Args:
        config: the settings.
        out_dir: where ``cells/``, ``samples/`` and ``results.json`` go. Cells already there,
            made with the same settings and data, are reused rather than recomputed; the grid
            (sizes, seeds, conditions) may differ from the earlier run's.
        progress: show a progress bar over every (cell, condition).
        classifier_factory: ``seed -> estimator`` with ``fit(X, y)``/``predict(X)`` on uint8
            image arrays, replacing ``config.classifier`` (Python API only).
        on_cell_done: called with each finished cell's record.
        command: the command line, recorded in results.json.
        overwrite: when ``out_dir`` holds cells or a results.json made with other settings or
            data, remove them (with their samples, checkpoints and report) and run; without
            it such a folder is refused. Cells made with the same settings are kept either way.

    Returns:
        The results dict (also written as JSON).

    Raises:
        ValueError: bad settings (a device this machine lacks, a size the pool cannot fill), or
            ``out_dir`` holds another run and ``overwrite`` is False.
        OSError: ``out_dir`` cannot be written.
    """
    out = Path(out_dir)
    # Everything that can be checked is, before the first cell: a failure after it loses work.
    resolve_device(config.device)
    _check_writable(out, config.needs_gan)
    run = _Run(config, out, classifier_factory)
    _claim_folder(out, run.key, overwrite)
    (out / CONFIG_FILE).write_text(dump_json(config.to_dict(), indent=2) + "\n")
    grid = [(n, s) for n in run.scenario.settings(config) for s in config.seeds]
    bar = tqdm(total=len(grid) * len(run.conditions), disable=not progress, desc="evaluate", unit="run", dynamic_ncols=True)
    cells, started = [], time.perf_counter()
    for n, seed in grid:
        path = out / "cells" / f"{run.scenario.cell_name(n, seed)}.json"
        record = _load_cell(path, run.key, run.conditions)
        if record is None:
            record = _run_cell(run, n, seed, bar)
            _write_json(path, record)
            if on_cell_done is not None:
                on_cell_done(record)
        else:
            bar.update(len(run.conditions))
        cells.append(record)
    bar.close()
    results = _results(run, cells, command, time.perf_counter() - started)
    _write_json(out / "results.json", results)
    return results


def _run_cell(run: _Run, n: Any, seed: int, bar: tqdm) -> dict[str, Any]:
    """Train the cell's GAN and every condition's classifier; the cell's record.

    ``n`` is the cell's setting: real images per class (few-shot), an imbalance ratio (long-tail).
    """
    config, started, label = run.config, time.perf_counter(), run.scenario.describe(n)
    bar.set_description(f"{label} seed={seed}: GAN")
    subset, record = run.scenario.draw(run.splits, n, seed)
    record["key"] = run.key
    aug = None
    if config.needs_gan:
        aug = train_gan(subset, config, seed)
        record |= _gan_record(run, aug, subset, n, seed, bar)
    cell = Cell(n, seed, subset, aug, background_value(run.splits.pool.data))
    record["results"] = results = {}
    for cond in run.conditions:
        bar.set_description(f"{label} seed={seed}: {cond}")
        results[cond] = train_and_score(cond, cell, run.splits.test, config, run.n_classes, run.classifier_factory, done=results)
        bar.update(1)
    if run.scenario.NAME == "long-tail":
        # What the "best-non-generative" baseline is chosen by: CV on the training set, not the test set.
        bar.set_description(f"{label} seed={seed}: validation")
        record["validation"] = validation_scores(cell, config, run.n_classes, results)
    record["wall_seconds"] = round(time.perf_counter() - started, 2)
    record["machine"] = run.host
    return record


def _gan_record(run: _Run, aug: GANAugmenter, subset: ArrayDataset, n: Any, seed: int, bar: tqdm) -> dict[str, Any]:
    """Save the cell's GAN and samples of it; its training summary and generative metrics."""
    config, name = run.config, run.scenario.cell_name(n, seed)
    aug.save(run.out / "checkpoints" / f"{name}.safetensors", training_state=False)
    images, labels = aug.sample(10 * len(aug.classes_), seed=seed)
    samples = run.out / "samples" / f"{name}.npz"
    samples.parent.mkdir(exist_ok=True)
    np.savez_compressed(
        samples, images=images, labels=labels, classes=aug.classes_, class_names=np.array(aug.class_names_),
        title=np.array(f"{config.dataset}: GAN trained on {run.scenario.describe(n)}, seed {seed}"),
    )
    record: dict[str, Any] = {
        "samples": f"samples/{name}.npz",
        "gan": {
            "loss": aug.config_.loss, "steps": aug.n_steps_, "train_seconds": round(aug.train_seconds_, 2),
            "history": aug.history_, "monitor": aug.monitor_,
            "collapsed": aug.monitor_[-1]["collapsed"] if aug.monitor_ else [],
        },
    }
    if config.metrics:
        from ganaug.evaluation.metrics import generative_metrics

        if run._extractor is None:
            bar.set_description("feature space for metrics")
        extractor = run.extractor()
        fake, fake_y = aug.sample(config.metric_samples, seed=seed + 10_000)
        test = run.splits.test
        record["metrics"] = generative_metrics(extractor, test.data, test.targets, fake, fake_y, subset.data, seed=seed)
    return record


def _results(run: _Run, cells: list[dict], command: str | None, seconds: float) -> dict[str, Any]:
    config, splits = run.config, run.splits
    return {
        "schema": SCHEMA,
        "scenario": run.scenario.NAME,
        "cell_key": run.key,
        "data_fingerprint": run.fingerprint,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "versions": versions(),
        "device": str(resolve_device(config.device)),
        "machine": run.host,
        "wall_seconds": round(seconds, 2),
        "cell_seconds": round(sum(c["wall_seconds"] for c in cells), 2),
        "collapse_threshold": COLLAPSE_THRESHOLD,
        "settings": config.to_dict() | {"gan": config.gan.to_dict()} | run.scenario.settings_record(splits),
        **({"skipped_conditions": run.skipped} if run.skipped else {}),
        "cells": cells,
        "summary": run.scenario.summarize(cells, run.conditions, run.n_classes),
    }


def _load_cell(path: Path, key: str, conditions: tuple[str, ...]) -> dict | None:
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None  # a cell cut off mid-write is recomputed
    if record.get("key") != key or not set(conditions) <= set(record.get("results", {})):
        return None
    record["results"] = {c: record["results"][c] for c in conditions}
    return record


def _write_json(path: Path, obj: Any) -> None:
    """Write standard JSON (NaN and infinities as null) atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # workers sharing a run folder never collide
    tmp.write_text(dump_json(obj) + "\n")
    tmp.replace(path)


def data_fingerprint(splits: Any) -> str:
    """SHA-256 (16 hex digits) of the pool's and the test set's pixels and labels, in order.

    Part of every cell's key: a dataset file replaced under the same name gives other cells.
    """
    digest = hashlib.sha256()
    for part in (splits.pool, splits.test):
        for array in (part.data, part.targets):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape};".encode())
            digest.update(array.data)
    return digest.hexdigest()[:16]


def _check_writable(out: Path, needs_gan: bool) -> None:
    """Fail before any work when the run could not write its files (its cells would be lost)."""
    folders = [out, out / "cells", *((out / "samples", out / "checkpoints") if needs_gan else ())]
    try:
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".ganaug-write-test.{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        for name in ("results.json", CONFIG_FILE):
            if (out / name).exists() and not (out / name).is_file():
                raise IsADirectoryError(21, "it exists and is not a file", str(out / name))
    except OSError as err:
        where = err.filename or out
        raise type(err)(f"cannot write the evaluation to {out}: {where}: {err.strerror or err}") from None


# What a run writes at the folder's top level from its cells; replaced with its results.json.
_REPORT_FILES = ("results.json", "report.md", "report.html")


def _claim_folder(out: Path, key: str, overwrite: bool) -> None:
    """Refuse a folder whose cells or results.json were made with other settings or data; with
    ``overwrite``, remove them first (their samples, checkpoints and report too)."""
    others = [p for p in sorted((out / "cells").glob("*.json")) if _stored_key(p, "key") not in (key, None)]
    results = out / "results.json"
    stale = results.is_file() and _stored_key(results, "cell_key") != key
    if not others and not stale:
        return
    if not overwrite:
        held = ", ".join(part for part in (f"{len(others)} cell(s)" if others else "", "results.json" if stale else "") if part)
        raise ValueError(f"{out} holds an evaluation made with other settings or data ({held}); "
                         "use another --out, or --overwrite (overwrite=True) to replace it")
    for cell in others:
        for path in (cell, out / "samples" / f"{cell.stem}.npz", out / "checkpoints" / f"{cell.stem}.safetensors",
                     out / "checkpoints" / f"{cell.stem}.json"):
            path.unlink(missing_ok=True)
    if stale:
        for name in _REPORT_FILES:
            (out / name).unlink(missing_ok=True)
        shutil.rmtree(out / "figures", ignore_errors=True)


def _stored_key(path: Path, field: str) -> str | None:
    """The key a cell or results file records; None for a file cut off mid-write (recomputed)."""
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record.get(field, "") if isinstance(record, dict) else ""
