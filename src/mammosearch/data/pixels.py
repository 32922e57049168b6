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

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

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
