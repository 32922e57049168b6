"""One file -> the exact pixels a model was trained on: what ``predict``, ``evaluate`` and ``explain`` feed it.

The same steps, in the same order, as a loader, ``load_image_set`` and a trial:
:func:`~mammosearch.data.decode._image.decode_file`, then
:func:`~mammosearch.data.decode._many.at_size` (crop to the breast and orientation when the
study asked for them, then the fit to ``data.image_size``), (under ``data.photometry:
auto``) the flip of an image that looks inverted, then the resize to the model's input
size. Doing it any other way (``keras.utils.load_img``, flipping before resizing) shifts
the scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mammosearch.data.decode import NO_FRAMING, Framing, at_size, decode_file, frame, to_square
from mammosearch.data.pixels import UNDETERMINED, ColorMode, Decoded


@dataclass(frozen=True)
class Prepared:
    pixels: np.ndarray  # uint8 (size, size, C)
    flipped: bool  # inverted because the file looked inverted (photometry: auto)
    # The decoded file before resizing, for overlays: cropped and turned as the model saw it when
    # the study framed its images (then ``framed`` is True and file coordinates no longer apply).
    original: np.ndarray
    # What the file said about itself (size, bit depth, photometry): compared with the training data's fingerprint.
    decoded: Decoded | None = None
    framed: bool = False


def color_for(channels: int) -> ColorMode:
    return "grayscale" if channels == 1 else "rgb"


def prepare_file(path: Path, channels: int, data_size: int, input_size: int, photometry: str = "auto",
                 framing: Framing = NO_FRAMING) -> Prepared:
    """Decode, frame and fit to the data's size, flip if it looks inverted, resize to the model's input.

    Raises :class:`~mammosearch.errors.DataError` for a file that cannot be decoded.
    """
    decoded = decode_file(path, color_for(channels), draft_size=None if framing.crop else data_size)
    pixels = at_size(decoded, data_size, framing).pixels
    flipped = photometry == "auto" and decoded.photometry > UNDETERMINED
    if flipped:
        # After the first resize, as load_image_set flips the loaded images: the order changes rounding.
        pixels = 255 - pixels
    original = frame(decoded, framing).pixels if framing.active else decoded.pixels
    return Prepared(to_square(pixels, input_size), flipped, original, decoded, framing.active)
