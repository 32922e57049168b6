"""Heat maps laid over the images they explain: one PNG per image, and a grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image

from mammosearch.apply.gradcam import resize_map
from mammosearch.files import write_atomically

DISPLAY = 512  # longest side of a written overlay, in pixels
ALPHA = 0.45  # how much of the colour map shows where the map is at its maximum


def overlay(original: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """``original`` (H, W, C) uint8 with ``cam`` (S, S) in 0..1 stretched back over it; uint8 RGB at display size."""
    height, width = original.shape[:2]
    scale = min(1.0, DISPLAY / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    base = Image.fromarray(original[:, :, 0] if original.shape[2] == 1 else original).convert("RGB").resize(size, Image.Resampling.BILINEAR)
    heat = resize_map(cam, size[1], size[0]).clip(0.0, 1.0)
    colour = colormaps["jet"](heat)[:, :, :3] * 255.0
    weight = (ALPHA * heat)[:, :, None]  # cold regions stay the plain image
    blended = (1.0 - weight) * np.asarray(base, dtype=np.float32) + weight * colour
    return blended.round().clip(0, 255).astype(np.uint8)


def write_overlay(picture: np.ndarray, path: Path) -> Path:
    return write_atomically(path, lambda p: Image.fromarray(picture).save(p, format="PNG"))


def cam_at_original(cam: np.ndarray, original: np.ndarray) -> np.ndarray:
    """The square map stretched back to the file's own height and width (the model saw it squashed)."""
    return resize_map(cam, original.shape[0], original.shape[1])
