"""The grid runner: every (setting, seed) cell of a scenario under every condition, each
finished cell written to ``out/cells/`` at once, so a killed run resumes where it stopped.

Evaluation computes and stores; it renders nothing. Sample images go to ``out/samples/`` as
arrays, which `ganaug.report` draws.

A folder holds one run: its cells are keyed by the settings and by a fingerprint of the data,
and a run whose key differs from the folder's cells or results.json is refused unless asked to
overwrite them (then they are removed first), so no result is silently replaced or mixed in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ganaug.augmenter import GANAugmenter
from ganaug.data import ArrayDataset
from ganaug.evaluation.augment import background_value
from ganaug.evaluation.cache import dataset_digest
from ganaug.evaluation.conditions import Cell, train_and_score, train_gan, validation_scores
from ganaug.evaluation.config import (
    CONFIG_FILE,
    GENERATOR_OF,
    SCHEMA,
    EvalConfig,
    auto_classifier_steps,
)
from ganaug.evaluation.imbalanced import SMOTE_MISSING, smote_available
from ganaug.evaluation.parallel import check_picklable, run_cells
from ganaug.evaluation.scenarios import get_scenario
from ganaug.training.monitor import COLLAPSE_THRESHOLD
from ganaug.utils import dump_json, machine, resolve_device, torch_threads, versions


class _Run:
    """What a run shares across its cells: the data, the output folder, the metrics' network."""

    def __init__(self, config: EvalConfig, out: Path, classifier_factory: Callable | None, progress: bool = False) -> None:
        self.config, self.out, self.classifier_factory = config, out, classifier_factory
        self.scenario = get_scenario(config.scenario)
        self.splits = self.scenario.prepare(config, progress=progress)
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

    def __getstate__(self) -> dict:
        # For worker processes: a module does not pickle, its name does.
        return self.__dict__ | {"scenario": self.scenario.NAME}

    def __setstate__(self, state: dict) -> None:
        self.__dict__ = state | {"scenario": get_scenario(state["scenario"])}

    def extractor(self) -> Any:
        """The metrics' feature network, trained on the pool when first needed (once per run,
        and once across runs of the same data: `ganaug.evaluation.cache`)."""
        if self._extractor is None:
            from ganaug.evaluation.cache import cached_extractor, feature_key
            from ganaug.evaluation.metrics import fit_feature_extractor

            pool, steps, device = self.splits.pool, self.config.feature_steps, self.config.device
            key = feature_key(self.fingerprint, pool.image_shape, self.n_classes, steps, 0, device)
            self._extractor = cached_extractor(
                key, lambda: fit_feature_extractor(pool.data, pool.targets, seed=0, steps=steps, device=device), device
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
    jobs: int = 1,
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
        jobs: cells run at once, each in its own process with ``config.threads`` torch threads
            (`ganaug.evaluation.parallel`); the numbers are the same at any ``jobs``.

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
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a whole number >= 1, got {jobs!r}")
    if jobs > 1:
        check_picklable(classifier_factory)
    _check_writable(out, config.needs_gan)
    with torch_threads(config.threads):
        run = _Run(config, out, classifier_factory, progress)
        _claim_folder(out, run.key, overwrite)
        (out / CONFIG_FILE).write_text(dump_json(config.to_dict(), indent=2) + "\n")
        started = time.perf_counter()
        cells = _run_grid(run, jobs, progress, on_cell_done)
    results = _results(run, cells, command, time.perf_counter() - started)
    _write_json(out / "results.json", results)
    return results


def _run_grid(run: _Run, jobs: int, progress: bool, on_cell_done: Callable | None) -> list[dict]:
    """Every cell's record in grid order: read from ``cells/`` when done, else computed (and
    written there as soon as it is), ``jobs`` at a time."""
    config = run.config
    grid = [(n, s) for n in run.scenario.settings(config) for s in config.seeds]
    done = {(n, s): _load_cell(_cell_path(run, n, s), run.key, run.conditions) for n, s in grid}
    pending = [cell for cell, record in done.items() if record is None]
    bar = tqdm(total=len(grid) * len(run.conditions), disable=not progress, desc="evaluate", unit="run", dynamic_ncols=True)
    bar.update(len(run.conditions) * (len(grid) - len(pending)))
    tasks, parts = _tasks(run, pending, jobs > 1, bar)
    for n, seed, record in _run_tasks(run, tasks, parts, min(jobs, len(tasks)), bar):
        done[n, seed] = record
        if on_cell_done is not None:
            on_cell_done(record)
    bar.close()
    return [done[cell] for cell in grid]


# A cell in parts (parallel runs): its generators and the conditions that draw from them, and
# the conditions that need no generator, each part a task of its own.
PARTS = ("generative", "plain")
FEATURES = "features"  # the task that trains the metrics' feature network (parallel runs)


def part_conditions(run: _Run, part: str | None) -> tuple[str, ...]:
    """The conditions a part of a cell runs (all of them for ``part=None``, the whole cell)."""
    if part is None:
        return run.conditions
    generative = tuple(c for c in run.conditions if c in GENERATOR_OF)
    return generative if part == "generative" else tuple(c for c in run.conditions if c not in generative)


def _splits_in_parts(run: _Run) -> bool:
    """Whether a cell can run as two tasks: it trains a generator and also runs conditions that
    need none, and no condition reads another's result (the gates) or the whole cell's (the
    long-tail validation)."""
    return (run.scenario.NAME != "long-tail" and not any(c.endswith("-gated") for c in run.conditions)
            and all(part_conditions(run, part) for part in PARTS))


def _tasks(
    run: _Run, pending: list[tuple[Any, int]], split: bool, bar: tqdm
) -> tuple[list[tuple[Any, int, str | None]], dict[tuple[Any, int], dict[str, dict]]]:
    """The ``(setting, seed, part)`` tasks of the pending cells, and the parts already saved.

    With ``split`` (a parallel run) a cell runs as two parts where it can (`_splits_in_parts`):
    the generative part (a GAN cell: two thirds of its time) and the plain one, every generative
    part first, so that no worker sits idle while the last whole cell of a grid finishes. A cell
    with a part saved (by a parallel run that was stopped) runs only its missing part, at any
    ``jobs``.
    """
    tasks: list[tuple[Any, int, str | None]] = []
    saved: dict[tuple[Any, int], dict[str, dict]] = {}
    splittable = _splits_in_parts(run)
    for n, seed in pending:
        for part in PARTS if splittable else ():
            record = _load_cell(_part_path(run, n, seed, part), run.key, part_conditions(run, part))
            if record is not None:
                saved.setdefault((n, seed), {})[part] = record
                bar.update(len(part_conditions(run, part)))
    for part in PARTS if splittable and split else (None,):
        tasks += [(n, seed, part) for n, seed in pending if (n, seed) not in saved]
    tasks += [(n, seed, part) for n, seed in pending if (n, seed) in saved for part in PARTS if part not in saved[n, seed]]
    return tasks, saved


def _run_tasks(
    run: _Run, tasks: list[tuple[Any, int, str | None]], parts: dict[tuple[Any, int], dict[str, dict]], jobs: int,
    bar: tqdm,
) -> Iterator[tuple[Any, int, dict]]:
    """``(setting, seed, record)`` of each cell as its tasks finish: in this process, or in
    ``jobs`` worker processes. There the metrics' feature network, when a pending GAN needs it,
    is the first task: one worker trains and caches it (or loads it, cached by an earlier run)
    while the others start their GANs, which read it from the cache when they reach their
    metrics (with the cache off, this process trains it before the workers start)."""
    config = run.config
    if jobs > 1:
        gans = any(part != "plain" for _, _, part in tasks)  # with only plain parts left, no metrics
        if config.metrics and config.needs_gan and gans and run._extractor is None:
            from ganaug.evaluation.cache import cache_dir

            if cache_dir() is None:
                bar.set_description("feature space for metrics")
                run.extractor()  # made once here, not once per worker
            else:  # the first task: a worker trains and caches it while the other starts a GAN
                tasks = [(None, None, FEATURES), *tasks]
        bar.set_description(f"{len({t[:2] for t in tasks if t[2] != FEATURES})} cells, {jobs} at a time")
        finished = run_cells(run, tasks, _worker_cell, jobs, config.threads)
    else:
        finished = ((n, seed, part, _worker_cell(run, n, seed, part, bar)) for n, seed, part in tasks)
    for n, seed, part, record in finished:
        if part == FEATURES:
            continue
        if jobs > 1:
            bar.update(len(part_conditions(run, part)))
        if part is None:
            yield n, seed, record
            continue
        parts.setdefault((n, seed), {})[part] = record
        if len(parts[n, seed]) == len(PARTS):
            yield n, seed, _join_parts(run, n, seed, parts.pop((n, seed)))


def _part_path(run: _Run, n: Any, seed: int, part: str) -> Path:
    return run.out / "cells" / "parts" / f"{run.scenario.cell_name(n, seed)}.{part}.json"


def _join_parts(run: _Run, n: Any, seed: int, parts: dict[str, dict]) -> dict[str, Any]:
    """The cell record of a cell's parts (as a whole cell would have written it), saved."""
    generative, plain = parts["generative"], parts["plain"]
    results = generative["results"] | plain["results"]
    record = generative | {"results": {c: results[c] for c in run.conditions},
                           "wall_seconds": round(generative["wall_seconds"] + plain["wall_seconds"], 2)}
    _write_json(_cell_path(run, n, seed), record)
    for part in PARTS:
        _part_path(run, n, seed, part).unlink(missing_ok=True)
    return record


def _cell_path(run: _Run, n: Any, seed: int) -> Path:
    return run.out / "cells" / f"{run.scenario.cell_name(n, seed)}.json"


def _worker_cell(run: _Run, n: Any, seed: int, part: str | None, bar: tqdm | None = None) -> dict[str, Any]:
    """A cell, or one part of it (in a worker process: no progress bar of its own, the parent's
    counts what finishes), written as soon as it is done; or the metrics' feature network."""
    if part == FEATURES:
        run.extractor()  # cached, for the other workers
        return {}
    record = _run_cell(run, n, seed, tqdm(disable=True) if bar is None else bar, part)
    _write_json(_cell_path(run, n, seed) if part is None else _part_path(run, n, seed, part), record)
    return record


def _run_cell(run: _Run, n: Any, seed: int, bar: tqdm, part: str | None = None) -> dict[str, Any]:
    """Train the cell's GAN and every condition's classifier; the cell's record.

    ``n`` is the cell's setting: real images per class (few-shot), an imbalance ratio (long-tail).
    ``part`` (see `PARTS`) runs half of the cell: ``"generative"`` its generators and the
    conditions that draw from them, ``"plain"`` the others; the two records join into the cell's.
    """
    config, started, label = run.config, time.perf_counter(), run.scenario.describe(n)
    bar.set_description(f"{label} seed={seed}: GAN")
    subset, record = run.scenario.draw(run.splits, n, seed)
    record["key"] = run.key
    if config.classifier_steps is None:  # sized from the cell's images (few-shot)
        config = dataclasses.replace(config, classifier_steps=auto_classifier_steps(subset.image_shape, len(subset)))
    record["classifier_steps"] = config.classifier_steps
    # A scenario may hold out a test set per cell (transfer within one dataset) and bring
    # generators of its own (transfer: the source's, adapted to the cell).
    test = run.scenario.test_set(run.splits, n, seed) if hasattr(run.scenario, "test_set") else run.splits.test
    aug, extra = None, {}
    if part != "plain":
        if config.needs_gan:
            aug = train_gan(subset, config, seed)
            record |= _gan_record(run, aug, subset, test, n, seed, bar)
        if hasattr(run.scenario, "generators"):
            extra = run.scenario.generators(run.splits, subset, config, seed)
        if extra:
            record["generator_samples"] = {name: _save_samples(run, gen, n, seed, name) for name, gen in extra.items()}
    models = getattr(run.splits, "models", None)
    cell = Cell(n, seed, subset, aug, background_value(run.splits.pool.data), generators={"gan": aug, **extra},
                pretrained=getattr(models, "classifier", None))
    record["results"] = results = {}
    for cond in part_conditions(run, part):
        bar.set_description(f"{label} seed={seed}: {cond}")
        results[cond] = train_and_score(cond, cell, test, config, run.n_classes, run.classifier_factory, done=results)
        bar.update(1)
    if run.scenario.NAME == "long-tail":
        # What the "best-non-generative" baseline is chosen by: CV on the training set, not the test set.
        bar.set_description(f"{label} seed={seed}: validation")
        record["validation"] = validation_scores(cell, config, run.n_classes, results)
    record["wall_seconds"] = round(time.perf_counter() - started, 2)
    record["machine"] = run.host
    return record


def _gan_record(
    run: _Run, aug: GANAugmenter, subset: ArrayDataset, test: ArrayDataset, n: Any, seed: int, bar: tqdm
) -> dict[str, Any]:
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
            "loss": aug.config_.loss, "steps": aug.n_steps_, "sampling": aug.config_.sampling,
            "train_seconds": round(aug.train_seconds_, 2), "history": aug.history_, "monitor": aug.monitor_,
            "collapsed": aug.monitor_[-1]["collapsed"] if aug.monitor_ else [],
        },
    }
    if config.metrics:
        from ganaug.evaluation.metrics import generative_metrics

        if run._extractor is None:
            bar.set_description("feature space for metrics")
        extractor = run.extractor()
        fake, fake_y = aug.sample(config.metric_samples, seed=seed + 10_000)
        record["metrics"] = generative_metrics(extractor, test.data, test.targets, fake, fake_y, subset.data, seed=seed)
    return record


# Rows of a transfer generator's sample grid: the first classes (Omniglot targets hold dozens).
SAMPLE_CLASSES = 20


def _save_samples(run: _Run, generator: Any, n: Any, seed: int, name: str) -> str:
    """10 samples of each of the first `SAMPLE_CLASSES` classes from a scenario's own generator
    (transfer: classes it never saw, as its ``SAMPLES_NOTE`` says), as arrays the report draws;
    their path in the folder."""
    classes = np.asarray(generator.classes_)[:SAMPLE_CLASSES]
    images, labels = generator.sample(10 * len(classes), labels=np.repeat(classes, 10), seed=seed)
    file = f"samples/{run.scenario.cell_name(n, seed)}_{name}.npz"
    (run.out / "samples").mkdir(exist_ok=True)
    np.savez_compressed(
        run.out / file, images=images, labels=labels, classes=classes,
        class_names=np.array(list(generator.class_names_)[:SAMPLE_CLASSES]),
        title=np.array(f"{run.config.dataset}: {name}, {run.scenario.describe(n)}, seed {seed}{getattr(run.scenario, 'SAMPLES_NOTE', '')}"),
    )
    return file


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
    """SHA-256 (16 hex digits) of the pool's, the test set's (and a transfer source's) pixels and
    labels, in order.

    Part of every cell's key: a dataset file replaced under the same name gives other cells.
    """
    source = getattr(splits, "source", None)  # transfer: what the source models learnt from
    return dataset_digest(splits.pool, splits.test, *((source,) if source is not None else ()))[:16]


def _check_writable(out: Path, needs_gan: bool) -> None:
    """Fail before any work when the run could not write its files (its cells would be lost)."""
    folders = [out, out / "cells", out / "samples", *((out / "checkpoints",) if needs_gan else ())]
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
    stored = [*sorted((out / "cells").glob("*.json")), *sorted((out / "cells" / "parts").glob("*.json"))]
    others = [p for p in stored if _stored_key(p, "key") not in (key, None)]
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
