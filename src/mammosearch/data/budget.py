"""How large an image any decoder may allocate: one budget, checked from the header before any pixel is decoded.

Pillow refuses decompression bombs only above twice its own limit (about 179 MP) and only
for its own formats; a DICOM (a deflated or RLE file of a few hundred KB can declare
20000 x 20000 pixels) or a 16-bit PNG in Pillow's warn-only band would allocate gigabytes
unannounced. Every decoder here reads the declared size first and asks :func:`check`.

The budget is stated in pixels of a 16-bit grayscale image, what mammograms are, and is
checked on what the decoder allocates: pixels x frames x samples x bytes per sample. The
default, 64 MP (128 MB), is about 2.8 times the largest full-field digital detector
(4096 x 5632, about 23 MP; synthetic 2D views and film digitised at 42-50 um reach about
30 MP) and leaves room for a 23 MP image stored as float32 (92 MB) or a 30 MP 8-bit RGB
re-export (90 MB), while a 20000 x 20000 header (800 MB at 16 bits) is refused.
``MAMMOSEARCH_MAX_PIXELS`` changes it for every command that decodes (read when used,
checked in ``run``'s preflight and before ``predict``/``explain`` score anything).
"""

from __future__ import annotations

from pathlib import Path

from mammosearch.data.file_names import shown
from mammosearch.errors import DataError
from mammosearch.settings import number_setting

__all__ = ["DEFAULT_MAX_PIXELS", "check", "max_pixels"]

DEFAULT_MAX_PIXELS = 64_000_000
BUDGET_BYTES_PER_PIXEL = 2  # the budget's unit: one 16-bit grayscale sample
MAX_PIXELS: int | None = None  # set to override MAMMOSEARCH_MAX_PIXELS (tests do)


def max_pixels() -> int:
    """The budget: ``MAX_PIXELS``, else ``MAMMOSEARCH_MAX_PIXELS`` (a whole number, ``_`` allowed), else 64 MP."""
    if MAX_PIXELS is not None:
        return MAX_PIXELS
    # int() accepts 64_000_000 as Python writes it
    return number_setting("MAMMOSEARCH_MAX_PIXELS", int, lambda value: value > 0, "a whole number of pixels above 0",
                          DEFAULT_MAX_PIXELS, f"{DEFAULT_MAX_PIXELS:_}")


def check(path: Path, width: int, height: int, samples: int = 1, bytes_per_sample: int = 1, frames: int = 1) -> None:
    """Refuse, in one line naming the file, an image whose decoded pixels would pass the budget."""
    limit = max_pixels()
    needed = width * height * max(frames, 1) * max(samples, 1) * max(bytes_per_sample, 1)
    if needed <= limit * BUDGET_BYTES_PER_PIXEL:
        return
    what = f"{width} x {height} pixels" + (f" x {frames} frames" if frames > 1 else "")
    stored = f"{samples} sample(s) of {bytes_per_sample} byte(s)"
    raise DataError(
        f"{shown(path)} declares {what} of {stored} ({needed / 1e6:,.0f} MB to decode), over the decoding budget of "
        f"{limit / 1e6:g} MP ({limit * BUDGET_BYTES_PER_PIXEL / 1e6:,.0f} MB): a decompression bomb or a damaged header? "
        f"If the file is genuine, raise MAMMOSEARCH_MAX_PIXELS"
    )

