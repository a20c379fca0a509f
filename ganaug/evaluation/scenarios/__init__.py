"""Scenarios: where a cell's training data (and its generator's) come from.

Each scenario is one module: how it splits the data, what it fits, which cells it runs. The
runner, statistics, metrics and report are shared. A scenario module provides ``NAME``,
``SETTING_KEY`` (what a cell's record names its setting by), ``prepare(config, progress) -> splits``,
``settings(config)`` (the grid's settings), ``cell_name(setting, seed)``, ``describe(setting)``,
``draw(splits, setting, seed) -> (training set, record)``, ``settings_record(splits)`` and
``summarize(cells, conditions, n_classes)``; optionally ``test_set(splits, setting, seed)`` (a
test set per cell) and ``generators(splits, subset, config, seed)`` (generators beside the
cell's own GAN).
"""

from types import ModuleType

from ganaug.evaluation.scenarios import few_shot, long_tail, transfer

SCENARIOS: dict[str, ModuleType] = {few_shot.NAME: few_shot, long_tail.NAME: long_tail, transfer.NAME: transfer}


def get_scenario(name: str) -> ModuleType:
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    return SCENARIOS[name]
