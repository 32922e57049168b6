"""Reading a DICOM file, and every reason it cannot become a mammogram, each as one line naming the file.

Split from ``dicom.py`` (which maps the stored values to display pixels) so the decoder
reads as the DICOM grayscale pipeline and this module as the list of what is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mammosearch.data.file_names import shown
from mammosearch.errors import DataError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset
    from pydicom.pixels.decoders.base import Decoder

# Photometric interpretations decode_dicom maps to gray: the two grayscale ones, and the
# colour ones once pydicom's decoder has turned them into RGB (YBR_FULL, YBR_FULL_422, and
# YBR_ICT/YBR_RCT in JPEG 2000 come back as RGB) or pydicom's apply_color_lut can (palette).
GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")
COLOUR = ("RGB", "PALETTE COLOR")

MAX_REASON = 300  # characters of a library's message kept in the one-line error


def reason(exc: BaseException) -> str:
    """A library's error as one short line: pydicom's messages often span several lines."""
    # shown(): pydicom's messages can quote the file name, which may not be UTF-8
    text = shown(" ".join(line.strip() for line in str(exc).splitlines() if line.strip())) or type(exc).__name__
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def read_dataset(path: Path) -> Dataset:
    """``pydicom.dcmread`` (no ``force``: a file without the DICM header is not read as one)."""
    try:
        import pydicom
        from pydicom.errors import InvalidDicomError
    except ImportError:
        raise DataError(f"cannot read DICOM {shown(path)}: pydicom is not installed (pip install 'mammosearch[dicom]')") from None
    from mammosearch.data.dicom._header import check_header

    try:
        check_header(path)  # the declared size against the decoding budget, before any pixel is read
        return pydicom.dcmread(path)
    except DataError:
        raise
    except InvalidDicomError:
        # pydicom's own text suggests force=True, which a user of mammosearch cannot pass
        raise DataError(f"cannot read DICOM {shown(path)}: not a DICOM file (no 'DICM' header at byte 128)") from None
    except Exception as exc:  # pydicom raises many types for damaged files (EOFError, struct.error, ValueError, ...)
        raise DataError(f"cannot read DICOM {shown(path)}: {reason(exc)}") from exc


def refuse_non_images(path: Path, ds: Dataset) -> None:
    """Objects without pixel data (reports, PDFs, presentation states) and multi-frame images."""
    if "PixelData" not in ds:
        from pydicom.uid import UID

        meta = getattr(ds, "file_meta", None)
        uid = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta is not None else None)
        name = str(UID(uid).name) if uid else ""
        if not name:
            raise DataError(f"cannot read DICOM {shown(path)}: it has no pixel data and no SOP Class UID (damaged, or not an image)")
        if "Image Storage" in name:  # an image class without its pixels: cut short or stripped
            raise DataError(f"cannot read DICOM {shown(path)}: this {name} file has no pixel data (truncated, or exported without pixels)")
        raise DataError(f"{shown(path)} is {'an' if name[:1].lower() in 'aeiou' else 'a'} {name} object, not an image; keep only image files in the data folder or manifest")
    frames = int(ds.get("NumberOfFrames") or 1)
    if frames > 1:
        raise DataError(f"{shown(path)} has {frames} frames; mammosearch reads single-frame images (split it, or export the frame you need)")


def decoder_for(path: Path, ds: Dataset) -> Decoder:
    """pydicom's decoder for the file's transfer syntax, refused when none of its plugins is installed."""
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    syntax = ds.file_meta.get("TransferSyntaxUID")
    if syntax is None:
        # A header without (0002,0010): the encoding pydicom used to read the dataset says
        # what it is, and pydicom's decoder looks the syntax up in the file meta.
        implicit, little = ds.original_encoding
        syntax = ImplicitVRLittleEndian if implicit else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        ds.file_meta.TransferSyntaxUID = syntax
    syntax = UID(syntax)
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise DataError(
            f"{shown(path)}: transfer syntax {syntax.name} ({syntax}) cannot be decoded by pydicom; "
            f"convert the file to an uncompressed syntax (e.g. gdcmconv --raw, or dcmdjpeg)"
        ) from None
    if not decoder.is_available:
        raise DataError(f"{shown(path)}: transfer syntax {syntax.name} ({syntax}) needs a decoder plugin that is not installed: pip install 'mammosearch[dicom]'")
    return decoder


def refuse_photometric(path: Path, photometric: str) -> None:
    if photometric not in GRAYSCALE + COLOUR:
        raise DataError(
            f"{shown(path)}: photometric interpretation {photometric} is not supported (mammosearch reads MONOCHROME1, "
            f"MONOCHROME2, and colour that pydicom converts to RGB); export the image as MONOCHROME2"
        )
