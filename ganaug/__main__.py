"""``python -m ganaug``: the same command line as ``ganaug``."""

from ganaug.cli import main

main(prog_name="ganaug")
