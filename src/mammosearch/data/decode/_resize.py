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
from mammosearch.spec import ImageSize, Size


def images_at(images: np.ndarray, size: Size, directory: Path | None, pixels_key: Callable[[], str]) -> np.ndarray:
    """``images`` at ``size`` (``resize_images``: a square stretched, a rectangle fitted and padded);
    ``pixels_key()`` identifies ``images`` (a hash of their pixels, asked for only when stored)."""
    target = ImageSize.of(size)
    if images.shape[1:3] == target.shape:
        return images
    shape = (len(images), *target.shape, images.shape[3])
    if directory is None or not is_large(int(np.prod(shape))):
        return resize_images(images, target)
    final = directory / f"{pixels_key()}-{target.param()}px.images.npy"  # a square's name as before
    return stored_or_made(final, shape, np.uint8, lambda out: resize_images(images, target, out=out))
