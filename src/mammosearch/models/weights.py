"""ImageNet weights files: present in Keras' cache, or fetched before the first trial.

Free of Keras at import, so a process that only coordinates trials (the parent of
recycled training processes) checks the weights without loading TensorFlow; Keras is
imported only to download a missing file. Which file and URL: the family's entry in
``registry.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mammosearch.downloads import Progress
from mammosearch.errors import SpaceError
from mammosearch.models.registry import FAMILIES, WeightsFile, family


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
        # Keras would find the hash wrong, try to download again, and fail every trial with a
        # long traceback on a machine without internet: say so once, here, with the fix.
        problem = imagenet_file_problem(target, weights)
        if problem is not None:
            raise SpaceError(
                f"model.weights: {target} ({family_name} ImageNet weights) {problem}: delete it and run "
                f"`mammosearch weights fetch --family {family_name}` where there is internet (or copy the right file there), "
                f"or set `model.weights` to none or to a local weights file"
            )
        return target
    from mammosearch.runtime import import_keras_quietly

    import_keras_quietly()
    import keras

    try:
        fetched = keras.utils.get_file(weights.name, weights.url, cache_subdir="models", file_hash=weights.hash)
    except Exception as exc:  # network errors come in many types; all mean the same here
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = text.rsplit(" -- ", 1)[-1]  # Keras prefixes the URL, which the message names anyway
        raise SpaceError(
            f"ImageNet weights for {family_name} are not at {target} and could not be downloaded "
            f"({reason}): download {weights.url} and place it at {target}, "
            f"or set `model.weights` to none or to a local weights file"
        ) from None
    return Path(fetched)


def imagenet_file_problem(path: Path, weights: WeightsFile) -> str | None:
    """None when ``path`` is the file Keras expects (its pinned md5 or sha256 matches); else what is wrong with it, in a few words.

    The hash decides; the HDF5 structure only tells a truncated or damaged download apart
    from a complete file that is not the one Keras publishes (what to tell the user differs).
    """
    from mammosearch.downloads import digest_of

    try:
        if digest_of(path, weights.algorithm) == weights.hash:
            return None
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    import h5py

    try:
        with h5py.File(path, "r"):
            pass
    except (OSError, ValueError):
        return f"is truncated or damaged (not a complete HDF5 file, {path.stat().st_size:,} bytes)"
    return f"is not the file Keras publishes (its {weights.algorithm} differs from {weights.hash})"


def check_weights_file(path: Path, family_name: str, key: str) -> None:
    """Refuse, before any trial, a weights file that is unreadable, truncated, or for another family.

    Reads the HDF5 file as Keras saves no-top weights (a group per layer, ``weight_names``
    listing its arrays), reads every array (a truncated file fails here), and checks the
    family's marker layers and their kernel shapes (``registry.Family.weight_markers``).
    """
    import h5py

    entry = family(family_name)
    name = entry.application or family_name
    try:
        with h5py.File(path, "r") as handle:
            layers = [n.decode() if isinstance(n, bytes) else str(n) for n in handle.attrs.get("layer_names", [])]
            if not layers:
                raise SpaceError(f"{key}: {path} is not a Keras weights file (no layer_names); give {name} no-top weights saved by Keras")
            shapes: dict[str, tuple[int, ...]] = {}
            for layer in layers:
                group = handle[layer]
                arrays = [w.decode() if isinstance(w, bytes) else str(w) for w in group.attrs.get("weight_names", [])]
                for index, array in enumerate(arrays):
                    values = group[array][()]  # read it all: a truncated file fails here, not mid-search
                    if index == 0:
                        shapes[layer] = tuple(int(d) for d in values.shape)
    except SpaceError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpaceError(f"{key}: cannot read {path} as {name} weights ({reason}); is the file complete?") from None
    for layer, shape in entry.weight_markers:
        if layer not in shapes:
            found = ", ".join(list(shapes)[:3]) or "none"
            raise SpaceError(f"{key}: {path} holds no layer {layer!r}, so it is not {name} no-top weights (its first layers: {found})")
        if shapes[layer] != shape:
            raise SpaceError(f"{key}: {path}: layer {layer} has kernel shape {shapes[layer]}, {name} needs {shape}")


@dataclass(frozen=True)
class WeightsStatus:
    family: str
    path: Path
    present: bool
    hash_ok: bool | None  # None when the file is absent
    problem: str | None = None  # what is wrong with a present file whose hash differs


def imagenet_status() -> list[WeightsStatus]:
    """Each family with ImageNet weights: is its file in Keras' cache, and is it the right file."""
    rows = []
    for name, entry in FAMILIES.items():
        if entry.imagenet is None:
            continue
        path = keras_models_dir() / entry.imagenet.name
        present = path.is_file()
        problem = imagenet_file_problem(path, entry.imagenet) if present else None
        rows.append(WeightsStatus(name, path, present, problem is None if present else None, problem))
    return rows


def fetch_imagenet(family_name: str, progress: Progress | None = None) -> Path:
    """Download ``family_name``'s no-top ImageNet weights into Keras' cache and check their hash."""
    from mammosearch.downloads import digest_of, download

    weights = family(family_name).imagenet
    if weights is None:
        raise SpaceError(f"--family: {family_name} has no ImageNet weights (families with them: {', '.join(s.family for s in imagenet_status())})")
    target = keras_models_dir() / weights.name
    if target.is_file() and digest_of(target, weights.algorithm) == weights.hash:
        return target
    download(weights.url, target, progress)
    found = digest_of(target, weights.algorithm)
    if found != weights.hash:
        target.unlink(missing_ok=True)
        raise SpaceError(f"{weights.url}: {weights.algorithm} {found} is not the expected {weights.hash}; the file was removed")
    return target
