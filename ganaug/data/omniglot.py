"""Omniglot (Lake et al., Science 2015) read from its zips or extracted folders, one class per character.

The authors publish ``images_background.zip``, ``images_evaluation.zip`` and the small background
sets ``images_background_small1.zip`` / ``…small2.zip``, each laid out as
``images_<set>/<Alphabet>/characterNN/<id>_<drawer>.png`` (105×105, black strokes on white).
`read_omniglot` takes every such zip or extracted folder it finds in a root (and in
``root/omniglot-py``, where torchvision's ``Omniglot`` puts them) as one set: the sets may overlap
(the two small sets both hold Greek and Latin), so a drawing is kept once, and a file that two sets
hold with different bytes is an error rather than a silent pick.
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ganaug.data.datasets import ArrayDataset

OMNIGLOT_SIZE = 28
NATIVE_SIZE = 105
TORCHVISION_FOLDER = "omniglot-py"
_PREFIX = "images_"

# (alphabet, character folder, file name) → (where it was read, PNG bytes)
_Drawings = dict[tuple[str, str, str], tuple[str, bytes]]


def read_omniglot(
    root: str | os.PathLike, image_size: int = OMNIGLOT_SIZE, download: bool = False
) -> ArrayDataset:
    """Every Omniglot drawing under ``root`` as ink-on-black uint8 images, one class per character.

    Looks for ``images_*.zip`` files and extracted ``images_*`` folders in ``root`` and in
    ``root/omniglot-py`` (``root`` may also be one such folder). Zips are read in place, never
    extracted. Classes are ``"<Alphabet>/characterNN"``, sorted by name; ``class_groups`` holds each
    class's alphabet. Images are inverted (white strokes on black, as MNIST) and shrunk with PIL's
    box filter, the mean of the pixels each output pixel covers: it keeps a stroke's ink and adds no
    ringing around the binary strokes, where Lanczos leaves a faint halo.

    Args:
        root: the folder holding the zips or folders.
        image_size: side of the square images returned (105, the drawings' own size, skips resizing).
        download: when nothing is found, fetch ``images_background`` and ``images_evaluation`` into
            ``root/omniglot-py`` with torchvision. Nothing is downloaded otherwise.

    Raises:
        FileNotFoundError: ``root`` is missing, or holds no Omniglot zip or folder.
        ValueError: a bad ``image_size``, a corrupt zip, an unreadable PNG (named), or one drawing
            held by two sets with different bytes.
    """
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
        raise ValueError(f"omniglot: image_size must be a positive integer, got {image_size!r}")
    root = Path(root).expanduser()
    if not root.is_dir():
        what = "is a file, not the folder that holds the zips" if root.exists() else "not found"
        raise FileNotFoundError(f"omniglot: root folder {what}: {root}")
    sets = _find_sets(root)
    if not sets and download:
        _download(root)
        sets = _find_sets(root)
    if not sets:
        raise FileNotFoundError(
            f"omniglot: no {_PREFIX}*.zip file or extracted {_PREFIX}*/<Alphabet>/<character>/ folder "
            f"in {root} or {root / TORCHVISION_FOLDER}; put images_background_small1.zip (and its "
            "siblings) there, or pass download=True to fetch the full set with torchvision"
        )
    drawings: _Drawings = {}
    for found in sets:
        found_here = _zip_drawings(found) if found.is_file() else _folder_drawings(found)
        if not found_here:
            raise ValueError(f"{found}: holds no PNG laid out as <Alphabet>/<character>/<file>.png")
        _merge(drawings, found_here)
    return _to_dataset(drawings, int(image_size))


def _find_sets(root: Path) -> list[Path]:
    """The zips and extracted folders named ``images_*`` in ``root`` and ``root/omniglot-py``.

    Failing those, ``root`` itself when it is named ``images_*`` (one extracted set).
    """
    found = []
    for folder in (root, root / TORCHVISION_FOLDER):
        if folder.is_dir():
            found += sorted(
                p for p in folder.iterdir()
                if p.name.startswith(_PREFIX) and (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip"))
            )
    return found or ([root] if root.name.startswith(_PREFIX) else [])


def _zip_drawings(path: Path) -> _Drawings:
    """The PNGs of one zip, at ``[top/]Alphabet/character/file.png``, read without extracting."""
    drawings: _Drawings = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                parts = info.filename.split("/")
                if info.is_dir() or len(parts) not in (3, 4) or not _visible_png(parts):
                    continue
                try:
                    data = archive.read(info)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
                    raise ValueError(f"{path}: corrupt zip member {info.filename} ({err})") from None
                drawings[tuple(parts[-3:])] = (f"{path}:{info.filename}", data)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise ValueError(f"{path}: not a readable zip archive ({err})") from None
    return drawings


def _folder_drawings(path: Path) -> _Drawings:
    """The PNGs of one extracted set, at ``path/Alphabet/character/file.png``."""
    drawings: _Drawings = {}
    for f in sorted(path.glob("*/*/*")):
        parts = f.relative_to(path).parts
        if f.is_file() and _visible_png(parts):
            drawings[parts] = (str(f), f.read_bytes())
    return drawings


def _visible_png(parts: list[str] | tuple[str, ...]) -> bool:
    """A ``.png`` with no hidden part (``.DS_Store``, macOS ``__MACOSX/`` and ``._x.png``)."""
    return parts[-1].lower().endswith(".png") and not any(p.startswith((".", "__MACOSX")) for p in parts)


def _merge(drawings: _Drawings, more: _Drawings) -> None:
    """Add ``more`` to ``drawings``, one copy of a drawing two sets share; refuse a conflict."""
    for key, (where, data) in more.items():
        if key not in drawings:
            drawings[key] = (where, data)
        elif drawings[key][1] != data:
            raise ValueError(
                f"omniglot: {'/'.join(key)} differs between {drawings[key][0]} and {where} (same "
                "alphabet, character and file name, different bytes); remove one of the two sets"
            )


def _to_dataset(drawings: _Drawings, size: int) -> ArrayDataset:
    keys = sorted(drawings)
    classes = sorted({f"{alphabet}/{character}" for alphabet, character, _ in keys})
    label = {name: i for i, name in enumerate(classes)}
    images = np.stack([_decode(*drawings[key], size) for key in keys])  # (N, size, size)
    targets = np.array([label[f"{alphabet}/{character}"] for alphabet, character, _ in keys], dtype=np.int64)
    return ArrayDataset(
        images,
        targets,
        classes,
        class_groups=[name.split("/")[0] for name in classes],
        name="omniglot",
    )


def _decode(where: str, data: bytes, size: int) -> np.ndarray:
    """PNG bytes → ``size×size`` uint8, white ink on black."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            inverted = Image.fromarray(255 - np.asarray(im.convert("L")))
    except (OSError, ValueError, SyntaxError) as err:  # PIL's errors for a damaged file
        raise ValueError(f"{where}: not a readable PNG ({err})") from None
    if inverted.size != (size, size):
        inverted = inverted.resize((size, size), Image.Resampling.BOX)
    return np.asarray(inverted)


def _download(root: Path) -> None:
    import torchvision.datasets as tvd

    for background in (True, False):
        try:
            tvd.Omniglot(str(root), background=background, download=True)
        except (OSError, RuntimeError) as err:  # no network, a failed checksum
            raise FileNotFoundError(f"omniglot: could not download into {root / TORCHVISION_FOLDER}: {err}") from None
