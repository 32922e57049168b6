"""What a decoded file is: its 8-bit pixels and what the file said about how it was stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ColorMode = Literal["grayscale", "rgb"]


@dataclass(frozen=True)
class Decoded:
    """One decoded file: its pixels and what the file said about how it was stored."""

    pixels: np.ndarray  # uint8 (H, W, C), dark background
    bits: int  # bits per sample as stored
    patient_id: str | None = None  # the file's own patient (DICOM PatientID)
    inverted: bool = False  # stored inverted (MONOCHROME1) and flipped by the decoder
    # > 0: bright background, the image looks inverted (see photometry_score); measured on
    # the whole decoded file, where the background is visible, before any crop.
    photometry: float = 0.0
    # The file's own size when ``pixels`` were already resized (parallel decoding keeps only
    # the resized copy, so a large data set is never held at full resolution).
    stored_size: tuple[int, int] | None = None

    @property
    def height(self) -> int:
        return int(self.stored_size[0] if self.stored_size else self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.stored_size[1] if self.stored_size else self.pixels.shape[1])

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


def as_color(gray: np.ndarray, color: ColorMode) -> np.ndarray:
    """``(H, W)`` uint8 -> ``(H, W, 1)``, or ``(H, W, 3)`` with the gray repeated."""
    return gray[:, :, None] if color == "grayscale" else np.repeat(gray[:, :, None], 3, axis=2)


# Near-black and near-white, on 0..255: what a mammogram's background is (air, outside the
# breast) in the usual photometry and in an inverted image.
DARK, BRIGHT = 20, 235


def photometry_score(pixels: np.ndarray) -> float:
    """Share of near-white pixels minus share of near-black ones, in -1..1.

    A mammogram is dark background and bright tissue; the background is a large part of
    the image, so a negative score is the usual photometry and a positive one an inverted
    image. Exactly antisymmetric: inverting an image negates its score. Near 0 means the
    file shows no background (a tight crop): its photometry cannot be told from the pixels.
    On the 322 mini-MIAS images and their inverted copies it is right 644 times out of 644
    (``tests/test_fingerprint.py``).
    """
    gray = pixels.mean(axis=2) if pixels.ndim == 3 else pixels
    return float(np.mean(gray >= BRIGHT) - np.mean(gray <= DARK))
