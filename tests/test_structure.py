"""The package's shape: no module imports from a floor above its own, and no function is long.

Floors: networks and data at the bottom, then training, the augmenter, the wrappers, evaluation, the
report and the command line. A module may import from its own floor or any below it; the
check reads every import statement, those inside functions included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ganaug

# Lowest floor first. A module belongs to the longest prefix that names it.
FLOORS = (
    ("ganaug._version", "ganaug.utils", "ganaug.pretrained"),  # pretrained: where the shipped files lie
    ("ganaug.data", "ganaug.models"),
    ("ganaug.training",),
    ("ganaug.augmenter", "ganaug.dagan"),
    ("ganaug.mixing", "ganaug.filtering", "ganaug.transforms"),
    ("ganaug.evaluation",),
    ("ganaug.report",),
    ("ganaug.cli", "ganaug.__main__", "ganaug", "ganaug.pretrained.build"),
)
PACKAGE = Path(ganaug.__file__).parent


def floor_of(module: str) -> int:
    best, floor = -1, None
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, floor = len(prefix), level
    assert floor is not None, f"{module} is on no floor: add it to FLOORS"
    return floor


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, importer: str) -> list[str]:
    """Every ganaug module an import statement in ``source`` names (relative ones resolved)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names if a.name.split(".")[0] == "ganaug"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = importer.split(".")[: -node.level]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "ganaug":
                names.append(module)
    return names


def upward_imports(source: str, importer: str) -> list[str]:
    own = floor_of(importer)
    return [m for m in imported_modules(source, importer) if floor_of(m) > own]


def test_no_module_imports_from_a_higher_floor():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue  # the package root re-exports the public API from every floor
        importer = module_name(path)
        found += [f"{importer} imports {m}" for m in upward_imports(path.read_text(), importer)]
    assert not found, "imports from a higher floor:\n" + "\n".join(found)


def test_the_check_catches_an_upward_import_even_inside_a_function():
    source = "def f():\n    from ganaug.report.plots import sample_grid\n"
    assert upward_imports(source, "ganaug.evaluation.runner") == ["ganaug.report.plots"]
    assert upward_imports("from ganaug import __version__", "ganaug.utils") == ["ganaug"]
    assert upward_imports("from ..data import pixels", "ganaug.training.trainer") == []
    assert upward_imports("from ..augmenter import GANAugmenter", "ganaug.training.trainer") == ["ganaug.augmenter"]


MAX_FUNCTION_LINES = 60


def test_no_function_is_longer_than_sixty_lines():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{module_name(path)}.{node.name}: {lines} lines")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)
