"""A data set's images at a model's input size: resized once per size, on disk when large.

A trial whose input size differs from the data's size trains on resized copies. A small
set's copies stay in memory; a large set's (``paged.is_large``) are written to a
memory-mapped ``.npy`` under the cache folder, keyed by a hash of the pixels, so they
cost no memory and a resumed run finds them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mammosearch.data.arrays import is_large, stored_or_made
from mammosearch.data.decode._image import resize_images


def images_at(images: np.ndarray, size: int, directory: Path | None, pixels_key: Callable[[], str]) -> np.ndarray:
    """``images`` at ``size`` px; ``pixels_key()`` identifies ``images`` (a hash of their pixels, asked for only when stored)."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    shape = (len(images), size, size, images.shape[3])
    if directory is None or not is_large(int(np.prod(shape))):
        return resize_images(images, size)
    final = directory / f"{pixels_key()}-{size}px.images.npy"
    return stored_or_made(final, shape, np.uint8, lambda out: resize_images(images, size, out=out))
