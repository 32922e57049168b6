"""ImageNet weights files: present in Keras' cache, or fetched before the first trial.

Free of Keras at import, so a process that only coordinates trials (the parent of
recycled training processes) checks the weights without loading TensorFlow; Keras is
imported only to download a missing file. Which file and URL: the family's entry in
``registry.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from mammosearch.errors import SpaceError
from mammosearch.models.registry import family


def keras_models_dir() -> Path:
    """Where Keras caches downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def ensure_imagenet_weights(family_name: str) -> Path:
    """Make sure the ImageNet weights of ``family_name`` are on disk, downloading them if needed.

    Called once before the first trial, so an offline machine fails with one clear line
    (which file, which URL, where to put it) instead of failing every trial.
    """
    weights = family(family_name).imagenet
    if weights is None:
        raise SpaceError(f"model.weights: the {family_name} family has no ImageNet weights; use none")
    target = keras_models_dir() / weights.name
    if target.is_file():
        return target
    from mammosearch.runtime import import_keras_quietly

    import_keras_quietly()
    import keras

    try:
        fetched = keras.utils.get_file(weights.name, weights.url, cache_subdir="models", file_hash=weights.md5)
    except Exception as exc:  # network errors come in many types; all mean the same here
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = text.rsplit(" -- ", 1)[-1]  # Keras prefixes the URL, which the message names anyway
        raise SpaceError(
            f"ImageNet weights for {family_name} are not at {target} and could not be downloaded "
            f"({reason}): download {weights.url} and place it at {target}, "
            f"or set `model.weights` to none or to a local weights file"
        ) from None
    return Path(fetched)
