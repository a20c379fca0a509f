"""Scenarios: where a cell's training data (and its generator's) come from.

Each scenario is one module: how it splits the data, what it fits, which cells it runs. The
runner, statistics, metrics and report are shared. Today: `few_shot`.
"""
