"""The README's promises: it stays short, and every Python snippet in it runs as printed."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 250
# A fence opens with ```python at the start of a line and closes at the next ``` line; bash
# and other blocks are documentation of commands that train for minutes, so they are not run.
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _blocks() -> list[str]:
    return PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"README.md has {lines} lines; the limit is {MAX_LINES}"


def test_readme_has_python_snippets():
    # Guards the extraction itself: a changed fence style must not turn the test below into a
    # silent no-op.
    assert len(_blocks()) >= 3


def test_readme_results_block_matches_the_committed_json():
    # The README's numbers are generated; a hand edit or a results file committed without
    # rerunning `python benchmarks/variants.py` shows up here.
    spec = importlib.util.spec_from_file_location("variants", ROOT / "benchmarks" / "variants.py")
    variants = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(variants)
    datasets = sorted({p.stem.split("_")[1] for p in variants.RESULTS.glob("accuracy_*_*.json")})
    expected = variants.headline({d: variants.collect(d) for d in datasets})
    text = README.read_text(encoding="utf-8")
    block = text[text.index(variants.BEGIN) + len(variants.BEGIN) : text.index(variants.END)]
    assert block.strip("\n") == expected, "README results block is stale: run python benchmarks/variants.py"


def _benchmark(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_bench", ROOT / "benchmarks" / f"{name}.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.parametrize("name, expected", [
    ("long_tail", lambda bench, results: bench.readme_text(results)),
    ("transfer", lambda bench, results: bench.readme_block(bench.readme_runs(results))),
])
def test_readme_generated_blocks_match_the_committed_json(name, expected):
    bench = _benchmark(name)
    text = README.read_text(encoding="utf-8")
    block = text[text.index(bench.BEGIN) + len(bench.BEGIN) : text.index(bench.END)]
    want = expected(bench, ROOT / "benchmarks" / "results")
    assert block.strip("\n") == want, f"README {name} block is stale: run python benchmarks/{name}.py --readme"


@pytest.fixture
def one_thread():
    # The snippets' networks are tiny: on a shared 2-core CPU, two intra-op threads fighting
    # another process for the cores made one snippet 20x slower than a single thread.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("index", range(len(_blocks())), ids=lambda i: f"snippet{i + 1}")
def test_readme_snippet_runs_verbatim(index, tmp_path, monkeypatch, one_thread):
    # Each snippet in a fresh namespace and a fresh folder: it must define every name it uses
    # and must not lean on files an earlier snippet wrote.
    source = _blocks()[index]
    monkeypatch.chdir(tmp_path)
    code = compile(source, f"README.md python snippet {index + 1}", "exec")
    exec(code, {"__name__": "__readme__"})


def test_readme_timing_sentence_matches_the_committed_speed_json(monkeypatch):
    spec = importlib.util.spec_from_file_location("speed_bench", ROOT / "benchmarks" / "speed.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, bench)  # its dataclasses look their module up there
    spec.loader.exec_module(bench)
    text = README.read_text(encoding="utf-8")
    sentence = text[text.index(bench.BEGIN) + len(bench.BEGIN) : text.index(bench.END)]
    expected = bench.readme_sentence(json.loads((ROOT / "benchmarks" / "results" / "speed.json").read_text()))
    assert sentence == expected, "README timing sentence is stale: run python benchmarks/speed.py --readme"
