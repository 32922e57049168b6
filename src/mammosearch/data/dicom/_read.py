"""DICOM files -> the pixels a model sees, as radiology software displays them.

Shared by every loader (``folder``, ``csv``, ``cbis_ddsm``) through ``decode.decode_file``.
The DICOM grayscale pipeline (PS3.4 N.2), each step by pydicom's own function:

1. the stored values, decoded by pydicom's decoder for the transfer syntax (signed stays signed);
2. the modality LUT, or rescale slope and intercept (``apply_modality_lut``);
3. the VOI LUT (``apply_voi``), else the first window centre/width (``apply_windowing``),
   else the image's own range after step 2;
4. the output range of step 3 (not the image's min..max when a window or LUT is given)
   onto 0..255 with one rounding, so 12-16-bit data becomes 8-bit only after windowing;
   MONOCHROME1 shown inverted, dense tissue bright as in MONOCHROME2.

Refusals (no pixel data, several frames, a missing codec plugin, unsupported colour) are
in ``dicom_refusals``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mammosearch.data.dicom._laterality import laterality_from_dataset
from mammosearch.data.dicom._refusals import GRAYSCALE, decoder_for, read_dataset, reason, refuse_non_images, refuse_photometric
from mammosearch.data.file_names import shown
from mammosearch.data.pixels import ColorMode, Decoded, as_color, row_blocks
from mammosearch.errors import DataError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

# ITU-R BT.601 luma, what Pillow's convert("L") uses: a colour DICOM becomes the same gray as the same picture saved as PNG.
LUMA = np.array([0.299, 0.587, 0.114])


def decode_dicom(path: Path, color: ColorMode) -> Decoded:
    """One single-frame DICOM image as ``uint8`` ``(H, W, C)``, dark background, its bits stored and PatientID.

    Raises :class:`DataError` naming the file for anything that is not such an image.
    """
    ds = read_dataset(path)
    try:
        refuse_non_images(path, ds)
        decoder = decoder_for(path, ds)
        # index=0: the first (only) frame; as_array, unlike ds.pixel_array, also says what the
        # photometric interpretation became (YBR is converted to RGB by the decoder)
        stored, meta = decoder.as_array(ds, index=0)
        photometric = str(meta.get("photometric_interpretation") or ds.PhotometricInterpretation).strip().upper()
        refuse_photometric(path, photometric)
        inverted = photometric == "MONOCHROME1"
        if photometric in GRAYSCALE:
            gray = grayscale(stored, ds, inverted)
        else:
            gray = colour_to_gray(stored, ds, photometric)
        bits = int(ds.BitsStored)
    except DataError:
        raise
    except Exception as exc:  # pydicom raises many types for damaged files and unusable LUTs or windows
        raise DataError(f"cannot read DICOM {shown(path)}: {reason(exc)}") from exc
    patient = str(ds.get("PatientID") or "").strip() or None
    return Decoded(as_color(gray, color), bits, patient, inverted, laterality=laterality_from_dataset(ds))


def grayscale(stored: np.ndarray, ds: Dataset, inverted: bool) -> np.ndarray:
    """Stored values -> 8-bit display values, dark background (see the module docstring).

    A MONOCHROME1 file without a VOI LUT is turned into its MONOCHROME2 twin (values and
    window centre mirrored) *before* the VOI step, and the twin then takes the same path as
    any MONOCHROME2 file. Inverting afterwards would be the same picture in exact arithmetic,
    but not bit for bit: DICOM's LINEAR window is centred half a stored value off
    (``c - 0.5``) and rounding to 8 bits breaks ties one way, so a file and its twin could
    differ by one gray level. Mirroring first makes them identical by construction.

    Every step is element by element, so it runs a block of rows at a time
    (:func:`~mammosearch.data.pixels.row_blocks`): the same values as the whole image at
    once, without its float64 copies (several times the 16-bit image each).
    """
    from pydicom.pixels import apply_modality_lut

    voi_table = has_voi_table(ds)
    window = first_window(ds)
    mirrored = inverted and not voi_table
    if mirrored:
        mirror = _mirrored_modality(stored[:0], ds)[1]
        window = None if window is None else (mirror - window[0], window[1])

    def modality(block: np.ndarray) -> np.ndarray:
        return _mirrored_modality(block, ds)[0] if mirrored else apply_modality_lut(block, ds)

    def voi(values: np.ndarray) -> np.ndarray:
        if voi_table:
            out = _apply_voi_table(values, ds)
            # a LUT is not symmetric, so it cannot be mirrored through its input: invert its
            # integer output instead, which is exact
            return (low + high) - out if inverted else out
        return values if window is None else _apply_window(values, ds, window)

    low: float
    high: float
    if voi_table:
        low, high = _voi_table_range(ds)
    elif window is not None:
        low, high = _window_range(ds, window)
    else:
        low, high = _modality_range(stored, modality)
    out = np.empty(stored.shape, dtype=np.uint8)
    for rows in row_blocks(stored):
        out[rows] = onto_uint8(voi(modality(stored[rows])), low, high)
    return out


def _modality_range(stored: np.ndarray, modality: Callable[[np.ndarray], np.ndarray]) -> tuple[float, float]:
    """The image's own range after the modality step: no window or LUT says which values matter."""
    ends = [(float(np.min(values)), float(np.max(values))) for rows in row_blocks(stored) if (values := modality(stored[rows])).size]
    if not ends:
        return 0.0, 0.0
    return min(low for low, _ in ends), max(high for _, high in ends)


def first_window(ds: Dataset) -> tuple[float, float] | None:
    """(centre, width) of the first window given, in modality units (the one pydicom's index=0 picks)."""
    from pydicom.multival import MultiValue

    window = []
    for keyword in ("WindowCenter", "WindowWidth"):
        value = ds.get(keyword)
        if isinstance(value, MultiValue):
            value = value[0] if len(value) else None
        if value is None or value == "":
            return None
        window.append(float(value))
    return window[0], window[1]


def has_voi_table(ds: Dataset) -> bool:
    """A usable VOI LUT: pydicom's apply_voi_lut falls back to the window when the first item lacks its table."""
    items = ds.get("VOILUTSequence")
    return bool(items) and "LUTDescriptor" in items[0] and "LUTData" in items[0]


def colour_to_gray(pixels: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """RGB (also YBR converted by pydicom) or palette colour -> luminance on 0..255.

    Colour DICOMs are display-ready pictures (secondary captures, photographs), so their
    full stored range maps to 0..255 rather than the image's own min..max.
    """
    from pydicom.pixels import apply_color_lut

    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)  # uint8 or uint16, from the palette's entry size
        full = float(np.iinfo(rgb.dtype).max)
    else:
        rgb, full = pixels, float(2 ** int(ds.BitsStored) - 1)
    return onto_uint8(rgb.astype(np.float64) @ LUMA, 0.0, full)


def onto_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """``low..high`` linearly onto 0..255, values outside clipped; all 0 when the range is empty."""
    values = np.asarray(values, dtype=np.float64)
    if not high > low:
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values - low) * (255.0 / (high - low))
    return np.rint(np.clip(scaled, 0.0, 255.0)).astype(np.uint8)


def _stored_range(ds: Dataset) -> tuple[int, int]:
    bits = int(ds.BitsStored)
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def _mirrored_modality(stored: np.ndarray, ds: Dataset) -> tuple[np.ndarray, float]:
    """The modality values of the MONOCHROME2 twin, and the sum a value and its mirror share.

    Rescale is linear, so the stored values are mirrored (``lo + hi - v``, exact integers)
    and rescaled exactly as the twin file's would be; a modality LUT need not be linear, so
    its output is mirrored instead.
    """
    from pydicom.pixels import apply_modality_lut

    low, high = _stored_range(ds)
    ends = apply_modality_lut(np.array([low, high], dtype=np.int64), ds).astype(np.float64)
    mirror = float(ends[0] + ends[1])
    if ds.get("ModalityLUTSequence"):
        return mirror - apply_modality_lut(stored, ds).astype(np.float64), mirror
    return apply_modality_lut((low + high) - stored.astype(np.int64), ds), mirror


def _window_view(ds: Dataset, window: tuple[float, float]) -> Dataset:
    """Only what pydicom's ``apply_windowing`` reads, with this (centre, width)."""
    from pydicom.dataset import Dataset as PydicomDataset

    # "MONOCHROME2" because any MONOCHROME1 mirroring is already done (pydicom's windowing
    # does not invert either way).
    view = PydicomDataset()
    for keyword in ("BitsStored", "PixelRepresentation", "RescaleSlope", "RescaleIntercept", "ModalityLUTSequence", "VOILUTFunction"):
        if keyword in ds:
            view[keyword] = ds[keyword]
    view.PhotometricInterpretation = "MONOCHROME2"
    view.WindowCenter, view.WindowWidth = window
    return view


def _apply_window(values: np.ndarray, ds: Dataset, window: tuple[float, float]) -> np.ndarray:
    """pydicom's ``apply_windowing`` with this (centre, width)."""
    from pydicom.pixels import apply_windowing

    return apply_windowing(values, _window_view(ds, window))


def _window_range(ds: Dataset, window: tuple[float, float]) -> tuple[float, float]:
    """The output range pydicom's windowing uses for this file (from bits stored, signedness, rescale).

    Its window applied to -inf and +inf, so it cannot drift from pydicom's own rule.
    """
    from pydicom.pixels import apply_windowing

    with np.errstate(over="ignore"):
        ends = apply_windowing(np.array([-np.inf, np.inf]), _window_view(ds, window))
    return float(ends[0]), float(ends[1])


def _apply_voi_table(values: np.ndarray, ds: Dataset) -> np.ndarray:
    """pydicom's ``apply_voi`` (first VOI LUT), as integers."""
    from pydicom.pixels import apply_voi

    # a LUT is indexed by integers; rescaled values are floats (integral for the usual slope 1)
    return apply_voi(np.rint(values).astype(np.int64), ds).astype(np.int64)


def _voi_table_range(ds: Dataset) -> tuple[float, float]:
    """The range the first VOI LUT's entries span: some files declare 16 bits per entry and use 12."""
    from pydicom.pixels import apply_voi

    descriptor = ds.VOILUTSequence[0].LUTDescriptor
    entries, first = int(descriptor[0]) or 2**16, int(descriptor[1])
    table = apply_voi(np.arange(first, first + entries, dtype=np.int64), ds)
    return float(table.min()), float(table.max())
