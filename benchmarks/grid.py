"""The resumable-run plumbing the scenario benchmarks share (long_tail.py, transfer.py).

Each run works in benchmarks/runs/<name>/ (not committed; a rerun resumes from the cells
there); every finished cell is also copied to benchmarks/results/partial/<name>/ (committed, so
a run longer than a session resumes in a fresh clone), which goes when the run is complete.
Workers share a run with ``--seed-list 3,4`` (or ``--share``); the full command then reads every
cell and writes benchmarks/results/<name>.json. ``--out DIR`` puts all of it under DIR instead.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation

HERE = Path(__file__).parent


class Places:
    """Where a run's results, committed partial cells and working folder go."""

    def __init__(self, out: str | None, name: str) -> None:
        self.name = name
        self.results = Path(out) if out else HERE / "results"
        self.partial = self.results / "partial" / name
        self.run = (Path(out) / "runs" if out else HERE / "runs") / name


def compact(results: dict) -> dict:
    """Drop training curves (they live in the run folder) to keep the committed JSON small."""
    cells = []
    for cell in results["cells"]:
        slim = {k: v for k, v in cell.items() if k not in ("gan", "samples", "key")}
        if "gan" in cell:
            slim["gan"] = {k: cell["gan"][k] for k in ("loss", "steps", "sampling", "train_seconds", "collapsed")
                          if k in cell["gan"]}
        cells.append(slim)
    return {k: v for k, v in results.items() if k != "cells"} | {"cells": cells}


def resume_partial(places: Places) -> int:
    """Copy the committed cells of an unfinished run into its working folder; how many were new
    (the runner reuses a cell only when its settings key matches)."""
    copied = 0
    for src in sorted(places.partial.glob("*_seed*.json")):
        dst = places.run / "cells" / src.name
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            copied += 1
    return copied


def command_line(script: str, args: argparse.Namespace, skip: tuple[str, ...] = ()) -> str:
    """The command that made a run, from its parsed arguments (defaults included, so it says
    everything; ``skip``: options that do not change the numbers, like --jobs)."""
    given = {k: v for k, v in vars(args).items()
             if v not in (False, None) and k not in ("table", "jobs", *skip) and not (k == "seeds" and args.seed_list)}
    return f"python benchmarks/{script} " + " ".join(
        f"--{k.replace('_', '-')}" if v is True else f"--{k.replace('_', '-')} " + (",".join(map(str, v)) if isinstance(v, tuple) else repr(v))
        for k, v in given.items()
    )


def run_grid(config: EvalConfig, places: Places, args: argparse.Namespace, command: str,
             cell_file: Callable[[dict], str], table: Callable[[dict], str]) -> dict | None:
    """Run (or resume) the grid; write the results file unless this is one worker's share."""
    settings = {"created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "command": command,
                "settings": config.to_dict() | {"gan": config.gan.to_dict()}}
    if copied := resume_partial(places):
        print(f"resuming with {copied} cell(s) from {places.partial}")
    results = run_evaluation(config, places.run, progress=not args.quiet, command=command, jobs=args.jobs,
                             on_cell_done=lambda cell: save_partial(places, cell, settings, cell_file))
    if args.share or args.seed_list:
        print(f"share done: {len(results['cells'])} cell(s) in {places.partial}; the full command writes the results")
        return None
    results["machine"] = " + ".join(sorted({c.get("machine", "machine unrecorded") for c in results["cells"]}))
    places.results.mkdir(parents=True, exist_ok=True)
    out = places.results / f"{places.name}.json"
    out.write_text(json.dumps(compact(results), indent=1) + "\n")
    print(f"wrote {out}")
    drop_partial(places, results["cells"], cell_file)
    print(table(results))
    return results


def save_partial(places: Places, cell: dict, settings: dict, cell_file: Callable[[dict], str]) -> None:
    """Copy a finished cell (and the run's settings) to the committed partial folder."""
    places.partial.mkdir(parents=True, exist_ok=True)
    (places.partial / cell_file(cell)).write_text(json.dumps(cell, indent=1) + "\n")
    (places.partial / "settings.json").write_text(json.dumps(settings, indent=1) + "\n")


def drop_partial(places: Places, cells: list[dict], cell_file: Callable[[dict], str]) -> None:
    """Remove the committed cells once a finished run holds every one of them."""
    committed = {f.name for f in places.partial.glob("*_seed*.json")}
    if committed <= {cell_file(c) for c in cells}:
        shutil.rmtree(places.partial, ignore_errors=True)


def seed_list(text: str) -> tuple[int, ...]:
    """``--seed-list 3,4``: one worker's seeds."""
    try:
        seeds = sorted({int(v) for v in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 3,4; got {text!r}") from None
    if seeds[0] < 0:
        raise argparse.ArgumentTypeError(f"seeds must be >= 0; got {text!r}")
    return tuple(seeds)


README = Path(__file__).parent.parent / "README.md"


def fill_readme_block(begin: str, end: str, block: str, what: str) -> None:
    """Replace the README's text between the ``begin`` and ``end`` markers with ``block``."""
    text = README.read_text()
    start, stop = text.index(begin), text.index(end)
    README.write_text(text[: start + len(begin)] + "\n" + block + "\n" + text[stop:])
    print(f"wrote the {what} block of {README}")


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options every scenario benchmark takes: seeds, shares, workers, output, device."""
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1")
    seeds.add_argument("--seed-list", type=seed_list, help="only these seeds, e.g. 3,4: one worker's share (implies --share)")
    parser.add_argument("--share", action="store_true", help="one worker's share of a run: save its cells, write no results file")
    parser.add_argument("--out", default=None, help="folder for results, partial cells and runs (default: benchmarks/)")
    parser.add_argument("--no-metrics", action="store_true")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--jobs", type=int, default=1, help="cells at once, one process each (the numbers do not change)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--table", action="store_true", help="print tables of the committed results and exit")
