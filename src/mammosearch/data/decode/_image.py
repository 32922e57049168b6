"""The one path from a file to the pixels a model sees.

Every loader goes through :func:`decode_file` (and, in later commands, ``predict`` and
``evaluate`` will too), so PNG, JPEG, PGM, TIFF and DICOM files, 16-bit and float scans,
palette and alpha images all come out the same way: ``uint8`` arrays of shape
``(H, W, 1)`` or ``(H, W, 3)``, 0..255, dark background and bright tissue, which is what
``ImageSet`` holds. Crop (by the source) and :func:`to_square` follow.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageMode, ImageOps

from mammosearch.data import budget
from mammosearch.data.arrays import chunks, release
from mammosearch.data.file_names import link_problem, shown
from mammosearch.data.pixels import ColorMode, Decoded, photometry_score, stretch_to_uint8
from mammosearch.errors import DataError
from mammosearch.progress import stage
from mammosearch.spec import ImageSize, Size

__all__ = ["ColorMode", "Decoded", "decode_file", "is_dicom", "is_image_file", "read_image", "resize_images", "to_square"]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".pgm", ".tif", ".tiff", ".dcm", ".dicom"})
DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})

# Recorded with every study, so a model card can say exactly what was done to a file.
RECIPE = (
    "decode: PNG/JPEG/PGM/TIFF with Pillow (EXIF orientation applied, alpha dropped, palette expanded, "
    "more than 8 bits stretched from the image's own min..max to 0..255); DICOM with pydicom "
    "(rescale slope/intercept, VOI LUT or window centre/width when present else the image's own range, "
    "MONOCHROME1 inverted so dense tissue is bright, to 8 bits after windowing); "
    "crop by the source (lesions), or under data.crop to the breast's bounding box (threshold, opening, largest connected "
    "region; kept whole where none is found) and under data.orient mirrored so the chest wall is on the left (DICOM laterality, "
    "else the image); resize to data.image_size (a square, or HEIGHTxWIDTH) with Pillow bilinear (reducing_gap=3.0): a cropped "
    "breast, or any image going to a rectangle, keeps its aspect ratio, padded with the image's background (black; white for "
    "an image that looks inverted, black once flipped) at the right and bottom, a square without crop is stretched; "
    "a JPEG resized whole and not cropped is decoded at the smallest JPEG scale (1/2, 1/4, 1/8) not below the longer side (Pillow draft)"
)


# PIL modes holding more than 8 bits per pixel; ``convert("L")`` would clip them, not scale.
_WIDE_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


# What Pillow's decoders raise on damaged or foreign files (not only OSError: a broken PNG
# chunk is a SyntaxError, a bad TIFF tag a KeyError/TypeError, a short header struct.error).
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)


def is_image_file(path: Path) -> bool:
    """True for the file types the loaders read (extension, case-insensitive)."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_dicom(path: Path) -> bool:
    """A ``.dcm`` file, or any file with the DICOM preamble's ``DICM`` magic at byte 128."""
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            handle.seek(128)
            return handle.read(4) == b"DICM"
    except OSError:
        return False


def decode_file(path: Path, color: ColorMode, draft_size: int | None = None) -> Decoded:
    """Decode one image file of any supported format (see :data:`RECIPE`).

    ``draft_size``: the file will be resized to this square whole (no crop), so a JPEG
    may be decoded at a reduced scale (Pillow's draft mode: 1/2, 1/4 or 1/8, never below
    ``draft_size``), several times faster on large files. Every path that resizes whole
    files passes it (loaders, ``predict``), so they all get the same pixels.
    """
    problem = link_problem(path)  # an annexed file not fetched: say so, not "No such file"
    if problem is not None:
        raise DataError(problem)
    if is_dicom(path):
        from mammosearch.data.dicom import decode_dicom

        decoded = decode_dicom(path, color)
    else:
        decoded = _decode_pillow(path, color, draft_size)
    return replace(decoded, photometry=photometry_score(decoded.pixels))


def read_image(path: Path, color: ColorMode) -> np.ndarray:
    """The pixels of :func:`decode_file`: ``uint8`` ``(H, W, 1)`` (grayscale) or ``(H, W, 3)`` (rgb)."""
    return decode_file(path, color).pixels


def _decode_pillow(path: Path, color: ColorMode, draft_size: int | None = None) -> Decoded:
    """Read one file as ``uint8`` ``(H, W, 1)`` (grayscale) or ``(H, W, 3)`` (rgb).

    * 16-bit, 32-bit and float images are stretched linearly from their own minimum to
      maximum onto 0..255: detectors store 10 to 16 bits and a file does not say which,
      so a fixed divisor would leave a 12-bit scan nearly black.
    * Alpha is dropped, not composited (mammograms have no meaningful transparency).
    * Palette and bilevel images are expanded; EXIF orientation is applied.
    * Multi-page TIFFs: the first page.

    Raises :class:`DataError` ``"cannot read image <path>: <reason>"`` for anything PIL
    cannot decode (not an image, truncated, corrupt).
    """
    _let_pillow_open_what_the_budget_allows()
    try:
        with Image.open(path) as opened:
            stored_width, stored_height = opened.size
            check_budget(path, opened)  # only the header is read so far
            drafted = False
            if draft_size is not None and opened.format == "JPEG":
                opened.draft(opened.mode, (draft_size, draft_size))  # same mode: only the scale changes
                drafted = opened.size != (stored_width, stored_height)
            drafted_size = opened.size
            opened.load()  # decode now, so a truncated file fails here and not later
            image = ImageOps.exif_transpose(opened)
            bits = 16 if image.mode in _WIDE_MODES else 8
            array = _to_array(image, color)
            # The file's own size (what the fingerprint compares), turned as EXIF turned the pixels.
            turned = image.size != drafted_size
            stored = (stored_width, stored_height) if turned else (stored_height, stored_width)
    except _DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise DataError(shown(f"cannot read image {path}: {reason}")) from exc  # Pillow's reason may hold the name
    return Decoded(array, bits, stored_size=stored if drafted else None)


def _let_pillow_open_what_the_budget_allows() -> None:
    """Pillow's own bomb guard refuses above twice ``Image.MAX_IMAGE_PIXELS`` at ``open``; a budget raised past it is raised there too.

    Only ever raised (never lowered below Pillow's default), and to the same value by every
    thread, so Pillow's guard stays for anything else the process opens.
    """
    limit = budget.max_pixels()
    if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = limit


def check_budget(path: Path, opened: Image.Image) -> None:
    """The declared size and the mode's samples and bytes (``I;16`` 2, ``F`` 4, ``RGB`` 3 x 1) against :mod:`budget`."""
    width, height = opened.size
    mode = ImageMode.getmode(opened.mode)
    budget.check(path, width, height, len(mode.bands), np.dtype(mode.typestr).itemsize)


def _to_array(image: Image.Image, color: ColorMode) -> np.ndarray:
    if image.mode in _WIDE_MODES:
        gray = stretch_to_uint8(np.asarray(image))
        if color == "grayscale":
            return gray[:, :, None]
        return np.repeat(gray[:, :, None], 3, axis=2)
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # PIL asks for this route; alpha is dropped below
    target = "L" if color == "grayscale" else "RGB"
    array = np.asarray(image.convert(target), dtype=np.uint8)
    if color == "grayscale":
        return array[:, :, None].copy()
    return array.copy()


def to_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize one ``(H, W, C)`` uint8 image to ``(size, size, C)`` by plain resizing.

    The aspect ratio is not kept (no crop, no padding): lesion crops and ROI patches are
    close to square, and stretching keeps every pixel of the lesion, whereas a centre crop
    can cut it off and padding wastes resolution. Same choice as Keras'
    ``image_dataset_from_directory`` default.
    """
    if image.ndim != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, C) image, got {image.dtype} {image.shape}")
    if image.shape[0] == size and image.shape[1] == size:
        return image
    return _resize_one(image, size)


def resize_images(images: np.ndarray, size: Size, out: np.ndarray | None = None) -> np.ndarray:
    """``(N, H, W, C)`` uint8 -> ``(N, height, width, C)`` uint8 (:func:`resized_to` each); the input itself if already so.

    ``out``: where to write them (e.g. a memory map on disk for a large set); read and
    written a chunk at a time, so neither side need be resident whole.
    """
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"expected uint8 (N, H, W, C) images, got {images.dtype} {images.shape}")
    target = ImageSize.of(size)
    if images.shape[1:3] == target.shape:
        return images
    if out is None:
        out = np.empty((len(images), *target.shape, images.shape[3]), dtype=np.uint8)
    with stage(f"resize to {target.param()} px", len(images), "images") as progress:
        for start, chunk in chunks(images):
            for i, image in enumerate(chunk, start):
                out[i] = resized_to(image, target)
            release(out)
            progress.advance(len(chunk))
    return out


def resized_to(image: np.ndarray, size: Size) -> np.ndarray:
    """One ``(H, W, C)`` uint8 image at ``size``: a square stretched (:func:`to_square`, as always);
    a rectangle keeps the aspect ratio and is padded with black at the right and bottom (:func:`letterboxed`)."""
    target = ImageSize.of(size)
    if target.is_square:
        return to_square(image, target.height)
    return letterboxed(image, target.height, target.width)


def letterboxed(pixels: np.ndarray, height: int, width: int, fill: int = 0) -> np.ndarray:
    """``(H, W, C)`` uint8 scaled to fit ``height`` x ``width`` keeping its aspect ratio, padded
    with ``fill`` (black) at the right and bottom (a breast turned chest wall left stays on the left edge)."""
    if pixels.shape[0] == height and pixels.shape[1] == width:
        return pixels
    scale = min(height / pixels.shape[0], width / pixels.shape[1])
    inner_h = min(height, max(1, int(round(pixels.shape[0] * scale))))
    inner_w = min(width, max(1, int(round(pixels.shape[1] * scale))))
    out = np.full((height, width, pixels.shape[2]), fill, dtype=np.uint8)
    out[:inner_h, :inner_w] = resized_pil(pixels, inner_h, inner_w)
    return out


def _resize_one(image: np.ndarray, size: int) -> np.ndarray:
    return resized_pil(image, size, size)


def resized_pil(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """PIL bilinear; Pillow widens the filter when shrinking, so downsizing averages the
    area (no aliasing of fine texture), and ``reducing_gap`` first box-reduces very large
    scans by an integer factor, which is much faster and visually identical."""
    channels = image.shape[2]
    if channels == 1:
        pil = Image.fromarray(np.ascontiguousarray(image[:, :, 0]))  # 2-D uint8 -> "L"
    elif channels == 3:
        pil = Image.fromarray(np.ascontiguousarray(image))  # (H, W, 3) uint8 -> "RGB"
    else:
        raise ValueError(f"expected 1 or 3 channels, got {channels}")
    resized = pil.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=3.0)
    array = np.asarray(resized, dtype=np.uint8)
    return array[:, :, None] if channels == 1 else array
