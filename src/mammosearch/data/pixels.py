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
    laterality: str | None = None  # "L" or "R" when the file's tags say (DICOM ImageLaterality/Laterality)
    # What data/decode/_framing.py did before the resize (see its Framed): "" when it was not asked.
    crop: str = ""  # "breast" cropped, "none_found" kept whole
    chest_wall: str = ""  # "left"/"right" as the file stored it
    chest_wall_from: str = ""  # "dicom" or "image"

    @property
    def height(self) -> int:
        return int(self.stored_size[0] if self.stored_size else self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.stored_size[1] if self.stored_size else self.pixels.shape[1])

BLOCK_VALUES = 2**18  # values converted at once: 2 MB as float64, whatever the image's size


def row_blocks(values: np.ndarray) -> list[slice]:
    """Slices of ``values``' rows holding about :data:`BLOCK_VALUES` values each.

    The conversions below are element by element, so a block's result is the whole
    image's result for those rows, bit for bit; only the float64 temporaries shrink from
    the whole image (8 bytes a value, several at once) to one block.
    """
    per_row = max(1, int(np.prod(values.shape[1:], dtype=np.int64)))
    step = max(1, BLOCK_VALUES // per_row)
    return [slice(start, start + step) for start in range(0, len(values), step)]


def stretch_to_uint8(values: np.ndarray) -> np.ndarray:
    """Any numeric image (12/16-bit, float) onto 0..255 by its own min and max, a block of rows at a time."""
    values = np.asarray(values)
    low, high = _finite_range(values)
    out = np.zeros(values.shape[:2], dtype=np.uint8)
    if high is None or low is None or high <= low:
        return out
    scale = 255.0 / (high - low)
    for rows in row_blocks(values):
        block = _as_float(values[rows])
        block = np.where(np.isfinite(block), block, low)
        out[rows] = np.rint((block - low) * scale).astype(np.uint8)
    return out


def _as_float(block: np.ndarray) -> np.ndarray:
    block = block.astype(np.float64)
    return block.mean(axis=2) if block.ndim == 3 else block  # some wide TIFFs decode with a channel axis


def _finite_range(values: np.ndarray) -> tuple[float | None, float | None]:
    """The smallest and largest finite value (None, None when there is none); integers need no float copy at all."""
    if values.size == 0:
        return None, None
    if values.ndim == 2 and np.issubdtype(values.dtype, np.integer):
        return float(values.min()), float(values.max())
    low: float | None = None
    high: float | None = None
    for rows in row_blocks(values):
        block = _as_float(values[rows])
        finite = block[np.isfinite(block)]
        if finite.size:
            low = float(finite.min()) if low is None else min(low, float(finite.min()))
            high = float(finite.max()) if high is None else max(high, float(finite.max()))
    return low, high


def as_color(gray: np.ndarray, color: ColorMode) -> np.ndarray:
    """``(H, W)`` uint8 -> ``(H, W, 1)``, or ``(H, W, 3)`` with the gray repeated."""
    return gray[:, :, None] if color == "grayscale" else np.repeat(gray[:, :, None], 3, axis=2)


# Near-black and near-white, on 0..255: what a mammogram's background is (air, outside the
# breast) in the usual photometry and in an inverted image.
DARK, BRIGHT = 20, 235
# |photometry_score| below this: the image shows too little background to tell (a tight crop).
UNDETERMINED = 0.02


def photometry_score(pixels: np.ndarray) -> float:
    """Share of near-white pixels minus share of near-black ones, in -1..1.

    A mammogram is dark background and bright tissue; the background is a large part of
    the image, so a negative score is the usual photometry and a positive one an inverted
    image. Exactly antisymmetric: inverting an image negates its score. Near 0 means the
    file shows no background (a tight crop): its photometry cannot be told from the pixels.
    On the 322 mini-MIAS images and their inverted copies it is right 644 times out of 644
    (``tests/data/test_fingerprint.py``).
    """
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        gray = pixels.reshape(pixels.shape[:2])
        return float(np.mean(gray >= BRIGHT) - np.mean(gray <= DARK))
    # The channel mean compared as the channel sum, in integers: the same answers (the mean
    # is a sum of integers divided once) without a float64 copy of the whole image.
    total = pixels.sum(axis=2, dtype=np.int32)
    channels = pixels.shape[2]
    return float(np.mean(total >= BRIGHT * channels) - np.mean(total <= DARK * channels))
