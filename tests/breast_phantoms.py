"""Phantom whole mammograms for the crop and orientation tests: a breast, a film label and a film edge."""

from __future__ import annotations

import numpy as np


def phantom(height: int = 400, width: int = 300, chest_wall: str = "left", seed: int = 0) -> np.ndarray:
    """A whole 'mammogram': half-disc breast on the chest-wall edge, rows 60..340, reaching 200 px into the image."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 12, size=(height, width)).astype(np.uint8)  # film grain, below the background level
    rows, cols = np.mgrid[0:height, 0:width]
    breast = ((rows - 200) / 140.0) ** 2 + (cols / 200.0) ** 2 <= 1.0
    image[breast] = 90 + rng.integers(0, 120, size=int(breast.sum())).astype(np.uint8)
    image[20:50, 250:280] = 250  # a film label, away from the breast
    image[:, 296:] = 240  # the bright edge of the film, on the far side
    if chest_wall == "right":
        image = image[:, ::-1]
    return np.ascontiguousarray(image[:, :, None])
