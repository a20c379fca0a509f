"""Cells in parallel processes: ``run_evaluation(..., jobs=N)`` / ``ganaug evaluate --jobs N``.

The cells of a grid are independent (each draws its data, trains its GAN and its classifiers
from its own seed), so N processes run N of them at once, each with its share of the cores
(`ganaug.utils.thread_budget`). On a small CPU one torch thread per process beats several
threads in one process: a GAN or CNN step of these sizes keeps one core busy but not two
(measured 1.7× throughput for two one-thread processes against one two-thread process on 2
cores), and spinning OpenMP threads collapse when anything else shares the machine.

A worker writes what it finishes itself (a cell, or a part of one: see
`ganaug.evaluation.runner`), so finished work survives the parent being killed; the workers
then stop at once (`_exit_with_parent`). Everything that
depends only on the data (the splits, the metrics' feature network) is made once, in the parent.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import torch

_STATE: dict[str, Any] = {}


def check_picklable(factory: Callable | None) -> None:
    """A classifier factory crosses to the workers by pickling: refuse one that cannot."""
    if factory is None:
        return
    try:
        pickle.dumps(factory)
    except Exception as err:  # lambdas, closures, local classes: pickle's errors vary
        raise ValueError(
            f"jobs > 1 sends classifier_factory to worker processes, and it cannot be pickled ({err}); "
            "pass a module-level function or class, or use jobs=1"
        ) from None


def _init_worker(payload: bytes, threads: int) -> None:
    _exit_with_parent()
    torch.set_num_threads(threads)
    # The parent's own bytes (see `run_cells`), never a file: unpickling them is safe.
    _STATE["run"] = pickle.loads(payload)


def _exit_with_parent() -> None:
    """Stop this worker as soon as its parent process ends (killed, or out of memory).

    Otherwise it would run its task on, then wait for more forever: its siblings hold the task
    queue's pipe open, so it never sees the end of it. Such orphans were seen holding a core and
    1 GB each long after the run was stopped. The part in progress is lost; a rerun redoes it.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="ganaug-parent-watch", daemon=True).start()


def _work(cell_fn: Callable, task: tuple) -> tuple[tuple, dict]:
    return task, cell_fn(_STATE["run"], *task)


def run_cells(run: Any, pending: list[tuple], cell_fn: Callable[..., dict], jobs: int, threads: int) -> Iterator[tuple]:
    """``(*task, record)`` of every pending task, in the order they finish.

    ``cell_fn(run, *task)`` runs one task (a cell: ``(setting, seed)``) in a worker; it is a
    module-level function, so it pickles. The tasks are handed out in the order given (put the
    longest first). Workers start with ``spawn``: forking a process whose torch has started its
    thread pool can hang. ``run`` travels as plain pickled bytes: handed over as it is, its
    tensors (the transfer scenario's source models) would go through torch's shared-memory
    file descriptors, which a loaded machine was seen to lose ("unable to resize file"), killing
    the worker before its first cell.
    """
    context = multiprocessing.get_context("spawn")
    payload = pickle.dumps(run, protocol=pickle.HIGHEST_PROTOCOL)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(payload, threads))
    try:
        futures = {pool.submit(_work, cell_fn, tuple(task)) for task in pending}
        while futures:
            finished, futures = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    task, record = future.result()
                except BrokenProcessPool as err:
                    raise RuntimeError(f"a worker process died ({err}); the cells finished so far are saved: rerun "
                                       "with jobs=1 (--jobs 1) to see the error in this process") from None
                yield (*task, record)
    finally:
        # On an error (or Ctrl-C) the cells not started are dropped, not run to the end first.
        pool.shutdown(wait=True, cancel_futures=True)
