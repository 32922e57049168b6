"""Reading image files into uint8 arrays and resizing them.

Every loader goes through :func:`read_image`, so PNG, JPEG, PGM and TIFF files, 16-bit
and float scans, palette and alpha images all come out the same way: ``uint8`` arrays
of shape ``(H, W, 1)`` or ``(H, W, 3)``, 0..255, which is what ``ImageSet`` holds.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps

from mammosearch.errors import DataError

ColorMode = Literal["grayscale", "rgb"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".pgm", ".tif", ".tiff"})

# PIL modes holding more than 8 bits per pixel; ``convert("L")`` would clip them, not scale.
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


# What Pillow's decoders raise on damaged or foreign files (not only OSError: a broken PNG
# chunk is a SyntaxError, a bad TIFF tag a KeyError/TypeError, a short header struct.error).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)


def is_image_file(path: Path) -> bool:
    """True for the file types the loaders read (extension, case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path, color: ColorMode) -> np.ndarray:
    """Read one file as ``uint8`` ``(H, W, 1)`` (grayscale) or ``(H, W, 3)`` (rgb).

    * 16-bit, 32-bit and float images are stretched linearly from their own minimum to
      maximum onto 0..255: detectors store 10 to 16 bits and a file does not say which,
      so a fixed divisor would leave a 12-bit scan nearly black.
    * Alpha is dropped, not composited (mammograms have no meaningful transparency).
    * Palette and bilevel images are expanded; EXIF orientation is applied.
    * Multi-page TIFFs: the first page.

    Raises :class:`DataError` ``"cannot read image <path>: <reason>"`` for anything PIL
    cannot decode (not an image, truncated, corrupt).
    """
    try:
        with Image.open(path) as opened:
            opened.load()  # decode now, so a truncated file fails here and not later
            image = ImageOps.exif_transpose(opened)
            array = _to_array(image, color)
    except _DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise DataError(f"cannot read image {path}: {reason}") from exc
    return array


def _to_array(image: Image.Image, color: ColorMode) -> np.ndarray:
    if image.mode in _WIDE_MODES:
        gray = stretch_to_uint8(np.asarray(image))
        if color == "grayscale":
            return gray[:, :, None]
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # PIL asks for this route; alpha is dropped below
    target = "L" if color == "grayscale" else "RGB"
    array = np.asarray(image.convert(target), dtype=np.uint8)
    if color == "grayscale":
        return array[:, :, None].copy()
    return array.copy()


def stretch_to_uint8(values: np.ndarray) -> np.ndarray:
    """Any numeric image (12/16-bit, float) onto 0..255 by its own min and max."""
    values = values.astype(np.float64)
    if values.ndim == 3:  # some wide TIFFs decode with a channel axis
        values = values.mean(axis=2)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    low, high = float(values[finite].min()), float(values[finite].max())
    values = np.where(finite, values, low)
    if high <= low:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)


def to_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize one ``(H, W, C)`` uint8 image to ``(size, size, C)`` by plain resizing.

    The aspect ratio is not kept (no crop, no padding): lesion crops and ROI patches are
    close to square, and stretching keeps every pixel of the lesion, whereas a centre crop
    can cut it off and padding wastes resolution. Same choice as Keras'
    ``image_dataset_from_directory`` default.
    """
    if image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, C) image, got {image.dtype} {image.shape}")
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return _resize_one(image, size)


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """``(N, H, W, C)`` uint8 -> ``(N, size, size, C)`` uint8; the input itself if already so."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 (N, H, W, C) images, got {images.dtype} {images.shape}")
    if images.shape[1] == size and images.shape[2] == size:
        return images
    out = np.empty((len(images), size, size, images.shape[3]), dtype=np.uint8)
    for i, image in enumerate(images):
        out[i] = _resize_one(image, size)
    return out


def _resize_one(image: np.ndarray, size: int) -> np.ndarray:
    """PIL bilinear; Pillow widens the filter when shrinking, so downsizing averages the
    area (no aliasing of fine texture), and ``reducing_gap`` first box-reduces very large
    scans by an integer factor, which is much faster and visually identical."""
    channels = image.shape[2]
    if channels == 1:
        pil = Image.fromarray(np.ascontiguousarray(image[:, :, 0]))  # 2-D uint8 -> "L"
    elif channels == 3:
        pil = Image.fromarray(np.ascontiguousarray(image))  # (H, W, 3) uint8 -> "RGB"
    else:
        raise ValueError(f"expected 1 or 3 channels, got {channels}")
    resized = pil.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    array = np.asarray(resized, dtype=np.uint8)
    return array[:, :, None] if channels == 1 else array
