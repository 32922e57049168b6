"""Between decoding a file and resizing it: crop to the breast, turn the chest wall to the left, fit the size.

One step of the one decode path (loaders through ``_many.decode_one`` and the
mini-MIAS loader, ``predict``/``evaluate``/``explain`` through ``prepare.prepare_file``),
in this order on the full decoded image:

1. **crop** (``data.crop``): the breast's bounding box (``_breast.py``),
   widened by ``data.crop_margin`` of its size on each side. An image where no breast is
   found is kept whole and counted (the fingerprint says how many and which).
2. **orientation** (``data.orient``): mirrored so the chest wall is on the left
   (``_orientation.py``), the side taken from the DICOM laterality tag
   where the file has one, else from the image.
3. **fit** to the data's size: a square without crop is stretched, as before (lesion
   crops: every pixel of the lesion kept); a cropped breast, or any image going to a
   rectangular size, keeps its aspect ratio and is padded with background (black) at the
   right and bottom, so the chest wall stays on the left edge and the top stays the top.

An image that looks inverted (bright background) is cropped and turned as its flipped twin
would be: the mask is found on its negative; the flip itself comes later, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mammosearch.data.decode._breast import Box, box_of_mask, breast_mask, crop_box
from mammosearch.data.decode._image import letterboxed, resized_pil
from mammosearch.data.decode._orientation import chest_wall_from_laterality, side_of_mask, to_chest_wall_left
from mammosearch.data.pixels import UNDETERMINED, Decoded
from mammosearch.spec import Fields

__all__ = ["DEFAULT_MARGIN", "Framed", "Framing", "fit", "frame", "framing_for", "refuse_on_crops"]

DEFAULT_MARGIN = 0.02
Shape = tuple[int, int]  # (height, width)


@dataclass(frozen=True)
class Framing:
    """What the decode path does between decoding and resizing; all off: today's plain resize."""

    crop: bool = False
    orient: bool = False
    margin: float = DEFAULT_MARGIN

    @property
    def active(self) -> bool:
        return self.crop or self.orient

    def keeps_aspect(self, shape: Shape) -> bool:
        """Whether the fit keeps the aspect ratio (and pads): a cropped breast, or a rectangular size."""
        return self.crop or shape[0] != shape[1]

    def to_json(self) -> dict[str, Any]:
        return {"crop": self.crop, "orient": self.orient, "crop_margin": self.margin}

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> Framing:
        """A card's or study's record; absent (older studies): nothing done, as then."""
        if not raw:
            return cls()
        return cls(bool(raw.get("crop")), bool(raw.get("orient")), float(raw.get("crop_margin", DEFAULT_MARGIN)))

    def describe(self) -> str:
        steps = []
        if self.crop:
            steps.append(f"cropped to the breast's bounding box (+{self.margin:g} of its size each side; kept whole where none is found)")
        if self.orient:
            steps.append("mirrored so the chest wall is on the left (DICOM laterality, else the image)")
        return "; ".join(steps) if steps else "no crop, no orientation"


def framing_for(crop: bool | None, orient: bool | None, margin: float, whole_images: bool) -> Framing:
    """A spec's ``crop``/``orient`` keys; null (not given) means on for whole mammograms, off for lesion crops."""
    return Framing(whole_images if crop is None else crop, whole_images if orient is None else orient, margin)


def refuse_on_crops(fields: Fields, crop: bool | None, orient: bool | None, whole_images: bool, what: str) -> None:
    """Refuse ``crop: true`` or ``orient: true`` on images they cannot apply to (lesion crops), in one line."""
    asked = [name for name, value in (("crop", crop), ("orient", orient)) if value]
    if whole_images or not asked:
        return
    keys = " and ".join(f"data.{name}: true" for name in asked)
    raise fields.fail(
        f"data.{asked[0]}",
        f"{keys} apply to whole mammograms, but this data set is {what}; drop {'them' if len(asked) > 1 else 'it'} or load whole images",
    )


@dataclass(frozen=True)
class Framed:
    """The pixels after crop and orientation, and what was done (recorded per image in the provenance)."""

    pixels: np.ndarray
    crop: str  # "" not asked, "breast" cropped, "none_found" asked but kept whole
    chest_wall: str  # "" not looked for or not found, else "left"/"right" as the file stored it
    chest_wall_from: str  # "" , "dicom" or "image"


def frame(decoded: Decoded, framing: Framing) -> Framed:
    """``decoded``'s pixels cropped and turned as ``framing`` asks (nothing done when it asks nothing)."""
    pixels = decoded.pixels
    if not framing.active:
        return Framed(pixels, "", "", "")
    found = breast_mask(pixels, bright_background=decoded.photometry > UNDETERMINED)
    crop = ""
    if framing.crop:
        crop = "none_found" if found is None else "breast"
        if found is not None:
            box: Box = box_of_mask(*found, pixels.shape[:2]).widened(framing.margin, *pixels.shape[:2])
            pixels = crop_box(pixels, box)
    side, side_from = chest_wall_from_laterality(decoded.laterality), "dicom"
    if side is None:
        side, side_from = (None, "") if found is None else (side_of_mask(found[0]), "image")
        side_from = side_from if side is not None else ""
    if framing.orient:
        pixels = to_chest_wall_left(pixels, side)
    return Framed(np.ascontiguousarray(pixels), crop, side or "", side_from)


def fit(pixels: np.ndarray, shape: Shape, keep_aspect: bool, fill: int = 0) -> np.ndarray:
    """``(H, W, C)`` uint8 -> ``(height, width, C)``: stretched, or scaled to fit and padded at the right and bottom.

    Pillow bilinear with ``reducing_gap=3.0``, as ``decode.to_square`` (the same pixels for a
    stretched square).
    """
    height, width = shape
    if pixels.shape[0] == height and pixels.shape[1] == width:
        return pixels
    return letterboxed(pixels, height, width, fill) if keep_aspect else resized_pil(pixels, height, width)


def framed_and_fitted(decoded: Decoded, framing: Framing, shape: Shape) -> Decoded:
    """:func:`frame` then :func:`fit`: ``decoded`` with the pixels a loader keeps and what was done to them.

    Its ``stored_size`` stays the file's own (what the fingerprint compares).
    """
    framed = frame(decoded, framing)
    return replace(
        # An image that looks inverted is padded white: black, as the background, once flipped (after this fit).
        decoded, pixels=fit(framed.pixels, shape, framing.keeps_aspect(shape), 255 if decoded.photometry > UNDETERMINED else 0),
        stored_size=(decoded.height, decoded.width),
        crop=framed.crop, chest_wall=framed.chest_wall, chest_wall_from=framed.chest_wall_from,
    )
