"""Heat maps laid over the images they explain: one PNG per image (with its colour bar), and a grid.

Every overlay is drawn at :data:`DISPLAY` pixels on its longest side, whatever the input
size: a 32 px lesion crop is enlarged (nearest neighbour, so the pixels the model saw stay
visible as pixels, not a smoothed guess) and a 1024 px film is reduced. Where the pointing
check measures against a lesion circle, the circle is drawn on the overlay, scaled the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw, ImageFont

from mammosearch.apply.explain._gradcam import resize_map
from mammosearch.apply.explain._pointing import Circle
from mammosearch.files import write_atomically

DISPLAY = 512  # longest side of a written overlay, in pixels, for any input size
ALPHA = 0.45  # how much of the colour map shows where the map is at its maximum
COLOURMAP = "jet"
BAR_WIDTH = 18  # the colour bar beside each written overlay
BAR_MARGIN = 72  # room for the bar and its labels
CIRCLE = (255, 255, 255)  # the radiologist's circle: white over a dark edge, visible on any colour


def display_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) of an overlay of an image this size: longest side :data:`DISPLAY`, aspect kept."""
    scale = DISPLAY / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def overlay(original: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """``original`` (H, W, C) uint8 with ``cam`` (S, S) in 0..1 stretched back over it; uint8 RGB at display size."""
    height, width = original.shape[:2]
    size = display_size(height, width)
    resample = Image.Resampling.NEAREST if size[0] > width else Image.Resampling.BILINEAR
    base = Image.fromarray(original[:, :, 0] if original.shape[2] == 1 else original).convert("RGB").resize(size, resample)
    heat = resize_map(cam, size[1], size[0]).clip(0.0, 1.0)
    colour = colormaps[COLOURMAP](heat)[:, :, :3] * 255.0
    weight = (ALPHA * heat)[:, :, None]  # cold regions stay the plain image
    blended = (1.0 - weight) * np.asarray(base, dtype=np.float32) + weight * colour
    return blended.round().clip(0, 255).astype(np.uint8)


def mark_circles(picture: np.ndarray, circles: Sequence[Circle], original_shape: tuple[int, ...]) -> np.ndarray:
    """``picture`` (an :func:`overlay`) with each lesion circle, given in the original file's pixels, outlined."""
    if not circles:
        return picture
    scale = picture.shape[0] / original_shape[0]
    image = Image.fromarray(picture)
    draw = ImageDraw.Draw(image)
    for circle in circles:
        row, col, radius = circle.row * scale, circle.col * scale, max(circle.radius * scale, 3.0)
        box = (col - radius, row - radius, col + radius, row + radius)
        draw.ellipse(box, outline=(0, 0, 0), width=4)
        draw.ellipse(box, outline=CIRCLE, width=2)
    return np.asarray(image)


def with_colour_bar(picture: np.ndarray) -> np.ndarray:
    """``picture`` with the colour map's scale on its right: what a colour means, in the file itself."""
    height, width = picture.shape[:2]
    canvas = Image.new("RGB", (width + BAR_MARGIN, height), (255, 255, 255))
    canvas.paste(Image.fromarray(picture), (0, 0))
    top, bottom = 12, height - 12
    levels = np.linspace(1.0, 0.0, max(bottom - top, 2))
    # As drawn on the image: the colour blended at ALPHA times the level over mid-grey.
    colours = (1.0 - ALPHA * levels[:, None]) * 128.0 + ALPHA * levels[:, None] * colormaps[COLOURMAP](levels)[:, :3] * 255.0
    strip = np.repeat(colours.round().clip(0, 255).astype(np.uint8)[:, None, :], BAR_WIDTH, axis=1)
    canvas.paste(Image.fromarray(strip), (width + 8, top))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=12)
    left = width + 8 + BAR_WIDTH + 4
    draw.text((left, top - 2), "high", fill=(0, 0, 0), font=font)
    draw.text((left, bottom - 12), "none", fill=(0, 0, 0), font=font)
    draw.text((left, (top + bottom) // 2 - 6), "Grad-", fill=(0, 0, 0), font=font)
    draw.text((left, (top + bottom) // 2 + 8), "CAM", fill=(0, 0, 0), font=font)
    return np.asarray(canvas)


def write_overlay(picture: np.ndarray, path: Path) -> Path:
    return write_atomically(path, lambda p: Image.fromarray(picture).save(p, format="PNG"))


def content_of(cam: np.ndarray, share: tuple[float, float]) -> np.ndarray:
    """The part of a map over the image itself: the top-left ``share`` of it (an aspect ratio kept pads at the right and bottom)."""
    rows = max(1, round(cam.shape[0] * share[0]))
    cols = max(1, round(cam.shape[1] * share[1]))
    return cam[:rows, :cols]


def cam_at_original(cam: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The map (its image part, :func:`content_of`) stretched back to the file's own height and width."""
    return resize_map(cam, original.shape[0], original.shape[1])
