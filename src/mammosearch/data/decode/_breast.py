"""Where the breast is in a whole mammogram: its mask, its bounding box, and the crop to it.

A whole mammogram is mostly background (air, dark after decoding) around one bright
breast, plus things that are not the breast: film labels and markers, the bright edges of
scanned film, burned-in text. The breast is the largest bright connected region once thin
bridges are cut, so: threshold just above the background, open the mask (a small square)
so a label or a film edge that touches the skin line only by a few pixels stays its own
region, keep the largest connected region (:mod:`scipy.ndimage`: scipy is already
installed and pinned as scikit-learn's dependency; scikit-image would add a package and
its plugins for the same three calls), and crop its bounding box widened by a margin.

The mask is found on a copy reduced by an integer factor (a box filter: it also averages
the film grain away), so finding it costs milliseconds even on a 4096 x 5632 detector
image; the crop itself is taken from the full-resolution pixels.

Checked on the 322 mini-MIAS films (``tests/data/test_breast.py``, before/after images from
``benchmarks/mias_crop.py --show``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BACKGROUND_LEVEL", "Box", "box_of_mask", "breast_box", "breast_mask", "crop_box"]

# On 0..255 after decoding (dark background): the pixel level above which a pixel is not air.
# The same near-black as photometry's DARK: film grain and detector noise stay below it, the
# skin line (the faintest tissue) stays above it on mini-MIAS and on digital detectors.
BACKGROUND_LEVEL = 20
WORKING_SIDE = 256  # the reduced copy's longer side (about): 4 px of a 1024 px film per mask pixel
OPENING = 5  # side of the opening's square on the reduced copy: bridges thinner than this are cut
MIN_AREA = 0.05  # a region smaller than this share of the image is not a breast


@dataclass(frozen=True)
class Box:
    """Rows ``top:bottom`` and columns ``left:right`` of an image (half-open, in pixels)."""

    top: int
    bottom: int
    left: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def widened(self, margin: float, height: int, width: int) -> Box:
        """Grown by ``margin`` times its own size on every side, kept inside a ``height`` x ``width`` image."""
        dy, dx = int(round(self.height * margin)), int(round(self.width * margin))
        return Box(max(0, self.top - dy), min(height, self.bottom + dy), max(0, self.left - dx), min(width, self.right + dx))


def _gray(pixels: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8 from ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` (the channel mean)."""
    if pixels.ndim == 2:
        return pixels
    if pixels.shape[2] == 1:
        return pixels[:, :, 0]
    return pixels.mean(axis=2).astype(np.uint8)


def breast_mask(pixels: np.ndarray, bright_background: bool = False) -> tuple[np.ndarray, int] | None:
    """The breast's mask on a reduced copy of ``pixels`` and the reduction factor; None when no region is large enough.

    ``bright_background``: the image looks inverted (``photometry_score > 0``); it is
    thresholded as its negative, so an inverted file is cropped as its flipped twin is.
    """
    from scipy import ndimage

    gray = _gray(pixels)
    if gray.size == 0:
        return None
    if bright_background:
        gray = 255 - gray
    factor = max(1, max(gray.shape) // WORKING_SIDE)
    reduced = _reduce(gray, factor)
    mask = ndimage.binary_opening(reduced > BACKGROUND_LEVEL, np.ones((OPENING, OPENING), bool))
    labels, count = ndimage.label(mask)
    if count == 0:
        return None
    areas = np.bincount(labels.ravel())[1:]
    largest = int(np.argmax(areas)) + 1
    if areas[largest - 1] < MIN_AREA * labels.size:
        return None
    return labels == largest, factor


def breast_box(pixels: np.ndarray, bright_background: bool = False) -> Box | None:
    """The bounding box of the breast in ``pixels`` (full-resolution coordinates), or None when none is found."""
    found = breast_mask(pixels, bright_background)
    return None if found is None else box_of_mask(*found, pixels.shape[:2])


def box_of_mask(mask: np.ndarray, factor: int, shape: tuple[int, int]) -> Box:
    """The bounding box of a :func:`breast_mask` (reduced by ``factor``) on the full ``shape`` (height, width)."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = shape
    # A reduced pixel stands for factor x factor full ones; the last may be cut short by the edge.
    return Box(int(rows[0]) * factor, min(height, (int(rows[-1]) + 1) * factor), int(cols[0]) * factor, min(width, (int(cols[-1]) + 1) * factor))


def crop_box(pixels: np.ndarray, box: Box) -> np.ndarray:
    """``pixels`` inside ``box`` (a view: no copy)."""
    return pixels[box.top:box.bottom, box.left:box.right]


def _reduce(gray: np.ndarray, factor: int) -> np.ndarray:
    """Mean over ``factor`` x ``factor`` blocks (the image's ragged last rows and columns dropped)."""
    if factor == 1:
        return gray
    height, width = (gray.shape[0] // factor) * factor, (gray.shape[1] // factor) * factor
    blocks = gray[:height, :width].reshape(height // factor, factor, width // factor, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float32)
