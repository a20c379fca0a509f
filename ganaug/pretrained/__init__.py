"""Pretrained augmenters shipped with ganaug, loadable offline.

``GANAugmenter.from_pretrained("omniglot-28")`` (class-conditional, trained on Omniglot's 242
characters) and ``DAGANAugmenter.from_pretrained("omniglot-28-dagan")`` (image-conditional:
it turns any image, of a class it never saw too, into a new one). Each is a safetensors file
with a readable JSON twin in this folder, made by ``python -m ganaug.pretrained.build --root DIR``;
its ``provenance_`` (and the JSON) records the command, the data, the wall time and the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent


def available() -> list[str]:
    """The names of the pretrained augmenters shipped here."""
    return sorted(p.stem for p in FOLDER.glob("*.safetensors"))


def path_of(name: str) -> Path:
    """The checkpoint of the pretrained augmenter ``name``.

    Raises:
        ValueError: no such name (the message lists the ones there are).
    """
    path = FOLDER / f"{name}.safetensors"
    if not isinstance(name, str) or "/" in name or not path.is_file():
        names = ", ".join(available()) or "none (this install ships none)"
        raise ValueError(f"no pretrained augmenter named {name!r}; available: {names}")
    return path


class Pretrained:
    """Gives an estimator with ``load(path, device=...)`` a ``from_pretrained(name)``."""

    @classmethod
    def from_pretrained(cls, name: str, device: str = "auto") -> Any:
        """A pretrained augmenter shipped with ganaug (`available()` lists them), loaded offline
        from the package's own files.

        Raises:
            ValueError: no pretrained augmenter of that name.
        """
        return cls.load(path_of(name), device=device)
