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

from mammosearch.data.decode import NO_FRAMING, Framing, at_size, decode_file, draft_for, frame, resized_to
from mammosearch.data.pixels import UNDETERMINED, ColorMode, Decoded
from mammosearch.spec import ImageSize, Size


@dataclass(frozen=True)
class Prepared:
    pixels: np.ndarray  # uint8 (height, width, C): the model's input size
    flipped: bool  # inverted because the file looked inverted (photometry: auto)
    # The decoded file before resizing, for overlays: cropped and turned as the model saw it when
    # the study framed its images (then ``framed`` is True and file coordinates no longer apply).
    original: np.ndarray
    # What the file said about itself (size, bit depth, photometry): compared with the training data's fingerprint.
    decoded: Decoded | None = None
    framed: bool = False
    # The share of the model's input (height, width) the image fills; the rest is padding (an
    # aspect ratio kept): explain lays only that part of a map over ``original``.
    content: tuple[float, float] = (1.0, 1.0)


def color_for(channels: int) -> ColorMode:
    return "grayscale" if channels == 1 else "rgb"


def prepare_file(path: Path, channels: int, data_size: Size, input_size: Size, photometry: str = "auto",
                 framing: Framing = NO_FRAMING) -> Prepared:
    """Decode, frame and fit to the data's size, flip if it looks inverted, resize to the model's input.

    Raises :class:`~mammosearch.errors.DataError` for a file that cannot be decoded.
    """
    decoded = decode_file(path, color_for(channels), draft_size=draft_for(data_size, framing))
    pixels = at_size(decoded, data_size, framing).pixels
    flipped = photometry == "auto" and decoded.photometry > UNDETERMINED
    if flipped:
        # After the first resize, as load_image_set flips the loaded images: the order changes rounding.
        pixels = 255 - pixels
    original = frame(decoded, framing).pixels if framing.active else decoded.pixels
    # The trial's resize from the data's size to the model's (``images_at``): the same function.
    content = _content(frame(decoded, framing).pixels.shape if framing.crop else decoded.pixels.shape, data_size, input_size, framing)
    return Prepared(resized_to(pixels, input_size), flipped, original, decoded, framing.active, content)


def _content(shape: tuple[int, ...], data_size: Size, input_size: Size, framing: Framing) -> tuple[float, float]:
    """Height and width shares of the input that hold the image after the two fits (data size, then input size)."""
    data, model = ImageSize.of(data_size), ImageSize.of(input_size)
    first = _filled(shape[:2], data) if framing.keeps_aspect(data.shape) else (1.0, 1.0)
    if model.is_square:
        return first  # stretched: the shares stay
    whole = _filled(data.shape, model)  # the data-size image, padding and all, is fitted into the input and padded again
    return (first[0] * whole[0], first[1] * whole[1])


def _filled(shape: tuple[int, ...], size: ImageSize) -> tuple[float, float]:
    scale = min(size.height / max(1, shape[0]), size.width / max(1, shape[1]))
    return (min(1.0, round(shape[0] * scale) / size.height), min(1.0, round(shape[1] * scale) / size.width))
