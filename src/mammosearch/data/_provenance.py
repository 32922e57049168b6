"""Building a :class:`Provenance` from what the decoder said about each file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mammosearch.data.base import Provenance
from mammosearch.data.pixels import Decoded


def provenance_of(sources: Sequence[str], decoded: Sequence[Decoded], sites: Sequence[str] | None = None) -> Provenance:
    """One entry per image: ``decoded[i]`` is the file image ``i`` was cut from (size before the crop)."""
    return Provenance(
        sources=np.asarray(sources, dtype=str),
        heights=np.asarray([d.height for d in decoded], dtype=np.int32),
        widths=np.asarray([d.width for d in decoded], dtype=np.int32),
        bits=np.asarray([d.bits for d in decoded], dtype=np.int16),
        file_patients=np.asarray([d.patient_id or "" for d in decoded], dtype=str),
        inverted=np.asarray([d.inverted for d in decoded], dtype=bool),
        sites=np.asarray(sites if sites is not None else [""] * len(decoded), dtype=str),
        photometry=np.asarray([d.photometry for d in decoded], dtype=np.float32),
        crop=np.asarray([d.crop for d in decoded], dtype=str),
        chest_wall=np.asarray([d.chest_wall for d in decoded], dtype=str),
        chest_wall_from=np.asarray([d.chest_wall_from for d in decoded], dtype=str),
    )
