"""One file -> the exact pixels a model was trained on: what ``predict``, ``evaluate`` and ``explain`` feed it.

The same steps, in the same order, as a loader, ``load_image_set`` and a trial:
:func:`~mammosearch.data.decode._image.decode_file`, :func:`~mammosearch.data.decode._image.to_square`
to ``data.image_size``, (under ``data.photometry: auto``) the flip of an image that looks
inverted, then the resize to the model's input size. Doing it
any other way (``keras.utils.load_img``, flipping before resizing) shifts the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mammosearch.data.checks import UNDETERMINED
from mammosearch.data.decode import decode_file, to_square
from mammosearch.data.pixels import ColorMode, Decoded


@dataclass(frozen=True)
class Prepared:
    pixels: np.ndarray  # uint8 (size, size, C)
    flipped: bool  # inverted because the file looked inverted (photometry: auto)
    original: np.ndarray  # the decoded file before resizing, for overlays
    # What the file said about itself (size, bit depth, photometry): compared with the training data's fingerprint.
    decoded: Decoded | None = None


def color_for(channels: int) -> ColorMode:
    return "grayscale" if channels == 1 else "rgb"


def prepare_file(path: Path, channels: int, data_size: int, input_size: int, photometry: str = "auto") -> Prepared:
    """Decode, resize to the data's square size, flip if it looks inverted, resize to the model's input.

    Raises :class:`~mammosearch.errors.DataError` for a file that cannot be decoded.
    """
    decoded = decode_file(path, color_for(channels), draft_size=data_size)
    pixels = to_square(decoded.pixels, data_size)
    flipped = photometry == "auto" and decoded.photometry > UNDETERMINED
    if flipped:
        # After the first resize, as load_image_set flips the loaded images: the order changes rounding.
        pixels = 255 - pixels
    return Prepared(to_square(pixels, input_size), flipped, decoded.pixels, decoded)
