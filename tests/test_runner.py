"""The grid runner: determinism and resuming."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time

import pytest

from ganaug import GANConfig
from ganaug.evaluation import conditions
from ganaug.evaluation.config import EvalConfig
from ganaug.evaluation.runner import run_evaluation

TINY = dict(
    per_class=(3, 5), seeds=(0, 1), classifier_steps=30, metrics=False,
    gan=GANConfig(steps=15, batch_size=16, monitor_every=10), device="cpu",
)


def test_same_seed_same_results(tmp_path):
    config = EvalConfig(**TINY)
    a = run_evaluation(config, tmp_path / "a", progress=False)
    b = run_evaluation(config, tmp_path / "b", progress=False)
    strip = lambda r: [{k: v for k, v in c.items() if k != "wall_seconds"} for c in r["cells"]]  # noqa: E731
    for ca, cb in zip(strip(a), strip(b), strict=True):
        assert {k: v["accuracy"] for k, v in ca["results"].items()} == {k: v["accuracy"] for k, v in cb["results"].items()}
    assert a["summary"]["gains"] == b["summary"]["gains"]
    # Each cell names the images it trained on, so runs made apart can be checked to pair them.
    subsets = {(c["per_class"], c["seed"]): c["subset_sha256"] for c in a["cells"]}
    assert subsets == {(c["per_class"], c["seed"]): c["subset_sha256"] for c in b["cells"]}
    assert len(set(subsets.values())) == len(subsets)
    assert {g["condition"] for g in a["summary"]["gains"] if g["baseline"] == "real"} == {
        "classical", "gan", "gan+classical", "synthetic"
    }


def test_killed_run_resumes_without_recomputing_finished_cells(tmp_path, monkeypatch):
    config = EvalConfig(**TINY)

    class Killed(Exception):
        pass

    done = []

    def kill_after_two(record):
        done.append((record["per_class"], record["seed"]))
        if len(done) == 2:
            raise Killed

    with pytest.raises(Killed):
        run_evaluation(config, tmp_path, progress=False, on_cell_done=kill_after_two)
    finished = {p.name: p.read_text() for p in (tmp_path / "cells").glob("*.json")}
    assert len(finished) == 2

    fits = []
    original = conditions.GANAugmenter.fit
    monkeypatch.setattr(conditions.GANAugmenter, "fit", lambda self, *a, **k: fits.append(1) or original(self, *a, **k))
    results = run_evaluation(config, tmp_path, progress=False)
    assert len(fits) == 2  # only the two unfinished cells trained a GAN
    assert len(results["cells"]) == 4
    for name, text in finished.items():
        assert (tmp_path / "cells" / name).read_text() == text  # finished cells untouched
    # A resumed run's own clock saw two cells; the cells' times, each with its machine, add up.
    assert all(c["machine"] == results["machine"] for c in results["cells"])
    assert results["cell_seconds"] == pytest.approx(sum(c["wall_seconds"] for c in results["cells"]), abs=0.05)

    changed = EvalConfig(**(TINY | {"classifier_steps": 31}))
    fits.clear()
    run_evaluation(changed, tmp_path, progress=False, overwrite=True)  # other settings: refused without it
    assert len(fits) == 4  # other settings: nothing reused


def _numbers(results):
    """What a run measured, without its timings and the machine it ran on."""
    timing = {"wall_seconds", "seconds", "train_seconds", "machine"}

    def clean(obj):
        if isinstance(obj, dict):
            return {k: clean(v) for k, v in obj.items() if k not in timing}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    return clean(results["cells"]), results["summary"]


def test_parallel_cells_give_the_serial_numbers(tmp_path):
    # With the metrics (their feature network trained in the parent while the workers start, read
    # from the cache by them), and each cell in two parts: the same numbers as one process.
    config = EvalConfig(**TINY | dict(metrics=True, feature_steps=20, metric_samples=60))
    serial = run_evaluation(config, tmp_path / "serial", progress=False)
    parallel = run_evaluation(config, tmp_path / "parallel", progress=False, jobs=2)
    assert _numbers(parallel) == _numbers(serial)
    assert parallel["cell_key"] == serial["cell_key"]
    names = sorted(p.name for p in (tmp_path / "parallel" / "cells").glob("*.json"))
    assert names == sorted(p.name for p in (tmp_path / "serial" / "cells").glob("*.json"))


def test_parallel_run_resumes_and_refuses_what_workers_cannot_receive(tmp_path):
    config = EvalConfig(**TINY)
    first = run_evaluation(dataclasses.replace(config, seeds=(0,)), tmp_path, progress=False)
    written = {p.name: p.read_text() for p in (tmp_path / "cells").glob("*.json")}
    results = run_evaluation(config, tmp_path, progress=False, jobs=2)
    assert len(results["cells"]) == 4 and len(first["cells"]) == 2
    for name, text in written.items():
        assert (tmp_path / "cells" / name).read_text() == text  # done cells are read, not rerun
    with pytest.raises(ValueError, match="cannot be pickled"):
        run_evaluation(config, tmp_path / "other", progress=False, jobs=2, classifier_factory=lambda seed: None)
    with pytest.raises(ValueError, match="jobs must be"):
        run_evaluation(config, tmp_path / "other", progress=False, jobs=0)


def test_a_parallel_run_resumes_from_the_parts_of_a_cell(tmp_path):
    # jobs > 1 runs a cell as two tasks (its GAN with the conditions drawing from it, and the
    # rest), each saved under cells/parts/ as it ends: a part saved before a kill is not rerun.
    import json

    config = EvalConfig(**TINY | dict(per_class=(3,), seeds=(0, 1)))
    run_evaluation(config, tmp_path, progress=False, jobs=2)
    parts = tmp_path / "cells" / "parts"
    assert not list(parts.glob("*.json"))  # joined into cell files, then removed
    cell = tmp_path / "cells" / "n3_seed1.json"
    record = json.loads(cell.read_text())
    plain = {c: v for c, v in record["results"].items() if c in ("real", "classical")}
    assert set(plain) == {"real", "classical"}
    plain["real"] = plain["real"] | {"accuracy": 0.123}  # what only the saved part can say
    (parts / "n3_seed1.plain.json").write_text(json.dumps(record | {"results": plain}))
    cell.unlink()
    resumed = run_evaluation(config, tmp_path, progress=False, jobs=2)
    again = {c["seed"]: c for c in resumed["cells"]}[1]
    assert again["results"]["real"]["accuracy"] == 0.123  # the saved part, not a rerun
    assert list(again["results"]) == list(config.conditions) and "gan" in again
    assert again["results"]["gan"]["accuracy"] == record["results"]["gan"]["accuracy"]  # recomputed alike
    assert not list(parts.glob("*.json"))


def _refuse_to_unpickle():
    raise RuntimeError("this run cannot be rebuilt here")


class _Unrebuildable:
    """Pickles in the parent; rebuilding it in a worker fails, as a lost shared-memory handle did."""

    def __reduce__(self):
        return (_refuse_to_unpickle, ())


def _no_cell(run, n, seed):
    return {}


def test_a_worker_that_dies_before_its_first_cell_is_a_clear_error():
    from ganaug.evaluation.parallel import run_cells

    with pytest.raises(RuntimeError, match="a worker process died.*rerun with jobs=1"):
        list(run_cells(_Unrebuildable(), [(3, 0), (3, 1)], _no_cell, jobs=2, threads=1))


def test_the_thread_count_is_a_setting_of_the_run():
    one, two = EvalConfig(**TINY), EvalConfig(**TINY, threads=2)
    assert one.cell_key("data") != two.cell_key("data")  # other threads, other sums: other cells
    with pytest.raises(ValueError, match="threads"):
        EvalConfig(**TINY, threads=0)


def test_each_cell_records_the_classifier_budget_it_sized(tmp_path, monkeypatch):
    # classifier_steps=None: each few-shot cell sizes the budget from its subset, and every
    # condition of the cell trains with it.
    seen = []
    real = conditions.TorchClassifier

    def spy(*args, steps, **kwargs):
        seen.append(steps)
        return real(*args, steps=3, **kwargs)  # the size asked for, trained short

    monkeypatch.setattr(conditions, "TorchClassifier", spy)
    config = EvalConfig(per_class=(3, 30), seeds=(0,), conditions=("real", "classical"), metrics=False, device="cpu")
    results = run_evaluation(config, tmp_path, progress=False)
    assert [c["classifier_steps"] for c in results["cells"]] == [200, 400]  # digits 8×8: 30 images, 300
    assert seen == [200, 200, 400, 400]
    assert results["settings"]["classifier_steps"] is None


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="reads worker processes from /proc (Linux)")
def test_workers_stop_when_the_parent_is_killed(tmp_path):
    # A parent killed outright (SIGKILL, the out-of-memory killer) runs no cleanup: its workers
    # must notice and stop, not run on and then wait for tasks forever.
    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from ganaug.evaluation.parallel import run_cells\n"
        "def slow(run, seconds):\n"
        "    time.sleep(seconds)\n"
        "    return {}\n"
        "if __name__ == '__main__':\n"
        "    for _ in run_cells(None, [(300,), (300,)], slow, jobs=2, threads=1):\n"
        "        pass\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = {pid for pid in _children(parent.pid) if "spawn_main" in _cmdline(pid)}
            time.sleep(0.5)
        assert len(workers) == 2, "the workers did not start"
        time.sleep(1.0)  # past their initializer
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running, sleeping or stopped; gone or a zombie (exited, not yet reaped) counts as stopped."""
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
