"""Train the augmenters ganaug ships, on all of Omniglot's small background sets.

    python -m ganaug.pretrained.build --root DIR              # both: omniglot-28 and omniglot-28-dagan
    python -m ganaug.pretrained.build --root DIR --which dagan --head warp --diversity 1
    python -m ganaug.pretrained.build --root DIR --which gan --gan '{"loss": "hinge", "aux_weight": 1}'

``DIR`` holds ``images_background_small1.zip`` and ``images_background_small2.zip`` (their union:
8 alphabets, 242 characters, 4,840 images, read at 28×28). Each model trains with its defaults
and seed 0, and is written to this package's folder (``--out`` elsewhere) with its provenance:
this command, the data, the wall time and the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from ganaug.data import load_dataset
from ganaug.pretrained import FOLDER
from ganaug.utils import machine

SIZE = 28
NAMES = {"gan": f"omniglot-{SIZE}", "dagan": f"omniglot-{SIZE}-dagan"}


def _provenance(data, seconds: float, device: str) -> dict:
    return {
        # The data folder is this machine's: the command names it DIR.
        "command": "python -m ganaug.pretrained.build " + " ".join("DIR" if a.startswith("/") else a for a in sys.argv[1:]),
        "data": {"name": "omniglot (images_background_small1 + small2, union)", "n_images": len(data),
                 "n_classes": len(data.classes), "alphabets": sorted(set(data.class_groups or [])),
                 "image_size": SIZE},
        "wall_seconds": round(seconds, 1), "machine": machine(device),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def build(which: str, root: str, out: Path, device: str, steps: int | None, loss: str | None = None,
          dagan_options: dict | None = None, gan_options: dict | None = None) -> Path:
    from ganaug.augmenter import GANAugmenter
    from ganaug.dagan import DAGANAugmenter

    data = load_dataset("omniglot", root=root, train=None, image_size=SIZE)
    started = time.perf_counter()
    if which == "gan":
        options = (gan_options or {}) | ({"steps": steps} if steps else {}) | ({"loss": loss} if loss else {})
        model = GANAugmenter(seed=0, device=device, verbose=True, **options).fit(data)
    else:
        options = ({"steps": steps} if steps else {}) | (dagan_options or {})
        model = DAGANAugmenter(seed=0, device=device, verbose=True, **options).fit(data)
    model.provenance_ = _provenance(data, time.perf_counter() - started, device)
    path = out / f"{NAMES[which]}.safetensors"
    model.save(path, **({"training_state": False} if which == "gan" else {}))
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB, {model.provenance_['wall_seconds']} s)")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="the folder holding Omniglot's zips")
    parser.add_argument("--which", default="gan,dagan", help="gan, dagan or both (comma-separated)")
    parser.add_argument("--out", default=str(FOLDER), help="where the checkpoints go (default: the package)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: each model's own)")
    parser.add_argument("--loss", default=None, help="the class-conditional GAN's objective (default: auto)")
    parser.add_argument("--gan", type=json.loads, default={},
                        help="the class-conditional GAN's settings as JSON, GANAugmenter's keywords (default: {})")
    parser.add_argument("--head", choices=("image", "warp"), default="image",
                        help="the DAGAN's output: the variant's pixels, or a deformation of the input (default: image)")
    parser.add_argument("--diversity", type=float, default=0.0, help="the DAGAN's mode-seeking weight (default: 0)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    for which in args.which.split(","):
        if which not in NAMES:
            parser.error(f"--which takes gan and/or dagan, got {which!r}")
        build(which, args.root, Path(args.out), args.device, args.steps, args.loss,
              {"head": args.head, "diversity_weight": args.diversity}, args.gan)


if __name__ == "__main__":
    main()
