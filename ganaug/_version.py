"""The package version, in a module of its own so that any module can read it without
importing the package root (and, through it, everything else)."""

__version__ = "0.1.0"
