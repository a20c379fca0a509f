"""A catalogue of bad inputs and faults, run through the command line and the Python API.

Every case runs in subprocesses (``python -m ganaug …``, or ``python -c`` of a short script for
the API) in a fresh temporary folder, with a timeout, one thread and a cap on address space, so a
crash, a hang or a memory blow-up is recorded instead of taking the harness down. Per case it
records the exit code, the message (last stderr line, or the exception line), whether a traceback
leaked, whether an exit-0 result was wrong, whether an earlier output (a prior run folder,
checkpoint or results) was changed or lost, and a verdict: does the program behave as a correct
one would? The cases are those of issue 17 plus the faults a user meets: kill -9 during
``pretrain`` and ``evaluate``, a full disk (``ulimit -f``), NaN divergence.

What a correct program does (a case's ``expected``):
    error      a non-zero exit with one clear line, no traceback
    ok         exit 0 with a correct result (each such case checks its result)
    either     a clear error, or exit 0 with a correct result (the issue allows both)
    traceback  a non-zero exit that shows the traceback (``--debug`` asks for it)

Sizes are tiny (a few GAN steps, 3-5 images per class, one seed), so the whole catalogue runs
in minutes on two CPU cores. CUDA is hidden from the cases, so every machine runs the same ones.

    python benchmarks/faults.py                      # -> benchmarks/results/faults.json
    python benchmarks/faults.py --only cli-sample-labels-comma,fault-kill-pretrain
    python benchmarks/faults.py --out benchmarks/results/faults_first_run.json
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TIMEOUT = 120
# Address space per case: importing torch maps about 3.5 GiB, so this leaves ~2.5 GiB of room
# and turns a runaway allocation into a MemoryError instead of the machine's OOM killer.
MEMORY_CAP = 6 * 2**30
TRACEBACK = "Traceback (most recent call last)"
# Exception names that, leading a message, say the program crashed rather than explained.
INTERNAL = ("KeyError", "IndexError", "AttributeError", "ZeroDivisionError", "MemoryError",
            "SafetensorError", "UnboundLocalError", "NameError", "AssertionError")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
       "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}


# --- running one process -----------------------------------------------------------------------


@dataclass
class Proc:
    """One finished subprocess; ``rc`` is None when it ran past its timeout."""

    command: str
    rc: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.rc is None

    @property
    def last_line(self) -> str:
        for text in (self.stderr, self.stdout):
            lines = [line.strip() for line in re.split(r"[\r\n]", text) if line.strip()]
            if lines:
                return lines[-1][:300]
        return ""

    def result(self) -> dict | None:
        """The ``RESULT {...}`` line an API script printed, if any."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        return None


def _cap_memory() -> None:
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cap = MEMORY_CAP if hard == resource.RLIM_INFINITY else min(MEMORY_CAP, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def run(cmd: list[str], cwd: Path, timeout: float, label: str | None = None) -> Proc:
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_cap_memory)
        rc, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = None, _text(exc.stdout), _text(exc.stderr) + f"\ntimeout after {timeout:g} s"
    return Proc(label or shlex.join(cmd), rc, out, err, round(time.perf_counter() - started, 2))


# The frame of every API case: a case's body runs inside the try; the API's documented user
# errors become one line and exit 1, anything else leaks its traceback (and counts as such).
API_FRAME = '''\
import json, os, sys, warnings
warnings.simplefilter("always")
import numpy as np
FX = @FIXTURES@

def result(**values):
    print("RESULT " + json.dumps(values, default=str))

def digits():
    with np.load(FX["digits"]) as z:
        return z["x"], z["y"]

def normalized_digits():
    """digits' train split, and the same as an ArrayDataset with ToTensor + Normalize(0.5, 0.5)."""
    import torchvision.transforms as T
    from ganaug import ArrayDataset, load_dataset
    base = load_dataset("digits")
    tf = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,))])
    return base, ArrayDataset(base.data, base.targets, base.classes, transform=tf)

def fixture_augmenter():
    from ganaug import GANAugmenter
    return GANAugmenter.load(FX["ckpt"], device="cpu", verbose=False)

def write_folder(root, images, labels, suffix=".png"):
    from PIL import Image
    for i, (im, lab) in enumerate(zip(images, labels)):
        os.makedirs(os.path.join(root, f"c{lab}"), exist_ok=True)
        Image.fromarray(im).save(os.path.join(root, f"c{lab}", f"{i:03d}{suffix}"))

try:
@BODY@
except (ValueError, TypeError, FileNotFoundError, RuntimeError) as err:
    text = str(err).strip()
    print(f"{type(err).__name__}: {text.splitlines()[0] if text else ''}", file=sys.stderr)
    sys.exit(1)
'''


# --- fixtures shared by the cases ----------------------------------------------------------------

SETUP = '''\
import json, sys
from pathlib import Path
import numpy as np, torch
from safetensors import safe_open
from safetensors.torch import save_file
from ganaug import GANAugmenter, few_shot, load_dataset
out = Path(sys.argv[1])
full = load_dataset("digits", train=None)
np.savez(out / "digits.npz", x=full.data, y=full.targets)
train, _ = few_shot(load_dataset("digits"), 5, seed=0)
aug = GANAugmenter(steps=5, device="cpu", verbose=False).fit(train)
ckpt = aug.save(out / "run" / "augmenter.safetensors")
aug.config_.to_json(out / "run" / "config.json")
with safe_open(str(ckpt), framework="pt") as f:
    header = json.loads(f.metadata()["ganaug"])
    tensors = {k: f.get_tensor(k) for k in f.keys()}
def variant(name, header=header, tensors=tensors):
    save_file(tensors, str(out / f"{name}.safetensors"), metadata={"ganaug": json.dumps(header)})
nan = dict(tensors)
first = [k for k in sorted(nan) if k.startswith("ema.") and nan[k].is_floating_point()][0]
nan[first] = torch.full_like(nan[first], float("nan"))
variant("nan_weights", tensors=nan)
variant("missing_key", header={k: v for k, v in header.items() if k != "class_names"})
variant("unknown_dtype", header=header | {"dtype": "float99"})
variant("short_names", header=header | {"class_names": header["class_names"][:3]})
losses = {k: float("nan") for k in header["summary"]["final_losses"]}
variant("nan_losses", header=header | {"summary": header["summary"] | {"final_losses": losses}})
save_file(tensors, str(out / "list_header.safetensors"), metadata={"ganaug": json.dumps([header])})
'''


@dataclass
class Fixtures:
    """A fitted checkpoint (and broken variants of it), digits as an npz, a finished evaluation."""

    root: Path

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def ckpt(self) -> Path:
        return self.run_dir / "augmenter.safetensors"

    @property
    def eval_dir(self) -> Path:
        return self.root / "eval"

    def variant(self, name: str) -> Path:
        return self.root / f"{name}.safetensors"

    def digits(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.root / "digits.npz") as z:
            return z["x"], z["y"]

    def as_dict(self) -> dict[str, str]:
        return {"ckpt": str(self.ckpt), "digits": str(self.root / "digits.npz")}


def build_fixtures(root: Path) -> Fixtures:
    root.mkdir(parents=True)
    steps = [
        run([PY, "-c", SETUP, str(root)], root, 300, label="fixtures: fit and save a 5-step augmenter"),
        run([PY, "-m", "ganaug", *evaluate_args(str(root / "eval"), conditions="real,gan",
                                                 extra=("--steps", "5"))], root, 300),
    ]
    for proc in steps:
        if proc.rc != 0:
            raise SystemExit(f"fixtures failed ({proc.command}):\n{proc.stderr[-3000:]}")
    return Fixtures(root)


# --- one case's folder, and what it ran ----------------------------------------------------------


class Work:
    """A case's fresh folder, the shared fixtures, and every process the case ran (in order)."""

    def __init__(self, folder: Path, fx: Fixtures) -> None:
        self.dir, self.fx, self.log = folder, fx, []

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def cli(self, *args: object, timeout: float = TIMEOUT, shell: str | None = None) -> Proc:
        """``python -m ganaug ARGS``; ``shell`` (e.g. ``ulimit -f 64``) runs first, in bash."""
        cmd = [PY, "-m", "ganaug", *map(str, args)]
        if shell:
            cmd = ["bash", "-c", f"{shell}; exec {shlex.join(cmd)}"]
        proc = run(cmd, self.dir, timeout)
        self.log.append(proc)
        return proc

    def api(self, body: str, timeout: float = TIMEOUT) -> Proc:
        script = API_FRAME.replace("@FIXTURES@", repr(self.fx.as_dict())).replace(
            "@BODY@", textwrap.indent(textwrap.dedent(body).strip(), "    "))
        proc = run([PY, "-c", script], self.dir, timeout, label="python -c " + textwrap.dedent(body).strip())
        self.log.append(proc)
        return proc

    def run_and_kill(self, args: list[object], ready: Callable[[], bool], deadline: float) -> Proc:
        """Start ``python -m ganaug ARGS``; SIGKILL it once ``ready()`` or after ``deadline`` s."""
        cmd = [PY, "-m", "ganaug", *map(str, args)]
        out, err = self.dir / "killed.stdout", self.dir / "killed.stderr"
        started = time.perf_counter()
        with out.open("w") as o, err.open("w") as e:
            child = subprocess.Popen(cmd, cwd=self.dir, env=ENV, stdout=o, stderr=e, preexec_fn=_cap_memory)
            while child.poll() is None and not ready() and time.perf_counter() - started < deadline:
                time.sleep(0.2)
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
            rc = child.wait()
        proc = Proc(shlex.join(cmd) + "  # kill -9", rc, out.read_text(), err.read_text(),
                    round(time.perf_counter() - started, 2))
        self.log.append(proc)
        return proc


# --- cases and verdicts --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a case observed. ``main`` gives the exit code and message."""

    main: Proc
    wrong: bool | None = None  # exit 0, but the result is wrong (None: nothing to check)
    changed: bool | None = None  # an earlier output changed or lost (None: there was none)
    clean: bool = True  # False: the error came too late, or a setup step failed
    note: str = ""
    message: str | None = None


@dataclass
class Case:
    id: str
    kind: str  # cli / api / fault
    expected: str  # error / ok / either / traceback
    description: str
    check: Callable[[Work], Outcome]
    must: tuple[str, ...] = ()  # an error message names one of these (case-insensitive)
    must_not: tuple[str, ...] = ()  # ... and none of these


CASES: list[Case] = []


def case(id: str, kind: str, expected: str, description: str, must: tuple[str, ...] = (),
         must_not: tuple[str, ...] = ()) -> Callable:
    def register(fn: Callable[[Work], Outcome]) -> Callable[[Work], Outcome]:
        CASES.append(Case(id, kind, expected, description, fn, must, must_not))
        return fn

    return register


def clear(message: str, c: Case) -> bool:
    """One line that says what is wrong: words, not an exception name or a bare key."""
    text = re.sub(r"^(Error|Usage error)\s*:\s*", "", message.strip())
    low = message.lower()
    if not text or text.startswith(INTERNAL) or len(re.findall(r"[A-Za-z]{2,}", text)) < 3:
        return False
    if any(s.lower() in low for s in c.must_not):
        return False
    return not c.must or any(s.lower() in low for s in c.must)


def judge(c: Case, w: Work, out: Outcome, seconds: float) -> dict:
    p = out.main
    shown = any(TRACEBACK in q.stdout + q.stderr for q in w.log)
    leaked = shown and c.expected != "traceback"
    message = out.message or p.last_line
    if p.timed_out:
        good = False
    elif c.expected == "traceback":
        good = p.rc != 0 and shown
    elif p.rc == 0:
        good = c.expected in ("ok", "either") and out.wrong is not True
    else:
        good = c.expected in ("error", "either") and out.clean and clear(message, c)
    silent = p.rc == 0 and (out.wrong is True or c.expected == "error")
    passed = good and not leaked and not silent and out.changed is not True
    return {
        "id": c.id, "kind": c.kind, "description": c.description,
        "command": " ; ".join(q.command for q in w.log), "exit_code": p.rc, "timed_out": p.timed_out,
        "message": message, "traceback_leaked": leaked, "expected": c.expected,
        "silent_wrong_result": silent, "earlier_output_changed": out.changed,
        "verdict": "pass" if passed else "fail", "note": out.note, "seconds": round(seconds, 1),
    }


# --- checks shared by cases ----------------------------------------------------------------------


def strict_json(text: str) -> bool:
    """Standard JSON: ``NaN``/``Infinity`` tokens are refused."""

    def refuse(token: str) -> None:
        raise ValueError(token)

    try:
        json.loads(text, parse_constant=refuse)
    except ValueError:
        return False
    return True


def hash_tree(folder: Path) -> dict[str, str]:
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def lost_or_changed(before: dict[str, str], after: dict[str, str]) -> bool:
    return any(after.get(name) != digest for name, digest in before.items())


def header_of(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        return json.loads((f.metadata() or {})["ganaug"])


def finite_tensors(path: Path) -> bool:
    from safetensors.numpy import load_file

    return all(np.isfinite(t).all() for t in load_file(str(path)).values() if t.dtype.kind == "f")


def bad_images(path: Path) -> bool:
    """All one value (the all-black samples of a NaN generator) or not finite."""
    with np.load(path) as z:
        x = z["x"].astype(np.float64)
    return not np.isfinite(x).all() or float(x.std()) == 0.0


def model_problems(w: Work, folder: str) -> str:
    """Why the checkpoint a run wrote in ``folder`` is not a good model ("" when it is one)."""
    ckpt = w.dir / folder / "augmenter.safetensors"
    if not ckpt.is_file():
        return "exit 0 without a checkpoint"
    problems = [] if finite_tensors(ckpt) else ["non-finite weights saved"]
    twin = ckpt.with_suffix(".json")
    if twin.is_file() and not strict_json(twin.read_text()):
        problems.append("NaN tokens in augmenter.json")
    if w.cli("sample", ckpt, "--n", 20, "--out", "check.npz").rc != 0:
        problems.append("the saved model cannot be sampled")
    elif bad_images(w.dir / "check.npz"):
        problems.append("samples are all one value or NaN")
    return "; ".join(problems)


def setup_failed(proc: Proc) -> Outcome:
    return Outcome(proc, wrong=True, clean=False, note="a setup step failed: " + proc.last_line)


def evaluate_args(out: str, data: str = "digits", per_class: str = "3", conditions: str = "real",
                  seeds: int = 1, extra: tuple[str, ...] = ()) -> list[str]:
    return ["evaluate", "--dataset", data, "--per-class", per_class, "--seeds", str(seeds),
            "--conditions", conditions, "--classifier-steps", "20", "--no-metrics", "--no-report",
            "--quiet", "--out", out, *extra]


def real_accuracy(folder: Path) -> float:
    results = json.loads((folder / "results.json").read_text())
    return float(results["cells"][0]["results"]["real"]["accuracy"])


def from_result(proc: Proc, wrong: Callable[[dict], bool], note: Callable[[dict], str] = str) -> Outcome:
    """An API case's outcome: ``wrong(result)`` judges the RESULT line of an exit-0 script."""
    r = proc.result()
    if proc.rc != 0:
        return Outcome(proc)
    if r is None:
        return Outcome(proc, wrong=True, note="no RESULT line")
    return Outcome(proc, wrong=bool(wrong(r)), note=note(r))


# === 1. divergence ===============================================================================


def _diverge(w: Work, *flags: str, config: str = '{"lr_g": 1e30, "lr_d": 1e30}') -> Outcome:
    cfg = w.write("cfg.json", config)
    p = w.cli("pretrain", "--dataset", "digits", "--per-class", 5, "--steps", 20, "--config", cfg,
              *flags, "--out", "D", "--quiet")
    problems = model_problems(w, "D") if p.rc == 0 else ""
    return Outcome(p, wrong=bool(problems) if p.rc == 0 else None, note=problems)


@case("fault-diverge-lr-1e30-mmd", "fault", "either",
      "pretrain --config {lr_g: 1e30, lr_d: 1e30} (auto: matching network): a clear error, or a "
      "rolled-back model; never a saved NaN model (finite weights, standard JSON, varied samples)")
def _(w: Work) -> Outcome:
    return _diverge(w)


@case("fault-diverge-lr-1e30-hinge", "fault", "either",
      "as above with --loss hinge (G and D both diverge)")
def _(w: Work) -> Outcome:
    return _diverge(w, "--loss", "hinge")


@case("cli-config-lr-infinity", "cli", "error",
      "pretrain --config {\"lr_g\": Infinity}: refused before training, naming lr_g", must=("lr_g",))
def _(w: Work) -> Outcome:
    return _diverge(w, config='{"lr_g": Infinity}')


@case("api-fit-lr-inf", "api", "error",
      "GANAugmenter(lr_g=float('inf')).fit(...): a ValueError naming lr_g", must=("lr_g",))
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import GANAugmenter, few_shot, load_dataset
        train, _ = few_shot(load_dataset("digits"), 3, seed=0)
        aug = GANAugmenter(lr_g=float("inf"), steps=5, device="cpu", verbose=False).fit(train)
        x, _ = aug.sample(20, seed=0)
        result(finite=bool(np.isfinite(x.astype(float)).all()), std=float(x.std()))
    """)
    return from_result(p, lambda r: not r["finite"] or r["std"] == 0,
                       lambda r: f"trained; samples finite={r['finite']}, std {r['std']:g}")


@case("cli-sample-nan-weights", "cli", "error",
      "sample from a checkpoint whose generator holds NaN weights: refused on load")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.variant("nan_weights"), "--n", 20, "--out", "s.npz"))


# === 2. stale cells; 6. overwrite; 8b. impossible per-class ======================================


@case("cli-evaluate-stale-cells", "cli", "either",
      "evaluate npz:data, replace data.npz (labels permuted), rerun into the same --out: the rerun's "
      "accuracy must equal a fresh folder's (cells keyed by content), or the rerun is refused")
def _(w: Work) -> Outcome:
    x, y = w.fx.digits()
    npz = w.dir / "data.npz"
    np.savez(npz, x=x, y=y)
    first = w.cli(*evaluate_args("E", data=f"npz:{npz}"))
    if first.rc != 0:
        return setup_failed(first)
    old = real_accuracy(w.dir / "E")
    np.savez(npz, x=x, y=np.random.default_rng(0).permutation(y))
    rerun = w.cli(*evaluate_args("E", data=f"npz:{npz}"))
    fresh = w.cli(*evaluate_args("F", data=f"npz:{npz}"))
    if fresh.rc != 0:
        return setup_failed(fresh)
    if rerun.rc != 0:
        return Outcome(rerun)
    new, want = real_accuracy(w.dir / "E"), real_accuracy(w.dir / "F")
    return Outcome(rerun, wrong=new != want,
                   note=f"accuracy: first data {old:.3f}; after the swap rerun {new:.3f}, fresh folder {want:.3f}")


@case("cli-evaluate-same-out-other-settings", "cli", "either",
      "evaluate, then again into the same --out with --classifier-steps 21: refused (or written "
      "beside); the first run's cells and results.json unchanged")
def _(w: Work) -> Outcome:
    first = w.cli(*evaluate_args("E"))
    if first.rc != 0:
        return setup_failed(first)
    before = hash_tree(w.dir / "E")
    again = w.cli(*evaluate_args("E", extra=("--classifier-steps", "21")))
    after = hash_tree(w.dir / "E")
    touched = sorted(name for name, digest in before.items() if after.get(name) != digest)
    return Outcome(again, changed=bool(touched), note=f"changed or lost: {touched}" if touched else "")


@case("cli-evaluate-overwrite-flag", "cli", "ok",
      "the same with --overwrite: the new settings' results replace the old")
def _(w: Work) -> Outcome:
    first = w.cli(*evaluate_args("E"))
    if first.rc != 0:
        return setup_failed(first)
    again = w.cli(*evaluate_args("E", extra=("--classifier-steps", "21", "--overwrite")))
    if again.rc != 0:
        return Outcome(again)
    settings = json.loads((w.dir / "E" / "results.json").read_text())["settings"]
    return Outcome(again, wrong=settings.get("classifier_steps") != 21)


@case("cli-evaluate-per-class-too-big", "cli", "error",
      "evaluate --per-class 3,500 on digits (~135 per class): refused before any cell runs")
def _(w: Work) -> Outcome:
    p = w.cli(*evaluate_args("E", per_class="3,500"))
    cells = sorted((w.dir / "E" / "cells").glob("*.json")) if (w.dir / "E").exists() else []
    return Outcome(p, clean=not cells, note=f"{len(cells)} cell(s) ran before the error" if cells else "")


# === 3. GANResampler units ======================================================================


@case("api-resampler-units-0-16", "api", "either",
      "GANResampler(digits augmenter).fit_resample(sklearn load_digits().data in 0..16): refused, "
      "or rows appended in X's units (max <= 16)")
def _(w: Work) -> Outcome:
    p = w.api("""
        from sklearn.datasets import load_digits
        from ganaug import GANResampler
        d = load_digits()
        Xr, yr = GANResampler(augmenter=fixture_augmenter()).fit_resample(d.data, d.target)
        new = Xr[len(d.data):]
        result(added=len(new), new_max=float(new.max()) if len(new) else 0.0, x_max=float(d.data.max()))
    """)
    return from_result(p, lambda r: r["new_max"] > r["x_max"] + 1e-6,
                       lambda r: f"{r['added']} rows added, max {r['new_max']:g} (X max {r['x_max']:g})")


@case("api-resampler-layout-4x16", "api", "error",
      "fit_resample on N×4×16 arrays for an 8×8 augmenter: refused, not reshaped silently")
def _(w: Work) -> Outcome:
    return Outcome(w.api("""
        from ganaug import GANResampler
        x, y = digits()
        Xr, yr = GANResampler(augmenter=fixture_augmenter()).fit_resample(x.reshape(len(x), 4, 16), y)
        result(added=len(Xr) - len(x))
    """))


# === 4. value ranges of wrapped datasets =========================================================


@case("api-mixloader-normalize-range", "api", "either",
      "mix_loader over a DataLoader whose dataset ends in Normalize(0.5, 0.5), no transform=: "
      "synthetic items must come out in the real batch's range (below 0 too), or be refused")
def _(w: Work) -> Outcome:
    p = w.api("""
        from torch.utils.data import DataLoader
        from ganaug import mix_loader
        base, ds = normalized_digits()
        loader = mix_loader(DataLoader(ds, batch_size=32), fixture_augmenter(), ratio=1.0, return_mask=True)
        x, y, mask = next(iter(loader))
        result(real_min=float(x[~mask].min()), fake_min=float(x[mask].min()), fake_max=float(x[mask].max()))
    """)
    return from_result(p, lambda r: r["real_min"] < 0 <= r["fake_min"] or r["fake_max"] > 1.001,
                       lambda r: f"real min {r['real_min']:.2f}; synthetic {r['fake_min']:.2f}..{r['fake_max']:.2f}")


def _raw_membership(w: Work, read: str) -> Outcome:
    """``read`` builds ``got`` (an ArrayDataset) from ``ds``; its images must be raw digits."""
    p = w.api(read + """
        raw = {im.tobytes() for im in base.data}
        result(raw=all(np.ascontiguousarray(im).tobytes() in raw for im in got.data),
               mean=float(got.data.mean()), raw_mean=float(base.data.mean()))
    """)
    return from_result(p, lambda r: not r["raw"],
                       lambda r: f"pixel mean read {r['mean']:.1f}, raw {r['raw_mean']:.1f}")


@case("api-few-shot-subset-normalize", "api", "either",
      "few_shot(Subset(dataset with Normalize), 3): images read raw (each one a digits image), "
      "or refused saying what to pass")
def _(w: Work) -> Outcome:
    return _raw_membership(w, """
        from torch.utils.data import Subset
        from ganaug import few_shot
        base, ds = normalized_digits()
        got, _ = few_shot(Subset(ds, list(range(300))), 3, seed=0)
    """)


@case("api-concat-subset-normalize", "api", "either",
      "as_array_dataset(ConcatDataset of two Subsets of a Normalize dataset): raw images, or refused")
def _(w: Work) -> Outcome:
    return _raw_membership(w, """
        from torch.utils.data import ConcatDataset, Subset
        from ganaug.data import as_array_dataset
        base, ds = normalized_digits()
        got = as_array_dataset(ConcatDataset([Subset(ds, range(0, 100)), Subset(ds, range(100, 200))]))
    """)


@case("api-mixdataset-subset-range", "api", "either",
      "SyntheticMixDataset(Subset(dataset with Normalize)): synthetic items in the real items' "
      "range (below 0 too), or refused")
def _(w: Work) -> Outcome:
    p = w.api("""
        from torch.utils.data import Subset
        from ganaug import SyntheticMixDataset
        base, ds = normalized_digits()
        mix = SyntheticMixDataset(Subset(ds, list(range(40))), fixture_augmenter(), ratio=1.0)
        items = [np.asarray(mix[i][0], dtype=float) for i in range(len(mix))]
        real, fake = np.stack(items[:mix.n_real]), np.stack(items[mix.n_real:])
        result(real_min=float(real.min()), real_max=float(real.max()), fake_min=float(fake.min()),
               fake_max=float(fake.max()))
    """)
    return from_result(p, lambda r: r["real_min"] < 0 <= r["fake_min"] or r["fake_max"] > max(1.0, r["real_max"]) + 1e-3,
                       lambda r: f"real {r['real_min']:.2f}..{r['real_max']:.2f}; synthetic {r['fake_min']:.2f}..{r['fake_max']:.2f}")


@case("api-mixdataset-ratio-string", "api", "either",
      "SyntheticMixDataset(ratio=\"0.5\"): one clear error naming ratio (or 0.5 honoured)",
      must=("ratio",))
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import SyntheticMixDataset, load_dataset
        real = load_dataset("digits")
        mix = SyntheticMixDataset(real, fixture_augmenter(), ratio="0.5")
        result(n_real=len(real), n=len(mix))
    """)
    return from_result(p, lambda r: r["n"] != r["n_real"] + round(0.5 * r["n_real"]))


# === 5. image folders ===========================================================================


@case("api-folder-16bit", "api", "ok",
      "folder: of 16-bit PNGs (digits × 257): read as the 8-bit images (within 1), not all white")
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import load_dataset
        x, y = digits()
        x, y = x[:30], y[:30] % 3
        write_folder("f", x.astype(np.uint16) * 257, y)
        ds = load_dataset("folder:f", train=None)
        want = x[np.argsort(y, kind="stable")]
        same = ds.data.shape == want.shape
        result(max_diff=int(np.abs(ds.data.astype(int) - want).max()) if same else None,
               shape=list(ds.data.shape), mean=float(ds.data.mean()), want_mean=float(want.mean()))
    """)
    return from_result(p, lambda r: r["max_diff"] is None or r["max_diff"] > 1,
                       lambda r: f"max difference {r['max_diff']}, mean {r['mean']:.1f} (want {r['want_mean']:.1f})")


@case("api-folder-one-rgb", "api", "either",
      "folder: of grey PNGs with one RGB file: read grey, or converted with a word saying so")
def _(w: Work) -> Outcome:
    p = w.api("""
        from PIL import Image
        from ganaug import load_dataset
        x, y = digits()
        write_folder("f", x[:30], y[:30] % 3)
        Image.fromarray(np.stack([x[0]] * 3, axis=-1)).save("f/c0/000.png")
        ds = load_dataset("folder:f", train=None)
        result(shape=list(ds.data.shape))
    """)
    said = re.search(r"rgb|convert", p.stderr, re.IGNORECASE) is not None
    return from_result(p, lambda r: len(r["shape"]) == 4 and not said,
                       lambda r: f"shape {r['shape']}" + (", announced" if said else ", silently"))


@case("api-folder-hidden-class", "api", "ok",
      "folder: with a .ipynb_checkpoints sub-folder: hidden folders are not classes (ImageFolder)")
def _(w: Work) -> Outcome:
    p = w.api("""
        from PIL import Image
        from ganaug import load_dataset
        x, y = digits()
        write_folder("f", x[:30], y[:30] % 3)
        os.makedirs("f/.ipynb_checkpoints")
        Image.fromarray(x[0]).save("f/.ipynb_checkpoints/000.png")
        result(classes=list(load_dataset("folder:f", train=None).classes))
    """)
    return from_result(p, lambda r: any(c.startswith(".") for c in r["classes"]),
                       lambda r: f"classes {r['classes']}")


@case("api-folder-pgm", "api", "ok",
      "folder: of .pgm files (an ImageFolder extension): all 30 images read")
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import load_dataset
        x, y = digits()
        write_folder("f", x[:30], y[:30] % 3, suffix=".pgm")
        result(n=len(load_dataset("folder:f", train=None)))
    """)
    return from_result(p, lambda r: r["n"] != 30, lambda r: f"{r['n']} images read")


# === 7. report confinement ======================================================================

SECRET = b"\x89PNG\r\n\x1a\n" + b"GANAUG-FAULTS-SECRET " * 40


def _report_leak(w: Work, samples_png: str, secret: bytes, link: bool = False) -> Outcome:
    folder = w.dir / "eval"
    shutil.copytree(w.fx.eval_dir, folder)
    if link:
        os.symlink(w.dir / "secret.png", folder / "samples" / "link.png")
    data = json.loads((folder / "results.json").read_text())
    for cell in data["cells"]:
        cell.pop("samples", None)
        cell["samples_png"] = samples_png
    (folder / "results.json").write_text(json.dumps(data))
    p = w.cli("report", folder)
    marks = (secret[8:72], base64.b64encode(secret)[:64])
    leaked = [str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file() and not f.is_symlink()
              and any(m in f.read_bytes() for m in marks)]
    return Outcome(p, wrong=bool(leaked), note=f"secret found in {leaked}" if leaked else "")


@case("cli-report-traversal-etc-passwd", "cli", "either",
      "report on results.json whose samples_png is ../../…/etc/passwd: no byte of it in the report")
def _(w: Work) -> Outcome:
    return _report_leak(w, "../" * 12 + "etc/passwd", Path("/etc/passwd").read_bytes())


@case("cli-report-absolute-path", "cli", "either",
      "samples_png = an absolute path to a PNG outside the results folder: not embedded")
def _(w: Work) -> Outcome:
    secret = w.write("secret.png", SECRET)
    return _report_leak(w, str(secret), SECRET)


@case("cli-report-symlink-out", "cli", "either",
      "samples_png = samples/link.png, a symlink to a PNG outside the folder: not embedded")
def _(w: Work) -> Outcome:
    w.write("secret.png", SECRET)
    return _report_leak(w, "samples/link.png", SECRET, link=True)


def _report_of(w: Work, edit: Callable[[dict], None]) -> Proc:
    folder = w.dir / "eval"
    shutil.copytree(w.fx.eval_dir, folder)
    data = json.loads((folder / "results.json").read_text())
    edit(data)
    (folder / "results.json").write_text(json.dumps(data))
    return w.cli("report", folder)


@case("cli-report-cells-not-list", "cli", "error",
      "report on a results.json whose cells is a string: one clear line")
def _(w: Work) -> Outcome:
    return Outcome(_report_of(w, lambda d: d.update(cells="oops")))


@case("cli-report-sections-wrong-type", "cli", "error",
      "report on a results.json whose settings is a list and summary.accuracy a string")
def _(w: Work) -> Outcome:
    return Outcome(_report_of(w, lambda d: d.update(settings=[], summary={"accuracy": "x", "gains": 5})))


@case("cli-report-not-json", "cli", "error", "report on a results.json that is not JSON")
def _(w: Work) -> Outcome:
    w.write("R/results.json", "not json {")
    return Outcome(w.cli("report", "R"))


# === 8a. unwritable --out; 9. huge label =========================================================


@case("cli-pretrain-unwritable-out", "cli", "error",
      "pretrain --out FILE/D (a file stands where the folder should be): refused before training")
def _(w: Work) -> Outcome:
    w.write("blocker", "a file, not a folder")
    p = w.cli("pretrain", "--dataset", "digits", "--per-class", 5, "--steps", 40, "--out", "blocker/D")
    trained = re.search(r"GAN:\s+\d+%", p.stderr) is not None
    return Outcome(p, clean=not trained, note="failed only after training" if trained else "")


@case("api-npz-label-1e9", "api", "either",
      "load_dataset(npz:) with one stray label 10^9: a clear error or the classes present; "
      "no memory blow-up")
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import load_dataset
        x, y = digits()
        y = y.copy(); y[0] = 10**9
        np.savez("big.npz", x=x, y=y)
        result(n_classes=len(load_dataset("npz:big.npz").classes))
    """)
    return from_result(p, lambda r: r["n_classes"] > 11, lambda r: f"{r['n_classes']} classes")


# === tracebacks and unclear messages: data ======================================================


def _pretrain_npz(w: Work, **arrays: np.ndarray) -> Proc:
    np.savez(w.dir / "d.npz", **arrays)
    return w.cli("pretrain", "--dataset", "npz:d.npz", "--per-class", 3, "--steps", 5, "--out", "D", "--quiet")


@case("cli-npz-string-labels", "cli", "either",
      "pretrain on an npz whose y holds strings: one clear line, or trained on those classes")
def _(w: Work) -> Outcome:
    x, y = w.fx.digits()
    p = _pretrain_npz(w, x=x, y=np.array(list("abcdefghij"))[y])
    if p.rc != 0:
        return Outcome(p)
    meta = json.loads((w.dir / "D" / "augmenter.json").read_text())
    return Outcome(p, wrong=len(meta["classes"]) != 10, note=f"classes {meta['class_names']}")


@case("cli-npz-nan-pixels", "cli", "error", "pretrain on an npz of float pixels with a NaN: NaN named",
      must=("nan",))
def _(w: Work) -> Outcome:
    x, y = w.fx.digits()
    x = x.astype(np.float32) / 255
    x[0, 0, 0] = np.nan
    return Outcome(_pretrain_npz(w, x=x, y=y))


@case("cli-npz-text-file", "cli", "error",
      "pretrain --dataset npz:t.npz where t.npz is a text file: not told to use allow_pickle",
      must_not=("allow_pickle",))
def _(w: Work) -> Outcome:
    w.write("t.npz", "just some text\n")
    return Outcome(w.cli("pretrain", "--dataset", "npz:t.npz", "--steps", 5, "--out", "D", "--quiet"))


@case("cli-pretrain-unknown-dataset", "cli", "error", "pretrain --dataset nosuch", must=("nosuch",))
def _(w: Work) -> Outcome:
    return Outcome(w.cli("pretrain", "--dataset", "nosuch", "--steps", 5, "--out", "D", "--quiet"))


@case("api-fit-lists", "api", "either",
      "fit(list of arrays, list of ints): accepted as array-likes, or a message that is not "
      "'labels given twice'", must_not=("not both",))
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import GANAugmenter
        x, y = digits()
        aug = GANAugmenter(steps=3, device="cpu", verbose=False).fit(list(x[:60]), [int(v) for v in y[:60]])
        result(classes=len(aug.classes_))
    """)
    return from_result(p, lambda r: r["classes"] != 10)


@case("api-sample-unfitted", "api", "error", "GANAugmenter().sample(5) before fit", must=("fit",))
def _(w: Work) -> Outcome:
    return Outcome(w.api("""
        from ganaug import GANAugmenter
        GANAugmenter().sample(5)
        result(sampled=True)
    """))


# === tracebacks and unclear messages: checkpoints ===============================================


@case("cli-sample-ckpt-missing-key", "cli", "error",
      "sample from a checkpoint whose metadata lacks class_names")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.variant("missing_key"), "--n", 10, "--out", "s.png"))


@case("cli-info-ckpt-missing-key", "cli", "error", "info on a checkpoint whose metadata lacks class_names")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("info", w.fx.variant("missing_key")))


@case("cli-sample-ckpt-unknown-dtype", "cli", "error",
      "sample from a checkpoint whose metadata names dtype 'float99'")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.variant("unknown_dtype"), "--n", 10, "--out", "s.npz"))


@case("cli-info-ckpt-list-header", "cli", "error", "info on a checkpoint whose ganaug header is a JSON list")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("info", w.fx.variant("list_header")))


@case("cli-sample-short-class-names-png", "cli", "either",
      "sample --out x.png from a checkpoint with 3 class names for 10 classes: one clear line, "
      "or a PNG")
def _(w: Work) -> Outcome:
    p = w.cli("sample", w.fx.variant("short_names"), "--n", 20, "--out", "s.png")
    png = w.dir / "s.png"
    return Outcome(p, wrong=p.rc == 0 and not (png.is_file() and png.stat().st_size > 0))


@case("cli-info-json-nan-losses", "cli", "either",
      "info --json on a checkpoint whose final losses are NaN: standard JSON out (or refused)")
def _(w: Work) -> Outcome:
    p = w.cli("info", w.fx.variant("nan_losses"), "--json")
    wrong = p.rc == 0 and not strict_json(p.stdout)
    return Outcome(p, wrong=wrong, note="NaN tokens in the JSON printed" if wrong else "")


@case("cli-info-json-standard", "cli", "ok", "info --json on a good checkpoint: standard JSON")
def _(w: Work) -> Outcome:
    p = w.cli("info", w.fx.ckpt, "--json")
    return Outcome(p, wrong=not strict_json(p.stdout))


@case("cli-info-pickle", "cli", "error", "info on a pickle named .pt: refused, never unpickled",
      must=("pickle",))
def _(w: Work) -> Outcome:
    import pickle

    w.write("model.pt", pickle.dumps({"weights": [1, 2, 3]}))
    return Outcome(w.cli("info", "model.pt"))


@case("cli-info-truncated", "cli", "error", "info on a checkpoint cut to half its size")
def _(w: Work) -> Outcome:
    data = w.fx.ckpt.read_bytes()
    w.write("cut.safetensors", data[: len(data) // 2])
    return Outcome(w.cli("info", "cut.safetensors"))


# === tracebacks and unclear messages: sample options ============================================


@case("cli-sample-n-1e12", "cli", "error", "sample --n 1000000000000: refused before allocating")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.ckpt, "--n", 10**12, "--out", "s.npz"))


@case("cli-sample-labels-comma", "cli", "error", "sample --labels , (no label at all)")
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.ckpt, "--labels", ",", "--out", "s.png"))


@case("cli-sample-labels-cat", "cli", "error",
      "sample --labels cat for integer classes: names the label, not int()'s message",
      must=("cat",), must_not=("invalid literal",))
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.ckpt, "--labels", "cat", "--out", "s.png"))


@case("cli-sample-unknown-label", "cli", "error", "sample --labels 99 (no such class)", must=("99",))
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.ckpt, "--labels", "99", "--out", "s.png"))


@case("cli-sample-device-meta", "cli", "error",
      "sample --device meta: the device is blamed, not the checkpoint", must=("device",),
      must_not=("checkpoint contents",))
def _(w: Work) -> Outcome:
    return Outcome(w.cli("sample", w.fx.ckpt, "--device", "meta", "--out", "s.png"))


@case("cli-evaluate-conditions-comma", "cli", "error",
      "evaluate --conditions , (none named): says so, not 'unknown condition(s) []'", must_not=("[]",))
def _(w: Work) -> Outcome:
    return Outcome(w.cli(*evaluate_args("E", conditions=",")))


@case("cli-resume-fewer-steps", "cli", "either",
      "pretrain --resume CKPT(5 steps) --steps 3: an error, or a warning that no step will run",
      must=("step",))
def _(w: Work) -> Outcome:
    shutil.copytree(w.fx.run_dir, w.dir / "R")
    p = w.cli("pretrain", "--dataset", "digits", "--per-class", 5, "--resume", "R/augmenter.safetensors",
              "--steps", 3, "--out", "D", "--quiet")
    warned = any("warn" in line.lower() and "step" in line.lower() for line in p.stderr.splitlines())
    return Outcome(p, wrong=p.rc == 0 and not warned, note="" if warned or p.rc else "0 steps, no word")


# === ecosystem conventions ======================================================================


@case("api-save-model-pt", "api", "either",
      "aug.save('runs/model.pt'): a file at that path (or a clear refusal), not a folder model.pt/")
def _(w: Work) -> Outcome:
    p = w.api("""
        fixture_augmenter().save("runs/model.pt")
        result(is_dir=os.path.isdir("runs/model.pt"), is_file=os.path.isfile("runs/model.pt"))
    """)
    return from_result(p, lambda r: r["is_dir"] or not (r["is_file"] or p.stderr.strip()),
                       lambda r: "a folder model.pt/ was made" if r["is_dir"] else "")


@case("api-checkpoint-mode-umask", "api", "ok",
      "under umask 027 a saved checkpoint is mode 0640, like any file the user writes")
def _(w: Work) -> Outcome:
    p = w.api("""
        os.umask(0o027)
        path = fixture_augmenter().save("m.safetensors")
        result(mode=oct(os.stat(path).st_mode & 0o777), twin=oct(os.stat("m.json").st_mode & 0o777))
    """)
    return from_result(p, lambda r: r["mode"] != "0o640", lambda r: f"checkpoint {r['mode']}, json {r['twin']}")


@case("cli-python-m-ganaug", "cli", "ok", "python -m ganaug --help lists the commands")
def _(w: Work) -> Outcome:
    p = w.cli("--help")
    return Outcome(p, wrong="pretrain" not in p.stdout)


@case("cli-debug-traceback", "cli", "traceback",
      "ganaug --debug info CUT (a truncated checkpoint, a runtime error rather than a usage error): "
      "the traceback is shown (--debug as a group or a command option)")
def _(w: Work) -> Outcome:
    data = w.fx.ckpt.read_bytes()
    w.write("cut.safetensors", data[: len(data) // 2])
    p = w.cli("--debug", "info", "cut.safetensors")
    if p.rc == 2 and "no such option" in p.stderr.lower():
        p = w.cli("info", "--debug", "cut.safetensors")
    return Outcome(p)


@case("cli-sample-short-n", "cli", "ok", "sample -n 4 --out s.npz writes 4 samples")
def _(w: Work) -> Outcome:
    p = w.cli("sample", w.fx.ckpt, "-n", 4, "--out", "s.npz")
    if p.rc != 0:
        return Outcome(p)
    with np.load(w.dir / "s.npz") as z:
        return Outcome(p, wrong=len(z["x"]) != 4)


@case("api-mixloader-dataloader-attrs", "api", "ok",
      "mix_loader(DataLoader) exposes .dataset, .batch_size, .sampler and set_epoch like a DataLoader")
def _(w: Work) -> Outcome:
    p = w.api("""
        from torch.utils.data import DataLoader
        from ganaug import load_dataset, mix_loader
        base = load_dataset("digits")
        m = mix_loader(DataLoader(base, batch_size=8, shuffle=True), fixture_augmenter())
        if callable(getattr(m, "set_epoch", None)):
            m.set_epoch(1)
        result(missing=[a for a in ("dataset", "batch_size", "sampler", "set_epoch") if not hasattr(m, a)],
               same_dataset=getattr(m, "dataset", None) is base, batch_size=getattr(m, "batch_size", None))
    """)
    return from_result(p, lambda r: r["missing"] or not r["same_dataset"] or r["batch_size"] != 8,
                       lambda r: f"missing {r['missing']}" if r["missing"] else "")


@case("api-load-dataset-transform", "api", "ok",
      "load_dataset('digits', transform=ToTensor(), target_transform=...) applies both, as torchvision")
def _(w: Work) -> Outcome:
    p = w.api("""
        import torch, torchvision.transforms as T
        from ganaug import load_dataset
        ds = load_dataset("digits", transform=T.ToTensor(), target_transform=lambda t: t + 100)
        image, target = ds[0]
        result(tensor=isinstance(image, torch.Tensor), target=int(target))
    """)
    return from_result(p, lambda r: not r["tensor"] or r["target"] < 100)


@case("api-clone-loaded-auto", "api", "ok",
      "clone(GANAugmenter.load(ckpt trained with loss='auto')) has loss='auto' again, so it re-resolves")
def _(w: Work) -> Outcome:
    p = w.api("""
        from sklearn.base import clone
        aug = fixture_augmenter()
        result(loss=clone(aug).get_params()["loss"], resolved=aug.config_.loss)
    """)
    return from_result(p, lambda r: r["loss"] != "auto", lambda r: f"clone has loss={r['loss']!r}")


@case("api-sklearn-verbose-default", "api", "ok", "GANAugmenter() is quiet by default (sklearn's verbose=0)")
def _(w: Work) -> Outcome:
    p = w.api("""
        from ganaug import GANAugmenter
        result(verbose=GANAugmenter().get_params()["verbose"])
    """)
    return from_result(p, lambda r: bool(r["verbose"]), lambda r: f"verbose={r['verbose']!r}")


# === faults: kill -9, full disk =================================================================


# pretrain writes its first mid-run checkpoint after 250 steps by default (~50 s of full digits
# on a busy 2-core machine); a kill before the first one cannot leave anything to resume.
KILL_PRETRAIN_AFTER = 150


def _checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.safetensors"), key=lambda p: p.stat().st_mtime) if folder.exists() else []


def _steps_in(path: Path) -> tuple[int, bool]:
    header = header_of(path)
    return int(header["summary"]["steps"]), bool(header.get("training_state"))


@case("fault-kill-pretrain", "fault", "ok",
      "kill -9 during pretrain --steps 3000 (as soon as a checkpoint appears, at most 150 s in): D "
      "holds a resumable checkpoint and pretrain --resume continues it")
def _(w: Work) -> Outcome:
    out = w.dir / "D"
    killed = w.run_and_kill(["pretrain", "--dataset", "digits", "--steps", 3000, "--out", "D"],
                            ready=lambda: bool(_checkpoints(out)), deadline=KILL_PRETRAIN_AFTER)
    found = _checkpoints(out)
    if not found:
        return Outcome(killed, message=f"no checkpoint in D after kill -9 at {killed.seconds:.0f} s")
    try:
        done, state = _steps_in(found[-1])
    except (OSError, KeyError, ValueError) as err:
        return Outcome(killed, message=f"{found[-1].name} left by kill -9 is unreadable: {err}")
    if not state:
        return Outcome(killed, message=f"{found[-1].name} holds no training state")
    resumed = w.cli("pretrain", "--dataset", "digits", "--resume", found[-1], "--steps", done + 5,
                    "--out", "D2", "--quiet")
    if resumed.rc != 0:
        return Outcome(resumed)
    after, _ = _steps_in(w.dir / "D2" / "augmenter.safetensors")
    return Outcome(resumed, wrong=after != done + 5,
                   note=f"killed at {killed.seconds:.0f} s with {done} steps saved; resumed to {after}")


@case("fault-kill-evaluate", "fault", "ok",
      "kill -9 during evaluate (4 seeds) once a cell is written, then rerun: finished cells reused "
      "unchanged, results.json standard JSON with all 4 cells")
def _(w: Work) -> Outcome:
    args = evaluate_args("E", conditions="real,gan", seeds=4, extra=("--steps", "5"))
    cells = w.dir / "E" / "cells"
    killed = w.run_and_kill(args, ready=lambda: bool(list(cells.glob("*.json"))), deadline=90)
    before = hash_tree(cells)
    if killed.rc == 0 or not before:
        return Outcome(killed, wrong=True, clean=False, message=f"not killed mid-run (rc {killed.rc}, "
                       f"{len(before)} cells)")
    rerun = w.cli(*args)
    changed = lost_or_changed(before, hash_tree(cells))
    if rerun.rc != 0:
        return Outcome(rerun, changed=changed)
    text = (w.dir / "E" / "results.json").read_text()
    n = len(json.loads(text)["cells"])
    return Outcome(rerun, changed=changed, wrong=not strict_json(text) or n != 4,
                   note=f"{len(before)} cell(s) done before the kill; results hold {n}")


@case("fault-full-disk-pretrain", "fault", "error",
      "pretrain --out D (D holds an earlier checkpoint) under ulimit -f 64: one clear line, the "
      "earlier checkpoint intact")
def _(w: Work) -> Outcome:
    shutil.copytree(w.fx.run_dir, w.dir / "D")
    before = hash_tree(w.dir / "D")
    p = w.cli("pretrain", "--dataset", "digits", "--per-class", 5, "--steps", 5, "--out", "D", "--quiet",
              shell="ulimit -f 64")
    after = hash_tree(w.dir / "D")
    left = sorted(set(after) - set(before))
    return Outcome(p, changed=lost_or_changed(before, after), note=f"left behind: {left}" if left else "")


@case("fault-full-disk-sample", "fault", "error",
      "sample --n 5000 --out s.npz over an earlier s.npz under ulimit -f 16: one clear line, the "
      "earlier s.npz intact")
def _(w: Work) -> Outcome:
    first = w.cli("sample", w.fx.ckpt, "--n", 20, "--out", "s.npz")
    if first.rc != 0:
        return setup_failed(first)
    before = hash_tree(w.dir)
    p = w.cli("sample", w.fx.ckpt, "--n", 5000, "--seed", 1, "--out", "s.npz", shell="ulimit -f 16")
    changed = lost_or_changed({"s.npz": before["s.npz"]}, hash_tree(w.dir))
    return Outcome(p, changed=changed)


# === the run ====================================================================================


def run_case(c: Case, fx: Fixtures, tmp: Path) -> dict:
    folder = tmp / c.id
    folder.mkdir()
    w = Work(folder, fx)
    started = time.perf_counter()
    try:
        out = c.check(w)
    except Exception as err:  # a check that cannot read what the program left is a finding too
        last = w.log[-1] if w.log else Proc("", -1, "", "", 0.0)
        out = Outcome(last, wrong=True, clean=False, note=f"harness could not check: {type(err).__name__}: {err}")
    return judge(c, w, out, time.perf_counter() - started)


def totals(records: list[dict], seconds: float) -> dict:
    return {
        "cases": len(records),
        "passes": sum(r["verdict"] == "pass" for r in records),
        "fails": sum(r["verdict"] == "fail" for r in records),
        "tracebacks_leaked": sum(r["traceback_leaked"] for r in records),
        "silent_wrong_results": sum(r["silent_wrong_result"] for r in records),
        "earlier_outputs_changed": sum(r["earlier_output_changed"] is True for r in records),
        "timeouts": sum(r["timed_out"] for r in records),
        "seconds": round(seconds, 1),
    }


def row(r: dict) -> str:
    rc = "T/O" if r["timed_out"] else str(r["exit_code"])
    flags = "".join(f for f, on in (("T", r["traceback_leaked"]), ("W", r["silent_wrong_result"]),
                                     ("C", r["earlier_output_changed"] is True)) if on)
    return (f"{r['id']:<38} {r['kind']:<5} {r['expected']:<9} {rc:>4} {r['verdict']:<4} {flags:<3} "
            f"{r['seconds']:>6.1f}s  {(r['note'] or r['message'])[:90]}")


def tree_state() -> str:
    """The commit the working tree is on, and how many files differ from it (read-only git)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    n = len([line for line in dirty.splitlines() if line.strip()])
    return f"{head}" + (f" + {n} changed/untracked path(s)" if n else "")


def host() -> str:
    try:
        from ganaug.utils import machine

        return machine()
    except Exception as err:  # the package under test may not import at all
        return f"{platform.machine()}, {os.cpu_count()} cores (ganaug.utils.machine failed: {err})"


def select(only: str | None) -> list[Case]:
    if not only:
        return list(CASES)
    wanted = [s.strip() for s in only.split(",") if s.strip()]
    known = {c.id: c for c in CASES}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise SystemExit(f"unknown case id(s): {', '.join(unknown)}; see --list")
    return [known[s] for s in wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", metavar="ID,ID", help="Run only these cases.")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "faults.json")
    parser.add_argument("--list", action="store_true", help="List the case ids and exit.")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(f"{c.id:<38} {c.kind:<5} {c.expected:<9} {c.description}" for c in CASES))
        return 0
    chosen = select(args.only)
    started = time.perf_counter()
    records = []
    with tempfile.TemporaryDirectory(prefix="ganaug-faults-") as name:
        tmp = Path(name)
        ENV["GANAUG_DATA"] = str(tmp / "torchvision-data")  # no cached dataset changes a case
        fx = build_fixtures(tmp / "fixtures")
        print(f"fixtures ready ({time.perf_counter() - started:.0f} s); {len(chosen)} cases", flush=True)
        for c in chosen:
            records.append(run_case(c, fx, tmp))
            print(row(records[-1]), flush=True)
    summary = totals(records, time.perf_counter() - started)
    report = {"benchmark": "faults", "machine": host(), "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "python": platform.python_version(), "tree": tree_state(),
              "command": shlex.join(["python", "benchmarks/faults.py", *(argv if argv is not None else sys.argv[1:])]),
              "totals": summary, "cases": records}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print("totals: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
