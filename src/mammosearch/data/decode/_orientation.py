"""Which side of a mammogram the chest wall is on, and the mirror that puts every breast the same way round.

Every image is turned so the chest wall is on the **left** edge and the nipple points right:
a model then never has to learn the same anatomy twice, mirrored (the field's practice:
Shen et al. 2019, the RSNA 2023 winners).

Where the chest wall is, in order of trust:

1. the DICOM tags (``data.dicom.laterality_from_dataset``): ``ImageLaterality`` (0020,0062), else ``Laterality`` (0020,0060). DICOM
   displays a left breast with its chest wall on the image's left and a right breast on the
   right (PS3.3 C.8.11.7: Patient Orientation ``A\\R``/``A\\FR`` for left CC/MLO, ``P\\L``/``P\\FL``
   for right), so L means left and R means right;
2. the image: the breast is widest at the chest wall and tapers to the nipple, so the half
   of its mask with more breast in it is the chest-wall side. On the 322 mini-MIAS films
   (odd numbers have their chest wall on the right, even on the left) it is right on 320;
   the two it gets wrong (mdb151, mdb152) are breasts that fill the whole film, where no
   side tapers (``tests/data/test_breast.py``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from mammosearch.data.decode._breast import breast_mask

__all__ = ["Side", "chest_wall_from_image", "chest_wall_from_laterality", "side_of_mask", "to_chest_wall_left"]

Side = Literal["left", "right"]


def chest_wall_from_laterality(laterality: str | None) -> Side | None:
    """Where DICOM's display convention puts a breast's chest wall: L -> left, R -> right."""
    return {"L": "left", "R": "right"}.get(laterality or "")  # type: ignore[return-value]


def chest_wall_from_image(pixels: np.ndarray, bright_background: bool = False) -> Side | None:
    """The side holding more of the breast's mask; None when no breast is found or both halves hold the same."""
    found = breast_mask(pixels, bright_background)
    return None if found is None else side_of_mask(found[0])


def side_of_mask(mask: np.ndarray) -> Side | None:
    """The half of a :func:`~mammosearch.data.breast.breast_mask`'s bounding box that holds more of it (None: a tie)."""
    cols = np.flatnonzero(mask.any(axis=0))
    left, right = int(cols[0]), int(cols[-1]) + 1
    middle = (left + right) / 2
    per_column = mask.sum(axis=0, dtype=np.int64)
    # The column exactly in the middle (odd widths) belongs to neither half.
    on_left = int(per_column[left:int(np.floor(middle))].sum())
    on_right = int(per_column[int(np.ceil(middle)):right].sum())
    if on_left == on_right:
        return None
    return "left" if on_left > on_right else "right"


def to_chest_wall_left(pixels: np.ndarray, side: Side | None) -> np.ndarray:
    """``pixels`` mirrored left-right when the chest wall is on the right; as they are otherwise."""
    return pixels[:, ::-1] if side == "right" else pixels
