"""What the transfer scenario pretrains on the source: a classifier, a class-conditional GAN
and a DAGAN, each once per source (seed 0) and cached by content across runs.

The cache key holds everything a model depends on: the source's pixels and labels, the model's
settings, the thread count, the device type and the torch and ganaug versions. Files are
safetensors + JSON (`ganaug.evaluation.cache`); nothing is unpickled.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from ganaug.data import ArrayDataset
from ganaug.evaluation.batch_augment import BatchAugment
from ganaug.evaluation.cache import cache_path, cached_extractor, content_key, dataset_digest
from ganaug.evaluation.config import EvalConfig
from ganaug.training.classifier import TorchClassifier

# The source classifier's step budget: the source has far more images than a target cell
# (Omniglot: 4,840), and this is the baseline to beat, so it gets a full training.
SOURCE_CLASSIFIER_STEPS = 2000
SOURCE_DAGAN_STEPS = 2000  # DAGANAugmenter's default
SOURCE_SEED = 0


@dataclass
class SourceModels:
    """The models pretrained on the source (None: not needed by the run's conditions)."""

    classifier: TorchClassifier | None = None
    gan: Any = None  # a GANAugmenter, with its training state (a fine-tune starts from G and D)
    dagan: Any = None  # a DAGANAugmenter
    keys: dict[str, str] = dataclasses.field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What results.json records of them: each model's cache key and training facts."""
        out: dict[str, Any] = {}
        if self.classifier is not None:
            out["classifier"] = {"key": self.keys["classifier"], "steps": self.classifier.steps, "seed": SOURCE_SEED}
        for name in ("gan", "dagan"):
            model = getattr(self, name)
            if model is not None:
                out[name] = {"key": self.keys[name], "steps": int(model.n_steps_), "seed": SOURCE_SEED,
                             "train_seconds": round(float(getattr(model, "train_seconds_", 0.0)), 2)}
        if self.dagan is not None:
            out["dagan"]["diversity_weight"] = float(self.dagan.diversity_weight)
            out["dagan"]["head"] = self.dagan.head
            if self.dagan.warp_grid:  # the default grid's records stay as they were
                out["dagan"]["warp_grid"] = int(self.dagan.warp_grid)
        return out


def _key(source_print: str, kind: str, settings: dict, device: str) -> str:
    return content_key({"source": source_print, "kind": kind, "settings": settings}, device)


def train_source_models(source: ArrayDataset, config: EvalConfig, needs: set[str], progress: bool = False) -> SourceModels:
    """Train (or load from the cache) the source models in ``needs`` ⊆ {classifier, gan, dagan};
    ``progress``: say which is trained, with the GAN's and the DAGAN's progress bars."""
    models, fingerprint = SourceModels(), dataset_digest(source)
    say = (lambda text: tqdm.write(f"source {source.name}: {text}")) if progress else (lambda text: None)
    if "classifier" in needs:
        key = _key(fingerprint, "classifier", {"arch": config.classifier, "steps": SOURCE_CLASSIFIER_STEPS}, config.device)

        def fit() -> TorchClassifier:
            say(f"training the classifier ({SOURCE_CLASSIFIER_STEPS} steps; cached for later runs)")
            clf = TorchClassifier(config.classifier, steps=SOURCE_CLASSIFIER_STEPS, seed=SOURCE_SEED,
                                  device=config.device, augment=BatchAugment(0, seed=SOURCE_SEED))
            return clf.fit(source.data, source.targets)

        models.classifier, models.keys["classifier"] = cached_extractor(key, fit, config.device, kind="source"), key
    if "gan" in needs:
        gan = dataclasses.replace(config.source_gan or config.gan, seed=SOURCE_SEED)
        key = _key(fingerprint, "gan", gan.to_dict(), config.device)
        models.gan, models.keys["gan"] = _cached_gan(key, gan, source, config.device, say, progress), key
    if "dagan" in needs:
        settings = {"seed": SOURCE_SEED, "steps": SOURCE_DAGAN_STEPS, "diversity_weight": float(config.dagan_diversity)}
        if config.dagan_head != "image":  # the image head's cache keys stay as they were
            settings["head"] = config.dagan_head
        if config.dagan_warp_grid:  # likewise the warp's default grid
            settings["warp_grid"] = config.dagan_warp_grid
        key = _key(fingerprint, "dagan", settings, config.device)
        models.dagan, models.keys["dagan"] = _cached_dagan(key, source, settings, config.device, say, progress), key
    return models


def _cached_gan(key: str, gan: Any, source: ArrayDataset, device: str, say: Any, progress: bool) -> Any:
    from ganaug.augmenter import GANAugmenter

    def fit() -> Any:
        say("training the GAN (cached for later runs)")
        return GANAugmenter.from_config(gan, device=device, verbose=progress).fit(source)

    # With its training state: a fine-tune starts from G and D.
    return _cached_model(GANAugmenter, key, fit, device, training_state=True)


def _cached_dagan(key: str, source: ArrayDataset, settings: dict, device: str, say: Any, progress: bool) -> Any:
    from ganaug.dagan import DAGANAugmenter

    def fit() -> Any:
        say(f"training the DAGAN ({settings['steps']} steps; cached for later runs)")
        return DAGANAugmenter(**settings, device=device, verbose=progress).fit(source)

    return _cached_model(DAGANAugmenter, key, fit, device)


def _cached_model(estimator: Any, key: str, fit: Any, device: str, **save_options: Any) -> Any:
    """The ``estimator`` cached under ``key``, else ``fit()`` and stored. The run goes on with
    the stored copy, so a first run and a rerun that loads it work from the same thing."""
    path = cache_path("source", key)
    if path is not None and path.is_file():
        try:
            return estimator.load(path, device=device)
        except (OSError, ValueError) as err:
            warnings.warn(f"ignoring the cached source {estimator.__name__} {path}: {err}", stacklevel=3)
    model = fit()
    return estimator.load(path, device=device) if _store(model, path, **save_options) else model


def _store(model: Any, path: Any, **options: Any) -> bool:
    """Save ``model`` to the cache; whether it was."""
    if path is None:
        return False
    try:
        model.save(path, **options)
    except (OSError, ValueError) as err:
        warnings.warn(f"could not cache {type(model).__name__}: {err}", stacklevel=3)
        return False
    return True
